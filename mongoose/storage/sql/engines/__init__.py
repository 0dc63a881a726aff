"""SQL dialect engines: SQLite (embedded default) and PostgreSQL (production).

``base`` declares :class:`~mongoose.storage.sql.engines.base.ISQLEngine`,
``sqlite`` and ``postgres`` implement it.
"""

__all__ = ["base", "postgres", "sqlite"]
