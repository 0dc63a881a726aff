"""The IOfflineStore contract against SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

from twisted.trial import unittest

from mongoose.storage.sql.offline import from_micros, to_micros
from test.storage.fixtures import PostgresFixture, SQLiteFixture
from test.storage.offline_contract import OfflineStoreContract


class MicrosTests(unittest.SynchronousTestCase):
    """Times are stored as microseconds since the epoch."""

    def test_round_trip(self):
        """A UTC datetime survives the conversion to microseconds and back exactly."""
        moment = datetime(2031, 12, 24, 23, 59, 58, 999999, tzinfo=UTC)
        self.assertEqual(from_micros(to_micros(moment)), moment)
        self.assertEqual(to_micros(datetime(1970, 1, 1, 0, 0, 1, tzinfo=UTC)), 1_000_000)


class SQLiteOfflineStoreTests(OfflineStoreContract, SQLiteFixture, unittest.TestCase):
    """SQLOfflineStore on a SQLite file."""


class PostgresOfflineStoreTests(OfflineStoreContract, PostgresFixture, unittest.TestCase):
    """SQLOfflineStore on a fresh PostgreSQL database."""
