"""The ILastStore contract against SQLite and PostgreSQL."""

from __future__ import annotations

from twisted.trial import unittest

from test.storage.fixtures import PostgresFixture, SQLiteFixture
from test.storage.last_contract import LastStoreContract


class SQLiteLastStoreTests(LastStoreContract, SQLiteFixture, unittest.TestCase):
    """SQLLastStore on a SQLite file."""


class PostgresLastStoreTests(LastStoreContract, PostgresFixture, unittest.TestCase):
    """SQLLastStore on a fresh PostgreSQL database."""
