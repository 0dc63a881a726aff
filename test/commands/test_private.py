"""The private commands (mongoose.commands.defs.private) on a running node with mod_private."""

from __future__ import annotations

from twisted.internet import defer
from twisted.trial.unittest import SynchronousTestCase, TestCase

from mongoose.commands.caller import Caller
from mongoose.commands.defs.private import private_commands
from mongoose.commands.errors import CommandError
from mongoose.commands.registry import CommandRegistry
from test.support.sessions import IM_MODULES, connect, start_im_node

ELEMENT = "<my_element xmlns='alice:private:ns'>DATA</my_element>"


class PrivateCommandTests(TestCase):
    """getPrivate and setPrivate."""

    async def node(self):
        """A node with mod_private and the user alice."""
        node = await start_im_node(self, IM_MODULES + "[modules.mod_private]\n")
        await node.auth.register("alice", "localhost", "pw")
        return node

    def run_command(self, node, name, args, caller=None):
        """Run a private command."""
        return node.commands.execute(caller or Caller.admin(), "private", name, args)

    async def test_set_then_get(self):
        """setPrivate stores an element that getPrivate and the user's client read back."""
        node = await self.node()
        stored = await self.run_command(node, "setPrivate", {
            "user": "alice@localhost", "elementString": ELEMENT})
        self.assertIn("alice:private:ns", stored)
        got = await self.run_command(node, "getPrivate", {
            "user": "alice@localhost", "element": "my_element", "nameSpace": "alice:private:ns"})
        self.assertIn(">DATA</my_element>", got)
        self.assertIn("xmlns='alice:private:ns'", got.replace('"', "'"))
        alice = await connect(node, "alice", register=False)
        await alice.send("<iq type='get' id='g'><query xmlns='jabber:iq:private'>"
                         "<my_element xmlns='alice:private:ns'/></query></iq>")
        element = alice.last("iq", id="g").firstChildElement().firstChildElement()
        self.assertEqual(str(element), "DATA")

    async def test_get_nothing(self):
        """Without data getPrivate returns the empty element asked for."""
        node = await self.node()
        got = await self.run_command(node, "getPrivate", {
            "user": "alice@localhost", "element": "prefs", "nameSpace": "urn:example"})
        self.assertEqual(got.replace('"', "'"), "<prefs xmlns='urn:example'/>")

    async def test_bad_input(self):
        """Malformed XML, a reserved namespace or a bad element name are bad_request."""
        node = await self.node()
        for args in (
            {"user": "alice@localhost", "elementString": "<a"},
            {"user": "alice@localhost", "elementString": "<q xmlns='jabber:iq:roster'/>"},
        ):
            with self.assertRaises(CommandError) as caught:
                await self.run_command(node, "setPrivate", args)
            self.assertEqual(caught.exception.code, "bad_request")
        with self.assertRaises(CommandError) as caught:
            await self.run_command(node, "getPrivate", {
                "user": "alice@localhost", "element": "<x>", "nameSpace": "urn:example"})
        self.assertEqual(caught.exception.arg, "element")

    async def test_unknown_user(self):
        """A JID without an account is not_found."""
        node = await self.node()
        with self.assertRaises(CommandError) as caught:
            await self.run_command(node, "setPrivate", {
                "user": "ghost@localhost", "elementString": ELEMENT})
        self.assertEqual(caught.exception.code, "not_found")

    async def test_user_caller(self):
        """A user may set their own private data but not another user's."""
        node = await self.node()
        await self.run_command(node, "setPrivate", {"elementString": ELEMENT},
                               Caller.user("alice@localhost"))
        with self.assertRaises(CommandError) as caught:
            await self.run_command(node, "setPrivate", {
                "user": "bob@localhost", "elementString": ELEMENT},
                Caller.user("alice@localhost"))
        self.assertEqual(caught.exception.code, "forbidden")


class ModuleMissingTests(SynchronousTestCase):
    """A domain where mod_private does not run."""

    def test_unavailable(self):
        """Commands on such a domain fail with unavailable naming the module."""
        registry = CommandRegistry()

        async def nowhere(domain):
            return None

        for command in private_commands(nowhere):
            registry.register(command)
        failure = self.failureResultOf(defer.ensureDeferred(registry.execute(
            Caller.admin(), "private", "setPrivate",
            {"user": "alice@localhost", "elementString": ELEMENT})), CommandError)
        self.assertEqual(failure.value.code, "unavailable")
        self.assertIn("mod_private", failure.value.message)
