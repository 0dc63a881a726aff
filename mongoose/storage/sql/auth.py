"""SQL implementation of :class:`~mongoose.storage.interfaces.IAuthStore`.

One row per account in the ``users`` table (migration 0001), keyed by
``(domain, username)``, as MongooseIM's RDBMS auth keeps them per server.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from twisted.internet import defer
from zope.interface import implementer

from mongoose.auth.password import PasswordSecret
from mongoose.storage.errors import StorageError
from mongoose.storage.interfaces import IAuthStore, IDatabase
from mongoose.storage.sql.database import Transaction
from mongoose.storage.sql.purge import remove_domain_rows

__all__ = ["SQLAuthStore"]


def _add_user_txn(
    txn: Transaction, domain: str, username: str, plain: str | None, details: str | None
) -> bool:
    txn.execute(
        txn.engine.insert_or_ignore_sql(
            "users", ("domain", "username", "password", "pass_details"), ("domain", "username")
        ),
        (domain, username, plain, details),
    )
    return txn.rowcount == 1


def _get_secret_txn(txn: Transaction, domain: str, username: str) -> Any:
    txn.execute(
        "SELECT password, pass_details FROM users WHERE domain = ? AND username = ?",
        (domain, username),
    )
    return txn.fetchone()


def _set_secret_txn(
    txn: Transaction, domain: str, username: str, plain: str | None, details: str | None
) -> bool:
    txn.execute(
        "UPDATE users SET password = ?, pass_details = ? WHERE domain = ? AND username = ?",
        (plain, details, domain, username),
    )
    return txn.rowcount > 0


def _remove_user_txn(txn: Transaction, domain: str, username: str) -> bool:
    txn.execute("DELETE FROM users WHERE domain = ? AND username = ?", (domain, username))
    return txn.rowcount > 0


def _list_users_txn(txn: Transaction, domain: str, limit: int | None, offset: int) -> list[str]:
    clause, params = txn.engine.limit_offset(limit, offset)
    txn.execute(
        f"SELECT username FROM users WHERE domain = ? ORDER BY username {clause}",
        (domain, *params),
    )
    return [row[0] for row in txn.fetchall()]


def _count_users_txn(txn: Transaction, domain: str) -> int:
    txn.execute("SELECT COUNT(*) FROM users WHERE domain = ?", (domain,))
    row = txn.fetchone()
    return int(row[0]) if row else 0


def _created_at_txn(txn: Transaction, domain: str, username: str) -> Any:
    txn.execute(
        "SELECT created_at FROM users WHERE domain = ? AND username = ?", (domain, username)
    )
    row = txn.fetchone()
    return None if row is None else row[0]


def _user_exists_txn(txn: Transaction, domain: str, username: str) -> bool:
    txn.execute("SELECT 1 FROM users WHERE domain = ? AND username = ?", (domain, username))
    return txn.fetchone() is not None


@implementer(IAuthStore)
class SQLAuthStore:
    """User accounts in a SQL database; see :class:`IAuthStore` for the contract.

    Args:
        database: the :class:`~mongoose.storage.interfaces.IDatabase` to use.
    """

    def __init__(self, database: IDatabase):
        self._db = database

    def add_user(self, domain: str, username: str, secret: PasswordSecret) -> defer.Deferred[bool]:
        """Create a user; fires False if it exists already."""
        plain, details = secret.to_columns()
        return self._db.run_interaction("add_user", _add_user_txn, domain, username, plain, details)

    def get_secret(self, domain: str, username: str) -> defer.Deferred[PasswordSecret | None]:
        """Fire the user's PasswordSecret, or None if there is no such user."""
        d = self._db.run_interaction("get_secret", _get_secret_txn, domain, username)

        def decode(row: Any) -> PasswordSecret | None:
            if row is None:
                return None
            try:
                return PasswordSecret.from_columns(row[0], row[1])
            except ValueError as exc:
                raise StorageError(f"the password of {username}@{domain}: {exc}") from None

        return d.addCallback(decode)

    def set_secret(
        self, domain: str, username: str, secret: PasswordSecret
    ) -> defer.Deferred[bool]:
        """Replace the user's secret; fires False if there is no such user."""
        plain, details = secret.to_columns()
        return self._db.run_interaction(
            "set_secret", _set_secret_txn, domain, username, plain, details
        )

    def remove_domain(self, domain: str) -> defer.Deferred[int]:
        """Delete the user accounts of every user of ``domain``; fire the rows deleted."""
        return remove_domain_rows(self._db, "auth_remove_domain", ("users",), domain)

    def remove_user(self, domain: str, username: str) -> defer.Deferred[bool]:
        """Delete the user; fires False if there was none."""
        return self._db.run_interaction("remove_user", _remove_user_txn, domain, username)

    def list_users(
        self, domain: str, limit: int | None = None, offset: int = 0
    ) -> defer.Deferred[list[str]]:
        """Fire the domain's usernames in code point order, paged by limit/offset."""
        try:
            self._db.engine.limit_offset(limit, offset)
        except ValueError as exc:
            return defer.fail(exc)
        return self._db.run_interaction("list_users", _list_users_txn, domain, limit, offset)

    def count_users(self, domain: str) -> defer.Deferred[int]:
        """Fire the number of users of the domain."""
        return self._db.run_interaction("count_users", _count_users_txn, domain)

    def get_created_at(self, domain: str, username: str) -> defer.Deferred[datetime | None]:
        """Fire when the account was created (aware UTC datetime), or None if there is none."""

        def decode(value: Any) -> datetime | None:
            if value is None:
                return None
            if isinstance(value, str):  # SQLite CURRENT_TIMESTAMP: "YYYY-MM-DD HH:MM:SS" in UTC
                value = datetime.fromisoformat(value)
            return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

        d = self._db.run_interaction("auth_created_at", _created_at_txn, domain, username)
        return d.addCallback(decode)

    def user_exists(self, domain: str, username: str) -> defer.Deferred[bool]:
        """Fire True if the user exists."""
        return self._db.run_interaction("user_exists", _user_exists_txn, domain, username)
