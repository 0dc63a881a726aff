"""SASL for client streams: which mechanisms, and what they check against.

Connects the mechanisms of :mod:`mongoose.xmpp.sasl` to the node's
authentication backend (``node.auth``, :class:`mongoose.interfaces.IAuthBackend`)
following RFC 6120 section 6 and MongooseIM's "Options: Auth":

* mechanisms come from ``auth.sasl_mechanisms`` in its order, limited to what
  the domain's methods allow; ``-PLUS`` variants only over TLS with channel
  binding data, advertised with the XEP-0440 ``<sasl-channel-binding/>``
  feature;
* ANONYMOUS when ``auth.methods`` has ``anonymous`` (protocol ``sasl_anon``
  or ``both``): the session gets a random user name;
* EXTERNAL (XEP-0178) when ``pki`` is enabled, ``external`` is listed and the
  client presented a verified certificate; ``auth.sasl_external`` says how
  the certificate names the user (``standard``: an xmppAddr for this domain;
  ``common_name``: the subject's CN with the configured prefix and suffix;
  ``auth_id``: the authorization identity the client asks for).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cryptography import x509

from mongoose.c2s.context import C2SContext, HostAuth
from mongoose.xmpp.jid import JID, InvalidJID, prep_localpart
from mongoose.xmpp.sasl.channel_binding import SUPPORTED_TYPES
from mongoose.xmpp.sasl.mechanisms import SASLContext, mechanism_names
from mongoose.xmpp.tls import PeerCertificate

__all__ = ["advertised", "certificate_user", "sasl_context"]

#: id-on-xmppAddr (RFC 6120 section 13.7.1.4).
_XMPP_ADDR = x509.ObjectIdentifier("1.3.6.1.5.5.7.8.5")


def advertised(
    auth: HostAuth,
    secure: bool,
    bindings: Mapping[str, bytes],
    certificate: PeerCertificate | None,
) -> list[str]:
    """The mechanism names to offer on a stream, in order.

    Args:
        auth: the domain's auth options.
        secure: the stream is encrypted.
        bindings: channel binding data of the connection.
        certificate: the client's certificate report, or None.
    """
    return mechanism_names(
        auth.mechanisms,
        secure,
        bool(bindings),
        auth.anonymous,
        password_enabled=auth.password,
        scram_hashes=auth.scram_hashes,
        external_available=auth.external and certificate is not None and certificate.verified,
    )


def binding_types(bindings: Mapping[str, bytes]) -> list[str]:
    """Channel binding types to list in the XEP-0440 feature, in our preference order."""
    return [t for t in SUPPORTED_TYPES if t in bindings]


def sasl_context(
    ctx: C2SContext,
    host: str,
    bindings: Mapping[str, bytes],
    plus_advertised: bool,
    certificate: PeerCertificate | None,
) -> SASLContext:
    """What a mechanism needs for one exchange on ``host``.

    Args:
        ctx: the listener's context (``ctx.node.auth`` is the backend).
        host: the stream's domain.
        bindings: channel binding data of the connection.
        plus_advertised: ``-PLUS`` mechanisms were offered.
        certificate: the client's certificate report, or None.
    """
    backend = ctx.node.auth
    auth = ctx.host_auth(host)

    def check_password(username: str, password: str) -> Any:
        return backend.check_password(username, host, password)

    def get_scram(username: str, hash_name: str) -> Any:
        return backend.get_scram(username, host, hash_name)

    def verify_external(authzid: str | None) -> str | None:
        return certificate_user(certificate, host, authzid, auth)

    return SASLContext(
        domain=host,
        check_password=check_password if backend is not None else None,
        get_scram=get_scram if backend is not None else None,
        server_secret=ctx.server_secret,
        channel_bindings=dict(bindings),
        plus_advertised=plus_advertised,
        scram_iterations=auth.scram_iterations,
        verify_external=verify_external,
    )


def _xmpp_addrs(certificate: x509.Certificate) -> list[str]:
    try:
        names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    found = []
    for other in names.get_values_for_type(x509.OtherName):
        if other.type_id == _XMPP_ADDR:
            text = _der_utf8_string(other.value)
            if text is not None:
                found.append(text)
    return found


def _der_utf8_string(der: bytes) -> str | None:
    """Decode a DER UTF8String (tag 0x0C), as xmppAddr values are encoded."""
    if len(der) < 2 or der[0] != 0x0C:
        return None
    length = der[1]
    offset = 2
    if length & 0x80:
        count = length & 0x7F
        if count == 0 or count > 4 or len(der) < 2 + count:
            return None
        length = int.from_bytes(der[2 : 2 + count], "big")
        offset = 2 + count
    body = der[offset : offset + length]
    if len(body) != length:
        return None
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _common_name(certificate: x509.Certificate) -> str | None:
    for attribute in certificate.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME):
        value = attribute.value
        return value if isinstance(value, str) else None
    return None


def _local_user(text: str, domain: str) -> str | None:
    """The localpart of ``text`` if it is a bare JID of ``domain``."""
    try:
        jid = JID.parse(text)
    except InvalidJID:
        return None
    if jid.user is None or jid.host != domain or jid.resource is not None:
        return None
    return jid.user


def certificate_user(
    certificate: PeerCertificate | None,
    domain: str,
    authzid: str | None,
    auth: HostAuth,
) -> str | None:
    """The user a verified client certificate authenticates, for SASL EXTERNAL.

    Args:
        certificate: the client's certificate report.
        domain: the stream's domain.
        authzid: the authorization identity the client asked for, or None.
        auth: the domain's auth options (``sasl_external`` ways, CN affixes).

    Returns:
        The prepared localpart, or None to refuse.
    """
    if certificate is None or not certificate.verified or certificate.certificate is None:
        return None
    wanted = _local_user(authzid, domain) if authzid else None
    if authzid and wanted is None:
        return None
    for way in auth.sasl_external:
        if way == "standard":
            users = [
                u
                for u in (_local_user(a, domain) for a in _xmpp_addrs(certificate.certificate))
                if u
            ]
            if wanted is not None:
                if wanted in users:
                    return wanted
            elif len(users) == 1:
                return users[0]
        elif way == "common_name":
            common = _common_name(certificate.certificate)
            if common is None:
                continue
            try:
                user = prep_localpart(f"{auth.cn_prefix}{common}{auth.cn_suffix}")
            except InvalidJID:
                continue
            if wanted is None or wanted == user:
                return user
        elif way == "auth_id" and wanted is not None:
            return wanted
    return None
