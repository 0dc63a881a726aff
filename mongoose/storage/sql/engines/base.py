"""The SQL engine interface: what differs between SQLite and PostgreSQL.

Stores write their SQL once, with ``?`` placeholders and standard syntax; an
engine connects, converts placeholders to its driver's style and supplies
the statements whose syntax differs (upserts, LIMIT/OFFSET, schema locks).
This follows the engine split of Synapse's storage layer (STYLE-ANCHORS 7.5).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from zope.interface import Attribute, Interface

__all__ = ["ISQLEngine", "check_limit_offset", "insert_or_ignore_sql", "upsert_sql"]


class ISQLEngine(Interface):
    """One SQL dialect and how to connect to one database that speaks it.

    ``connect``, ``begin``, ``lock_schema`` and ``close`` are called on
    database threads only; the other methods are pure.
    """

    name = Attribute('Engine name used in the config and in Stores: "sqlite" or "pgsql".')
    schema_variant = Attribute('Suffix of engine-specific migration files: "sqlite" or "postgres".')
    description = Attribute("Where the database is, for messages (never contains a password).")
    max_connections = Attribute("How many connections (and threads) to use at most.")
    driver_errors = Attribute("Tuple of the driver's exception classes.")

    def connect():
        """Open and configure one DB-API connection.

        Raises:
            StorageError: the database cannot be reached; the message names it.
        """

    def begin(connection):
        """Start a transaction on ``connection``."""

    def close(connection):
        """Close ``connection``, ignoring errors."""

    def convert(sql):
        """Rewrite ``?`` placeholders (outside quotes) into the driver's style."""

    def is_retryable(exc):
        """True if ``exc`` means "run the whole transaction again" (deadlock, busy)."""

    def is_disconnect(exc, connection):
        """True if ``connection`` is unusable after ``exc`` and must be dropped."""

    def limit_offset(limit, offset):
        """Return ``(sql, params)`` for a LIMIT/OFFSET clause; ``limit`` None is unlimited."""

    def upsert_sql(table, key_columns, value_columns):
        """INSERT that updates ``value_columns`` when the key already exists."""

    def insert_or_ignore_sql(table, columns, key_columns):
        """INSERT that does nothing (rowcount 0) when the key already exists."""

    def lock_schema(txn):
        """Serialise schema changes between processes for the rest of ``txn``."""


def _placeholders(count: int) -> str:
    return ", ".join("?" * count)


def upsert_sql(table: str, key_columns: Sequence[str], value_columns: Sequence[str]) -> str:
    """Build ``INSERT ... ON CONFLICT (keys) DO UPDATE`` (SQLite >= 3.24, PostgreSQL >= 9.5).

    Args:
        table: the table name.
        key_columns: the columns of the primary key or a unique index.
        value_columns: the columns to overwrite when the key exists.

    Returns:
        SQL with one ``?`` per key column followed by one per value column.
    """
    columns = [*key_columns, *value_columns]
    updates = ", ".join(f"{c} = excluded.{c}" for c in value_columns)
    action = f"DO UPDATE SET {updates}" if value_columns else "DO NOTHING"
    return (
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({_placeholders(len(columns))}) "
        f"ON CONFLICT ({', '.join(key_columns)}) {action}"
    )


def insert_or_ignore_sql(table: str, columns: Sequence[str], key_columns: Sequence[str]) -> str:
    """Build ``INSERT ... ON CONFLICT (keys) DO NOTHING``.

    Args:
        table: the table name.
        columns: the columns given values, in parameter order.
        key_columns: the conflicting key.

    Returns:
        SQL with one ``?`` per column.
    """
    return (
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({_placeholders(len(columns))}) "
        f"ON CONFLICT ({', '.join(key_columns)}) DO NOTHING"
    )


#: The largest LIMIT/OFFSET both engines take (a signed 64-bit integer).
MAX_LIMIT_OFFSET = 2**63 - 1


def check_limit_offset(limit: Any, offset: Any) -> None:
    """Reject a negative, too large or non-integer limit or offset.

    Raises:
        ValueError: with a message naming the bad value.
    """
    if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool)
                              or not 0 <= limit <= MAX_LIMIT_OFFSET):
        raise ValueError(f"limit must be an integer from 0 to {MAX_LIMIT_OFFSET}, not {limit!r}")
    if (not isinstance(offset, int) or isinstance(offset, bool)
            or not 0 <= offset <= MAX_LIMIT_OFFSET):
        raise ValueError(
            f"offset must be an integer from 0 to {MAX_LIMIT_OFFSET}, not {offset!r}")
