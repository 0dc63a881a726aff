"""SQLite engine: the embedded, zero-configuration default.

One connection used from one dedicated thread (so the stdlib's
same-thread check stays on), write-ahead logging, foreign keys enforced and a
busy timeout for other processes holding the file.  Transactions start with
``BEGIN IMMEDIATE`` so a writer never fails half-way on a lock upgrade.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Mapping, Sequence
from typing import Any

from zope.interface import implementer

from mongoose.storage.errors import StorageError, one_line
from mongoose.storage.sql.engines import base

__all__ = ["SQLiteEngine", "DEFAULT_FILE"]

#: File name used under the data directory when no path is configured.
DEFAULT_FILE = "mongooseim.db"


@implementer(base.ISQLEngine)
class SQLiteEngine:
    """Connects to one SQLite file.

    Args:
        path: the database file (``":memory:"`` for a private in-memory
            database, useful in tests only).
        busy_timeout: seconds to wait for a lock held by another process.
    """

    name = "sqlite"
    schema_variant = "sqlite"
    max_connections = 1
    driver_errors = (sqlite3.Error,)

    def __init__(self, path: str, busy_timeout: float = 5.0):
        self.path = path
        self.busy_timeout = busy_timeout
        self.description = f"SQLite database {path}"

    @classmethod
    def from_options(cls, connection: Mapping[str, Any], data_dir: str) -> "SQLiteEngine":
        """Build the engine from ``outgoing_pools.rdbms.*.connection`` options.

        Args:
            connection: options with an optional ``database`` file path; a
                relative path is relative to the working directory, as the
                configuration documentation says.
            data_dir: the node's data directory, home of the default file.

        Returns:
            The engine for that file (default ``<data_dir>/mongooseim.db``).
        """
        database = connection.get("database")
        if not database:
            return cls(os.path.abspath(os.path.join(data_dir, DEFAULT_FILE)))
        if database == ":memory:":
            return cls(database)
        return cls(os.path.abspath(os.path.expanduser(str(database))))

    def connect(self) -> sqlite3.Connection:
        """Open the file (creating it and its directory) and configure the connection.

        Raises:
            StorageError: the file cannot be opened or is not a database.
        """
        try:
            if self.path != ":memory:":
                directory = os.path.dirname(os.path.abspath(self.path))
                os.makedirs(directory, exist_ok=True)
            connection = sqlite3.connect(self.path, timeout=self.busy_timeout, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise StorageError(f"cannot open {self.description}: {one_line(exc)}") from exc
        try:
            connection.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")
            connection.execute("PRAGMA journal_mode = WAL").fetchall()
            connection.execute("PRAGMA synchronous = NORMAL")
            connection.execute("PRAGMA foreign_keys = ON")
        except sqlite3.Error as exc:
            connection.close()
            raise StorageError(f"cannot open {self.description}: {one_line(exc)}") from exc
        return connection

    def begin(self, connection: sqlite3.Connection) -> None:
        """Start a write transaction (the connection is in autocommit mode otherwise)."""
        connection.execute("BEGIN IMMEDIATE")

    def close(self, connection: sqlite3.Connection) -> None:
        """Close the connection, ignoring errors."""
        try:
            connection.close()
        except sqlite3.Error:
            pass

    def convert(self, sql: str) -> str:
        """SQLite understands ``?`` placeholders as they are."""
        return sql

    def is_retryable(self, exc: BaseException) -> bool:
        """True when another process held the database past the busy timeout."""
        if not isinstance(exc, sqlite3.OperationalError):
            return False
        message = str(exc).lower()
        return "locked" in message or "busy" in message

    def is_disconnect(self, exc: BaseException, connection: Any) -> bool:
        """A local file connection is never lost."""
        return False

    def limit_offset(self, limit: int | None, offset: int) -> tuple[str, tuple[int, int]]:
        """``LIMIT -1`` means no limit in SQLite."""
        base.check_limit_offset(limit, offset)
        return "LIMIT ? OFFSET ?", (-1 if limit is None else limit, offset)

    def upsert_sql(
        self, table: str, key_columns: Sequence[str], value_columns: Sequence[str]
    ) -> str:
        """See :func:`mongoose.storage.sql.engines.base.upsert_sql`."""
        return base.upsert_sql(table, key_columns, value_columns)

    def insert_or_ignore_sql(
        self, table: str, columns: Sequence[str], key_columns: Sequence[str]
    ) -> str:
        """See :func:`mongoose.storage.sql.engines.base.insert_or_ignore_sql`."""
        return base.insert_or_ignore_sql(table, columns, key_columns)

    def lock_schema(self, txn: Any) -> None:
        """Nothing to do: ``BEGIN IMMEDIATE`` already holds the write lock."""
