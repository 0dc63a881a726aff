"""The PLAIN mechanism, server side (RFC 4616).

The message is ``[authzid] NUL authcid NUL passwd`` in UTF-8.  The authcid
is the user's localpart; an authzid, if present, must name the same user
(RFC 6120 section 6.3.8).  The password check is a callback that may return a
Deferred, so the mechanism never blocks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from zope.interface import implementer

from mongoose.xmpp.sasl.core import (
    Challenge,
    ISASLMechanism,
    MechanismBase,
    Outcome,
    Success,
    check_authzid,
    prepare_username,
)

__all__ = ["PlainMechanism"]

# Far above any real PLAIN message; longer ones are refused unread.
_MAX_MESSAGE = 8192


@implementer(ISASLMechanism)
class PlainMechanism(MechanismBase):
    """PLAIN for one exchange.

    Args:
        domain: the prepared domain the client authenticates to.
        check_password: ``check_password(username, password)`` returning
            bool or a Deferred firing bool; ``username`` is the prepared
            localpart.
    """

    name = "PLAIN"

    def __init__(self, domain: str, check_password: Callable[[str, str], Any]):
        super().__init__()
        self._domain = domain
        self._check_password = check_password
        self._asked = False

    async def _step(self, data: bytes | None) -> Outcome:
        if data is None:
            # No initial response: ask for it with an empty challenge.
            if self._asked:
                raise self.fail("malformed-request", "the PLAIN message is missing")
            self._asked = True
            return Challenge(b"")
        if len(data) > _MAX_MESSAGE:
            raise self.fail("malformed-request", "the PLAIN message is too long")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise self.fail("malformed-request", "the PLAIN message is not UTF-8") from None
        fields = text.split("\0")
        if len(fields) != 3:
            raise self.fail("malformed-request", "the PLAIN message needs exactly two NULs")
        authzid, authcid, password = fields
        if not authcid or not password:
            raise self.fail("malformed-request", "empty username or password")
        username = prepare_username(authcid)
        if username is None:
            raise self.fail("not-authorized", username=authcid)
        authorized = check_authzid(authzid, username, self._domain)
        if not await self.call(self._check_password, username, password):
            raise self.fail("not-authorized", username=username)
        return Success(None, username, authorized)
