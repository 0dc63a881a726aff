"""The XEP-0114 handshake: a hex SHA-1 of the stream id followed by the shared secret.

XEP-0114 section 3 ("Protocol Flow"): after the server's stream header the
component sends ``<handshake>HEX</handshake>`` where HEX is the lowercase
hexadecimal SHA-1 digest of the server's stream id concatenated with the
secret.  The answer is compared in constant time so the reply time tells an
attacker nothing about how much of a guess was right.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

__all__ = ["handshake_digest", "handshake_matches", "new_stream_id"]


def new_stream_id() -> str:
    """A fresh, unpredictable stream id (32 hex characters)."""
    return secrets.token_hex(16)


def handshake_digest(stream_id: str, secret: str) -> str:
    """The handshake value a component with ``secret`` sends on stream ``stream_id``.

    Args:
        stream_id: the 'id' of the server's stream header.
        secret: the shared secret (the listener's ``password``).

    Returns:
        40 lowercase hexadecimal characters.
    """
    return hashlib.sha1((stream_id + secret).encode("utf-8")).hexdigest()


def handshake_matches(stream_id: str, secret: str, received: str) -> bool:
    """Tell whether a received handshake value proves knowledge of ``secret``.

    Surrounding white space is ignored and hexadecimal digits may be in
    either case.  The comparison takes the same time wherever the first
    difference is.

    Args:
        stream_id: the 'id' of the server's stream header.
        secret: the shared secret.
        received: the character data of the component's ``<handshake/>``.

    Returns:
        True for the right digest.
    """
    expected = handshake_digest(stream_id, secret).encode("ascii")
    given = received.strip().lower().encode("utf-8", "replace")
    return hmac.compare_digest(expected, given)
