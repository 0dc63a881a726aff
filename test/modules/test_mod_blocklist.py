"""mod_blocklist paging bounds: huge ``limit``/``index`` values are clear errors, never overflows."""

from __future__ import annotations

from twisted.trial.unittest import TestCase

from mongoose.commands.caller import Caller
from mongoose.commands.errors import CommandError
from test.modules.nodes import start_node


class BlocklistPagingTests(TestCase):
    """``listBlockedUsers`` with out-of-range paging arguments."""

    async def setUp(self):
        """A node with mod_blocklist and two barred users."""
        self.node = await start_node(self, "[modules.mod_blocklist]\n")
        for user in ("amy", "zed"):
            await self.list_call("addUser", {"user": f"{user}@localhost"})

    def list_call(self, name: str, args: dict):
        """Run a blocklist command as the global admin."""
        return self.node.commands.execute(Caller.admin(), "blocklist", name, args)

    async def test_huge_index_and_limit_are_bad_requests(self):
        """An index or limit past 2**31-1 is bad_request naming the argument."""
        for arg, value in (("index", 2**63), ("index", 2**31), ("limit", 2**64)):
            with self.assertRaises(CommandError) as caught:
                await self.list_call("listBlockedUsers", {"domain": "localhost", arg: value})
            self.assertEqual(caught.exception.code, "bad_request")
            self.assertIn(arg, caught.exception.message)

    async def test_largest_index_is_an_empty_page(self):
        """The largest accepted index answers an empty list."""
        self.assertEqual(await self.list_call(
            "listBlockedUsers", {"domain": "localhost", "index": 2**31 - 1, "limit": 2**31 - 1}),
            [])
        self.assertEqual(len(await self.list_call("listBlockedUsers", {"domain": "localhost"})),
                         2)
