"""The IPrivacyStore and IBlocklistStore contracts against SQLite and PostgreSQL."""

from __future__ import annotations

from twisted.trial import unittest

from test.storage.fixtures import PostgresFixture, SQLiteFixture
from test.storage.privacy_contract import BlocklistStoreContract, PrivacyStoreContract


class SQLitePrivacyStoreTests(PrivacyStoreContract, SQLiteFixture, unittest.TestCase):
    """SQLPrivacyStore on a SQLite file."""


class PostgresPrivacyStoreTests(PrivacyStoreContract, PostgresFixture, unittest.TestCase):
    """SQLPrivacyStore on a fresh PostgreSQL database."""


class SQLiteBlocklistStoreTests(BlocklistStoreContract, SQLiteFixture, unittest.TestCase):
    """SQLBlocklistStore on a SQLite file."""


class PostgresBlocklistStoreTests(BlocklistStoreContract, PostgresFixture, unittest.TestCase):
    """SQLBlocklistStore on a fresh PostgreSQL database."""
