"""Numbered schema migrations and the ``schema_version`` table.

Migration files live in ``mongoose/storage/sql/schema/`` (package data).
``NNNN_name.sql`` applies to every engine; ``NNNN_name.sqlite.sql`` and
``NNNN_name.postgres.sql`` replace it for one engine.  Never edit a released
file: add the next number instead.  :func:`migrate` brings a database to the
newest version when it is opened, each migration in one transaction
together with its ``schema_version`` row, and refuses a database whose
version is newer than this code knows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from twisted.logger import Logger

from mongoose.storage.errors import SchemaVersionError, StorageError
from mongoose.storage.interfaces import IDatabase
from mongoose.storage.sql.database import Transaction

__all__ = [
    "Migration",
    "SCHEMA_PACKAGE",
    "load_migrations",
    "migrate",
    "schema_version",
    "schema_version_txn",
    "split_statements",
]

log = Logger()

#: The package whose ``schema/`` folder (package data, not a package) holds
#: the migration files.
SCHEMA_PACKAGE = "mongoose.storage.sql"

_FILE_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+?)(?:\.(sqlite|postgres))?\.sql$")
_VARIANTS = ("sqlite", "postgres")


@dataclass(frozen=True)
class Migration:
    """One schema step.

    Attributes:
        version: its number (1, 2, ...).
        name: the file name without number and suffixes, e.g. ``users``.
        sql: the statements, separated by semicolons.
    """

    version: int
    name: str
    sql: str

    @property
    def label(self) -> str:
        """``0001_users`` style name, for messages."""
        return f"{self.version:04d}_{self.name}"


def load_migrations(variant: str, source: Traversable | str | None = None) -> list[Migration]:
    """Read the migrations for one engine, in version order.

    For each number the engine-specific file wins over the generic one.

    Args:
        variant: ``"sqlite"`` or ``"postgres"``.
        source: a directory (path or Traversable); default: the schema package.

    Returns:
        The migrations numbered 1..N without gaps.

    Raises:
        StorageError: a gap in the numbers, one number with two names, or a
            number with a file for another engine only.
    """
    if variant not in _VARIANTS:
        raise ValueError(f"unknown schema variant {variant!r}")
    if source is None:
        folder: Traversable = resources.files(SCHEMA_PACKAGE).joinpath("schema")
    elif isinstance(source, str):
        folder = Path(source)
    else:
        folder = source
    found: dict[int, dict[str | None, tuple[str, Traversable]]] = {}
    for entry in folder.iterdir():
        match = _FILE_NAME.match(entry.name)
        if match is None:
            continue
        version, name, suffix = int(match[1]), match[2], match[3]
        found.setdefault(version, {})[suffix] = (name, entry)
    migrations = []
    for expected, version in enumerate(sorted(found), start=1):
        if version != expected:
            raise StorageError(f"schema migration {expected:04d} is missing")
        files = found[version]
        names = {name for name, _ in files.values()}
        if len(names) > 1:
            raise StorageError(
                f"schema migration {version:04d} has several names: {', '.join(sorted(names))}"
            )
        chosen = files.get(variant) or files.get(None)
        if chosen is None:
            raise StorageError(
                f"schema migration {version:04d}_{names.pop()} has no file for {variant}"
            )
        name, entry = chosen
        migrations.append(Migration(version, name, entry.read_text(encoding="utf-8")))
    return migrations


def split_statements(sql: str) -> list[str]:
    """Split a migration file into statements at semicolons.

    Semicolons inside quotes do not split; ``--`` comments and empty
    statements are dropped.
    Dollar-quoted bodies are not understood: keep them out of migrations.

    Args:
        sql: the file's text.

    Returns:
        The statements, without their final semicolons.
    """
    statements: list[str] = []
    current: list[str] = []
    i, n = 0, len(sql)
    while i < n:
        ch = sql[i]
        if ch in ("'", '"'):
            end = sql.find(ch, i + 1)
            while end != -1 and end + 1 < n and sql[end + 1] == ch:
                end = sql.find(ch, end + 2)
            end = n if end == -1 else end + 1
            current.append(sql[i:end])
            i = end
        elif sql.startswith("--", i):
            end = sql.find("\n", i)
            end = n if end == -1 else end
            i = end  # comments are dropped
        elif ch == ";":
            statements.append("".join(current))
            current = []
            i += 1
        else:
            current.append(ch)
            i += 1
    statements.append("".join(current))
    return [s.strip() for s in statements if s.strip()]


_CREATE_VERSION_TABLE = """
CREATE TABLE IF NOT EXISTS schema_version (
    version    INTEGER NOT NULL PRIMARY KEY,
    name       VARCHAR(250) NOT NULL,
    applied_at VARCHAR(40) NOT NULL
)
"""


def _create_version_table_txn(txn: Transaction) -> None:
    txn.engine.lock_schema(txn)
    txn.execute(_CREATE_VERSION_TABLE)


def schema_version_txn(txn: Transaction) -> int:
    """Return the newest applied migration number (0 for an empty database)."""
    txn.execute("SELECT MAX(version) FROM schema_version")
    row = txn.fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def _apply_txn(txn: Transaction, migration: Migration) -> bool:
    txn.engine.lock_schema(txn)
    if schema_version_txn(txn) >= migration.version:
        return False  # another node applied it while we waited for the lock
    for statement in split_statements(migration.sql):
        txn.execute(statement)
    txn.execute(
        "INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?)",
        (migration.version, migration.name, datetime.now(UTC).isoformat()),
    )
    return True


async def schema_version(database: IDatabase) -> int:
    """Read the schema version of a database that has a ``schema_version`` table."""
    return await database.run_interaction("schema_version", schema_version_txn)


async def migrate(database: IDatabase, migrations: list[Migration] | None = None) -> int:
    """Bring ``database`` to the newest schema version.

    Args:
        database: the database to upgrade.
        migrations: the steps (default: :func:`load_migrations` for the
            database's engine).

    Returns:
        The schema version the database is at afterwards.

    Raises:
        SchemaVersionError: the database is newer than the newest migration.
        StorageError: a migration failed; it was rolled back and the
            database is left at the version before it.
    """
    engine: Any = database.engine
    if migrations is None:
        migrations = load_migrations(engine.schema_variant)
    latest = migrations[-1].version if migrations else 0
    await database.run_interaction("create schema_version", _create_version_table_txn)
    current = await schema_version(database)
    if current > latest:
        raise SchemaVersionError(
            f"{engine.description} has schema version {current} but this mongoose knows "
            f"only up to {latest}; upgrade mongoose or use another database"
        )
    for migration in migrations:
        if migration.version <= current:
            continue
        applied = await database.run_interaction(
            f"schema migration {migration.label}", _apply_txn, migration
        )
        if applied:
            log.info(
                "Applied schema migration {label} to {where}",
                label=migration.label,
                where=engine.description,
            )
        current = migration.version
    return current
