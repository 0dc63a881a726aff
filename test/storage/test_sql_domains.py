"""The IDomainStore contract (dynamic domains, migration 0008) on SQLite and PostgreSQL."""

from __future__ import annotations

from twisted.internet import defer
from twisted.trial import unittest
from zope.interface.verify import verifyObject

from mongoose.storage.interfaces import IDomainStore
from test.storage.fixtures import PostgresFixture, SQLiteFixture


class DomainStoreContract:
    """Mix into a TestCase with a fixture from ``test.storage.fixtures``."""

    async def _setUp(self) -> None:
        await self.reset_database()
        self.stores = await self.open_test_stores()
        self.store = self.stores.domains

    def setUp(self) -> defer.Deferred[None]:
        """Open the stores on an empty database."""
        return defer.ensureDeferred(self._setUp())

    def tearDown(self) -> defer.Deferred[None]:
        """Close the stores (and their threads)."""
        return self.stores.close()

    def test_provides_interface(self) -> None:
        """The store provides every IDomainStore method."""
        self.assertTrue(verifyObject(IDomainStore, self.store))

    async def test_add_get_list(self) -> None:
        """An added domain is enabled, listed by name and by host type; a second add is refused."""
        self.assertTrue(await self.store.add_domain("b.example", "type1"))
        self.assertTrue(await self.store.add_domain("a.example", "type2"))
        self.assertFalse(await self.store.add_domain("a.example", "type1"))
        self.assertEqual(await self.store.get_domain("a.example"), ("a.example", "type2", True))
        self.assertIsNone(await self.store.get_domain("c.example"))
        self.assertEqual(await self.store.list_domains(),
                         [("a.example", "type2", True), ("b.example", "type1", True)])
        self.assertEqual(await self.store.list_domains("type1"), [("b.example", "type1", True)])

    async def test_enable_disable(self) -> None:
        """Disabling persists; an unknown domain reports False."""
        await self.store.add_domain("a.example", "type1")
        self.assertTrue(await self.store.set_enabled("a.example", False))
        self.assertEqual(await self.store.get_domain("a.example"), ("a.example", "type1", False))
        self.assertTrue(await self.store.set_enabled("a.example", True))
        self.assertEqual((await self.store.get_domain("a.example"))[2], True)
        self.assertFalse(await self.store.set_enabled("nope.example", True))

    async def test_admin_secret_and_remove(self) -> None:
        """The admin secret is replaced on set and dropped with the domain."""
        await self.store.add_domain("a.example", "type1")
        self.assertIsNone(await self.store.get_admin_secret("a.example"))
        await self.store.set_admin_secret("a.example", "one")
        await self.store.set_admin_secret("a.example", "two")
        self.assertEqual(await self.store.get_admin_secret("a.example"), "two")
        self.assertTrue(await self.store.remove_domain("a.example"))
        self.assertFalse(await self.store.remove_domain("a.example"))
        self.assertIsNone(await self.store.get_admin_secret("a.example"))
        self.assertIsNone(await self.store.get_domain("a.example"))
        await self.store.set_admin_secret("b.example", "x")
        self.assertTrue(await self.store.delete_admin_secret("b.example"))
        self.assertFalse(await self.store.delete_admin_secret("b.example"))


class SQLiteDomainStoreTests(DomainStoreContract, SQLiteFixture, unittest.TestCase):
    """SQLDomainStore on a SQLite file."""


class PostgresDomainStoreTests(DomainStoreContract, PostgresFixture, unittest.TestCase):
    """SQLDomainStore on a fresh PostgreSQL database."""
