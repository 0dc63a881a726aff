"""SQL implementation of :class:`~mongoose.storage.interfaces.IRosterStore`.

Rosters follow RFC 6121 sections 2 and 3 and versions XEP-0237.  One row per
(domain, user, contact) in ``roster_items`` and one version counter per user
in ``roster_versions`` (migration 0002).  Every write first locks the user's
version row, so the writes of one user are serialised on PostgreSQL too
(SQLite's ``BEGIN IMMEDIATE`` serialises all writes anyway).
"""

from __future__ import annotations

import json
from typing import Any

from twisted.internet import defer
from zope.interface import implementer

from mongoose.storage.errors import StorageError
from mongoose.storage.interfaces import (
    IDatabase,
    IRosterStore,
    RosterChange,
    RosterItem,
    RosterUpdate,
)
from mongoose.storage.sql.database import Transaction
from mongoose.storage.sql.purge import remove_domain_rows

__all__ = ["SQLRosterStore"]

_COLUMNS = (
    "contact, name, group_names, subscription, pending_out, pending_in, approved, listed, "
    "ask_message"
)
_VALUE_COLUMNS = (
    "name", "group_names", "subscription", "pending_out", "pending_in", "approved", "listed",
    "ask_message",
)


def _item_from_row(row: tuple[Any, ...]) -> RosterItem:
    contact, name, groups, subscription, pending_out, pending_in, approved, listed, message = row
    try:
        group_list = json.loads(groups)
        if not isinstance(group_list, list) or not all(isinstance(g, str) for g in group_list):
            raise ValueError("not a list of strings")
        return RosterItem(
            contact=contact,
            name=name,
            groups=tuple(group_list),
            subscription=subscription,
            pending_out=bool(pending_out),
            pending_in=bool(pending_in),
            approved=bool(approved),
            listed=bool(listed),
            ask_message=message,
        )
    except ValueError as exc:
        raise StorageError(f"the roster item {contact}: unreadable stored data ({exc})") from None


def _select_items_txn(txn: Transaction, domain: str, username: str) -> list[RosterItem]:
    txn.execute(
        f"SELECT {_COLUMNS} FROM roster_items WHERE domain = ? AND username = ? ORDER BY contact",
        (domain, username),
    )
    return [_item_from_row(row) for row in txn.fetchall()]


def _select_item_txn(
    txn: Transaction, domain: str, username: str, contact: str
) -> RosterItem | None:
    txn.execute(
        f"SELECT {_COLUMNS} FROM roster_items WHERE domain = ? AND username = ? AND contact = ?",
        (domain, username, contact),
    )
    row = txn.fetchone()
    return None if row is None else _item_from_row(row)


def _version_txn(txn: Transaction, domain: str, username: str) -> str:
    txn.execute(
        "SELECT version FROM roster_versions WHERE domain = ? AND username = ?",
        (domain, username),
    )
    row = txn.fetchone()
    return str(row[0]) if row else "0"


def _lock_user_txn(txn: Transaction, domain: str, username: str) -> None:
    """Make sure the user's version row exists and hold its lock until the end."""
    txn.execute(
        txn.engine.insert_or_ignore_sql(
            "roster_versions", ("domain", "username", "version"), ("domain", "username")
        ),
        (domain, username, 0),
    )
    txn.execute(
        "UPDATE roster_versions SET version = version WHERE domain = ? AND username = ?",
        (domain, username),
    )


def _update_item_txn(
    txn: Transaction, domain: str, username: str, contact: str, change: RosterChange
) -> RosterUpdate:
    _lock_user_txn(txn, domain, username)
    before = _select_item_txn(txn, domain, username, contact)
    after = change(before)
    if after is not None and after.contact != contact:
        raise ValueError(f"a change of {contact} returned an item for {after.contact}")
    if after == before:
        return RosterUpdate(before, after, _version_txn(txn, domain, username))
    if after is None:
        txn.execute(
            "DELETE FROM roster_items WHERE domain = ? AND username = ? AND contact = ?",
            (domain, username, contact),
        )
    else:
        txn.execute(
            txn.engine.upsert_sql(
                "roster_items", ("domain", "username", "contact"), _VALUE_COLUMNS
            ),
            (
                domain,
                username,
                contact,
                after.name,
                json.dumps(list(after.groups), ensure_ascii=False),
                after.subscription,
                after.pending_out,
                after.pending_in,
                after.approved,
                after.listed,
                after.ask_message,
            ),
        )
    txn.execute(
        "UPDATE roster_versions SET version = version + 1 WHERE domain = ? AND username = ?",
        (domain, username),
    )
    return RosterUpdate(before, after, _version_txn(txn, domain, username))


def _remove_user_txn(txn: Transaction, domain: str, username: str) -> int:
    txn.execute(
        "DELETE FROM roster_items WHERE domain = ? AND username = ?", (domain, username)
    )
    removed = txn.rowcount
    txn.execute(
        "DELETE FROM roster_versions WHERE domain = ? AND username = ?", (domain, username)
    )
    return removed


@implementer(IRosterStore)
class SQLRosterStore:
    """Rosters in a SQL database; see :class:`IRosterStore` for the contract.

    Args:
        database: the :class:`~mongoose.storage.interfaces.IDatabase` to use.
    """

    def __init__(self, database: IDatabase):
        self._db = database

    def get_items(self, domain: str, username: str) -> defer.Deferred[list[RosterItem]]:
        """Fire every stored item of the user, sorted by contact."""
        return self._db.run_interaction("roster_get_items", _select_items_txn, domain, username)

    def get_item(
        self, domain: str, username: str, contact: str
    ) -> defer.Deferred[RosterItem | None]:
        """Fire one item, or None."""
        return self._db.run_interaction(
            "roster_get_item", _select_item_txn, domain, username, contact
        )

    def get_version(self, domain: str, username: str) -> defer.Deferred[str]:
        """Fire the user's roster version (``"0"`` before the first write)."""
        return self._db.run_interaction("roster_get_version", _version_txn, domain, username)

    def update_item(
        self, domain: str, username: str, contact: str, change: RosterChange
    ) -> defer.Deferred[RosterUpdate]:
        """Change one item atomically; see :meth:`IRosterStore.update_item`."""
        return self._db.run_interaction(
            "roster_update_item", _update_item_txn, domain, username, contact, change
        )

    def remove_domain(self, domain: str) -> defer.Deferred[int]:
        """Delete the rosters and roster versions of every user of ``domain``; fire the rows deleted."""
        return remove_domain_rows(self._db, "roster_remove_domain", ("roster_items", "roster_versions",), domain)

    def remove_user(self, domain: str, username: str) -> defer.Deferred[int]:
        """Delete the user's roster and version; fire how many items went."""
        return self._db.run_interaction("roster_remove_user", _remove_user_txn, domain, username)
