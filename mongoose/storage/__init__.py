"""Storage: narrow per-feature store interfaces and their SQL backends.

``interfaces`` declares the stores (:class:`~mongoose.storage.interfaces.IAuthStore`
and the SQL :class:`~mongoose.storage.interfaces.IDatabase`), ``factory``
builds one :class:`~mongoose.storage.factory.Stores` value from the
``outgoing_pools.rdbms.default`` configuration (SQLite by default,
PostgreSQL in production) and ``errors`` holds the exceptions.  See
DESIGN.md principle 4.
"""

__all__ = ["errors", "factory", "interfaces", "sql"]
