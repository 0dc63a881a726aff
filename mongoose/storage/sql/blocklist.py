"""SQL implementation of :class:`~mongoose.storage.interfaces.IBlocklistStore`.

Users an administrator barred from logging in (``mod_blocklist``, MongooseIM
GraphQL ``blocklist`` commands) live in ``blocklist_users`` (migration
0007), with an optional reason.
"""

from __future__ import annotations

from twisted.internet import defer
from zope.interface import implementer

from mongoose.storage.interfaces import IBlocklistStore, IDatabase
from mongoose.storage.sql.database import Transaction
from mongoose.storage.sql.purge import remove_domain_rows

__all__ = ["SQLBlocklistStore"]


def _get_txn(txn: Transaction, domain: str, username: str) -> tuple[bool, str | None]:
    txn.execute(
        "SELECT reason FROM blocklist_users WHERE domain = ? AND username = ?", (domain, username)
    )
    row = txn.fetchone()
    return (True, row[0]) if row else (False, None)


def _add_txn(txn: Transaction, domain: str, username: str, reason: str | None) -> None:
    sql = txn.engine.upsert_sql("blocklist_users", ("domain", "username"), ("reason",))
    txn.execute(sql, (domain, username, reason))


def _remove_txn(txn: Transaction, domain: str, username: str) -> bool:
    txn.execute(
        "DELETE FROM blocklist_users WHERE domain = ? AND username = ?", (domain, username)
    )
    return txn.rowcount > 0


def _list_txn(
    txn: Transaction, domain: str, limit: int | None, offset: int
) -> list[tuple[str, str | None]]:
    clause, params = txn.engine.limit_offset(limit, offset)
    txn.execute(
        f"SELECT username, reason FROM blocklist_users WHERE domain = ? ORDER BY username {clause}",
        (domain, *params),
    )
    return [(row[0], row[1]) for row in txn.fetchall()]


def _count_txn(txn: Transaction, domain: str) -> int:
    txn.execute("SELECT COUNT(*) FROM blocklist_users WHERE domain = ?", (domain,))
    return int(txn.fetchone()[0])


@implementer(IBlocklistStore)
class SQLBlocklistStore:
    """Barred users in a SQL database; see :class:`IBlocklistStore` for the contract.

    Args:
        database: the :class:`~mongoose.storage.interfaces.IDatabase` to use.
    """

    def __init__(self, database: IDatabase):
        self._db = database

    def get_block(self, domain: str, username: str) -> defer.Deferred:
        """Fire ``(barred, reason)``."""
        return self._db.run_interaction("blocklist_get", _get_txn, domain, username)

    def add_block(self, domain: str, username: str, reason: str | None) -> defer.Deferred[None]:
        """Bar the user, replacing an earlier reason."""
        return self._db.run_interaction("blocklist_add", _add_txn, domain, username, reason)

    def remove_block(self, domain: str, username: str) -> defer.Deferred[bool]:
        """Lift the bar; fire whether there was one."""
        return self._db.run_interaction("blocklist_remove", _remove_txn, domain, username)

    def list_blocks(
        self, domain: str, limit: int | None = None, offset: int = 0
    ) -> defer.Deferred[list[tuple[str, str | None]]]:
        """Fire the domain's barred users sorted by name, paged by limit/offset."""
        try:
            self._db.engine.limit_offset(limit, offset)
        except ValueError as exc:
            return defer.fail(exc)
        return self._db.run_interaction("blocklist_list", _list_txn, domain, limit, offset)

    def remove_domain(self, domain: str) -> defer.Deferred[int]:
        """Delete the bars of every user of ``domain``; fire the rows deleted."""
        return remove_domain_rows(self._db, "blocklist_remove_domain", ("blocklist_users",), domain)

    def count_blocks(self, domain: str) -> defer.Deferred[int]:
        """Fire how many users of the domain are barred."""
        return self._db.run_interaction("blocklist_count", _count_txn, domain)
