"""Per-engine fixtures for storage tests: real SQLite files, real PostgreSQL databases.

Mix one of these into a ``twisted.trial.unittest.TestCase`` together with a
contract mixin; the contract only calls :meth:`pool_options`,
:meth:`open_test_stores` and :meth:`reset_database`.
"""

from __future__ import annotations

import os
from typing import Any

import psycopg
from psycopg.conninfo import make_conninfo
from twisted.internet import threads

from mongoose.storage.factory import Stores, open_stores
from test.support.postgres import database_for

__all__ = ["SQLiteFixture", "PostgresFixture"]


class SQLiteFixture:
    """A temporary SQLite file per test."""

    engine_name = "sqlite"

    def data_dir(self) -> str:
        """This test's data directory (created by open_stores)."""
        if not hasattr(self, "_data_dir"):
            self._data_dir = os.path.abspath(self.mktemp())
        return self._data_dir

    async def pool_options(self) -> dict[str, Any]:
        """``outgoing_pools.rdbms.default`` options naming this test's file."""
        return {
            "connection": {"driver": "sqlite", "database": os.path.join(self.data_dir(), "test.db")}
        }

    async def reset_database(self) -> None:
        """Nothing to do: every test has its own file."""

    async def open_test_stores(self) -> Stores:
        """Open (creating and migrating on first use) this test's database."""
        return await open_stores(await self.pool_options(), self.data_dir())


class PostgresFixture:
    """The test class's own PostgreSQL database, emptied before each test."""

    engine_name = "pgsql"

    def data_dir(self) -> str:
        """This test's data directory (unused by PostgreSQL, required by open_stores)."""
        if not hasattr(self, "_data_dir"):
            self._data_dir = os.path.abspath(self.mktemp())
        return self._data_dir

    async def pool_options(self) -> dict[str, Any]:
        """Options naming the class's database (created on first use)."""
        return await database_for(self)

    async def reset_database(self) -> None:
        """Drop every table so the next open starts from an empty database."""
        options = await self.pool_options()
        connection = options["connection"]
        conninfo = make_conninfo(
            host=connection["host"],
            port=connection["port"],
            dbname=connection["database"],
            user=connection["username"],
            password=connection.get("password"),
        )

        def reset() -> None:
            with psycopg.connect(conninfo, autocommit=True) as conn:
                conn.execute("DROP SCHEMA public CASCADE")
                conn.execute("CREATE SCHEMA public")

        await threads.deferToThread(reset)

    async def open_test_stores(self) -> Stores:
        """Open (and migrate) the class's database."""
        return await open_stores(await self.pool_options(), self.data_dir())
