"""Build the node's stores from the ``outgoing_pools.rdbms.default`` pool.

MongooseIM keeps persistent data in the RDBMS pool named ``default``.  We
accept its ``pgsql`` driver (PostgreSQL, for production and clusters) and add
``sqlite`` (a file, the zero-configuration default when no pool is
configured).  Other MongooseIM drivers (``mysql``, ``odbc``) are refused with
a clear error rather than replaced by something else (DESIGN.md, anti-patterns).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from twisted.internet import defer

from mongoose.storage.errors import StorageError, UnsupportedDriverError
from mongoose.storage.interfaces import (
    IAuthStore,
    IBlocklistStore,
    IDatabase,
    IDomainStore,
    ILastStore,
    IOfflineStore,
    IPrivacyStore,
    IPrivateStore,
    IRosterStore,
    IVCardStore,
)
from mongoose.storage.sql.auth import SQLAuthStore
from mongoose.storage.sql.blocklist import SQLBlocklistStore
from mongoose.storage.sql.database import Database
from mongoose.storage.sql.domains import SQLDomainStore
from mongoose.storage.sql.engines.base import ISQLEngine
from mongoose.storage.sql.engines.sqlite import SQLiteEngine
from mongoose.storage.sql.last import SQLLastStore
from mongoose.storage.sql.migrations import migrate
from mongoose.storage.sql.offline import SQLOfflineStore
from mongoose.storage.sql.privacy import SQLPrivacyStore
from mongoose.storage.sql.private import SQLPrivateStore
from mongoose.storage.sql.roster import SQLRosterStore
from mongoose.storage.sql.vcard import SQLVCardStore

__all__ = ["SUPPORTED_DRIVERS", "Stores", "make_engine", "open_stores"]

#: Values of ``connection.driver`` we implement.
SUPPORTED_DRIVERS = ("pgsql", "sqlite")

_POOL_PATH = "outgoing_pools.rdbms.default"

#: Stores emptied by :meth:`Stores.purge_domain`, user data first, accounts last.
_PURGE_ORDER = ("offline", "roster", "last", "private", "vcard", "privacy", "blocklist", "auth")


@dataclass(frozen=True)
class Stores:
    """Every store of a node, each behind its interface (STYLE-ANCHORS 7.5).

    Attributes:
        auth: user accounts.
        database: the SQL database all stores share.
        engine_name: ``"sqlite"`` or ``"pgsql"``.
        roster: rosters and subscriptions (``mod_roster``).
        offline: messages for offline users (``mod_offline``).
        last: last logout times and statuses (``mod_last``).
        private: private XML storage (``mod_private``).
        vcard: vCards (``mod_vcard``).
        privacy: privacy lists and blocklists (``mod_privacy``, ``mod_blocking``).
        blocklist: users barred from logging in (``mod_blocklist``).
        domains: dynamic domains and domain admin passwords (``domain`` commands).
    """

    auth: IAuthStore
    database: IDatabase
    engine_name: str
    roster: IRosterStore | None = None
    offline: IOfflineStore | None = None
    last: ILastStore | None = None
    private: IPrivateStore | None = None
    vcard: IVCardStore | None = None
    privacy: IPrivacyStore | None = None
    blocklist: IBlocklistStore | None = None
    domains: IDomainStore | None = None

    async def purge_domain(self, domain: str) -> dict[str, int]:
        """Delete every record of ``domain`` from every store, accounts last.

        The dynamic domain's own row (``domains``) is left to the caller.

        Returns:
            Store name -> rows deleted.
        """
        counts: dict[str, int] = {}
        for name in _PURGE_ORDER:
            store = getattr(self, name)
            if store is not None:
                counts[name] = await store.remove_domain(domain)
        return counts

    def close(self) -> defer.Deferred[None]:
        """Finish running work, close connections and stop the database threads."""
        return self.database.close()


def make_engine(pool: Mapping[str, Any] | None, data_dir: str) -> ISQLEngine:
    """Choose and configure the SQL engine for a pool.

    Args:
        pool: the parsed ``outgoing_pools.rdbms.default`` table, or None.
        data_dir: the node's data directory (for SQLite files).

    Returns:
        The engine (not yet connected).

    Raises:
        UnsupportedDriverError: the driver is not ``pgsql`` or ``sqlite``.
        StorageError: the pool has no ``connection`` table.
    """
    if pool is None:
        return SQLiteEngine.from_options({}, data_dir)
    if not isinstance(pool, Mapping):
        raise StorageError(f"{_POOL_PATH}: expected a table, got {type(pool).__name__}")
    connection = pool.get("connection")
    if not isinstance(connection, Mapping):
        raise StorageError(f"{_POOL_PATH}.connection: missing; it must name a driver")
    driver = connection.get("driver")
    if driver == "sqlite":
        return SQLiteEngine.from_options(connection, data_dir)
    if driver == "pgsql":
        # Imported here: psycopg costs about 0.1 s of start-up, for nothing
        # when the node runs on the embedded SQLite default.
        from mongoose.storage.sql.engines.postgres import PostgresEngine

        return PostgresEngine.from_options(connection, pool.get("workers"))
    raise UnsupportedDriverError(
        f"{_POOL_PATH}.connection.driver: {driver!r} is not supported by mongoose; "
        f"use one of: {', '.join(repr(d) for d in SUPPORTED_DRIVERS)}"
    )


async def open_stores(pool: Mapping[str, Any] | None, data_dir: str, reactor: Any = None) -> Stores:
    """Connect to the configured database, migrate it and build the stores.

    Args:
        pool: the parsed ``outgoing_pools.rdbms.default`` table (a Mapping,
            e.g. :class:`mongoose.config.schema.Options`), or None for the
            SQLite file ``<data_dir>/mongooseim.db``.
        data_dir: the node's data directory; created if missing.
        reactor: the reactor (default: the global one).

    Returns:
        The opened :class:`Stores`; call :meth:`Stores.close` when done.

    Raises:
        StorageError: an unsupported driver, an unreachable database (one line
            naming host and port), a schema newer than this code, or a failed
            migration.
    """
    try:
        os.makedirs(data_dir, exist_ok=True)
    except OSError as exc:
        raise StorageError(f"cannot create the data directory {data_dir}: {exc.strerror}") from None
    engine = make_engine(pool, data_dir)
    database = Database(engine, reactor=reactor)
    try:
        await migrate(database)
    except BaseException:
        await database.close()
        raise
    return Stores(
        auth=SQLAuthStore(database),
        database=database,
        engine_name=engine.name,
        roster=SQLRosterStore(database),
        offline=SQLOfflineStore(database),
        last=SQLLastStore(database),
        private=SQLPrivateStore(database),
        vcard=SQLVCardStore(database),
        privacy=SQLPrivacyStore(database),
        blocklist=SQLBlocklistStore(database),
        domains=SQLDomainStore(database),
    )
