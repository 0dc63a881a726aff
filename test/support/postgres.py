"""Fresh PostgreSQL databases for storage tests.

Tests reach the server on ``127.0.0.1:5432`` as user ``postgres`` (override
with the libpq connection string in ``MONGOOSE_TEST_POSTGRES``).  Each test
class gets its own database, created on first use and dropped when the test
process exits.  When the server is unreachable the tests are skipped with the
reason printed, except under ``CI=true``, where they fail.
"""

from __future__ import annotations

import atexit
import itertools
import os
import sys
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict
from twisted.internet import threads
from twisted.trial.unittest import SkipTest

__all__ = ["ADMIN_CONNINFO", "postgres_unavailable", "require_postgres", "database_for"]

ADMIN_CONNINFO = os.environ.get(
    "MONGOOSE_TEST_POSTGRES",
    "host=127.0.0.1 port=5432 user=postgres dbname=postgres connect_timeout=5",
)

_probe: list[str | None] = []
_databases: dict[type, dict[str, Any]] = {}
_counter = itertools.count(1)


def _admin() -> psycopg.Connection:
    return psycopg.connect(ADMIN_CONNINFO, autocommit=True)


def postgres_unavailable() -> str | None:
    """Return why PostgreSQL cannot be used, or None if it can (checked once)."""
    if not _probe:
        try:
            with _admin() as conn:
                conn.execute("SELECT 1")
            _probe.append(None)
        except psycopg.Error as exc:
            reason = "PostgreSQL unreachable ({}): {}".format(
                ADMIN_CONNINFO, " ".join(str(exc).split())
            )
            print(f"\n[storage tests] {reason}; skipping PostgreSQL tests", file=sys.stderr)
            _probe.append(reason)
    return _probe[0]


def _ci() -> bool:
    return os.environ.get("CI", "").strip().lower() == "true"


def require_postgres(testcase: Any) -> None:
    """Skip ``testcase`` (or fail it under CI=true) if PostgreSQL is unreachable."""
    reason = postgres_unavailable()
    if reason is None:
        return
    if _ci():
        testcase.fail(f"{reason} (CI=true: PostgreSQL tests must run)")
    raise SkipTest(reason)


def _create(name: str) -> None:
    with _admin() as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def _drop_all() -> None:
    for options in _databases.values():
        name = options["connection"]["database"]
        try:
            with _admin() as conn:
                conn.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
                )
        except psycopg.Error as exc:
            print(f"[storage tests] could not drop database {name}: {exc}", file=sys.stderr)
    _databases.clear()


def _pool_options(name: str, workers: int = 4) -> dict[str, Any]:
    params = conninfo_to_dict(ADMIN_CONNINFO)
    return {
        "workers": workers,
        "connection": {
            "driver": "pgsql",
            "host": params.get("host", "127.0.0.1"),
            "port": int(params.get("port", 5432)),
            "database": name,
            "username": params.get("user", "postgres"),
            "password": params.get("password"),
        },
    }


async def database_for(testcase: Any) -> dict[str, Any]:
    """Return ``outgoing_pools.rdbms.default`` options for the test class's own database.

    The database is created (in a thread) the first time a test of the class
    asks, and dropped at process exit.  Skips or fails like
    :func:`require_postgres` when PostgreSQL is unreachable.

    Returns:
        A fresh plain dict each call (safe to modify).
    """
    reason = await threads.deferToThread(postgres_unavailable)
    if reason is not None:
        require_postgres(testcase)
    cls = type(testcase)
    if cls not in _databases:
        name = f"mongoose_test_{os.getpid()}_{next(_counter)}"
        await threads.deferToThread(_create, name)
        if not _databases:
            atexit.register(_drop_all)
        _databases[cls] = _pool_options(name)
    options = _databases[cls]
    return {**options, "connection": dict(options["connection"])}
