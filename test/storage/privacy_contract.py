"""The IPrivacyStore contract: one set of cases every backend must pass."""

from __future__ import annotations

from twisted.internet import defer
from zope.interface.verify import verifyObject

from mongoose.storage.interfaces import IBlocklistStore, IPrivacyStore, PrivacyItem

__all__ = ["PrivacyStoreContract", "BlocklistStoreContract"]

D = "example.com"
DENY_BOB = PrivacyItem("deny", 1, "jid", "bob@example.com", frozenset({"message"}))
ALLOW_ALL = PrivacyItem("allow", 2)


class PrivacyStoreContract:
    """Mix into a TestCase with a fixture from ``test.storage.fixtures``."""

    async def _setUp(self) -> None:
        await self.reset_database()
        self.stores = await self.open_test_stores()
        self.store = self.stores.privacy

    def setUp(self) -> defer.Deferred[None]:
        """Open the stores on an empty database."""
        return defer.ensureDeferred(self._setUp())

    def tearDown(self) -> defer.Deferred[None]:
        """Close the stores (and their threads)."""
        return self.stores.close()

    def test_provides_interface(self) -> None:
        """The store provides every IPrivacyStore method."""
        self.assertTrue(verifyObject(IPrivacyStore, self.store))

    async def test_empty(self) -> None:
        """A user without lists has no names, no default and no list."""
        self.assertEqual(await self.store.list_names(D, "alice"), ([], None))
        self.assertIsNone(await self.store.get_list(D, "alice", "any"))

    async def test_set_get_in_order(self) -> None:
        """Items come back as stored, sorted by order, with their stanza kinds."""
        await self.store.set_list(D, "alice", "work", [ALLOW_ALL, DENY_BOB])
        self.assertEqual(await self.store.get_list(D, "alice", "work"), [DENY_BOB, ALLOW_ALL])
        await self.store.set_list(D, "alice", "work", [ALLOW_ALL])
        self.assertEqual(await self.store.get_list(D, "alice", "work"), [ALLOW_ALL])

    async def test_default_list(self) -> None:
        """Only an existing list can be the default; removing it clears the default."""
        self.assertFalse(await self.store.set_default(D, "alice", "work"))
        await self.store.set_list(D, "alice", "work", [DENY_BOB])
        await self.store.set_list(D, "alice", "home", [])
        self.assertTrue(await self.store.set_default(D, "alice", "work"))
        self.assertEqual(await self.store.list_names(D, "alice"), (["home", "work"], "work"))
        self.assertTrue(await self.store.remove_list(D, "alice", "work"))
        self.assertFalse(await self.store.remove_list(D, "alice", "work"))
        self.assertEqual(await self.store.list_names(D, "alice"), (["home"], None))
        self.assertTrue(await self.store.set_default(D, "alice", "home"))
        self.assertTrue(await self.store.set_default(D, "alice", None))
        self.assertEqual(await self.store.list_names(D, "alice"), (["home"], None))

    async def test_users_are_separate(self) -> None:
        """Another user, or the same name on another domain, sees nothing."""
        await self.store.set_list(D, "alice", "work", [DENY_BOB])
        self.assertIsNone(await self.store.get_list(D, "bob", "work"))
        self.assertIsNone(await self.store.get_list("other.test", "alice", "work"))

    async def test_remove_user_and_count(self) -> None:
        """remove_user deletes every list; count_users counts non-empty lists of a name."""
        await self.store.set_list(D, "alice", "blocking", [DENY_BOB])
        await self.store.set_list(D, "carol", "blocking", [])
        await self.store.set_list(D, "alice", "work", [DENY_BOB])
        await self.store.set_default(D, "alice", "work")
        self.assertEqual(await self.store.count_users(D, "blocking"), 1)
        self.assertEqual(await self.store.remove_user(D, "alice"), 2)
        self.assertEqual(await self.store.list_names(D, "alice"), ([], None))
        self.assertEqual(await self.store.count_users(D, "blocking"), 0)


class BlocklistStoreContract:
    """IBlocklistStore cases; mix into a TestCase with a fixture from ``test.storage.fixtures``."""

    async def _setUp(self) -> None:
        await self.reset_database()
        self.stores = await self.open_test_stores()
        self.store = self.stores.blocklist

    def setUp(self) -> defer.Deferred[None]:
        """Open the stores on an empty database."""
        return defer.ensureDeferred(self._setUp())

    def tearDown(self) -> defer.Deferred[None]:
        """Close the stores (and their threads)."""
        return self.stores.close()

    def test_provides_interface(self) -> None:
        """The store provides every IBlocklistStore method."""
        self.assertTrue(verifyObject(IBlocklistStore, self.store))

    async def test_add_get_replace_remove(self) -> None:
        """A bar is stored with its reason, replaced by a second add, and lifted."""
        self.assertEqual(await self.store.get_block(D, "eve"), (False, None))
        await self.store.add_block(D, "eve", "spam")
        self.assertEqual(await self.store.get_block(D, "eve"), (True, "spam"))
        await self.store.add_block(D, "eve", None)
        self.assertEqual(await self.store.get_block(D, "eve"), (True, None))
        self.assertEqual(await self.store.get_block("other.test", "eve"), (False, None))
        self.assertTrue(await self.store.remove_block(D, "eve"))
        self.assertFalse(await self.store.remove_block(D, "eve"))

    async def test_list_and_count(self) -> None:
        """Listing is sorted by name and paged; counting is per domain."""
        for name in ("zed", "amy", "kim"):
            await self.store.add_block(D, name, f"r-{name}")
        await self.store.add_block("other.test", "bob", None)
        self.assertEqual(await self.store.count_blocks(D), 3)
        self.assertEqual(await self.store.list_blocks(D),
                         [("amy", "r-amy"), ("kim", "r-kim"), ("zed", "r-zed")])
        self.assertEqual(await self.store.list_blocks(D, limit=1, offset=1), [("kim", "r-kim")])
