"""The EXTERNAL mechanism, server side (RFC 4422 appendix A, XEP-0178).

The client proves its identity with the TLS client certificate; the message
is the (possibly empty) authorization identity.  Mapping the certificate to a
user is the job of a callback given by the c2s layer, which sees the
certificate.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from zope.interface import implementer

from mongoose.xmpp.sasl.core import Challenge, ISASLMechanism, MechanismBase, Outcome, Success

__all__ = ["ExternalMechanism"]

_MAX_AUTHZID = 3 * 1024 + 2


@implementer(ISASLMechanism)
class ExternalMechanism(MechanismBase):
    """EXTERNAL for one exchange.

    Args:
        verify: ``verify(authzid)`` with the requested authorization identity
            (a string, or None when the client sent none) returning the
            username the certificate authenticates (or None to refuse), as a
            value or a Deferred.
    """

    name = "EXTERNAL"

    def __init__(self, verify: Callable[[str | None], Any]):
        super().__init__()
        self._verify = verify
        self._asked = False

    async def _step(self, data: bytes | None) -> Outcome:
        if data is None:
            if self._asked:
                raise self.fail("malformed-request", "the EXTERNAL message is missing")
            self._asked = True
            return Challenge(b"")
        if len(data) > _MAX_AUTHZID:
            raise self.fail("malformed-request", "the authorization identity is too long")
        try:
            authzid = data.decode("utf-8") or None
        except UnicodeDecodeError:
            raise self.fail("malformed-request", "the EXTERNAL message is not UTF-8") from None
        username = await self.call(self._verify, authzid)
        if not username:
            raise self.fail("not-authorized", "the certificate does not authenticate you")
        return Success(None, username, authzid)
