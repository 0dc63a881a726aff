"""HTTP Basic credentials -> the caller of a GraphQL request.

MongooseIM's three GraphQL endpoints authenticate differently:

* ``admin``: the handler's ``username``/``password`` (compared in constant
  time); with none configured every request runs as the global admin;
* ``domain_admin``: ``admin@DOMAIN`` and that domain's admin password,
  checked by a :data:`DomainPasswordCheck` (the node's domain password
  store; without one, no domain admin can log in);
* ``user``: a user's bare JID and password, checked by the node's auth
  backend (``IAuthBackend.check_password``).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from twisted.words.protocols.jabber import jid as xmpp_jid

from mongoose.commands.caller import Caller
from mongoose.commands.errors import CommandError

__all__ = ["DomainPasswordCheck", "Authenticator", "basic_credentials"]

#: ``check(domain, password)`` -> bool or an awaitable of bool.
DomainPasswordCheck = Callable[[str, str], "bool | Awaitable[bool]"]


def basic_credentials(header: bytes | None) -> tuple[str, str] | None:
    """The (user, password) of an ``Authorization: Basic`` header, or None when absent.

    Raises:
        CommandError: ``unauthorized`` when the header is present but not
            valid Basic credentials.
    """
    if not header:
        return None
    scheme, _, token = header.partition(b" ")
    if scheme.lower() != b"basic":
        raise CommandError("unauthorized", "only HTTP Basic authentication is supported")
    try:
        decoded = base64.b64decode(token.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        raise CommandError("unauthorized", "malformed Basic credentials") from None
    user, sep, password = decoded.partition(":")
    if not sep:
        raise CommandError("unauthorized", "malformed Basic credentials")
    return user, password


async def _maybe_await(value: Any) -> Any:
    if inspect.isawaitable(value):
        return await value
    return value


class Authenticator:
    """Checks the credentials of one endpoint.

    Args:
        endpoint: ``admin``, ``domain_admin`` or ``user``.
        username: admin endpoint only: the required user name (None: open).
        password: admin endpoint only: the required password.
        auth_backend: user endpoint: an ``IAuthBackend`` (or None: nobody
            can log in).
        domain_password_check: domain_admin endpoint: see
            :data:`DomainPasswordCheck` (None: nobody can log in).
    """

    def __init__(self, endpoint: str, username: str | None = None,
                 password: str | None = None, auth_backend: Any = None,
                 domain_password_check: DomainPasswordCheck | None = None):
        self.endpoint = endpoint
        self._username = username
        self._password = password
        self._auth = auth_backend
        self._domain_check = domain_password_check

    @property
    def protected(self) -> bool:
        """False only for an admin endpoint without configured credentials."""
        return not (self.endpoint == "admin" and self._username is None)

    async def caller(self, header: bytes | None) -> Caller | None:
        """The caller for an ``Authorization`` header value.

        Returns:
            The caller, or None when no credentials were sent and the
            endpoint needs some (then only ``checkAuth`` answers).

        Raises:
            CommandError: ``unauthorized`` for wrong or malformed credentials.
        """
        credentials = basic_credentials(header)
        if self.endpoint == "admin":
            if self._username is None:
                return Caller.admin()
            if credentials is None:
                return None
            user, password = credentials
            user_ok = hmac.compare_digest(user.encode(), str(self._username).encode())
            password_ok = hmac.compare_digest(password.encode(), str(self._password).encode())
            if not (user_ok and password_ok):
                raise CommandError("unauthorized", "wrong username or password")
            return Caller.admin()
        if credentials is None:
            return None
        if self.endpoint == "domain_admin":
            return await self._domain_admin(*credentials)
        return await self._user(*credentials)

    async def _domain_admin(self, login: str, password: str) -> Caller:
        wrong = CommandError("unauthorized", "wrong domain admin credentials "
                             "(log in as admin@DOMAIN with the domain's admin password)")
        name, sep, domain = login.partition("@")
        if not sep or name != "admin" or not domain:
            raise wrong
        try:
            caller = Caller.domain_admin(domain)
        except ValueError:
            raise wrong from None
        if self._domain_check is None or not password:
            raise wrong
        assert caller.domain is not None
        if not await _maybe_await(self._domain_check(caller.domain, password)):
            raise wrong
        return caller

    async def _user(self, login: str, password: str) -> Caller:
        wrong = CommandError("unauthorized", "wrong user JID or password")
        try:
            parsed = xmpp_jid.JID(login)
        except Exception:  # InvalidFormat and stringprep errors
            raise wrong from None
        if not parsed.user or parsed.resource is not None or self._auth is None or not password:
            raise wrong
        if not await _maybe_await(self._auth.check_password(parsed.user, parsed.host, password)):
            raise wrong
        return Caller.user(parsed)
