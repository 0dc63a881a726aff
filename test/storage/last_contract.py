"""The ILastStore contract: one set of cases every backend must pass."""

from __future__ import annotations

from twisted.internet import defer
from zope.interface.verify import verifyObject

from mongoose.storage.interfaces import ILastStore, LastActivity

__all__ = ["LastStoreContract"]

D = "example.com"


class LastStoreContract:
    """Mix into a TestCase with a fixture from ``test.storage.fixtures``."""

    async def _setUp(self) -> None:
        await self.reset_database()
        self.stores = await self.open_test_stores()
        self.store = self.stores.last

    def setUp(self) -> defer.Deferred[None]:
        """Open the stores on an empty database."""
        return defer.ensureDeferred(self._setUp())

    def tearDown(self) -> defer.Deferred[None]:
        """Close the stores (and their threads)."""
        return self.stores.close()

    def test_provides_interface(self) -> None:
        """The store provides every ILastStore method."""
        self.assertTrue(verifyObject(ILastStore, self.store))

    async def test_unknown_user(self) -> None:
        """A user never recorded has no last activity."""
        self.assertIsNone(await self.store.get_last(D, "alice"))

    async def test_set_replaces(self) -> None:
        """Setting twice keeps only the newest time and status, Unicode intact."""
        await self.store.set_last(D, "alice", 1_700_000_000, "gone")
        await self.store.set_last(D, "alice", 1_700_000_100, "zzz ☾")
        self.assertEqual(
            await self.store.get_last(D, "alice"), LastActivity(1_700_000_100, "zzz ☾")
        )

    async def test_domains_are_separate(self) -> None:
        """The same username on another domain is another record."""
        await self.store.set_last(D, "alice", 10, "")
        self.assertIsNone(await self.store.get_last("other.test", "alice"))

    async def test_counts_and_lists(self) -> None:
        """Active counts include the boundary; older_than excludes it."""
        await self.store.set_last(D, "old", 100, "")
        await self.store.set_last(D, "edge", 200, "")
        await self.store.set_last(D, "new", 300, "")
        await self.store.set_last("other.test", "new", 300, "")
        self.assertEqual(await self.store.count_active(D, 200), 2)
        self.assertEqual(await self.store.active_users(D, 200), {"edge", "new"})
        self.assertEqual(await self.store.older_than(D, 200), {"old": 100})

    async def test_remove_user(self) -> None:
        """Removing a record reports whether one existed."""
        await self.store.set_last(D, "alice", 10, "bye")
        self.assertIs(await self.store.remove_user(D, "alice"), True)
        self.assertIs(await self.store.remove_user(D, "alice"), False)
        self.assertIsNone(await self.store.get_last(D, "alice"))

    async def test_bad_seconds(self) -> None:
        """A time that is not whole seconds is refused before touching the database."""
        with self.assertRaises(TypeError):
            await self.store.set_last(D, "alice", 1.5, "")
