"""SQL implementation of :class:`~mongoose.storage.interfaces.IVCardStore`.

vCards of ``mod_vcard`` (XEP-0054) live in ``vcards`` (migration 0006): one
row per user with the ``<vCard/>`` XML text and lower-cased copies of the
formatted name and nickname for directory searches.
"""

from __future__ import annotations

from collections.abc import Mapping

from twisted.internet import defer
from zope.interface import implementer

from mongoose.storage.interfaces import IDatabase, IVCardStore
from mongoose.storage.sql.database import Transaction
from mongoose.storage.sql.purge import remove_domain_rows

__all__ = ["SQLVCardStore"]


def _get_txn(txn: Transaction, domain: str, username: str) -> str | None:
    txn.execute("SELECT vcard FROM vcards WHERE domain = ? AND username = ?", (domain, username))
    row = txn.fetchone()
    return None if row is None else row[0]


def _set_txn(
    txn: Transaction, domain: str, username: str, vcard: str, fn: str, nickname: str
) -> None:
    txn.execute(
        txn.engine.upsert_sql(
            "vcards", ("domain", "username"), ("vcard", "fn", "nickname")
        ),
        (domain, username, vcard, fn, nickname),
    )


#: Search criterion -> column.
_COLUMNS = {"user": "username", "fn": "fn", "nickname": "nickname"}


def _like_prefix(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"


def _search_txn(
    txn: Transaction, domain: str, criteria: list[tuple[str, str]], limit: int | None
) -> list[tuple[str, str]]:
    where = ["domain = ?"]
    params: list[object] = [domain]
    for column, text in criteria:
        where.append(f"{column} LIKE ? ESCAPE '\\'")
        params.append(_like_prefix(text))
    clause, extra = txn.engine.limit_offset(limit, 0)
    txn.execute(
        f"SELECT username, vcard FROM vcards WHERE {' AND '.join(where)} "
        f"ORDER BY username {clause}",
        (*params, *extra),
    )
    return [(row[0], row[1]) for row in txn.fetchall()]


def _remove_txn(txn: Transaction, domain: str, username: str) -> bool:
    txn.execute("DELETE FROM vcards WHERE domain = ? AND username = ?", (domain, username))
    return txn.rowcount > 0


@implementer(IVCardStore)
class SQLVCardStore:
    """vCards in a SQL database; see :class:`IVCardStore` for the contract.

    Args:
        database: the :class:`~mongoose.storage.interfaces.IDatabase` to use.
    """

    def __init__(self, database: IDatabase):
        self._db = database

    def get_vcard(self, domain: str, username: str) -> defer.Deferred[str | None]:
        """Fire the user's vCard XML, or None."""
        return self._db.run_interaction("vcard_get", _get_txn, domain, username)

    def set_vcard(
        self, domain: str, username: str, vcard: str, fn: str = "", nickname: str = ""
    ) -> defer.Deferred[None]:
        """Store the user's vCard, replacing any earlier one."""
        return self._db.run_interaction(
            "vcard_set", _set_txn, domain, username, vcard,
            (fn or "").casefold(), (nickname or "").casefold(),
        )

    def remove_domain(self, domain: str) -> defer.Deferred[int]:
        """Delete the vCards of every user of ``domain``; fire the rows deleted."""
        return remove_domain_rows(self._db, "vcard_remove_domain", ("vcards",), domain)

    def remove_user(self, domain: str, username: str) -> defer.Deferred[bool]:
        """Delete the user's vCard; fire whether there was one."""
        return self._db.run_interaction("vcard_remove_user", _remove_txn, domain, username)

    def search(
        self, domain: str, criteria: Mapping[str, str], limit: int | None = None
    ) -> defer.Deferred[list[tuple[str, str]]]:
        """Fire (username, vCard XML) of the vCards whose fields start with the criteria."""
        unknown = set(criteria) - set(_COLUMNS)
        if unknown:
            return defer.fail(ValueError(f"unknown search criteria: {sorted(unknown)}"))
        pairs = [
            (_COLUMNS[key], text.casefold())
            for key, text in sorted(criteria.items()) if text
        ]
        return self._db.run_interaction("vcard_search", _search_txn, domain, pairs, limit)
