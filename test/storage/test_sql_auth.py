"""The IAuthStore contract, plus SQL-only cases, against SQLite and PostgreSQL."""

from __future__ import annotations

from twisted.trial import unittest

from mongoose.storage.errors import StorageError
from test.storage.auth_contract import AuthStoreContract
from test.storage.fixtures import PostgresFixture, SQLiteFixture


def _corrupt_txn(txn):
    txn.execute(
        "INSERT INTO users (domain, username, password, pass_details) VALUES (?, ?, ?, ?)",
        ("example.com", "broken", None, "{not json"),
    )


class SQLAuthStoreCases(AuthStoreContract):
    """The shared contract plus what a damaged row looks like to callers."""

    async def test_corrupt_secret(self):
        """Unreadable stored password data is a one-line StorageError naming the user."""
        await self.stores.database.run_interaction("corrupt", _corrupt_txn)
        with self.assertRaises(StorageError) as caught:
            await self.store.get_secret("example.com", "broken")
        message = str(caught.exception)
        self.assertIn("broken@example.com", message)
        self.assertNotIn("\n", message)


class SQLiteAuthStoreTests(SQLAuthStoreCases, SQLiteFixture, unittest.TestCase):
    """SQLAuthStore on a SQLite file."""


class PostgresAuthStoreTests(SQLAuthStoreCases, PostgresFixture, unittest.TestCase):
    """SQLAuthStore on a fresh PostgreSQL database."""
