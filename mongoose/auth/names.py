"""Normalise usernames and domains before they are stored or looked up.

Usernames follow the UsernameCaseMapped profile of PRECIS (RFC 8265
section 3.3) plus the characters RFC 7622 section 3.3.1 forbids in a JID
localpart, so ``Alice`` and ``alice`` are one account.  Domains are
lower-cased; full domain validation belongs to the JID code.
"""

from __future__ import annotations

import precis_i18n

__all__ = ["MAX_PART_BYTES", "normalize_domain", "normalize_username"]

#: RFC 7622 section 3: a localpart or domainpart is at most 1023 octets.
MAX_PART_BYTES = 1023

_PROFILE = precis_i18n.get_profile("UsernameCaseMapped")
_LOCALPART_FORBIDDEN = frozenset("\"&'/:<>@")


def normalize_username(username: str) -> str:
    """Return the canonical form of a username (a JID localpart).

    Args:
        username: as typed by a user or an administrator.

    Returns:
        The case-mapped, normalised username.

    Raises:
        ValueError: the username is empty, too long or contains a character
            a JID localpart may not hold; the message says which.
    """
    if not isinstance(username, str):
        raise ValueError(f"invalid username {username!r}: not a string")
    try:
        prepared = _PROFILE.enforce(username)
    except UnicodeError as exc:
        reason = getattr(exc, "reason", str(exc))
        if reason == "DISALLOWED/empty":
            raise ValueError("invalid username: it is empty") from None
        raise ValueError(f"invalid username {username!r}: {reason}") from None
    bad = sorted(set(prepared) & _LOCALPART_FORBIDDEN)
    if bad:
        raise ValueError(
            f"invalid username {username!r}: {''.join(bad)!r} is not allowed in a JID localpart"
        )
    if len(prepared.encode("utf-8")) > MAX_PART_BYTES:
        raise ValueError(f"invalid username: longer than {MAX_PART_BYTES} bytes")
    return prepared


def normalize_domain(domain: str) -> str:
    """Return the canonical form of a domain: lower case, no final dot.

    Raises:
        ValueError: the domain is empty, too long or contains ``@``, ``/`` or
            white space.
    """
    if not isinstance(domain, str):
        raise ValueError(f"invalid domain {domain!r}: not a string")
    canonical = domain.strip().rstrip(".").lower()
    if not canonical:
        raise ValueError("invalid domain: it is empty")
    if any(ch in "@/" or ch.isspace() for ch in canonical):
        raise ValueError(f"invalid domain {domain!r}")
    if len(canonical.encode("utf-8")) > MAX_PART_BYTES:
        raise ValueError(f"invalid domain: longer than {MAX_PART_BYTES} bytes")
    return canonical
