"""SASL EXTERNAL between servers (RFC 6120 section 6, XEP-0178).

After TLS, a receiving server that verified the peer's certificate for the
domain in the stream header's 'from' offers the EXTERNAL mechanism; the
originating server sends ``<auth mechanism='EXTERNAL'>`` with its domain
(base64, or ``=`` for none) and, after ``<success/>``, restarts the stream.
This module holds what both directions share: which domains a certificate
names (:func:`certificate_domains`), the match rules (:func:`matches_domain`)
and the SASL elements.

Identities accepted in a certificate (RFC 6125 / RFC 6120 section 13.7.1.4):
``dNSName`` subject alternative names (a ``*`` may stand for the whole
left-most label), ``id-on-xmppAddr`` names that are bare domains, and the
subject's common name when the certificate has no DNS or xmppAddr name.
"""

from __future__ import annotations

import base64
import binascii

from cryptography import x509
from cryptography.x509.oid import NameOID

from mongoose.xmpp.namespaces import NS_SASL

__all__ = [
    "MECHANISM",
    "auth_element",
    "certificate_domains",
    "decode_authzid",
    "failure_element",
    "matches_domain",
    "mechanisms_feature",
    "success_element",
]

#: The only SASL mechanism used between servers here.
MECHANISM = "EXTERNAL"

#: id-on-xmppAddr (RFC 6120 section 13.7.1.4).
_XMPP_ADDR = x509.ObjectIdentifier("1.3.6.1.5.5.7.8.5")


def _der_utf8(value: bytes) -> str | None:
    """The text of a DER UTF8String (the value of an xmppAddr other name)."""
    if len(value) < 2 or value[0] != 0x0C:
        return None
    length, offset = value[1], 2
    if length & 0x80:
        count = length & 0x7F
        length = int.from_bytes(value[2:2 + count], "big")
        offset = 2 + count
    try:
        return value[offset:offset + length].decode("utf-8")
    except UnicodeDecodeError:
        return None


def certificate_domains(certificate: x509.Certificate) -> set[str]:
    """The domain names a certificate is issued for, lower-cased.

    Args:
        certificate: the peer's end-entity certificate.

    Returns:
        DNS names (possibly wildcards) and bare-domain xmppAddr names; the
        common name when there is neither.
    """
    names: set[str] = set()
    try:
        sans = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        sans = None
    if sans is not None:
        names.update(name.lower().rstrip(".") for name in sans.get_values_for_type(x509.DNSName))
        for other in sans.get_values_for_type(x509.OtherName):
            if other.type_id == _XMPP_ADDR:
                text = _der_utf8(other.value)
                if text and "@" not in text and "/" not in text:
                    names.add(text.lower().rstrip("."))
    if not names:
        for attribute in certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME):
            value = attribute.value
            if isinstance(value, bytes):
                value = value.decode("utf-8", "replace")
            names.add(value.lower().rstrip("."))
    return names


def matches_domain(names: set[str], domain: str) -> bool:
    """True when one of ``names`` (from :func:`certificate_domains`) covers ``domain``.

    Args:
        names: the certificate's names.
        domain: the XMPP domain to check.

    Returns:
        Exact match, or a ``*.rest`` wildcard matching one left-most label.
    """
    domain = domain.lower().rstrip(".")
    if domain in names:
        return True
    label, _, rest = domain.partition(".")
    return bool(label and rest) and f"*.{rest}" in names


def mechanisms_feature() -> str:
    """The ``<mechanisms/>`` stream feature offering EXTERNAL."""
    return f"<mechanisms xmlns='{NS_SASL}'><mechanism>{MECHANISM}</mechanism></mechanisms>"


def auth_element(domain: str) -> bytes:
    """``<auth mechanism='EXTERNAL'>`` carrying ``domain`` as the authorization identity."""
    authzid = base64.b64encode(domain.encode("utf-8")).decode("ascii")
    return f"<auth xmlns='{NS_SASL}' mechanism='{MECHANISM}'>{authzid}</auth>".encode()


def success_element() -> bytes:
    """``<success/>``."""
    return f"<success xmlns='{NS_SASL}'/>".encode()


def failure_element(condition: str) -> bytes:
    """``<failure/>`` with a defined condition (RFC 6120 section 6.5)."""
    return f"<failure xmlns='{NS_SASL}'><{condition}/></failure>".encode()


def decode_authzid(text: str) -> str | None:
    """The authorization identity of an ``<auth/>`` element's text.

    Args:
        text: the element's character data.

    Returns:
        The decoded identity, ``""`` when none was given (empty or ``=``),
        or None when the text is not valid base64 UTF-8.
    """
    text = text.strip()
    if text in ("", "="):
        return ""
    try:
        return base64.b64decode(text, validate=True).decode("utf-8")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None
