"""MongooseIM's ``[auth.internal]`` method: accounts kept in our own database.

Implements :class:`mongoose.interfaces.IAuthBackend` over an
:class:`~mongoose.storage.interfaces.IAuthStore`.  Usernames are normalised
with PRECIS UsernameCaseMapped (RFC 8265, RFC 7622) and domains lower-cased,
so every lookup sees one canonical name.  Password hashing runs on the
reactor's thread pool, never on the reactor thread.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from twisted.internet import defer
from twisted.internet.threads import deferToThreadPool
from zope.interface import implementer

from mongoose.auth import password as pw
from mongoose.auth.names import normalize_domain, normalize_username
from mongoose.interfaces import IAuthBackend
from mongoose.storage.interfaces import IAuthStore

__all__ = ["InternalAuth"]

T = TypeVar("T")


@implementer(IAuthBackend)
class InternalAuth:
    """Password authentication against accounts in an :class:`IAuthStore`.

    ``register``, ``remove`` and ``set_password`` fail with ``ValueError``
    (a one-line message) for an invalid username, domain or an empty
    password; the lookups (``user_exists``, ``check_password``,
    ``get_scram``) simply answer False/None for a name that cannot exist.

    Args:
        store: where accounts live.
        password_format: ``"scram"`` (store SCRAM keys only) or ``"plain"``.
        hashes: MongooseIM hash names to keep keys for (scram format).
        iterations: PBKDF2 iterations for new SCRAM keys.
        reactor: the reactor whose thread pool does the hashing.
        password_for: ``domain -> (format, hashes, iterations)`` when a
            domain stores passwords differently (its ``host_config.auth``),
            or None for the three options above; None: those everywhere.

    Raises:
        ValueError: an unknown format or hash, or iterations < 1.
    """

    def __init__(
        self,
        store: IAuthStore,
        password_format: str = "scram",
        hashes: Iterable[str] = pw.DEFAULT_HASHES,
        iterations: int = pw.DEFAULT_ITERATIONS,
        reactor: Any = None,
        password_for: Callable[[str], tuple[str, Iterable[str], int] | None] | None = None,
    ):
        self.hashes = pw.check_options(password_format, hashes, iterations)
        self._password_for = password_for
        if reactor is None:
            from twisted.internet import reactor as default_reactor

            reactor = default_reactor
        self.store = store
        self.password_format = password_format
        self.iterations = iterations
        self._reactor = reactor

    def _in_thread(self, fn: Callable[..., T], *args: Any) -> defer.Deferred[T]:
        return deferToThreadPool(self._reactor, self._reactor.getThreadPool(), fn, *args)

    def _make_secret(self, password: str, domain: str) -> defer.Deferred[pw.PasswordSecret]:
        if not isinstance(password, str) or not password:
            return defer.fail(ValueError("the password must not be empty"))
        options = self._password_for(domain) if self._password_for is not None else None
        if options is None:
            options = (self.password_format, self.hashes, self.iterations)
        password_format, hashes, iterations = options
        try:
            hashes = pw.check_options(password_format, hashes, iterations)
        except ValueError as exc:
            return defer.fail(exc)
        return self._in_thread(pw.make_secret, password, password_format, hashes, iterations)

    @staticmethod
    def _lookup_names(username: str, domain: str) -> tuple[str, str] | None:
        try:
            return normalize_username(username), normalize_domain(domain)
        except ValueError:
            return None

    def register(self, username: str, domain: str, password: str) -> defer.Deferred[bool]:
        """Create an account; fires False if it exists already.

        Fails with ValueError for an invalid name or an empty password.
        """
        return defer.ensureDeferred(self._register(username, domain, password))

    async def _register(self, username: str, domain: str, password: str) -> bool:
        user, host = normalize_username(username), normalize_domain(domain)
        if await self.store.user_exists(host, user):
            return False
        secret = await self._make_secret(password, host)
        return await self.store.add_user(host, user, secret)

    def remove(self, username: str, domain: str) -> defer.Deferred[bool]:
        """Delete an account; fires False if there was none."""
        return defer.ensureDeferred(self._remove(username, domain))

    async def _remove(self, username: str, domain: str) -> bool:
        return await self.store.remove_user(normalize_domain(domain), normalize_username(username))

    def user_exists(self, username: str, domain: str) -> defer.Deferred[bool]:
        """Fire True if the account exists."""
        return defer.ensureDeferred(self._user_exists(username, domain))

    async def _user_exists(self, username: str, domain: str) -> bool:
        names = self._lookup_names(username, domain)
        if names is None:
            return False
        return await self.store.user_exists(names[1], names[0])

    def check_password(self, username: str, domain: str, password: str) -> defer.Deferred[bool]:
        """Fire True if ``password`` is the account's password."""
        return defer.ensureDeferred(self._check_password(username, domain, password))

    async def _check_password(self, username: str, domain: str, password: str) -> bool:
        names = self._lookup_names(username, domain)
        if names is None or not isinstance(password, str) or not password:
            return False
        secret = await self.store.get_secret(names[1], names[0])
        if secret is None:
            return False
        return await self._in_thread(pw.verify, secret, password)

    def set_password(self, username: str, domain: str, password: str) -> defer.Deferred[bool]:
        """Replace the password; fires False if the account does not exist.

        Fails with ValueError for an invalid name or an empty password.
        """
        return defer.ensureDeferred(self._set_password(username, domain, password))

    async def _set_password(self, username: str, domain: str, password: str) -> bool:
        user, host = normalize_username(username), normalize_domain(domain)
        if not await self.store.user_exists(host, user):
            return False
        secret = await self._make_secret(password, host)
        return await self.store.set_secret(host, user, secret)

    def list_users(
        self, domain: str, limit: int | None = None, offset: int = 0
    ) -> defer.Deferred[list[str]]:
        """Fire the domain's usernames, sorted, paged by ``limit`` and ``offset``."""
        return defer.ensureDeferred(self._list_users(domain, limit, offset))

    async def _list_users(self, domain: str, limit: int | None, offset: int) -> list[str]:
        return await self.store.list_users(normalize_domain(domain), limit, offset)

    def count_users(self, domain: str) -> defer.Deferred[int]:
        """Fire the number of accounts of the domain."""
        return defer.ensureDeferred(self._count_users(domain))

    async def _count_users(self, domain: str) -> int:
        return await self.store.count_users(normalize_domain(domain))

    def get_scram(
        self, username: str, domain: str, hash_name: str
    ) -> defer.Deferred[pw.ScramKeys | None]:
        """Fire the account's SCRAM keys for one hash, or None.

        A plain-format account gets keys derived on the fly with a fresh salt,
        so SCRAM works whatever the stored format.  None if the account does
        not exist or has no keys for ``hash_name``.
        """
        return defer.ensureDeferred(self._get_scram(username, domain, hash_name))

    async def _get_scram(self, username: str, domain: str, hash_name: str) -> pw.ScramKeys | None:
        if hash_name not in pw.HASHES:
            raise ValueError(f"unknown hash {hash_name!r}; use one of: {', '.join(pw.HASHES)}")
        names = self._lookup_names(username, domain)
        if names is None:
            return None
        secret = await self.store.get_secret(names[1], names[0])
        if secret is None:
            return None
        if hash_name in secret.scram:
            return secret.scram[hash_name]
        if secret.plain:
            try:
                return await self._in_thread(
                    pw.derive_keys, secret.plain, hash_name, self.iterations
                )
            except ValueError:
                return None
        return None
