"""Delete every row of one domain from some tables (a dynamic domain being removed).

Every table carries the domain as the first column of its primary key or of
an index (DESIGN.md: "every table carries the domain from the first
migration"), so each delete is an index range scan.
"""

from __future__ import annotations

from collections.abc import Sequence

from twisted.internet import defer

from mongoose.storage.interfaces import IDatabase
from mongoose.storage.sql.database import Transaction

__all__ = ["remove_domain_rows"]


def _remove_txn(txn: Transaction, tables: Sequence[str], domain: str) -> int:
    deleted = 0
    for table in tables:
        txn.execute(f"DELETE FROM {table} WHERE domain = ?", (domain,))
        deleted += max(txn.rowcount, 0)
    return deleted


def remove_domain_rows(
    database: IDatabase, desc: str, tables: Sequence[str], domain: str
) -> defer.Deferred[int]:
    """Delete the rows of ``domain`` from ``tables`` in one transaction.

    Args:
        database: the database.
        desc: a short name of the work, for logs and errors.
        tables: table names (constants of the calling store, never user input).
        domain: the domain whose rows go.

    Returns:
        A Deferred firing the number of rows deleted.
    """
    return database.run_interaction(desc, _remove_txn, tuple(tables), domain)
