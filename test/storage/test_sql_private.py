"""The IPrivateStore contract against SQLite and PostgreSQL."""

from __future__ import annotations

from twisted.trial import unittest

from test.storage.fixtures import PostgresFixture, SQLiteFixture
from test.storage.private_contract import PrivateStoreContract


class SQLitePrivateStoreTests(PrivateStoreContract, SQLiteFixture, unittest.TestCase):
    """SQLPrivateStore on a SQLite file."""


class PostgresPrivateStoreTests(PrivateStoreContract, PostgresFixture, unittest.TestCase):
    """SQLPrivateStore on a fresh PostgreSQL database."""
