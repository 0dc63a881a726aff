"""The blocklist commands and mod_blocklist through a real node and real sockets."""

from __future__ import annotations

from twisted.trial.unittest import TestCase

from mongoose.commands.caller import Caller
from mongoose.commands.errors import CommandError
from test.c2s import support as c2s
from test.support.sessions import IM_MODULES, connect, settle, start_im_node

MODULES = IM_MODULES + "\n[modules.mod_blocklist]\n"


class BlocklistCommandTests(TestCase):
    """Administrators bar users; barred sessions are closed."""

    async def setUp(self):
        """A node with mod_blocklist (on localhost and other.test)."""
        self.node = await start_im_node(self, MODULES)

    def run_command(self, name: str, args: dict):
        """Run a blocklist command as the global admin."""
        return self.node.commands.execute(Caller.admin(), "blocklist", name, args)

    async def test_add_list_count_remove(self):
        """Adding stores the reason, listing pages by name, removing reports the change."""
        self.assertTrue(await self.run_command("addUser", {"user": "zed@localhost"}))
        self.assertTrue(await self.run_command(
            "addUser", {"user": "amy@localhost", "reason": "spam"}))
        self.assertEqual(await self.run_command("userCount", {"domain": "localhost"}), 2)
        self.assertEqual(
            await self.run_command("listBlockedUsers", {"domain": "localhost"}),
            [{"jid": "amy@localhost", "reason": "spam"}, {"jid": "zed@localhost", "reason": None}],
        )
        self.assertEqual(
            await self.run_command("listBlockedUsers",
                                   {"domain": "localhost", "limit": 1, "index": 1}),
            [{"jid": "zed@localhost", "reason": None}],
        )
        self.assertTrue(await self.run_command("removeUser", {"user": "zed@localhost"}))
        self.assertFalse(await self.run_command("removeUser", {"user": "zed@localhost"}))
        self.assertEqual(await self.run_command("userCount", {"domain": "localhost"}), 1)

    async def test_bad_arguments(self):
        """A JID without a user or an empty reason is bad_request."""
        for args in ({"user": "localhost"}, {"user": "a@localhost", "reason": "  "}):
            with self.assertRaises(CommandError) as caught:
                await self.run_command("addUser", args)
            self.assertEqual(caught.exception.code, "bad_request")

    async def test_unknown_domain(self):
        """A domain without the module answers unavailable."""
        with self.assertRaises(CommandError) as caught:
            await self.run_command("userCount", {"domain": "nowhere.test"})
        self.assertEqual(caught.exception.code, "unavailable")

    async def test_barring_closes_sessions(self):
        """Adding a user closes the user's sessions with not-authorized; new ones too."""
        eve = await connect(self.node, "eve")
        await self.run_command("addUser", {"user": "eve@localhost", "reason": "spam"})
        self.assertEqual(eve.session.closed, ("not-authorized", "your account is blocked: spam"))
        again = await connect(self.node, "eve", "second")
        await settle(self.node)
        self.assertEqual(again.session.closed[0], "not-authorized")
        await self.run_command("removeUser", {"user": "eve@localhost"})
        free = await connect(self.node, "eve", "third")
        self.assertIsNone(free.session.closed)


class RealSocketBlocklistTests(TestCase):
    """A barred user over a real c2s connection."""

    async def test_barred_user_is_disconnected(self):
        """The stream of a barred user ends with the not-authorized stream error."""
        node = await c2s.start_node(self, extra=MODULES)
        await node.commands.execute(Caller.admin(), "blocklist", "addUser",
                                    {"user": "bob@localhost"})
        bob, _ = await c2s.logged_in(self, node.c2s_port, "bob", "b")
        error = await bob.closed_with()
        self.assertEqual(error.condition, "not-authorized")
