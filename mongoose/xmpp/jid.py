"""XMPP addresses (JIDs) as defined by RFC 7622.

* localpart: the PRECIS ``UsernameCaseMapped`` profile (RFC 8265), without
  the characters RFC 7622 section 3.3.1 forbids (``" & ' / : < > @``);
* domainpart: an IP literal or a domain name, lower-cased, with IDNA2008
  labels (UTS #46 mapping) kept as U-labels, A-labels converted to U-labels,
  the ideographic full stops read as dots and a final dot removed
  (RFC 7622 section 3.2);
* resourcepart: the PRECIS ``OpaqueString`` profile (RFC 8265).

Each part holds 1 to 1023 bytes of UTF-8 after preparation.  Parsing is
cached, and the common all-ASCII case never enters the PRECIS machinery.
"""

from __future__ import annotations

import functools
import ipaddress
from dataclasses import dataclass

import idna
from precis_i18n import get_profile

__all__ = ["JID", "InvalidJID", "prep_domainpart", "prep_localpart", "prep_resourcepart"]

_MAX_PART_BYTES = 1023
_FORBIDDEN_LOCAL = frozenset("\"&'/:<>@")
_ASCII_LOCAL = frozenset(chr(c) for c in range(0x21, 0x7F)) - _FORBIDDEN_LOCAL
_ASCII_RESOURCE = frozenset(chr(c) for c in range(0x20, 0x7F))
_ASCII_LABEL = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-_")
_DOTS = str.maketrans({"\u3002": ".", "\uff0e": ".", "\uff61": "."})

_USERNAME = get_profile("UsernameCaseMapped")
_OPAQUE = get_profile("OpaqueString")


class InvalidJID(ValueError):
    """A string or part is not a valid JID.

    Attributes:
        jid: the text that was refused.
        reason: why, in a few words.
    """

    def __init__(self, jid: str, reason: str):
        super().__init__(f"invalid JID {jid!r}: {reason}")
        self.jid = jid
        self.reason = reason


def _check_length(text: str, part: str, jid: str) -> None:
    if len(text.encode("utf-8")) > _MAX_PART_BYTES:
        raise InvalidJID(jid, f"the {part} is longer than {_MAX_PART_BYTES} bytes")


@functools.lru_cache(maxsize=8192)
def prep_localpart(localpart: str) -> str:
    """Prepare and enforce a localpart (RFC 7622 section 3.3).

    Args:
        localpart: the raw localpart.

    Returns:
        The prepared (case-mapped, normalised) localpart.

    Raises:
        InvalidJID: the localpart is empty, too long or has a character
            that is not allowed.
    """
    if not localpart:
        raise InvalidJID(localpart, "the localpart is empty")
    if len(localpart) > 4 * _MAX_PART_BYTES:
        raise InvalidJID(localpart[:64], f"the localpart is longer than {_MAX_PART_BYTES} bytes")
    if localpart.isascii() and _ASCII_LOCAL.issuperset(localpart):
        prepared = localpart.lower()
    else:
        try:
            prepared = _USERNAME.enforce(localpart)
        except UnicodeError as error:
            raise InvalidJID(localpart, f"bad localpart ({_reason(error)})") from None
        bad = _FORBIDDEN_LOCAL.intersection(prepared)
        if bad:
            raise InvalidJID(localpart, f"the localpart may not contain {min(bad)!r}")
    _check_length(prepared, "localpart", localpart)
    return prepared


@functools.lru_cache(maxsize=8192)
def prep_resourcepart(resourcepart: str) -> str:
    """Prepare and enforce a resourcepart (RFC 7622 section 3.4).

    Args:
        resourcepart: the raw resourcepart.

    Returns:
        The prepared resourcepart (case is kept).

    Raises:
        InvalidJID: the resourcepart is empty, too long or has a character
            that is not allowed.
    """
    if not resourcepart:
        raise InvalidJID(resourcepart, "the resourcepart is empty")
    if len(resourcepart) > 4 * _MAX_PART_BYTES:
        raise InvalidJID(
            resourcepart[:64], f"the resourcepart is longer than {_MAX_PART_BYTES} bytes"
        )
    if resourcepart.isascii() and _ASCII_RESOURCE.issuperset(resourcepart):
        prepared = resourcepart
    else:
        try:
            prepared = _OPAQUE.enforce(resourcepart)
        except UnicodeError as error:
            raise InvalidJID(resourcepart, f"bad resourcepart ({_reason(error)})") from None
    _check_length(prepared, "resourcepart", resourcepart)
    return prepared


@functools.lru_cache(maxsize=4096)
def prep_domainpart(domainpart: str) -> str:
    """Prepare and enforce a domainpart (RFC 7622 section 3.2).

    Args:
        domainpart: the raw domainpart: a domain name, an IPv4 address or an
            IPv6 address in square brackets.

    Returns:
        The prepared domainpart: lower case, U-labels, no final dot.

    Raises:
        InvalidJID: the domainpart is empty, too long or not a valid domain
            name or IP literal.
    """
    if len(domainpart) > 4 * _MAX_PART_BYTES:
        raise InvalidJID(domainpart[:64], f"the domainpart is longer than {_MAX_PART_BYTES} bytes")
    text = domainpart.translate(_DOTS)
    if text.endswith("."):
        text = text[:-1]
    if not text:
        raise InvalidJID(domainpart, "the domainpart is empty")
    if text.startswith("["):
        if not text.endswith("]"):
            raise InvalidJID(domainpart, "an IPv6 literal must end with ']'")
        try:
            address = ipaddress.IPv6Address(text[1:-1])
        except ValueError:
            raise InvalidJID(domainpart, "bad IPv6 address literal") from None
        return f"[{address.compressed}]"
    labels = []
    for label in text.split("."):
        labels.append(_prep_label(label, domainpart))
    prepared = ".".join(labels)
    _check_length(prepared, "domainpart", domainpart)
    return prepared


def _prep_label(label: str, domainpart: str) -> str:
    if not label:
        raise InvalidJID(domainpart, "the domainpart has an empty label")
    if label.isascii():
        lowered = label.lower()
        if not _ASCII_LABEL.issuperset(lowered):
            bad = min(set(lowered) - _ASCII_LABEL)
            raise InvalidJID(domainpart, f"the domainpart may not contain {bad!r}")
        if len(lowered) > 63:
            raise InvalidJID(domainpart, "a domain label is longer than 63 characters")
        if not lowered.startswith("xn--"):
            return lowered
        try:
            return idna.decode(lowered)
        except idna.IDNAError as error:
            raise InvalidJID(domainpart, f"bad A-label ({error})") from None
    try:
        ascii_label = idna.encode(label, uts46=True, transitional=False)
        return idna.decode(ascii_label)
    except (idna.IDNAError, UnicodeError) as error:
        raise InvalidJID(domainpart, f"bad internationalised label ({error})") from None


def _reason(error: UnicodeError) -> str:
    reason = getattr(error, "reason", "") or str(error)
    return reason.replace("DISALLOWED/", "").replace("_", " ")


@dataclass(frozen=True, slots=True)
class JID:
    """An immutable, prepared JID.

    Build one with :meth:`parse` or :meth:`from_parts`; the constructor
    takes parts that are already prepared and does not check them.

    Attributes:
        user: the localpart, or None.
        host: the domainpart.
        resource: the resourcepart, or None.
    """

    user: str | None
    host: str
    resource: str | None = None

    @staticmethod
    def parse(text: str) -> JID:
        """Parse and prepare a JID string (cached).

        Args:
            text: e.g. ``"juliet@example.com/balcony"``.

        Returns:
            The JID.

        Raises:
            InvalidJID: with the reason.
        """
        return _parse(text)

    @staticmethod
    def from_parts(localpart: str | None, domainpart: str, resourcepart: str | None = None) -> JID:
        """Prepare separate parts into a JID.

        Args:
            localpart: the localpart or None.
            domainpart: the domainpart.
            resourcepart: the resourcepart or None.

        Returns:
            The JID.

        Raises:
            InvalidJID: with the reason.
        """
        return JID(
            prep_localpart(localpart) if localpart is not None else None,
            prep_domainpart(domainpart),
            prep_resourcepart(resourcepart) if resourcepart is not None else None,
        )

    @property
    def localpart(self) -> str | None:
        """The localpart (same as ``user``)."""
        return self.user

    @property
    def domainpart(self) -> str:
        """The domainpart (same as ``host``)."""
        return self.host

    @property
    def resourcepart(self) -> str | None:
        """The resourcepart (same as ``resource``)."""
        return self.resource

    @property
    def is_bare(self) -> bool:
        """True when there is no resourcepart."""
        return self.resource is None

    @property
    def userhost(self) -> str:
        """The bare JID as a string: ``user@host`` or ``host``."""
        return f"{self.user}@{self.host}" if self.user is not None else self.host

    def bare(self) -> JID:
        """Return the JID without its resourcepart."""
        if self.resource is None:
            return self
        return JID(self.user, self.host, None)

    def full(self) -> str:
        """Return the whole JID as a string."""
        if self.resource is None:
            return self.userhost
        return f"{self.userhost}/{self.resource}"

    def with_resource(self, resource: str) -> JID:
        """Return this JID's bare form with a (prepared) resourcepart.

        Raises:
            InvalidJID: the resource is not valid.
        """
        return JID(self.user, self.host, prep_resourcepart(resource))

    def __str__(self) -> str:
        return self.full()

    def to_twisted(self):  # -> twisted.words.protocols.jabber.jid.JID
        """Return the equivalent ``twisted.words.protocols.jabber.jid.JID``."""
        from twisted.words.protocols.jabber.jid import JID as TwistedJID

        return TwistedJID(tuple=(self.user, self.host, self.resource))

    @staticmethod
    def from_twisted(jid) -> JID:  # jid: twisted.words.protocols.jabber.jid.JID
        """Convert (and re-prepare) a ``twisted.words.protocols.jabber.jid.JID``.

        Raises:
            InvalidJID: the JID is not valid under RFC 7622.
        """
        return JID.from_parts(jid.user, jid.host, jid.resource)


@functools.lru_cache(maxsize=16384)
def _parse(text: str) -> JID:
    if not isinstance(text, str):
        raise InvalidJID(repr(text), "a JID must be a string")
    if not text:
        raise InvalidJID(text, "the JID is empty")
    if len(text) > 3 * (4 * _MAX_PART_BYTES):
        raise InvalidJID(text[:64], "the JID is too long")
    bare, slash, resource = text.partition("/")
    user, at, host = bare.partition("@")
    if not at:
        user, host = "", bare
    elif not user:
        raise InvalidJID(text, "the localpart is empty")
    if slash and not resource:
        raise InvalidJID(text, "the resourcepart is empty")
    if not host:
        raise InvalidJID(text, "the domainpart is empty")
    try:
        return JID(
            prep_localpart(user) if at else None,
            prep_domainpart(host),
            prep_resourcepart(resource) if slash else None,
        )
    except InvalidJID as error:
        raise InvalidJID(text, error.reason) from None
