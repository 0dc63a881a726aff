"""PostgreSQL engine (psycopg 3): the production backend.

The connection options are MongooseIM's ``outgoing_pools.rdbms.*.connection``
keys for ``driver = "pgsql"`` (host, port, database, username, password,
tls.*, query_timeout, keepalive_interval); see MongooseIM's "Outgoing
connections" documentation.  Connections are plain psycopg connections in
read-committed transactions; placeholders are converted from ``?`` to ``%s``.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

import psycopg
from psycopg import errors as pg_errors
from psycopg.conninfo import make_conninfo
from zope.interface import implementer

from mongoose.storage.errors import StorageError, one_line
from mongoose.storage.sql.engines import base

__all__ = ["PostgresEngine", "conninfo_from_options", "convert_placeholders"]

#: Key of the advisory lock that serialises migrations across nodes.
SCHEMA_LOCK_KEY = 0x6D6F6E676F6F7365  # "mongoose" in ASCII

DEFAULT_PORT = 5432
DEFAULT_WORKERS = 10
CONNECT_TIMEOUT = 10


@functools.lru_cache(maxsize=512)
def convert_placeholders(sql: str) -> str:
    """Turn ``?`` into ``%s`` and ``%`` into ``%%``, leaving quoted text and comments alone.

    Args:
        sql: a statement written with ``?`` placeholders.

    Returns:
        The statement in psycopg's ``format`` parameter style.
    """
    out: list[str] = []
    i, n = 0, len(sql)
    while i < n:
        ch = sql[i]
        if ch in ("'", '"'):
            end = sql.find(ch, i + 1)
            while end != -1 and end + 1 < n and sql[end + 1] == ch:
                end = sql.find(ch, end + 2)
            end = n if end == -1 else end + 1
            out.append(sql[i:end].replace("%", "%%"))
            i = end
        elif sql.startswith("--", i):
            end = sql.find("\n", i)
            end = n if end == -1 else end
            out.append(sql[i:end].replace("%", "%%"))
            i = end
        elif ch == "?":
            out.append("%s")
            i += 1
        elif ch == "%":
            out.append("%%")
            i += 1
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def _tls_params(tls: Mapping[str, Any] | None) -> dict[str, Any]:
    if tls is None:
        return {"sslmode": "disable"}
    params: dict[str, Any] = {}
    for option, keyword in (
        ("cacertfile", "sslrootcert"),
        ("certfile", "sslcert"),
        ("keyfile", "sslkey"),
        ("password", "sslpassword"),
    ):
        if tls.get(option):
            params[keyword] = str(tls[option])
    sni = tls.get("server_name_indication")
    check_name = sni.get("enabled", True) if isinstance(sni, Mapping) else True
    if not check_name:
        params["sslsni"] = 0
    verify_mode = tls.get("verify_mode", "peer")
    if not tls.get("required", False):
        params["sslmode"] = "prefer"
    elif verify_mode == "none" or (
        verify_mode == "selfsigned_peer" and "sslrootcert" not in params
    ):
        params["sslmode"] = "require"
    elif "sslrootcert" in params:
        params["sslmode"] = "verify-full" if check_name else "verify-ca"
    else:
        # No CA file: the system store, which libpq only allows with verify-full.
        params["sslmode"] = "verify-full"
        if psycopg.pq.version() >= 160000:
            params["sslrootcert"] = "system"
    return params


def conninfo_from_options(connection: Mapping[str, Any]) -> tuple[str, str]:
    """Translate MongooseIM ``pgsql`` connection options into a libpq conninfo.

    TLS follows MongooseIM: no ``tls`` table means no TLS; ``tls.required =
    false`` uses TLS when the server offers it, without verification (libpq's
    ``prefer``).  ``tls.required = true`` insists, and verifies the
    certificate against ``cacertfile`` (or the system store) and the host name
    (``verify-full``); ``server_name_indication.enabled = false`` skips the
    name (``verify-ca``, needs a ``cacertfile``); ``verify_mode = "none"``, or
    ``"selfsigned_peer"`` without a ``cacertfile``, only encrypts (``require``).

    Args:
        connection: the ``connection`` table (a Mapping).

    Returns:
        ``(conninfo, description)``; the description names host, port,
        database and user, never the password.
    """
    host = str(connection.get("host") or "localhost")
    port = int(connection.get("port") or DEFAULT_PORT)
    database = str(connection.get("database") or "mongooseim")
    user = str(connection.get("username") or "mongooseim")
    params: dict[str, Any] = {
        "host": host,
        "port": port,
        "dbname": database,
        "user": user,
        "application_name": "mongoose",
        "connect_timeout": CONNECT_TIMEOUT,
    }
    if connection.get("password") is not None:
        params["password"] = str(connection["password"])
    params.update(_tls_params(connection.get("tls")))
    keepalive = connection.get("keepalive_interval")
    if keepalive:
        params.update(keepalives=1, keepalives_idle=int(keepalive))
    query_timeout = connection.get("query_timeout")
    if query_timeout:
        params["options"] = f"-c statement_timeout={int(query_timeout)}"
    description = f"PostgreSQL at {host}:{port} (database {database!r}, user {user!r})"
    return make_conninfo(**params), description


@implementer(base.ISQLEngine)
class PostgresEngine:
    """Connects to one PostgreSQL database.

    Args:
        conninfo: a libpq connection string.
        description: where the database is, for messages (no password).
        max_connections: size of the connection pool and of its thread pool.
    """

    name = "pgsql"
    schema_variant = "postgres"
    driver_errors = (psycopg.Error,)

    def __init__(self, conninfo: str, description: str, max_connections: int = DEFAULT_WORKERS):
        if max_connections < 1:
            raise ValueError("a PostgreSQL pool needs at least one worker")
        self.conninfo = conninfo
        self.description = description
        self.max_connections = max_connections

    @classmethod
    def from_options(cls, connection: Mapping[str, Any], workers: int | None) -> "PostgresEngine":
        """Build the engine from a pool's ``connection`` table and ``workers`` count."""
        conninfo, description = conninfo_from_options(connection)
        return cls(conninfo, description, int(workers or DEFAULT_WORKERS))

    def connect(self) -> psycopg.Connection:
        """Open one connection.

        Raises:
            StorageError: one line naming host, port and database.
        """
        try:
            return psycopg.connect(self.conninfo, autocommit=False)
        except psycopg.Error as exc:
            raise StorageError(f"cannot connect to {self.description}: {one_line(exc)}") from exc

    def begin(self, connection: psycopg.Connection) -> None:
        """psycopg starts the transaction with the first statement."""

    def close(self, connection: psycopg.Connection) -> None:
        """Close the connection, ignoring errors."""
        try:
            connection.close()
        except psycopg.Error:
            pass

    def convert(self, sql: str) -> str:
        """See :func:`convert_placeholders`."""
        return convert_placeholders(sql)

    def is_retryable(self, exc: BaseException) -> bool:
        """Serialisation failures and deadlocks are solved by running again."""
        return isinstance(exc, (pg_errors.SerializationFailure, pg_errors.DeadlockDetected))

    def is_disconnect(self, exc: BaseException, connection: Any) -> bool:
        """True when the server went away or the connection is otherwise broken."""
        return bool(connection.closed or connection.broken)

    def limit_offset(self, limit: int | None, offset: int) -> tuple[str, tuple[Any, int]]:
        """``LIMIT NULL`` means no limit in PostgreSQL."""
        base.check_limit_offset(limit, offset)
        return "LIMIT ? OFFSET ?", (limit, offset)

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
        """Take a transaction-scoped advisory lock so only one node migrates at a time."""
        txn.execute("SELECT pg_advisory_xact_lock(?)", (SCHEMA_LOCK_KEY,))
