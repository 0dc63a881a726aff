"""SQL implementation of :class:`~mongoose.storage.interfaces.IPrivacyStore`.

Privacy lists of ``mod_privacy`` (XEP-0016) live in ``privacy_list``
(migration 0007), one row per list with its items as a JSON array; the
default list name of each user is in ``privacy_default_list``.
``mod_blocking`` (XEP-0191) keeps its blocklist as an ordinary list, as
MongooseIM does.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from twisted.internet import defer
from zope.interface import implementer

from mongoose.storage.errors import StorageError
from mongoose.storage.interfaces import IDatabase, IPrivacyStore, PrivacyItem
from mongoose.storage.sql.database import Transaction
from mongoose.storage.sql.purge import remove_domain_rows

__all__ = ["SQLPrivacyStore", "items_to_json", "items_from_json"]


def items_to_json(items: Sequence[PrivacyItem]) -> str:
    """Encode list items as the JSON text kept in ``privacy_list.items``."""
    return json.dumps([
        {
            "action": item.action,
            "order": item.order,
            "type": item.type,
            "value": item.value,
            "stanzas": sorted(item.stanzas),
        }
        for item in items
    ])


def items_from_json(text: str) -> list[PrivacyItem]:
    """Decode ``privacy_list.items``.

    Raises:
        StorageError: the text is not a list of items.
    """
    try:
        return [
            PrivacyItem(
                action=str(entry["action"]),
                order=int(entry["order"]),
                type=entry.get("type"),
                value=str(entry.get("value", "")),
                stanzas=frozenset(entry.get("stanzas", ())),
            )
            for entry in json.loads(text)
        ]
    except (ValueError, TypeError, KeyError) as exc:
        raise StorageError(f"a stored privacy list cannot be read: {exc}") from None


def _names_txn(txn: Transaction, domain: str, username: str) -> tuple[list[str], str | None]:
    txn.execute(
        "SELECT name FROM privacy_list WHERE domain = ? AND username = ? ORDER BY name",
        (domain, username),
    )
    names = [row[0] for row in txn.fetchall()]
    txn.execute(
        "SELECT name FROM privacy_default_list WHERE domain = ? AND username = ?",
        (domain, username),
    )
    row = txn.fetchone()
    return names, (row[0] if row else None)


def _get_txn(txn: Transaction, domain: str, username: str, name: str) -> str | None:
    txn.execute(
        "SELECT items FROM privacy_list WHERE domain = ? AND username = ? AND name = ?",
        (domain, username, name),
    )
    row = txn.fetchone()
    return row[0] if row else None


def _set_txn(txn: Transaction, domain: str, username: str, name: str, text: str) -> None:
    sql = txn.engine.upsert_sql("privacy_list", ("domain", "username", "name"), ("items",))
    txn.execute(sql, (domain, username, name, text))


def _remove_txn(txn: Transaction, domain: str, username: str, name: str) -> bool:
    txn.execute(
        "DELETE FROM privacy_list WHERE domain = ? AND username = ? AND name = ?",
        (domain, username, name),
    )
    removed = txn.rowcount > 0
    txn.execute(
        "DELETE FROM privacy_default_list WHERE domain = ? AND username = ? AND name = ?",
        (domain, username, name),
    )
    return removed


def _default_txn(txn: Transaction, domain: str, username: str, name: str | None) -> bool:
    if name is None:
        txn.execute(
            "DELETE FROM privacy_default_list WHERE domain = ? AND username = ?",
            (domain, username),
        )
        return True
    if _get_txn(txn, domain, username, name) is None:
        return False
    sql = txn.engine.upsert_sql("privacy_default_list", ("domain", "username"), ("name",))
    txn.execute(sql, (domain, username, name))
    return True


def _remove_user_txn(txn: Transaction, domain: str, username: str) -> int:
    txn.execute(
        "DELETE FROM privacy_default_list WHERE domain = ? AND username = ?", (domain, username)
    )
    txn.execute("DELETE FROM privacy_list WHERE domain = ? AND username = ?", (domain, username))
    return max(txn.rowcount, 0)


def _count_txn(txn: Transaction, domain: str, name: str) -> int:
    txn.execute(
        "SELECT COUNT(*) FROM privacy_list WHERE domain = ? AND name = ? AND items <> '[]'",
        (domain, name),
    )
    return int(txn.fetchone()[0])


@implementer(IPrivacyStore)
class SQLPrivacyStore:
    """Privacy lists in a SQL database; see :class:`IPrivacyStore` for the contract.

    Args:
        database: the :class:`~mongoose.storage.interfaces.IDatabase` to use.
    """

    def __init__(self, database: IDatabase):
        self._db = database

    def list_names(self, domain: str, username: str) -> defer.Deferred:
        """Fire ``(sorted names, default name or None)``."""
        return self._db.run_interaction("privacy_names", _names_txn, domain, username)

    def get_list(self, domain: str, username: str, name: str) -> defer.Deferred:
        """Fire the list's items, or None when it does not exist."""
        d = self._db.run_interaction("privacy_get", _get_txn, domain, username, name)
        d.addCallback(lambda text: None if text is None else items_from_json(text))
        return d

    def set_list(
        self, domain: str, username: str, name: str, items: Sequence[PrivacyItem]
    ) -> defer.Deferred[None]:
        """Create or replace the list ``name``."""
        ordered = sorted(items, key=lambda item: item.order)
        return self._db.run_interaction(
            "privacy_set", _set_txn, domain, username, name, items_to_json(ordered)
        )

    def remove_list(self, domain: str, username: str, name: str) -> defer.Deferred[bool]:
        """Delete a list (and the default name pointing at it)."""
        return self._db.run_interaction("privacy_remove", _remove_txn, domain, username, name)

    def set_default(self, domain: str, username: str, name: str | None) -> defer.Deferred[bool]:
        """Set or clear the default list name."""
        return self._db.run_interaction("privacy_default", _default_txn, domain, username, name)

    def remove_domain(self, domain: str) -> defer.Deferred[int]:
        """Delete the privacy lists and default names of every user of ``domain``; fire the rows deleted."""
        return remove_domain_rows(self._db, "privacy_remove_domain", ("privacy_default_list", "privacy_list",), domain)

    def remove_user(self, domain: str, username: str) -> defer.Deferred[int]:
        """Delete every list of the user; fire how many went."""
        return self._db.run_interaction("privacy_remove_user", _remove_user_txn, domain, username)

    def count_users(self, domain: str, name: str) -> defer.Deferred[int]:
        """Count users of ``domain`` with a non-empty list ``name``."""
        return self._db.run_interaction("privacy_count", _count_txn, domain, name)
