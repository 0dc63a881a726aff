"""The IRosterStore contract: one set of cases every backend must pass."""

from __future__ import annotations

from dataclasses import replace

from twisted.internet import defer
from zope.interface.verify import verifyObject

from mongoose.storage.interfaces import IRosterStore, RosterItem

__all__ = ["RosterStoreContract"]

D = "example.com"
BOB = "bob@example.com"
CAROL = "carol@other.example"


def put(item):
    """A change that stores ``item`` whatever was there."""
    return lambda before: item


def delete(before):
    """A change that deletes the item."""
    return None


class Refused(Exception):
    """Raised by a change to abort the update."""


def refuse(before):
    """A change that aborts."""
    raise Refused("no")


class RosterStoreContract:
    """Mix into a TestCase with a fixture from ``test.storage.fixtures``."""

    async def _setUp(self) -> None:
        await self.reset_database()
        self.stores = await self.open_test_stores()
        self.store = self.stores.roster

    def setUp(self) -> defer.Deferred[None]:
        """Open the stores on an empty database."""
        return defer.ensureDeferred(self._setUp())

    def tearDown(self) -> defer.Deferred[None]:
        """Close the stores (and their threads)."""
        return self.stores.close()

    def test_provides_interface(self) -> None:
        """The store provides every IRosterStore method."""
        self.assertTrue(verifyObject(IRosterStore, self.store))

    async def test_empty_roster(self) -> None:
        """A user never written has no items, no item and version "0"."""
        self.assertEqual(await self.store.get_items(D, "alice"), [])
        self.assertIsNone(await self.store.get_item(D, "alice", BOB))
        self.assertEqual(await self.store.get_version(D, "alice"), "0")

    async def test_round_trip(self) -> None:
        """Every field of an item comes back as written, groups in order and Unicode intact."""
        item = RosterItem(
            BOB, name="Bób ☃", groups=("Zeta", "Ålpha", "friends"), subscription="from",
            pending_out=True, pending_in=False, approved=False, listed=True,
        )
        update = await self.store.update_item(D, "alice", BOB, put(item))
        self.assertEqual((update.before, update.after, update.changed), (None, item, True))
        self.assertEqual(await self.store.get_item(D, "alice", BOB), item)
        hidden = RosterItem(CAROL, subscription="none", pending_in=True, listed=False,
                            ask_message="let me in")
        await self.store.update_item(D, "alice", CAROL, put(hidden))
        self.assertEqual(await self.store.get_item(D, "alice", CAROL), hidden)

    async def test_items_sorted_by_contact(self) -> None:
        """get_items returns every item, listed or not, in contact order."""
        for contact in ["zed@example.com", "amy@example.com", "mia@example.com"]:
            await self.store.update_item(D, "alice", contact, put(RosterItem(contact)))
        await self.store.update_item(
            D, "alice", "bob@example.com",
            put(RosterItem("bob@example.com", pending_in=True, listed=False)),
        )
        items = await self.store.get_items(D, "alice")
        self.assertEqual(
            [i.contact for i in items],
            ["amy@example.com", "bob@example.com", "mia@example.com", "zed@example.com"],
        )

    async def test_change_sees_current_item(self) -> None:
        """The change function receives the stored item and its result replaces it."""
        await self.store.update_item(D, "alice", BOB, put(RosterItem(BOB, name="Bob")))
        seen = []

        def rename(before):
            seen.append(before)
            return replace(before, name="Robert")

        update = await self.store.update_item(D, "alice", BOB, rename)
        self.assertEqual(seen[-1], RosterItem(BOB, name="Bob"))
        self.assertEqual(update.after.name, "Robert")
        self.assertEqual((await self.store.get_item(D, "alice", BOB)).name, "Robert")

    async def test_version_changes_only_on_writes(self) -> None:
        """Each real change gives a new version; an update that changes nothing keeps it."""
        first = await self.store.update_item(D, "alice", BOB, put(RosterItem(BOB)))
        same = await self.store.update_item(D, "alice", BOB, put(RosterItem(BOB)))
        self.assertFalse(same.changed)
        self.assertEqual(same.version, first.version)
        second = await self.store.update_item(D, "alice", BOB, put(RosterItem(BOB, name="B")))
        self.assertNotEqual(second.version, first.version)
        self.assertEqual(await self.store.get_version(D, "alice"), second.version)
        third = await self.store.update_item(D, "alice", BOB, delete)
        self.assertNotIn(third.version, (first.version, second.version))

    async def test_delete(self) -> None:
        """A change returning None removes the item; deleting nothing changes nothing."""
        await self.store.update_item(D, "alice", BOB, put(RosterItem(BOB)))
        update = await self.store.update_item(D, "alice", BOB, delete)
        self.assertEqual((update.before, update.after), (RosterItem(BOB), None))
        self.assertIsNone(await self.store.get_item(D, "alice", BOB))
        again = await self.store.update_item(D, "alice", BOB, delete)
        self.assertFalse(again.changed)

    async def test_failed_change_writes_nothing(self) -> None:
        """An exception from the change arrives unchanged and leaves item and version as they were."""
        await self.store.update_item(D, "alice", BOB, put(RosterItem(BOB, name="Bob")))
        version = await self.store.get_version(D, "alice")
        with self.assertRaises(Refused):
            await self.store.update_item(D, "alice", BOB, refuse)
        self.assertEqual(await self.store.get_item(D, "alice", BOB), RosterItem(BOB, name="Bob"))
        self.assertEqual(await self.store.get_version(D, "alice"), version)

    async def test_wrong_contact_refused(self) -> None:
        """A change may not return an item for another contact."""
        with self.assertRaises(ValueError):
            await self.store.update_item(D, "alice", BOB, put(RosterItem(CAROL)))
        self.assertEqual(await self.store.get_items(D, "alice"), [])

    async def test_users_and_domains_are_separate(self) -> None:
        """Rosters and versions of different users and domains do not mix."""
        await self.store.update_item(D, "alice", BOB, put(RosterItem(BOB, name="one")))
        await self.store.update_item("other.example", "alice", BOB, put(RosterItem(BOB, name="two")))
        await self.store.update_item(D, "dave", BOB, put(RosterItem(BOB, name="three")))
        self.assertEqual((await self.store.get_item(D, "alice", BOB)).name, "one")
        self.assertEqual((await self.store.get_item("other.example", "alice", BOB)).name, "two")
        self.assertEqual(await self.store.get_version(D, "carol"), "0")

    async def test_remove_user(self) -> None:
        """remove_user deletes the user's items and version, and nobody else's."""
        await self.store.update_item(D, "alice", BOB, put(RosterItem(BOB)))
        await self.store.update_item(D, "alice", CAROL, put(RosterItem(CAROL)))
        await self.store.update_item(D, "dave", BOB, put(RosterItem(BOB)))
        self.assertEqual(await self.store.remove_user(D, "alice"), 2)
        self.assertEqual(await self.store.get_items(D, "alice"), [])
        self.assertEqual(await self.store.get_version(D, "alice"), "0")
        self.assertEqual(len(await self.store.get_items(D, "dave")), 1)
        self.assertEqual(await self.store.remove_user(D, "alice"), 0)

    async def test_concurrent_updates_serialise(self) -> None:
        """Many read-modify-write updates of one user in flight at once lose nothing."""
        await self.store.update_item(D, "alice", BOB, put(RosterItem(BOB, groups=())))

        def add_group(name):
            return lambda before: replace(before, groups=(*before.groups, name))

        await defer.gatherResults(
            [
                defer.ensureDeferred(self.store.update_item(D, "alice", BOB, add_group(f"g{i}")))
                for i in range(12)
            ]
        )
        item = await self.store.get_item(D, "alice", BOB)
        self.assertEqual(sorted(item.groups), sorted(f"g{i}" for i in range(12)))

    async def test_concurrent_first_writes(self) -> None:
        """Parallel first writes of a new user (no version row yet) all land."""
        contacts = [f"c{i}@example.com" for i in range(10)]
        updates = await defer.gatherResults(
            [
                defer.ensureDeferred(self.store.update_item(D, "newbie", c, put(RosterItem(c))))
                for c in contacts
            ]
        )
        self.assertEqual(len({u.version for u in updates}), 10)
        self.assertEqual([i.contact for i in await self.store.get_items(D, "newbie")], contacts)

    async def test_survives_reopen(self) -> None:
        """Items with pending requests are still there after the stores are reopened."""
        item = RosterItem(BOB, subscription="to", pending_in=True, ask_message="hi")
        await self.store.update_item(D, "alice", BOB, put(item))
        version = await self.store.get_version(D, "alice")
        await self.stores.close()
        self.stores = await self.open_test_stores()
        self.store = self.stores.roster
        self.assertEqual(await self.store.get_item(D, "alice", BOB), item)
        self.assertEqual(await self.store.get_version(D, "alice"), version)
