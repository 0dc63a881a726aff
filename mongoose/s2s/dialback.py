"""Server dialback keys (XEP-0220 section 2.1, generated as in XEP-0185).

The key for a stream is ``HMAC-SHA256(SHA256(secret), "receiving originating id")``
in lower-case hex, where ``secret`` is ``s2s.shared``.  The authoritative
server recomputes it when asked with ``<db:verify/>``; nothing is stored.
"""

from __future__ import annotations

import hashlib
import hmac

__all__ = ["dialback_key", "key_matches"]


def dialback_key(secret: str, receiving: str, originating: str, stream_id: str) -> str:
    """The dialback key of one stream.

    Args:
        secret: the ``s2s.shared`` secret of the originating domain.
        receiving: the domain the stream goes to.
        originating: the domain the stream comes from.
        stream_id: the id the receiving server gave the stream.

    Returns:
        The key, as lower-case hex.
    """
    digest_key = hashlib.sha256(secret.encode("utf-8")).hexdigest().encode("ascii")
    message = f"{receiving} {originating} {stream_id}".encode()
    return hmac.new(digest_key, message, hashlib.sha256).hexdigest()


def key_matches(
    secret: str, receiving: str, originating: str, stream_id: str, key: str
) -> bool:
    """Constant-time check of a key received in ``<db:verify/>``.

    Args:
        secret: the ``s2s.shared`` secret.
        receiving: the domain the verified stream went to.
        originating: the domain it came from (ours).
        stream_id: the stream's id.
        key: the key to check.

    Returns:
        True when the key is the one this server would have sent.
    """
    expected = dialback_key(secret, receiving, originating, stream_id)
    return hmac.compare_digest(expected.encode("ascii"), key.strip().encode("utf-8"))
