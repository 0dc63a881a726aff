"""Removing a domain purges it from every store, on SQLite and PostgreSQL.

The check reads the schema itself: every table with a ``domain`` column
must hold no row of the removed domain afterwards, and the test fails when
a table is not filled for it first, so a store added later without a
``remove_domain`` (or without a case here) is caught.
"""

from __future__ import annotations

from datetime import UTC, datetime

from twisted.internet import defer
from twisted.trial import unittest

from mongoose.auth.password import make_secret
from mongoose.storage.interfaces import OfflineMessage, PrivacyItem, RosterItem
from test.storage.fixtures import PostgresFixture, SQLiteFixture

GONE = "gone.example"
KEPT = "kept.example"
SECRET = make_secret("pw", hashes=("sha256",), iterations=2)
#: Tables of the domain store itself: DynamicDomains removes those rows.
DOMAIN_TABLES = {"domains", "domain_admins"}


def _domain_tables_txn(txn, engine_name: str) -> list[str]:
    if engine_name == "sqlite":
        txn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        names = [row[0] for row in txn.fetchall()]
        found = []
        for name in names:
            txn.execute(f"PRAGMA table_info({name})")
            if any(row[1] == "domain" for row in txn.fetchall()):
                found.append(name)
        return found
    txn.execute(
        "SELECT table_name FROM information_schema.columns WHERE table_schema = 'public' "
        "AND column_name = 'domain' ORDER BY table_name"
    )
    return [row[0] for row in txn.fetchall()]


def _counts_txn(txn, tables: list[str], domain: str) -> dict[str, int]:
    counts = {}
    for table in tables:
        txn.execute(f"SELECT COUNT(*) FROM {table} WHERE domain = ?", (domain,))
        counts[table] = int(txn.fetchone()[0])
    return counts


class PurgeDomainContract:
    """Mix into a TestCase with a fixture from ``test.storage.fixtures``."""

    async def _setUp(self) -> None:
        await self.reset_database()
        self.stores = await self.open_test_stores()

    def setUp(self) -> defer.Deferred[None]:
        """Open the stores on an empty database."""
        return defer.ensureDeferred(self._setUp())

    def tearDown(self) -> defer.Deferred[None]:
        """Close the stores (and their threads)."""
        return self.stores.close()

    async def _fill(self, domain: str) -> None:
        s = self.stores
        for user in ("alice", "bob"):
            await s.auth.add_user(domain, user, SECRET)
            await s.roster.update_item(
                domain, user, f"carol@{domain}", lambda _: RosterItem(f"carol@{domain}", "C"))
            await s.offline.store_message(domain, user, OfflineMessage(
                f"carol@{domain}/r", datetime(2024, 1, 1, tzinfo=UTC), "<message/>"))
            await s.last.set_last(domain, user, 1700000000, "bye")
            await s.private.set_private(domain, user, {"storage:bookmarks": "<storage/>"})
            await s.vcard.set_vcard(domain, user, "<vCard xmlns='vcard-temp'/>", "Al", "al")
            await s.privacy.set_list(domain, user, "blocking",
                                     [PrivacyItem("deny", 1, "jid", "spam@x.example")])
            await s.privacy.set_default(domain, user, "blocking")
            await s.blocklist.add_block(domain, user, "spam")

    async def _counts(self, domain: str) -> dict[str, int]:
        db = self.stores.database
        tables = await db.run_interaction("tables", _domain_tables_txn, self.stores.engine_name)
        tables = [t for t in tables if t not in DOMAIN_TABLES]
        return await db.run_interaction("counts", _counts_txn, tables, domain)

    async def test_every_table_is_purged(self) -> None:
        """After purge_domain no table holds a row of the domain; another domain keeps all."""
        await self._fill(GONE)
        await self._fill(KEPT)
        before = await self._counts(GONE)
        empty = sorted(t for t, n in before.items() if n == 0)
        self.assertEqual(empty, [], "tables this test does not fill; add them to _fill")
        counts = await self.stores.purge_domain(GONE)
        self.assertEqual(sum(counts.values()), sum(before.values()))
        self.assertEqual(counts["auth"], 2)
        after = await self._counts(GONE)
        self.assertEqual({t: n for t, n in after.items() if n}, {})
        self.assertEqual(await self._counts(KEPT), before)
        self.assertEqual(await self.stores.auth.list_users(KEPT), ["alice", "bob"])
        self.assertFalse(await self.stores.auth.user_exists(GONE, "alice"))

    async def test_purge_is_repeatable(self) -> None:
        """Purging a domain with nothing stored deletes nothing and does not fail."""
        await self._fill(GONE)
        await self.stores.purge_domain(GONE)
        counts = await self.stores.purge_domain(GONE)
        self.assertEqual(set(counts.values()), {0})


class SQLitePurgeDomainTests(PurgeDomainContract, SQLiteFixture, unittest.TestCase):
    """Stores.purge_domain on a SQLite file."""


class PostgresPurgeDomainTests(PurgeDomainContract, PostgresFixture, unittest.TestCase):
    """Stores.purge_domain on a fresh PostgreSQL database."""
