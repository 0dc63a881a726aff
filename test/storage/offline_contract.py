"""The IOfflineStore contract: one set of cases every backend must pass."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from twisted.internet import defer
from zope.interface.verify import verifyObject

from mongoose.storage.interfaces import IOfflineStore, OfflineMessage

__all__ = ["OfflineStoreContract"]

D = "example.com"
T0 = datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=UTC)


def message(n: int, stamp: datetime = T0, expire: datetime | None = None) -> OfflineMessage:
    """The n-th test message."""
    return OfflineMessage(
        sender=f"bob@example.com/r{n}",
        stamp=stamp,
        packet=f"<message to='alice@example.com'><body>hello {n} ☃</body></message>",
        expire=expire,
    )


class OfflineStoreContract:
    """Mix into a TestCase with a fixture from ``test.storage.fixtures``."""

    async def _setUp(self) -> None:
        await self.reset_database()
        self.stores = await self.open_test_stores()
        self.store = self.stores.offline

    def setUp(self) -> defer.Deferred[None]:
        """Open the stores on an empty database."""
        return defer.ensureDeferred(self._setUp())

    def tearDown(self) -> defer.Deferred[None]:
        """Close the stores (and their threads)."""
        return self.stores.close()

    def test_provides_interface(self) -> None:
        """The store provides every IOfflineStore method."""
        self.assertTrue(verifyObject(IOfflineStore, self.store))

    async def test_store_and_fetch_in_order(self) -> None:
        """Messages come back oldest first with ids, every field as stored."""
        for n in range(3):
            self.assertIs(await self.store.store_message(D, "alice", message(n)), True)
        fetched = await self.store.fetch_messages(D, "alice", T0)
        self.assertEqual([m.sender for m in fetched], [f"bob@example.com/r{n}" for n in range(3)])
        self.assertEqual(fetched[1].packet, message(1).packet)
        self.assertEqual(fetched[0].stamp, T0)
        self.assertEqual(len({m.id for m in fetched}), 3)
        self.assertTrue(all(isinstance(m.id, int) for m in fetched))

    async def test_fetch_does_not_delete(self) -> None:
        """Fetching leaves the messages in place until they are deleted by id."""
        await self.store.store_message(D, "alice", message(1))
        await self.store.store_message(D, "alice", message(2))
        first = await self.store.fetch_messages(D, "alice", T0)
        self.assertEqual(len(await self.store.fetch_messages(D, "alice", T0)), 2)
        self.assertEqual(await self.store.delete_messages(D, "alice", [first[0].id]), 1)
        rest = await self.store.fetch_messages(D, "alice", T0)
        self.assertEqual([m.id for m in rest], [first[1].id])
        self.assertEqual(await self.store.delete_messages(D, "alice", []), 0)

    async def test_delete_only_own_ids(self) -> None:
        """delete_messages never deletes another user's messages, even by their id."""
        await self.store.store_message(D, "bob", message(1))
        (theirs,) = await self.store.fetch_messages(D, "bob", T0)
        self.assertEqual(await self.store.delete_messages(D, "alice", [theirs.id]), 0)
        self.assertEqual(await self.store.count_messages(D, "bob"), 1)

    async def test_limit(self) -> None:
        """At the limit a message is refused (False) and nothing is added."""
        for n in range(2):
            self.assertIs(await self.store.store_message(D, "alice", message(n), limit=2), True)
        self.assertIs(await self.store.store_message(D, "alice", message(9), limit=2), False)
        self.assertEqual(await self.store.count_messages(D, "alice"), 2)
        self.assertIs(await self.store.store_message(D, "alice", message(9), limit=0), False)
        self.assertIs(await self.store.store_message(D, "alice", message(9)), True)

    async def test_expired_messages_do_not_count_or_come_back(self) -> None:
        """An expired message is not fetched, not counted against the limit, and deletable."""
        await self.store.store_message(
            D, "alice", message(1, stamp=T0, expire=T0 + timedelta(seconds=10)))
        await self.store.store_message(D, "alice", message(2, stamp=T0))
        later = T0 + timedelta(seconds=11)
        self.assertEqual(
            [m.sender for m in await self.store.fetch_messages(D, "alice", later)],
            ["bob@example.com/r2"],
        )
        kept = await self.store.fetch_messages(D, "alice", T0)
        self.assertEqual(kept[0].expire, T0 + timedelta(seconds=10))
        self.assertIs(
            await self.store.store_message(D, "alice", message(3, stamp=later), limit=2), True)
        self.assertEqual(await self.store.delete_expired(D, later), 1)
        self.assertEqual(await self.store.count_messages(D, "alice"), 2)

    async def test_delete_older_than(self) -> None:
        """delete_older_than removes the domain's messages stored at or before the time."""
        await self.store.store_message(D, "alice", message(1, stamp=T0 - timedelta(days=3)))
        await self.store.store_message(D, "bob", message(2, stamp=T0 - timedelta(days=2)))
        await self.store.store_message(D, "bob", message(3, stamp=T0))
        await self.store.store_message("other.example", "bob", message(4, stamp=T0 - timedelta(days=5)))
        self.assertEqual(await self.store.delete_older_than(D, T0 - timedelta(days=2)), 2)
        self.assertEqual(await self.store.count_messages(D, "alice"), 0)
        self.assertEqual(await self.store.count_messages(D, "bob"), 1)
        self.assertEqual(await self.store.count_messages("other.example", "bob"), 1)

    async def test_remove_user(self) -> None:
        """remove_user deletes one user's messages only."""
        await self.store.store_message(D, "alice", message(1))
        await self.store.store_message(D, "alice", message(2))
        await self.store.store_message(D, "bob", message(3))
        self.assertEqual(await self.store.remove_user(D, "alice"), 2)
        self.assertEqual(await self.store.count_messages(D, "alice"), 0)
        self.assertEqual(await self.store.count_messages(D, "bob"), 1)

    async def test_naive_time_refused(self) -> None:
        """Times without a timezone are refused with ValueError."""
        naive = datetime(2024, 1, 1)
        with self.assertRaises(ValueError):
            await self.store.store_message(D, "alice", message(1, stamp=naive))
        with self.assertRaises(ValueError):
            await self.store.fetch_messages(D, "alice", naive)

    async def test_survives_reopen(self) -> None:
        """Stored messages are still there after the stores are closed and opened again."""
        await self.store.store_message(D, "alice", message(1))
        await self.stores.close()
        self.stores = await self.open_test_stores()
        self.store = self.stores.offline
        (kept,) = await self.store.fetch_messages(D, "alice", T0)
        self.assertEqual(kept.packet, message(1).packet)

    async def test_many_deletes(self) -> None:
        """Deleting more ids than one statement holds works."""
        for n in range(520):
            await self.store.store_message(D, "alice", message(n))
        ids = [m.id for m in await self.store.fetch_messages(D, "alice", T0)]
        self.assertEqual(await self.store.delete_messages(D, "alice", ids), 520)
