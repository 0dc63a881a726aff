"""SQLBlocklistStore paging bounds on SQLite and PostgreSQL: no integer overflow reaches SQL."""

from __future__ import annotations

from twisted.internet import defer
from twisted.trial import unittest

from mongoose.storage.sql.engines.base import MAX_LIMIT_OFFSET
from test.storage.fixtures import PostgresFixture, SQLiteFixture

D = "example.com"


class BlocklistPagingContract:
    """Mix into a TestCase with a fixture from ``test.storage.fixtures``."""

    async def _setUp(self) -> None:
        await self.reset_database()
        self.stores = await self.open_test_stores()
        self.store = self.stores.blocklist

    def setUp(self) -> defer.Deferred[None]:
        """Open the stores on an empty database."""
        return defer.ensureDeferred(self._setUp())

    def tearDown(self) -> defer.Deferred[None]:
        """Close the stores (and their threads)."""
        return self.stores.close()

    async def test_offsets_past_64_bits_are_value_errors(self) -> None:
        """A limit or offset past the engines' 64-bit integers is refused before any SQL."""
        await self.store.add_block(D, "amy", None)
        for limit, offset in ((None, MAX_LIMIT_OFFSET + 1), (MAX_LIMIT_OFFSET + 1, 0),
                              (None, 10**30)):
            with self.assertRaises(ValueError) as caught:
                await self.store.list_blocks(D, limit, offset)
            self.assertIn(str(MAX_LIMIT_OFFSET), str(caught.exception))

    async def test_largest_offset_works(self) -> None:
        """The largest 64-bit offset and limit are valid SQL on the engine: an empty page."""
        await self.store.add_block(D, "amy", "spam")
        self.assertEqual(await self.store.list_blocks(D, MAX_LIMIT_OFFSET, MAX_LIMIT_OFFSET), [])
        self.assertEqual(await self.store.list_blocks(D, None, 0), [("amy", "spam")])


class SQLiteBlocklistPagingTests(BlocklistPagingContract, SQLiteFixture, unittest.TestCase):
    """SQLBlocklistStore on a SQLite file."""


class PostgresBlocklistPagingTests(BlocklistPagingContract, PostgresFixture, unittest.TestCase):
    """SQLBlocklistStore on a fresh PostgreSQL database."""
