"""SQL implementation of :class:`~mongoose.storage.interfaces.IPrivateStore`.

Private XML storage of ``mod_private`` (XEP-0049) lives in
``private_storage`` (migration 0005): one row per user and namespace whose
``data`` holds the stored elements of that namespace as XML text.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from twisted.internet import defer
from zope.interface import implementer

from mongoose.storage.interfaces import IDatabase, IPrivateStore
from mongoose.storage.sql.database import Transaction
from mongoose.storage.sql.purge import remove_domain_rows

__all__ = ["SQLPrivateStore"]

#: Namespaces read per statement (keeps statements below parameter limits).
_BATCH = 200


def _get_txn(
    txn: Transaction, domain: str, username: str, namespaces: list[str]
) -> dict[str, str]:
    found: dict[str, str] = {}
    for start in range(0, len(namespaces), _BATCH):
        batch = namespaces[start:start + _BATCH]
        marks = ", ".join("?" * len(batch))
        txn.execute(
            "SELECT namespace, data FROM private_storage WHERE domain = ? AND username = ? "
            f"AND namespace IN ({marks})",
            (domain, username, *batch),
        )
        found.update({row[0]: row[1] for row in txn.fetchall()})
    return found


def _all_txn(txn: Transaction, domain: str, username: str) -> dict[str, str]:
    txn.execute(
        "SELECT namespace, data FROM private_storage WHERE domain = ? AND username = ? "
        "ORDER BY namespace",
        (domain, username),
    )
    return {row[0]: row[1] for row in txn.fetchall()}


def _set_txn(txn: Transaction, domain: str, username: str, items: list[tuple[str, str]]) -> None:
    sql = txn.engine.upsert_sql(
        "private_storage", ("domain", "username", "namespace"), ("data",)
    )
    for namespace, data in items:
        txn.execute(sql, (domain, username, namespace, data))


def _remove_txn(txn: Transaction, domain: str, username: str) -> int:
    txn.execute(
        "DELETE FROM private_storage WHERE domain = ? AND username = ?", (domain, username)
    )
    return max(txn.rowcount, 0)


@implementer(IPrivateStore)
class SQLPrivateStore:
    """Private XML in a SQL database; see :class:`IPrivateStore` for the contract.

    Args:
        database: the :class:`~mongoose.storage.interfaces.IDatabase` to use.
    """

    def __init__(self, database: IDatabase):
        self._db = database

    def get_private(
        self, domain: str, username: str, namespaces: Sequence[str]
    ) -> defer.Deferred[dict[str, str]]:
        """Fire namespace -> XML text for the wanted namespaces that hold data."""
        wanted = sorted(set(namespaces))
        if not wanted:
            return defer.succeed({})
        return self._db.run_interaction("private_get", _get_txn, domain, username, wanted)

    def all_private(self, domain: str, username: str) -> defer.Deferred[dict[str, str]]:
        """Fire namespace -> XML text of everything the user stored."""
        return self._db.run_interaction("private_all", _all_txn, domain, username)

    def set_private(
        self, domain: str, username: str, items: Mapping[str, str]
    ) -> defer.Deferred[None]:
        """Replace the XML of every namespace in ``items`` atomically."""
        pairs = sorted(items.items())
        if not pairs:
            return defer.succeed(None)
        return self._db.run_interaction("private_set", _set_txn, domain, username, pairs)

    def remove_domain(self, domain: str) -> defer.Deferred[int]:
        """Delete the private XML of every user of ``domain``; fire the rows deleted."""
        return remove_domain_rows(self._db, "private_remove_domain", ("private_storage",), domain)

    def remove_user(self, domain: str, username: str) -> defer.Deferred[int]:
        """Delete everything the user stored; fire how many namespaces went."""
        return self._db.run_interaction("private_remove_user", _remove_txn, domain, username)
