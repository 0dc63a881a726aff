"""Numbered schema migrations and the schema_version guard, on SQLite and PostgreSQL."""

from __future__ import annotations

import os

from twisted.internet import defer
from twisted.trial import unittest

from mongoose.storage.errors import SchemaVersionError, StorageError
from mongoose.storage.sql.database import Database
from mongoose.storage.sql.migrations import (
    Migration,
    load_migrations,
    migrate,
    schema_version,
    split_statements,
)
from test.storage.fixtures import PostgresFixture, SQLiteFixture


def _versions_txn(txn):
    txn.execute("SELECT version, name FROM schema_version ORDER BY version")
    return [tuple(row) for row in txn.fetchall()]


def _table_exists_txn(txn, table):
    try:
        txn.execute(f"SELECT COUNT(*) FROM {table}")
    except Exception:
        return False
    return True


def _set_version_txn(txn, version):
    txn.execute(
        "INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?)",
        (version, "from_the_future", "2100-01-01T00:00:00+00:00"),
    )


def _insert_txn(txn):
    txn.execute("INSERT INTO users (domain, username) VALUES (?, ?)", ("example.com", "alice"))


def _count_txn(txn):
    txn.execute("SELECT COUNT(*) FROM users")
    return txn.fetchone()[0]


class SplitStatementsTests(unittest.SynchronousTestCase):
    """split_statements cuts a file at the right semicolons."""

    def test_split(self):
        """Statements split at semicolons; comments and blanks disappear."""
        sql = "-- a; comment\nCREATE TABLE a (x INT);\n\nCREATE TABLE b (y INT);\n-- end\n"
        self.assertEqual(
            split_statements(sql), ["CREATE TABLE a (x INT)", "CREATE TABLE b (y INT)"]
        )

    def test_quoted_semicolon(self):
        """A semicolon inside a string literal or quoted name does not split."""
        sql = "INSERT INTO t VALUES ('a;b', 'it''s;'); CREATE TABLE \"x;y\" (z INT)"
        self.assertEqual(
            split_statements(sql),
            ["INSERT INTO t VALUES ('a;b', 'it''s;')", 'CREATE TABLE "x;y" (z INT)'],
        )


class LoadMigrationsTests(unittest.SynchronousTestCase):
    """load_migrations picks the right file per engine and checks numbering."""

    def _folder(self, files):
        folder = self.mktemp()
        os.makedirs(folder)
        for name, text in files.items():
            with open(os.path.join(folder, name), "w") as f:
                f.write(text)
        return folder

    def test_shipped_migrations(self):
        """The shipped files load for both engines, numbered from 1, users table first."""
        for variant in ("sqlite", "postgres"):
            migrations = load_migrations(variant)
            self.assertEqual([m.version for m in migrations], list(range(1, len(migrations) + 1)))
            self.assertEqual(migrations[0].name, "users")
            self.assertIn("domain", migrations[0].sql)

    def test_variant_wins(self):
        """An engine-specific file replaces the generic one for that engine only."""
        folder = self._folder(
            {
                "0001_a.sql": "generic",
                "0001_a.postgres.sql": "postgres",
                "0002_b.sql": "second",
                "README": "ignored",
            }
        )
        self.assertEqual(
            [m.sql for m in load_migrations("postgres", folder)], ["postgres", "second"]
        )
        self.assertEqual([m.sql for m in load_migrations("sqlite", folder)], ["generic", "second"])

    def test_gap(self):
        """A missing number is an error naming it."""
        folder = self._folder({"0001_a.sql": "x", "0003_c.sql": "y"})
        error = self.assertRaises(StorageError, load_migrations, "sqlite", folder)
        self.assertIn("0002", str(error))

    def test_other_engine_only(self):
        """A number with a file for the other engine only is an error."""
        folder = self._folder({"0001_a.postgres.sql": "x"})
        error = self.assertRaises(StorageError, load_migrations, "sqlite", folder)
        self.assertIn("no file for sqlite", str(error))

    def test_two_names(self):
        """One number with two names is an error."""
        folder = self._folder({"0001_a.sql": "x", "0001_b.sqlite.sql": "y"})
        self.assertRaises(StorageError, load_migrations, "sqlite", folder)


class MigrationContract:
    """Schema versioning behaviour every engine shares."""

    def setUp(self):
        """Start from an empty database."""
        self.opened = []
        return defer.ensureDeferred(self.reset_database())

    async def _open(self):
        stores = await self.open_test_stores()
        self.opened.append(stores)
        return stores

    async def tearDown(self):
        """Close what the test opened."""
        for stores in self.opened:
            await stores.close()

    def _engine(self, stores):
        return stores.database.engine

    async def test_fresh_database_gets_latest(self):
        """A new database is migrated to the newest version, one row per migration."""
        stores = await self._open()
        latest = load_migrations(self._engine(stores).schema_variant)
        self.assertEqual(await schema_version(stores.database), len(latest))
        rows = await stores.database.run_interaction("versions", _versions_txn)
        self.assertEqual(rows, [(m.version, m.name) for m in latest])

    async def test_reopen_is_idempotent(self):
        """Opening an up-to-date database changes nothing and keeps the data."""
        stores = await self._open()
        await stores.database.run_interaction("insert", _insert_txn)
        before = await stores.database.run_interaction("versions", _versions_txn)
        await stores.close()
        again = await self._open()
        self.assertEqual(await again.database.run_interaction("versions", _versions_txn), before)
        self.assertEqual(await again.database.run_interaction("count", _count_txn), 1)
        self.assertEqual(await migrate(again.database), len(before))

    async def test_newer_database_refused(self):
        """A database with a newer schema than the code knows is refused with a clear error."""
        stores = await self._open()
        await stores.database.run_interaction("future", _set_version_txn, 9999)
        await stores.close()
        with self.assertRaises(SchemaVersionError) as caught:
            await self._open()
        message = str(caught.exception)
        self.assertIn("schema version 9999", message)
        self.assertIn("upgrade mongoose", message)
        self.assertNotIn("\n", message)

    async def test_failed_migration_rolls_back(self):
        """A failing migration leaves no trace: the version and tables stay as before."""
        stores = await self._open()
        database = stores.database
        current = await schema_version(database)
        shipped = load_migrations(self._engine(stores).schema_variant)
        broken = Migration(
            current + 1,
            "broken",
            "CREATE TABLE half_done (domain TEXT NOT NULL);\nSELECT * FROM no_such_table;",
        )
        with self.assertRaises(StorageError) as caught:
            await migrate(database, shipped + [broken])
        self.assertIn(f"{current + 1:04d}_broken", str(caught.exception))
        self.assertEqual(await schema_version(database), current)
        self.assertFalse(await database.run_interaction("exists", _table_exists_txn, "half_done"))

    async def test_new_migration_applied_on_open(self):
        """A migration added later is applied to an existing database, exactly once."""
        stores = await self._open()
        database: Database = stores.database
        shipped = load_migrations(self._engine(stores).schema_variant)
        extra = Migration(
            len(shipped) + 1,
            "extra",
            "CREATE TABLE extra (domain TEXT NOT NULL, v TEXT);"
            "INSERT INTO extra (domain, v) VALUES ('x', '50%?');",
        )
        self.assertEqual(await migrate(database, shipped + [extra]), len(shipped) + 1)
        self.assertEqual(await migrate(database, shipped + [extra]), len(shipped) + 1)

        def rows_txn(txn):
            txn.execute("SELECT v FROM extra")
            return txn.fetchall()

        self.assertEqual(
            [tuple(r) for r in await database.run_interaction("rows", rows_txn)], [("50%?",)]
        )


class SQLiteMigrationTests(MigrationContract, SQLiteFixture, unittest.TestCase):
    """Migrations on SQLite files."""


class PostgresMigrationTests(MigrationContract, PostgresFixture, unittest.TestCase):
    """Migrations on PostgreSQL."""
