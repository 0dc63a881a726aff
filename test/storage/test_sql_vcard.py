"""The IVCardStore contract against SQLite and PostgreSQL."""

from __future__ import annotations

from twisted.trial import unittest

from test.storage.fixtures import PostgresFixture, SQLiteFixture
from test.storage.vcard_contract import VCardStoreContract


class SQLiteVCardStoreTests(VCardStoreContract, SQLiteFixture, unittest.TestCase):
    """SQLVCardStore on a SQLite file."""


class PostgresVCardStoreTests(VCardStoreContract, PostgresFixture, unittest.TestCase):
    """SQLVCardStore on a fresh PostgreSQL database."""
