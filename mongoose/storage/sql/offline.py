"""SQL implementation of :class:`~mongoose.storage.interfaces.IOfflineStore`.

Offline messages (XEP-0160, MongooseIM ``mod_offline``) live in
``offline_messages`` (migration 0003), one row per message with its
recipient's domain and name.  Times are stored as integer microseconds
since the Unix epoch so both engines compare them the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from twisted.internet import defer
from zope.interface import implementer

from mongoose.storage.interfaces import IDatabase, IOfflineStore, OfflineMessage
from mongoose.storage.sql.database import Transaction
from mongoose.storage.sql.purge import remove_domain_rows

__all__ = ["SQLOfflineStore", "to_micros", "from_micros"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO = timedelta(microseconds=1)
#: Ids deleted per statement (keeps statements below parameter limits).
_DELETE_BATCH = 500


def to_micros(moment: datetime) -> int:
    """Microseconds since the Unix epoch of a timezone-aware datetime.

    Raises:
        ValueError: ``moment`` has no timezone.
    """
    if moment.tzinfo is None:
        raise ValueError("offline message times must carry a timezone")
    return (moment - _EPOCH) // _MICRO


def from_micros(micros: int) -> datetime:
    """The UTC datetime of a count of microseconds since the Unix epoch."""
    return _EPOCH + timedelta(microseconds=int(micros))


def _store_txn(
    txn: Transaction, domain: str, username: str, message: OfflineMessage, limit: int | None
) -> bool:
    stamp = to_micros(message.stamp)
    expire = None if message.expire is None else to_micros(message.expire)
    if limit is not None:
        txn.execute(
            "SELECT COUNT(*) FROM offline_messages WHERE domain = ? AND username = ? "
            "AND (expire_us IS NULL OR expire_us > ?)",
            (domain, username, stamp),
        )
        row = txn.fetchone()
        if row is not None and int(row[0]) >= limit:
            return False
    txn.execute(
        "INSERT INTO offline_messages (domain, username, sender, stamp_us, expire_us, packet) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (domain, username, message.sender, stamp, expire, message.packet),
    )
    return True


def _message_from_row(row: tuple[Any, ...]) -> OfflineMessage:
    ident, sender, stamp, expire, packet = row
    return OfflineMessage(
        sender=sender,
        stamp=from_micros(stamp),
        packet=packet,
        expire=None if expire is None else from_micros(expire),
        id=int(ident),
    )


def _fetch_txn(txn: Transaction, domain: str, username: str, now: int) -> list[OfflineMessage]:
    txn.execute(
        "SELECT id, sender, stamp_us, expire_us, packet FROM offline_messages "
        "WHERE domain = ? AND username = ? AND (expire_us IS NULL OR expire_us > ?) "
        "ORDER BY id",
        (domain, username, now),
    )
    return [_message_from_row(row) for row in txn.fetchall()]


def _delete_ids_txn(txn: Transaction, domain: str, username: str, ids: list[int]) -> int:
    deleted = 0
    for start in range(0, len(ids), _DELETE_BATCH):
        batch = ids[start:start + _DELETE_BATCH]
        marks = ", ".join("?" * len(batch))
        txn.execute(
            f"DELETE FROM offline_messages WHERE domain = ? AND username = ? AND id IN ({marks})",
            (domain, username, *batch),
        )
        deleted += max(txn.rowcount, 0)
    return deleted


def _count_txn(txn: Transaction, domain: str, username: str) -> int:
    txn.execute(
        "SELECT COUNT(*) FROM offline_messages WHERE domain = ? AND username = ?",
        (domain, username),
    )
    row = txn.fetchone()
    return int(row[0]) if row else 0


def _delete_expired_txn(txn: Transaction, domain: str, now: int) -> int:
    txn.execute(
        "DELETE FROM offline_messages WHERE domain = ? AND expire_us IS NOT NULL "
        "AND expire_us <= ?",
        (domain, now),
    )
    return max(txn.rowcount, 0)


def _delete_older_txn(txn: Transaction, domain: str, before: int) -> int:
    txn.execute(
        "DELETE FROM offline_messages WHERE domain = ? AND stamp_us <= ?", (domain, before)
    )
    return max(txn.rowcount, 0)


def _remove_user_txn(txn: Transaction, domain: str, username: str) -> int:
    txn.execute(
        "DELETE FROM offline_messages WHERE domain = ? AND username = ?", (domain, username)
    )
    return max(txn.rowcount, 0)


@implementer(IOfflineStore)
class SQLOfflineStore:
    """Offline messages in a SQL database; see :class:`IOfflineStore` for the contract.

    Args:
        database: the :class:`~mongoose.storage.interfaces.IDatabase` to use.
    """

    def __init__(self, database: IDatabase):
        self._db = database

    def _run_at(self, desc: str, fn: Any, moment: datetime, *args: Any) -> defer.Deferred:
        """Run ``fn(txn, *args, micros)`` with ``moment`` converted to microseconds."""
        try:
            micros = to_micros(moment)
        except ValueError as exc:
            return defer.fail(exc)
        return self._db.run_interaction(desc, fn, *args, micros)

    def store_message(
        self, domain: str, username: str, message: OfflineMessage, limit: int | None = None
    ) -> defer.Deferred[bool]:
        """Keep ``message`` unless the user has ``limit`` unexpired messages already."""
        if limit is not None and limit < 0:
            return defer.fail(ValueError(f"limit must not be negative, got {limit}"))
        try:
            to_micros(message.stamp)
            if message.expire is not None:
                to_micros(message.expire)
        except ValueError as exc:
            return defer.fail(exc)
        return self._db.run_interaction(
            "offline_store_message", _store_txn, domain, username, message, limit
        )

    def fetch_messages(
        self, domain: str, username: str, now: datetime
    ) -> defer.Deferred[list[OfflineMessage]]:
        """Fire the user's unexpired messages, oldest first."""
        return self._run_at("offline_fetch_messages", _fetch_txn, now, domain, username)

    def delete_messages(
        self, domain: str, username: str, ids: Sequence[int]
    ) -> defer.Deferred[int]:
        """Delete the user's messages with these ids; fire how many went."""
        wanted = [int(i) for i in ids]
        if not wanted:
            return defer.succeed(0)
        return self._db.run_interaction(
            "offline_delete_messages", _delete_ids_txn, domain, username, wanted
        )

    def count_messages(self, domain: str, username: str) -> defer.Deferred[int]:
        """Fire how many messages wait for the user."""
        return self._db.run_interaction("offline_count_messages", _count_txn, domain, username)

    def delete_expired(self, domain: str, now: datetime) -> defer.Deferred[int]:
        """Delete the domain's messages expired at ``now``; fire how many went."""
        return self._run_at("offline_delete_expired", _delete_expired_txn, now, domain)

    def delete_older_than(self, domain: str, before: datetime) -> defer.Deferred[int]:
        """Delete the domain's messages stored at or before ``before``."""
        return self._run_at("offline_delete_older", _delete_older_txn, before, domain)

    def remove_domain(self, domain: str) -> defer.Deferred[int]:
        """Delete the offline messages of every user of ``domain``; fire the rows deleted."""
        return remove_domain_rows(self._db, "offline_remove_domain", ("offline_messages",), domain)

    def remove_user(self, domain: str, username: str) -> defer.Deferred[int]:
        """Delete every message waiting for the user."""
        return self._db.run_interaction(
            "offline_remove_user", _remove_user_txn, domain, username
        )
