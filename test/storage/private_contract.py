"""The IPrivateStore contract: one set of cases every backend must pass."""

from __future__ import annotations

from twisted.internet import defer
from zope.interface.verify import verifyObject

from mongoose.storage.interfaces import IPrivateStore

__all__ = ["PrivateStoreContract"]

D = "example.com"
BOOKMARKS = "storage:bookmarks"
ROSTERNOTES = "storage:rosternotes"


class PrivateStoreContract:
    """Mix into a TestCase with a fixture from ``test.storage.fixtures``."""

    async def _setUp(self) -> None:
        await self.reset_database()
        self.stores = await self.open_test_stores()
        self.store = self.stores.private

    def setUp(self) -> defer.Deferred[None]:
        """Open the stores on an empty database."""
        return defer.ensureDeferred(self._setUp())

    def tearDown(self) -> defer.Deferred[None]:
        """Close the stores (and their threads)."""
        return self.stores.close()

    def test_provides_interface(self) -> None:
        """The store provides every IPrivateStore method."""
        self.assertTrue(verifyObject(IPrivateStore, self.store))

    async def test_nothing_stored(self) -> None:
        """Namespaces without data are absent from the result."""
        self.assertEqual(await self.store.get_private(D, "alice", [BOOKMARKS]), {})
        self.assertEqual(await self.store.get_private(D, "alice", []), {})

    async def test_set_get_replace(self) -> None:
        """A set stores each namespace; a later set of one namespace replaces only it."""
        await self.store.set_private(D, "alice", {
            BOOKMARKS: "<storage xmlns='storage:bookmarks'/>",
            ROSTERNOTES: "<storage xmlns='storage:rosternotes'>é</storage>",
        })
        await self.store.set_private(
            D, "alice", {BOOKMARKS: "<storage xmlns='storage:bookmarks'><x/></storage>"}
        )
        got = await self.store.get_private(D, "alice", [BOOKMARKS, ROSTERNOTES, "other"])
        self.assertEqual(got, {
            BOOKMARKS: "<storage xmlns='storage:bookmarks'><x/></storage>",
            ROSTERNOTES: "<storage xmlns='storage:rosternotes'>é</storage>",
        })

    async def test_users_are_separate(self) -> None:
        """Another user (or the same name on another domain) sees nothing."""
        await self.store.set_private(D, "alice", {BOOKMARKS: "<a/>"})
        self.assertEqual(await self.store.get_private(D, "bob", [BOOKMARKS]), {})
        self.assertEqual(await self.store.get_private("other.test", "alice", [BOOKMARKS]), {})

    async def test_remove_user(self) -> None:
        """Removing a user deletes every namespace and reports how many."""
        await self.store.set_private(D, "alice", {BOOKMARKS: "<a/>", ROSTERNOTES: "<b/>"})
        await self.store.set_private(D, "bob", {BOOKMARKS: "<a/>"})
        self.assertEqual(await self.store.remove_user(D, "alice"), 2)
        self.assertEqual(await self.store.get_private(D, "alice", [BOOKMARKS, ROSTERNOTES]), {})
        self.assertEqual(await self.store.get_private(D, "bob", [BOOKMARKS]), {BOOKMARKS: "<a/>"})
