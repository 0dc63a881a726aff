"""The IVCardStore contract: one set of cases every backend must pass."""

from __future__ import annotations

from twisted.internet import defer
from zope.interface.verify import verifyObject

from mongoose.storage.interfaces import IVCardStore

__all__ = ["VCardStoreContract"]

D = "example.com"
CARD = "<vCard xmlns='vcard-temp'><FN>Alice Ünder</FN></vCard>"


class VCardStoreContract:
    """Mix into a TestCase with a fixture from ``test.storage.fixtures``."""

    async def _setUp(self) -> None:
        await self.reset_database()
        self.stores = await self.open_test_stores()
        self.store = self.stores.vcard

    def setUp(self) -> defer.Deferred[None]:
        """Open the stores on an empty database."""
        return defer.ensureDeferred(self._setUp())

    def tearDown(self) -> defer.Deferred[None]:
        """Close the stores (and their threads)."""
        return self.stores.close()

    def test_provides_interface(self) -> None:
        """The store provides every IVCardStore method."""
        self.assertTrue(verifyObject(IVCardStore, self.store))

    async def test_none_stored(self) -> None:
        """A user without a vCard gets None."""
        self.assertIsNone(await self.store.get_vcard(D, "alice"))

    async def test_set_and_replace(self) -> None:
        """The last vCard set is returned exactly."""
        await self.store.set_vcard(D, "alice", "<vCard xmlns='vcard-temp'/>")
        await self.store.set_vcard(D, "alice", CARD, fn="Alice Ünder", nickname="al")
        self.assertEqual(await self.store.get_vcard(D, "alice"), CARD)
        self.assertIsNone(await self.store.get_vcard("other.test", "alice"))

    async def test_remove_user(self) -> None:
        """Removing reports whether a vCard existed."""
        await self.store.set_vcard(D, "alice", CARD)
        self.assertIs(await self.store.remove_user(D, "alice"), True)
        self.assertIs(await self.store.remove_user(D, "alice"), False)
        self.assertIsNone(await self.store.get_vcard(D, "alice"))

    async def test_search(self) -> None:
        """Every given criterion must match the start of its field, ignoring case."""
        await self.store.set_vcard(D, "alice", CARD, fn="Alice Ünder", nickname="al")
        await self.store.set_vcard(D, "alfred", "<vCard xmlns='vcard-temp'/>", fn="Alfred",
                                   nickname="alf")
        await self.store.set_vcard(D, "bob", "<vCard xmlns='vcard-temp'/>", fn="Bob 100%",
                                   nickname="al_b")
        await self.store.set_vcard("other.test", "alan", CARD, fn="Alan", nickname="al")
        found = await self.store.search(D, {"nickname": "AL"})
        self.assertEqual([u for u, _ in found], ["alfred", "alice", "bob"])
        self.assertEqual(found[1][1], CARD)
        self.assertEqual([u for u, _ in await self.store.search(D, {"fn": "alice ü"})], ["alice"])
        self.assertEqual(
            [u for u, _ in await self.store.search(D, {"user": "al", "nickname": "alf"})],
            ["alfred"],
        )
        self.assertEqual([u for u, _ in await self.store.search(D, {"nickname": "al_"})], ["bob"])
        self.assertEqual([u for u, _ in await self.store.search(D, {"fn": "bob 100%"})], ["bob"])
        self.assertEqual(len(await self.store.search(D, {}, limit=2)), 2)
        with self.assertRaises(ValueError):
            await self.store.search(D, {"email": "x"})
