"""The IRosterStore contract, plus SQL-only cases, against SQLite and PostgreSQL."""

from __future__ import annotations

from twisted.trial import unittest

from mongoose.storage.errors import StorageError
from test.storage.fixtures import PostgresFixture, SQLiteFixture
from test.storage.roster_contract import RosterStoreContract


def _corrupt_txn(txn):
    txn.execute(
        "INSERT INTO roster_items (domain, username, contact, group_names) VALUES (?, ?, ?, ?)",
        ("example.com", "alice", "bob@example.com", "{not a list"),
    )


class SQLRosterStoreCases(RosterStoreContract):
    """The shared contract plus what a damaged row looks like to callers."""

    async def test_corrupt_groups(self):
        """Unreadable stored groups are a one-line StorageError naming the contact."""
        await self.stores.database.run_interaction("corrupt", _corrupt_txn)
        with self.assertRaises(StorageError) as caught:
            await self.store.get_items("example.com", "alice")
        message = str(caught.exception)
        self.assertIn("bob@example.com", message)
        self.assertNotIn("\n", message)


class SQLiteRosterStoreTests(SQLRosterStoreCases, SQLiteFixture, unittest.TestCase):
    """SQLRosterStore on a SQLite file."""


class PostgresRosterStoreTests(SQLRosterStoreCases, PostgresFixture, unittest.TestCase):
    """SQLRosterStore on a fresh PostgreSQL database."""
