"""SQL storage: the thread-pooled database wrapper, dialect engines, migrations and stores.

``database`` runs transactions on a thread pool, ``engines`` isolates the
SQLite and PostgreSQL dialects, ``migrations`` applies the numbered files in
``schema/`` and ``auth`` stores user accounts.
"""

__all__ = ["auth", "database", "engines", "migrations"]
