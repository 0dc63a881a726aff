"""The ANONYMOUS mechanism, server side (RFC 4505).

The client may send trace information (ignored beyond a size check); the
server makes up a fresh username for the session.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

from zope.interface import implementer

from mongoose.xmpp.sasl.core import ISASLMechanism, MechanismBase, Outcome, Success

__all__ = ["AnonymousMechanism", "random_username"]

# RFC 4505 section 3: trace information is at most 255 characters (UTF-8).
_MAX_TRACE = 255 * 4


def random_username() -> str:
    """Return a random, valid and practically unique localpart."""
    return secrets.token_hex(16)


@implementer(ISASLMechanism)
class AnonymousMechanism(MechanismBase):
    """ANONYMOUS for one exchange.

    Args:
        make_username: returns the username for the anonymous session (a
            value or a Deferred); by default 32 random hex digits.
    """

    name = "ANONYMOUS"

    def __init__(self, make_username: Callable[[], Any] = random_username):
        super().__init__()
        self._make_username = make_username

    async def _step(self, data: bytes | None) -> Outcome:
        if data is not None:
            if len(data) > _MAX_TRACE:
                raise self.fail("malformed-request", "the trace information is too long")
            try:
                data.decode("utf-8")
            except UnicodeDecodeError:
                raise self.fail("malformed-request", "the trace information is not UTF-8") from None
        username = await self.call(self._make_username)
        return Success(None, username)
