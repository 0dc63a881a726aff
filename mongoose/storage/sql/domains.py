"""SQL implementation of :class:`~mongoose.storage.interfaces.IDomainStore`.

Dynamic domains (MongooseIM ``service_domain_db``; GraphQL ``domain``
category) live in ``domains`` with their host type and enabled flag; the
domain administrator's password is kept as SCRAM keys in ``domain_admins``
(migration 0008).
"""

from __future__ import annotations

from twisted.internet import defer
from zope.interface import implementer

from mongoose.storage.interfaces import IDatabase, IDomainStore
from mongoose.storage.sql.database import Transaction

__all__ = ["SQLDomainStore"]

DomainRow = tuple[str, str, bool]


def _get_txn(txn: Transaction, domain: str) -> DomainRow | None:
    txn.execute("SELECT domain, host_type, enabled FROM domains WHERE domain = ?", (domain,))
    row = txn.fetchone()
    return (row[0], row[1], bool(row[2])) if row else None


def _list_txn(txn: Transaction, host_type: str | None) -> list[DomainRow]:
    if host_type is None:
        txn.execute("SELECT domain, host_type, enabled FROM domains ORDER BY domain")
    else:
        txn.execute(
            "SELECT domain, host_type, enabled FROM domains WHERE host_type = ? ORDER BY domain",
            (host_type,),
        )
    return [(row[0], row[1], bool(row[2])) for row in txn.fetchall()]


def _add_txn(txn: Transaction, domain: str, host_type: str) -> bool:
    sql = txn.engine.insert_or_ignore_sql(
        "domains", ("domain", "host_type", "enabled"), ("domain",))
    txn.execute(sql, (domain, host_type, True))
    return txn.rowcount > 0


def _remove_txn(txn: Transaction, domain: str) -> bool:
    txn.execute("DELETE FROM domain_admins WHERE domain = ?", (domain,))
    txn.execute("DELETE FROM domains WHERE domain = ?", (domain,))
    return txn.rowcount > 0


def _set_enabled_txn(txn: Transaction, domain: str, enabled: bool) -> bool:
    txn.execute("UPDATE domains SET enabled = ? WHERE domain = ?", (enabled, domain))
    return txn.rowcount > 0


def _get_secret_txn(txn: Transaction, domain: str) -> str | None:
    txn.execute("SELECT secret FROM domain_admins WHERE domain = ?", (domain,))
    row = txn.fetchone()
    return row[0] if row else None


def _set_secret_txn(txn: Transaction, domain: str, secret: str) -> None:
    sql = txn.engine.upsert_sql("domain_admins", ("domain",), ("secret",))
    txn.execute(sql, (domain, secret))


def _delete_secret_txn(txn: Transaction, domain: str) -> bool:
    txn.execute("DELETE FROM domain_admins WHERE domain = ?", (domain,))
    return txn.rowcount > 0


@implementer(IDomainStore)
class SQLDomainStore:
    """Dynamic domains in a SQL database; see :class:`IDomainStore` for the contract.

    Args:
        database: the :class:`~mongoose.storage.interfaces.IDatabase` to use.
    """

    def __init__(self, database: IDatabase):
        self._db = database

    def get_domain(self, domain: str) -> defer.Deferred[DomainRow | None]:
        """Fire ``(domain, host_type, enabled)`` or None."""
        return self._db.run_interaction("domain_get", _get_txn, domain)

    def list_domains(self, host_type: str | None = None) -> defer.Deferred[list[DomainRow]]:
        """Fire every dynamic domain (of one host type) sorted by name."""
        return self._db.run_interaction("domain_list", _list_txn, host_type)

    def add_domain(self, domain: str, host_type: str) -> defer.Deferred[bool]:
        """Insert an enabled domain; fire False when it exists already."""
        return self._db.run_interaction("domain_add", _add_txn, domain, host_type)

    def remove_domain(self, domain: str) -> defer.Deferred[bool]:
        """Delete the domain and its admin password; fire whether it existed."""
        return self._db.run_interaction("domain_remove", _remove_txn, domain)

    def set_enabled(self, domain: str, enabled: bool) -> defer.Deferred[bool]:
        """Enable or disable the domain; fire whether it exists."""
        return self._db.run_interaction("domain_set_enabled", _set_enabled_txn, domain, enabled)

    def get_admin_secret(self, domain: str) -> defer.Deferred[str | None]:
        """Fire the stored admin password secret (SCRAM keys as text) or None."""
        return self._db.run_interaction("domain_admin_get", _get_secret_txn, domain)

    def set_admin_secret(self, domain: str, secret: str) -> defer.Deferred[None]:
        """Store (or replace) the admin password secret."""
        return self._db.run_interaction("domain_admin_set", _set_secret_txn, domain, secret)

    def delete_admin_secret(self, domain: str) -> defer.Deferred[bool]:
        """Drop the admin password; fire whether there was one."""
        return self._db.run_interaction("domain_admin_delete", _delete_secret_txn, domain)
