"""The vcard commands (mongoose.commands.defs.vcard) on a running node with mod_vcard."""

from __future__ import annotations

from twisted.internet import defer
from twisted.trial.unittest import SynchronousTestCase, TestCase

from mongoose.commands.caller import Caller
from mongoose.commands.defs.vcard import json_to_vcard, vcard_commands, vcard_to_json
from mongoose.commands.errors import CommandError
from mongoose.commands.registry import CommandRegistry
from test.support.sessions import IM_MODULES, connect, start_im_node

CARD = {
    "formattedName": "Alice Liddell",
    "nameComponents": {"family": "Liddell", "givenName": "Alice"},
    "nickname": ["al"],
    "telephone": [{"tags": ["HOME", "VOICE"], "number": "+44 1865 000000"}],
    "email": [{"tags": ["INTERNET"], "userId": "alice@example.com"}],
    "org": [{"orgname": "Wonderland", "orgunit": ["Tea party"]}],
    "photo": [{"type": "image/png", "binValue": "iVBORw0KGgo=", "extValue": None}],
    "class": [{"tags": ["PRIVATE"]}],
}


class MappingTests(SynchronousTestCase):
    """GraphQL vCard objects and vcard-temp XML map onto each other."""

    def test_round_trip(self):
        """A vCard object survives conversion to XML and back."""
        element = json_to_vcard(CARD)
        self.assertEqual((element.uri, element.name), ("vcard-temp", "vCard"))
        xml = element.toXml()
        self.assertIn("<FN>Alice Liddell</FN>", xml)
        self.assertIn("<TEL><HOME/><VOICE/><NUMBER>+44 1865 000000</NUMBER></TEL>", xml)
        back = vcard_to_json(element)
        for key, value in CARD.items():
            self.assertEqual(back[key], value if key != "nameComponents" else {
                "family": "Liddell", "givenName": "Alice", "middleName": None,
                "prefix": None, "suffix": None})
        self.assertEqual(back["address"], [])


class VCardCommandTests(TestCase):
    """getVcard and setVcard."""

    async def node(self, extra=""):
        """A node with mod_vcard and the user alice."""
        node = await start_im_node(self, IM_MODULES + "[modules.mod_vcard]\n" + extra)
        await node.auth.register("alice", "localhost", "pw")
        return node

    def run_command(self, node, name, args, caller=None):
        """Run a vcard command."""
        return node.commands.execute(caller or Caller.admin(), "vcard", name, args)

    async def test_set_then_get(self):
        """setVcard stores a vCard that getVcard and XMPP clients read back."""
        node = await self.node()
        result = await self.run_command(node, "setVcard", {"user": "alice@localhost",
                                                           "vcard": CARD})
        self.assertEqual(result["formattedName"], "Alice Liddell")
        got = await self.run_command(node, "getVcard", {"user": "alice@localhost"})
        self.assertEqual(got, result)
        self.assertEqual(got["email"], [{"tags": ["INTERNET"], "userId": "alice@example.com"}])
        bob = await connect(node, "bob")
        await bob.send("<iq type='get' id='v' to='alice@localhost'>"
                       "<vCard xmlns='vcard-temp'/></iq>")
        self.assertIn("Wonderland", bob.last("iq", id="v").toXml())

    async def test_no_vcard(self):
        """getVcard of a user without a vCard, or without an account, is not_found."""
        node = await self.node()
        for user in ("alice@localhost", "ghost@localhost"):
            with self.assertRaises(CommandError) as caught:
                await self.run_command(node, "getVcard", {"user": user})
            self.assertEqual(caught.exception.code, "not_found")

    async def test_input_checked(self):
        """A vCard without the required formattedName, or with a bad tag, is bad_request."""
        node = await self.node()
        with self.assertRaises(CommandError) as missing:
            await self.run_command(node, "setVcard", {
                "user": "alice@localhost", "vcard": {"nameComponents": {}}})
        self.assertEqual(missing.exception.code, "bad_request")
        self.assertIn("formattedName", missing.exception.message)
        with self.assertRaises(CommandError) as tag:
            await self.run_command(node, "setVcard", {"user": "alice@localhost", "vcard": {
                "formattedName": "A", "nameComponents": {},
                "telephone": [{"tags": ["MOBILE"], "number": "1"}]}})
        self.assertEqual(tag.exception.code, "bad_request")

    async def test_too_large(self):
        """A vCard over max_size is refused with too_large."""
        node = await self.node("  max_size = 200\n")
        with self.assertRaises(CommandError) as caught:
            await self.run_command(node, "setVcard", {"user": "alice@localhost", "vcard": {
                "formattedName": "A", "nameComponents": {}, "desc": ["x" * 300]}})
        self.assertEqual(caught.exception.code, "too_large")

    async def test_user_caller(self):
        """A user sets their own vCard; setting another user's is forbidden."""
        node = await self.node()
        caller = Caller.user("alice@localhost")
        await self.run_command(node, "setVcard", {"vcard": CARD}, caller)
        with self.assertRaises(CommandError) as caught:
            await self.run_command(node, "setVcard", {"user": "bob@localhost", "vcard": CARD},
                                   caller)
        self.assertEqual(caught.exception.code, "forbidden")

    async def test_user_reads_another_users_vcard(self):
        """vCards are public: a user reads another user's with getVcard, as over XMPP."""
        node = await self.node()
        await node.auth.register("bob", "localhost", "pw")
        await self.run_command(node, "setVcard", {"user": "alice@localhost", "vcard": CARD})
        got = await self.run_command(node, "getVcard", {"user": "alice@localhost"},
                                     Caller.user("bob@localhost"))
        self.assertEqual(got["formattedName"], "Alice Liddell")


class ModuleMissingTests(SynchronousTestCase):
    """A domain where mod_vcard does not run."""

    def test_unavailable(self):
        """Commands on such a domain fail with unavailable naming the module."""
        registry = CommandRegistry()

        async def nowhere(domain):
            return None

        for command in vcard_commands(nowhere):
            registry.register(command)
        failure = self.failureResultOf(defer.ensureDeferred(registry.execute(
            Caller.admin(), "vcard", "getVcard", {"user": "alice@localhost"})), CommandError)
        self.assertEqual(failure.value.code, "unavailable")
        self.assertIn("mod_vcard", failure.value.message)
