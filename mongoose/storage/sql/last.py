"""SQL implementation of :class:`~mongoose.storage.interfaces.ILastStore`.

The last activity of ``mod_last`` (XEP-0012) lives in ``last_activity``
(migration 0004): one row per user with the Unix time of the last logout in
whole seconds and the status text of the last unavailable presence.
"""

from __future__ import annotations

from twisted.internet import defer
from zope.interface import implementer

from mongoose.storage.interfaces import IDatabase, ILastStore, LastActivity
from mongoose.storage.sql.database import Transaction
from mongoose.storage.sql.purge import remove_domain_rows

__all__ = ["SQLLastStore"]


def _get_txn(txn: Transaction, domain: str, username: str) -> LastActivity | None:
    txn.execute(
        "SELECT seconds, status FROM last_activity WHERE domain = ? AND username = ?",
        (domain, username),
    )
    row = txn.fetchone()
    return None if row is None else LastActivity(int(row[0]), row[1] or "")


def _set_txn(txn: Transaction, domain: str, username: str, seconds: int, status: str) -> None:
    txn.execute(
        txn.engine.upsert_sql(
            "last_activity", ("domain", "username"), ("seconds", "status")
        ),
        (domain, username, seconds, status),
    )


def _count_txn(txn: Transaction, domain: str, since: int) -> int:
    txn.execute(
        "SELECT COUNT(*) FROM last_activity WHERE domain = ? AND seconds >= ?", (domain, since)
    )
    row = txn.fetchone()
    return int(row[0]) if row else 0


def _active_txn(txn: Transaction, domain: str, since: int) -> set[str]:
    txn.execute(
        "SELECT username FROM last_activity WHERE domain = ? AND seconds >= ?", (domain, since)
    )
    return {row[0] for row in txn.fetchall()}


def _older_txn(txn: Transaction, domain: str, before: int) -> dict[str, int]:
    txn.execute(
        "SELECT username, seconds FROM last_activity WHERE domain = ? AND seconds < ?",
        (domain, before),
    )
    return {row[0]: int(row[1]) for row in txn.fetchall()}


def _remove_txn(txn: Transaction, domain: str, username: str) -> bool:
    txn.execute(
        "DELETE FROM last_activity WHERE domain = ? AND username = ?", (domain, username)
    )
    return txn.rowcount > 0


def _whole(value: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what} must be whole Unix seconds, not {value!r}")
    return value


@implementer(ILastStore)
class SQLLastStore:
    """Last activity in a SQL database; see :class:`ILastStore` for the contract.

    Args:
        database: the :class:`~mongoose.storage.interfaces.IDatabase` to use.
    """

    def __init__(self, database: IDatabase):
        self._db = database

    def get_last(self, domain: str, username: str) -> defer.Deferred[LastActivity | None]:
        """Fire the user's last activity, or None."""
        return self._db.run_interaction("last_get", _get_txn, domain, username)

    def set_last(
        self, domain: str, username: str, seconds: int, status: str
    ) -> defer.Deferred[None]:
        """Record the user's last activity, replacing any earlier one."""
        try:
            _whole(seconds, "seconds")
        except TypeError as exc:
            return defer.fail(exc)
        return self._db.run_interaction(
            "last_set", _set_txn, domain, username, seconds, status or ""
        )

    def count_active(self, domain: str, since: int) -> defer.Deferred[int]:
        """Fire how many users of the domain were active at or after ``since``."""
        return self._db.run_interaction("last_count_active", _count_txn, domain, since)

    def active_users(self, domain: str, since: int) -> defer.Deferred[set[str]]:
        """Fire the usernames active at or after ``since``."""
        return self._db.run_interaction("last_active_users", _active_txn, domain, since)

    def older_than(self, domain: str, before: int) -> defer.Deferred[dict[str, int]]:
        """Fire username -> seconds of the records older than ``before``."""
        return self._db.run_interaction("last_older_than", _older_txn, domain, before)

    def remove_domain(self, domain: str) -> defer.Deferred[int]:
        """Delete the last activity records of every user of ``domain``; fire the rows deleted."""
        return remove_domain_rows(self._db, "last_remove_domain", ("last_activity",), domain)

    def remove_user(self, domain: str, username: str) -> defer.Deferred[bool]:
        """Delete the user's record; fire whether there was one."""
        return self._db.run_interaction("last_remove_user", _remove_txn, domain, username)
