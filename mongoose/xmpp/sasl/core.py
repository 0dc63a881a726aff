"""The shape of a server-side SASL mechanism (RFC 4422, as used by RFC 6120 section 6).

A mechanism is a small state machine that knows nothing about sockets or
XML: the c2s layer decodes the base64 payload of ``<auth/>`` and
``<response/>`` and calls :meth:`ISASLMechanism.step`, which returns a
Deferred firing one of :class:`Challenge`, :class:`Success` or
:class:`Failure`.  Failure conditions are those of RFC 6120 section 6.5.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from twisted.internet.defer import Deferred
from twisted.logger import Logger
from zope.interface import Attribute, Interface

from mongoose.xmpp.jid import JID, InvalidJID, prep_localpart

__all__ = [
    "FAILURE_CONDITIONS",
    "Challenge",
    "Failure",
    "ISASLMechanism",
    "MechanismBase",
    "Outcome",
    "SASLFailure",
    "Success",
    "check_authzid",
    "prepare_username",
]

#: SASL failure conditions of RFC 6120 section 6.5.
FAILURE_CONDITIONS = frozenset(
    {
        "aborted",
        "account-disabled",
        "credentials-expired",
        "encryption-required",
        "incorrect-encoding",
        "invalid-authzid",
        "invalid-mechanism",
        "malformed-request",
        "mechanism-too-weak",
        "not-authorized",
        "temporary-auth-failure",
    }
)

_log = Logger()


@dataclass(frozen=True)
class Challenge:
    """Send ``<challenge/>`` with this data and wait for a response.

    Attributes:
        data: the challenge (c2s base64-encodes it; empty is sent as ``=``).
    """

    data: bytes


@dataclass(frozen=True)
class Success:
    """Authentication succeeded.

    Attributes:
        additional_data: data for ``<success/>`` (e.g. the SCRAM server
            signature), or None for an empty element.
        username: the authenticated localpart (prepared).
        authzid: the authorization identity the client asked for, as a
            bare JID string, or None.
    """

    additional_data: bytes | None
    username: str
    authzid: str | None = None


@dataclass(frozen=True)
class Failure:
    """Authentication failed.

    Attributes:
        condition: one of :data:`FAILURE_CONDITIONS`.
        text: optional description for the client.
        username: the username the client claimed, if known (for logs and
            the ``auth_failed`` hook; never sent to the client).
    """

    condition: str
    text: str | None = None
    username: str | None = None

    def __post_init__(self) -> None:
        if self.condition not in FAILURE_CONDITIONS:
            raise ValueError(f"unknown SASL failure condition {self.condition!r}")


#: Alias that does not clash with ``twisted.python.failure.Failure``.
SASLFailure = Failure

#: What a step can result in.
Outcome = Challenge | Success | Failure


class ISASLMechanism(Interface):
    """A server-side SASL mechanism for one authentication exchange."""

    name = Attribute("The advertised mechanism name, e.g. 'SCRAM-SHA-256-PLUS'.")

    def step(data):
        """Process the next client message.

        Args:
            data: the decoded payload of ``<auth/>`` or ``<response/>``:
                bytes (possibly empty), or None when ``<auth/>`` carried no
                initial response at all.

        Returns:
            A Deferred firing a Challenge, a Success or a Failure.  It never
            fails: errors of the callbacks become ``temporary-auth-failure``.
        """


class _Fail(Exception):
    """Internal: abort the exchange with a Failure."""

    def __init__(self, condition: str, text: str | None = None, username: str | None = None):
        super().__init__(condition)
        self.failure = Failure(condition, text, username)


class MechanismBase:
    """Common machinery: one step at a time, exceptions become Failures.

    Subclasses implement ``async def _step(self, data) -> Outcome`` and may
    raise ``self.fail(condition, text)``.
    """

    name = ""

    def __init__(self) -> None:
        self._busy = False
        self._done = False

    @staticmethod
    def fail(condition: str, text: str | None = None, username: str | None = None) -> _Fail:
        """Return an exception that ends the exchange with a Failure."""
        return _Fail(condition, text, username)

    def step(self, data: bytes | None) -> Deferred[Outcome]:
        """See :meth:`ISASLMechanism.step`."""
        return Deferred.fromCoroutine(self._guarded(data))

    async def _guarded(self, data: bytes | None) -> Outcome:
        if self._done:
            return Failure("malformed-request", "the authentication exchange is over")
        if self._busy:
            return Failure("malformed-request", "a step is already in progress")
        self._busy = True
        try:
            outcome = await self._step(data)
        except _Fail as failed:
            outcome = failed.failure
        except Exception:
            _log.failure("SASL mechanism {name} failed", name=self.name)
            outcome = Failure("temporary-auth-failure")
        finally:
            self._busy = False
        if not isinstance(outcome, Challenge):
            self._done = True
        return outcome

    async def _step(self, data: bytes | None) -> Outcome:  # pragma: no cover - abstract
        raise NotImplementedError

    @staticmethod
    async def call(function: Callable[..., Any], *args: Any) -> Any:
        """Call a backend callback that returns a value, a Deferred or an awaitable.

        Raises:
            _Fail: ``temporary-auth-failure`` when the callback fails.
        """
        try:
            result = function(*args)
            if inspect.isawaitable(result):
                result = await result
            return result
        except _Fail:
            raise
        except Exception:
            _log.failure("authentication backend call failed")
            raise _Fail("temporary-auth-failure") from None


def prepare_username(username: str) -> str | None:
    """Prepare a SASL username as a JID localpart.

    Returns:
        The prepared localpart, or None when it is not a valid localpart.
    """
    try:
        return prep_localpart(username)
    except InvalidJID:
        return None


def check_authzid(authzid: str | None, username: str, domain: str) -> str | None:
    """Check an authorization identity against the authenticated user.

    RFC 6120 section 6.3.8: a client may only ask to act as itself, so the
    authzid, if given, must be the bare JID ``username@domain``.

    Args:
        authzid: the authzid the client sent (None or "" for none).
        username: the prepared username.
        domain: the prepared domain of the stream.

    Returns:
        The authzid as a normalised bare JID string, or None if none was given.

    Raises:
        _Fail: ``invalid-authzid``.
    """
    if not authzid:
        return None
    try:
        jid = JID.parse(authzid)
    except InvalidJID:
        raise _Fail("invalid-authzid", "the authorization identity is not a valid JID") from None
    if jid.resource is not None or jid.user != username or jid.host != domain:
        raise _Fail("invalid-authzid", "you may only authorize as yourself")
    return jid.userhost
