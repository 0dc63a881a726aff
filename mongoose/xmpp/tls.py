"""TLS contexts for XMPP listeners and outgoing connections, from MongooseIM ``tls.*`` options.

:func:`server_connection_creator` turns a listener's ``tls`` table (the
MongooseIM "TLS options for C2S": ``certfile``, ``keyfile``, ``password``,
``cacertfile``, ``verify_mode``, ``ciphers``, ``versions``, ``dhfile``,
``crl_files``, ``disconnect_on_failure``, ...) into a Twisted
``IOpenSSLServerConnectionCreator`` usable for direct TLS and for STARTTLS
(``transport.startTLS(creator)``).  TLS 1.2 and 1.3 are offered unless
``versions`` or ``protocol_options`` say otherwise.  A missing or unreadable
file, a bad key or a bad cipher list raises :class:`TLSConfigError` with a
one-line message naming the file or option.

Client certificates: ``verify_mode = "peer"`` asks for one and accepts it
only when signed by a trusted CA, ``"selfsigned_peer"`` also accepts
self-signed ones, ``"none"`` does not ask.  A client that sends no
certificate is accepted either way (it just cannot use SASL EXTERNAL).  With ``disconnect_on_failure = false`` the handshake goes on
when verification fails; :func:`peer_certificate` then reports the
certificate as not verified (so SASL EXTERNAL is refused).

:func:`generate_certificates` writes a throw-away CA, a server certificate and
a client certificate, for tests and development set-ups.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import re
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from OpenSSL import SSL, crypto
from twisted.internet import ssl as twisted_ssl
from twisted.internet.interfaces import (
    IOpenSSLClientConnectionCreator,
    IOpenSSLServerConnectionCreator,
)
from zope.interface import implementer

from mongoose.xmpp.sasl.channel_binding import tls_connection

__all__ = [
    "TLSConfigError",
    "GeneratedCertificates",
    "PeerCertificate",
    "ServerTLSCreator",
    "client_connection_creator",
    "generate_certificates",
    "peer_certificate",
    "server_connection_creator",
]

_VERSIONS = {
    "tlsv1": getattr(SSL, "TLS1_VERSION", None),
    "tlsv1.1": getattr(SSL, "TLS1_1_VERSION", None),
    "tlsv1.2": SSL.TLS1_2_VERSION,
    "tlsv1.3": SSL.TLS1_3_VERSION,
}
_VERSION_ORDER = ["tlsv1", "tlsv1.1", "tlsv1.2", "tlsv1.3"]
# fast_tls option names (MongooseIM ``tls.protocol_options``) -> OpenSSL flags.
_PROTOCOL_OPTIONS = {
    "no_sslv2": 0,
    "no_sslv3": 0,
    "no_tlsv1": SSL.OP_NO_TLSv1,
    "no_tlsv1_1": SSL.OP_NO_TLSv1_1,
    "no_tlsv1_2": SSL.OP_NO_TLSv1_2,
    "no_tlsv1_3": SSL.OP_NO_TLSv1_3,
    "no_compression": SSL.OP_NO_COMPRESSION,
    "no_ticket": SSL.OP_NO_TICKET,
    "cipher_server_preference": SSL.OP_CIPHER_SERVER_PREFERENCE,
    "single_dh_use": SSL.OP_SINGLE_DH_USE,
    "single_ecdh_use": SSL.OP_SINGLE_ECDH_USE,
    "all": SSL.OP_ALL,
}
# X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT and X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN.
_SELF_SIGNED_ERRORS = frozenset({18, 19})
_VERIFY_MODES = ("peer", "selfsigned_peer", "none")

# Per-connection verification state, for peer_certificate().
_verify_errors: weakref.WeakKeyDictionary[SSL.Connection, int] = weakref.WeakKeyDictionary()
_verify_modes: weakref.WeakKeyDictionary[SSL.Connection, str] = weakref.WeakKeyDictionary()


class TLSConfigError(Exception):
    """The TLS options cannot be used; the message is one line naming the cause."""


def _readable(path: str, what: str) -> str:
    try:
        with open(path, "rb") as handle:
            handle.read(1)
    except OSError as error:
        reason = error.strerror or str(error)
        raise TLSConfigError(f"cannot read TLS {what} file '{path}': {reason}") from None
    return path


def _verify_mode(options: Mapping[str, Any]) -> str:
    mode = options.get("verify_mode")
    if mode is None:
        verify_peer = options.get("verify_peer")
        mode = "none" if verify_peer is False else "peer"
    if mode not in _VERIFY_MODES:
        raise TLSConfigError(
            f"tls.verify_mode must be one of {', '.join(_VERIFY_MODES)}, not {mode!r}"
        )
    return mode


def _version_range(options: Mapping[str, Any]) -> tuple[int, int, int]:
    """Return (minimum, maximum, extra OpenSSL options) for the versions."""
    extra = 0
    names: Sequence[str] | None = options.get("versions")
    for option in options.get("protocol_options") or ():
        flag = _PROTOCOL_OPTIONS.get(option)
        if flag is None:
            raise TLSConfigError(
                f"unknown tls.protocol_options value {option!r}; "
                f"allowed: {', '.join(_PROTOCOL_OPTIONS)}"
            )
        extra |= flag
    if names:
        unknown = [n for n in names if n not in _VERSIONS]
        if unknown:
            raise TLSConfigError(
                f"unknown tls.versions value {unknown[0]!r}; allowed: {', '.join(_VERSION_ORDER)}"
            )
        missing = [n for n in names if _VERSIONS[n] is None]
        if missing:
            raise TLSConfigError(f"TLS version {missing[0]!r} is not supported by this OpenSSL")
        ordered = sorted(names, key=_VERSION_ORDER.index)
        return _VERSIONS[ordered[0]], _VERSIONS[ordered[-1]], extra
    return SSL.TLS1_2_VERSION, SSL.TLS1_3_VERSION, extra


def _keylog(path: str):
    def write(connection: SSL.Connection, line: bytes) -> None:
        with open(path, "ab") as handle:
            handle.write(line + b"\n")

    return write


_KEY_BLOCK = re.compile(
    rb"-----BEGIN ([A-Z ]*)PRIVATE KEY-----.+?-----END \1PRIVATE KEY-----", re.DOTALL
)


def _load_private_key(data: bytes, password: str | None) -> Any:
    """Load the first PEM private key in ``data``; None if there is none usable."""
    match = _KEY_BLOCK.search(data)
    if match is None:
        return None
    block = match.group(0)
    secret = str(password).encode("utf-8") if password is not None else None
    try:
        return serialization.load_pem_private_key(block, secret)
    except TypeError:
        # A password was given for a key that has none (or the reverse).
        if secret is None:
            return None
        try:
            return serialization.load_pem_private_key(block, None)
        except (ValueError, TypeError):
            return None
    except ValueError:
        return None


def _load_identity(context: SSL.Context, options: Mapping[str, Any]) -> None:
    certfile = options.get("certfile")
    if not certfile:
        raise TLSConfigError("tls.certfile is required to accept TLS connections")
    keyfile = options.get("keyfile") or certfile
    password = options.get("password")
    try:
        context.use_certificate_chain_file(_readable(certfile, "certificate"))
    except SSL.Error:
        raise TLSConfigError(
            f"TLS certificate file '{certfile}' holds no valid PEM certificate"
        ) from None
    key = _load_private_key(Path(_readable(keyfile, "key")).read_bytes(), password)
    if key is None:
        raise TLSConfigError(
            f"cannot load the TLS private key from '{keyfile}' (not a PEM key, or wrong password)"
        )
    try:
        context.use_privatekey(key)
        context.check_privatekey()
    except (SSL.Error, TypeError):
        raise TLSConfigError(
            f"the TLS private key in '{keyfile}' does not match the certificate in '{certfile}'"
        ) from None


def _load_crls(context: SSL.Context, files: Sequence[str]) -> None:
    store = context.get_cert_store()
    if store is None or not files:
        return
    for path in files:
        with open(_readable(path, "CRL"), "rb") as handle:
            data = handle.read()
        try:
            crl = (
                x509.load_pem_x509_crl(data)
                if b"-----BEGIN" in data
                else x509.load_der_x509_crl(data)
            )
        except ValueError:
            raise TLSConfigError(f"TLS CRL file '{path}' holds no valid CRL") from None
        store.add_crl(crl)
    store.set_flags(crypto.X509StoreFlags.CRL_CHECK | crypto.X509StoreFlags.CRL_CHECK_ALL)


def _setup_verification(context: SSL.Context, options: Mapping[str, Any], mode: str) -> None:
    if mode == "none":
        context.set_verify(SSL.VERIFY_NONE)
        return
    cacertfile = options.get("cacertfile")
    if cacertfile:
        try:
            context.load_verify_locations(_readable(cacertfile, "CA certificate"))
        except SSL.Error:
            raise TLSConfigError(
                f"TLS CA certificate file '{cacertfile}' holds no valid PEM certificate"
            ) from None
    else:
        context.set_default_verify_paths()
    _load_crls(context, options.get("crl_files") or ())
    disconnect = options.get("disconnect_on_failure", True)
    allow_self_signed = mode == "selfsigned_peer"

    def verify(connection: SSL.Connection, cert: Any, errno: int, depth: int, ok: int) -> bool:
        if ok:
            return True
        if allow_self_signed and errno in _SELF_SIGNED_ERRORS:
            return True
        _verify_errors.setdefault(connection, errno)
        return not disconnect

    # A client without a certificate is let in (as Erlang's ssl does with
    # verify_peer): it simply cannot use SASL EXTERNAL.  A certificate that is
    # presented and fails verification ends the handshake.
    context.set_verify(SSL.VERIFY_PEER, verify)


def _server_context(options: Mapping[str, Any]) -> tuple[SSL.Context, str]:
    context = SSL.Context(SSL.TLS_SERVER_METHOD)
    minimum, maximum, extra = _version_range(options)
    flags = (
        SSL.OP_NO_COMPRESSION
        | SSL.OP_CIPHER_SERVER_PREFERENCE
        | SSL.OP_NO_RENEGOTIATION
        | SSL.OP_SINGLE_DH_USE
        | SSL.OP_SINGLE_ECDH_USE
        | extra
    )
    if not options.get("session_tickets"):
        flags |= SSL.OP_NO_TICKET
    context.set_options(flags)
    try:
        context.set_min_proto_version(minimum)
        context.set_max_proto_version(maximum)
    except SSL.Error:
        raise TLSConfigError("tls.versions names a TLS version OpenSSL refuses") from None
    _load_identity(context, options)
    ciphers = options.get("ciphers")
    if ciphers:
        try:
            context.set_cipher_list(str(ciphers).encode("ascii"))
        except (SSL.Error, UnicodeEncodeError):
            raise TLSConfigError(f"tls.ciphers {ciphers!r} selects no usable cipher") from None
    dhfile = options.get("dhfile")
    if dhfile:
        try:
            context.load_tmp_dh(_readable(dhfile, "DH parameters"))
        except SSL.Error:
            raise TLSConfigError(f"TLS DH parameter file '{dhfile}' is not valid") from None
    mode = _verify_mode(options)
    _setup_verification(context, options, mode)
    context.set_session_id(b"mongoose-xmpp")
    keylog = os.environ.get("SSLKEYLOGFILE")
    if options.get("keep_secrets") and keylog:
        context.set_keylog_callback(_keylog(keylog))
    return context, mode


@implementer(IOpenSSLServerConnectionCreator)
class ServerTLSCreator:
    """Makes the server side of TLS connections from one shared context.

    Attributes:
        context: the pyOpenSSL context.
        verify_mode: ``peer``, ``selfsigned_peer`` or ``none``.
    """

    def __init__(self, context: SSL.Context, verify_mode: str):
        """Wrap a ready context.

        Args:
            context: the pyOpenSSL context.
            verify_mode: how client certificates are checked.
        """
        self.context = context
        self.verify_mode = verify_mode

    def serverConnectionForTLS(self, tlsProtocol: Any) -> SSL.Connection:
        """Return a new pyOpenSSL connection (IOpenSSLServerConnectionCreator)."""
        connection = SSL.Connection(self.context, None)
        _verify_modes[connection] = self.verify_mode
        return connection

    def getContext(self) -> SSL.Context:
        """Return the context (for APIs that still want a context factory)."""
        return self.context


def server_connection_creator(options: Mapping[str, Any]) -> ServerTLSCreator:
    """Build the TLS server side from a ``tls`` options table.

    Args:
        options: a mapping with MongooseIM ``tls.*`` keys (the config
            layer's ``Options`` or a plain dict).

    Returns:
        A creator for ``TLSMemoryBIOFactory``, ``listenSSL`` or
        ``transport.startTLS``.

    Raises:
        TLSConfigError: a file is missing or unreadable, the key does not
            match, or an option value cannot be used.
    """
    context, mode = _server_context(options)
    return ServerTLSCreator(context, mode)


def client_connection_creator(
    hostname: str, options: Mapping[str, Any] | None = None
) -> IOpenSSLClientConnectionCreator:
    """Build the TLS client side for an outgoing connection.

    Args:
        hostname: the name the server's certificate must carry.
        options: ``tls.*`` options: ``cacertfile`` (else the system trust
            store), ``certfile``/``keyfile`` for a client certificate,
            ``verify_mode`` ``peer`` (default) or ``none``.

    Returns:
        A Twisted client connection creator (verifying the host name unless
        ``verify_mode`` is ``none``).

    Raises:
        TLSConfigError: unreadable files or ``selfsigned_peer``, which is not
            supported for outgoing connections.
    """
    options = options or {}
    mode = _verify_mode(options)
    client_cert = None
    certfile = options.get("certfile")
    if certfile:
        keyfile = options.get("keyfile") or certfile
        cert_pem = Path(_readable(certfile, "certificate")).read_bytes()
        key_pem = Path(_readable(keyfile, "key")).read_bytes()
        try:
            client_cert = twisted_ssl.PrivateCertificate.loadPEM(cert_pem + b"\n" + key_pem)
        except Exception:
            raise TLSConfigError(
                f"cannot load the TLS client certificate '{certfile}' with key '{keyfile}'"
            ) from None
    if mode == "none":
        extra: dict[str, Any] = {}
        if client_cert is not None:
            extra = {
                "privateKey": client_cert.privateKey.original,
                "certificate": client_cert.original,
            }
        return twisted_ssl.CertificateOptions(
            verify=False, raiseMinimumTo=twisted_ssl.TLSVersion.TLSv1_2, **extra
        )
    if mode == "selfsigned_peer":
        raise TLSConfigError("tls.verify_mode 'selfsigned_peer' is not supported for outgoing TLS")
    cacertfile = options.get("cacertfile")
    if cacertfile:
        pem = Path(_readable(cacertfile, "CA certificate")).read_bytes()
        try:
            certs = [twisted_ssl.Certificate.loadPEM(block) for block in _pem_blocks(pem)]
        except Exception:
            certs = []
        if not certs:
            raise TLSConfigError(
                f"TLS CA certificate file '{cacertfile}' holds no valid PEM certificate"
            )
        trust = twisted_ssl.trustRootFromCertificates(certs)
    else:
        trust = twisted_ssl.platformTrust()
    return twisted_ssl.optionsForClientTLS(hostname, trustRoot=trust, clientCertificate=client_cert)


def _pem_blocks(pem: bytes) -> list[bytes]:
    end = b"-----END CERTIFICATE-----"
    blocks = []
    for part in pem.split(end)[:-1]:
        start = part.find(b"-----BEGIN CERTIFICATE-----")
        if start >= 0:
            blocks.append(part[start:] + end + b"\n")
    return blocks


@dataclass(frozen=True)
class PeerCertificate:
    """The certificate a TLS peer presented.

    Attributes:
        certificate: the peer's certificate, or None if it sent none.
        verified: True when it was checked and passed (``peer`` or
            ``selfsigned_peer``); False with ``verify_mode = "none"`` or
            after a failure tolerated by ``disconnect_on_failure = false``.
        error: the OpenSSL verification error number, if any.
    """

    certificate: x509.Certificate | None
    verified: bool
    error: int | None = None


def peer_certificate(transport: Any) -> PeerCertificate | None:
    """Report the client certificate of a TLS connection made by :class:`ServerTLSCreator`.

    Args:
        transport: the stream's transport.

    Returns:
        The report, or None when the transport is not TLS.
    """
    connection = tls_connection(transport)
    if connection is None:
        return None
    certificate = connection.get_peer_certificate(as_cryptography=True)
    error = _verify_errors.get(connection)
    mode = _verify_modes.get(connection, "none")
    verified = certificate is not None and error is None and mode != "none"
    return PeerCertificate(certificate, verified, error)


# -- certificates for tests and development ------------------------------------

#: id-on-xmppAddr (RFC 6120 section 13.7.1.4).
_XMPP_ADDR = x509.ObjectIdentifier("1.3.6.1.5.5.7.8.5")


@dataclass(frozen=True)
class GeneratedCertificates:
    """Paths of the files written by :func:`generate_certificates`.

    Attributes:
        directory: where they are.
        ca_cert: the CA certificate (PEM).
        ca_key: the CA private key (PEM).
        cert: the server certificate (PEM), signed by the CA.
        key: the server private key (PEM, encrypted when a password was given).
        client_cert: a client certificate signed by the CA (PEM).
        client_key: its private key (PEM).
        self_signed_cert: a self-signed client certificate (PEM).
        self_signed_key: its private key (PEM).
    """

    directory: Path
    ca_cert: Path
    ca_key: Path
    cert: Path
    key: Path
    client_cert: Path
    client_key: Path
    self_signed_cert: Path
    self_signed_key: Path


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _der_utf8(text: str) -> bytes:
    data = text.encode("utf-8")
    if len(data) < 0x80:
        return bytes([0x0C, len(data)]) + data
    size = len(data).to_bytes((len(data).bit_length() + 7) // 8, "big")
    return bytes([0x0C, 0x80 | len(size)]) + size + data


def _issue(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: tuple[x509.Name, ec.EllipticCurvePrivateKey] | None,
    *,
    ca: bool = False,
    sans: Sequence[x509.GeneralName] = (),
    usage: x509.ObjectIdentifier | None = None,
) -> x509.Certificate:
    now = datetime.datetime.now(datetime.UTC)
    issuer_name, issuer_key = issuer if issuer is not None else (_name(subject), key)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
    if issuer is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
            critical=False,
        )
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(list(sans)), critical=False)
    if usage is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _key_pem(key: ec.EllipticCurvePrivateKey, password: str | None = None) -> bytes:
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(password.encode("utf-8"))
        if password
        else serialization.NoEncryption()
    )
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )


def generate_certificates(
    directory: str | os.PathLike[str],
    hostname: str = "localhost",
    *,
    client_jid: str = "alice@localhost",
    key_password: str | None = None,
) -> GeneratedCertificates:
    """Write a test CA, a server certificate and client certificates.

    Not for production: the keys are fresh P-256 keys valid for 30 days.

    Args:
        directory: an existing directory to write into.
        hostname: DNS name of the server certificate (127.0.0.1 and ::1 are
            added as IP addresses).
        client_jid: the client certificates' common name and xmppAddr.
        key_password: encrypt the server key with this password.

    Returns:
        The paths of the written files.
    """
    out = Path(directory)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = _issue(f"mongoose test CA for {hostname}", ca_key, None, ca=True)
    ca = (ca_cert.subject, ca_key)
    server_key = ec.generate_private_key(ec.SECP256R1())
    server_cert = _issue(
        hostname,
        server_key,
        ca,
        sans=[
            x509.DNSName(hostname),
            x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
            x509.IPAddress(ipaddress.ip_address("::1")),
        ],
        usage=ExtendedKeyUsageOID.SERVER_AUTH,
    )
    client_key = ec.generate_private_key(ec.SECP256R1())
    xmpp_addr = x509.OtherName(_XMPP_ADDR, _der_utf8(client_jid))
    client_cert = _issue(
        client_jid, client_key, ca, sans=[xmpp_addr], usage=ExtendedKeyUsageOID.CLIENT_AUTH
    )
    self_key = ec.generate_private_key(ec.SECP256R1())
    self_cert = _issue(client_jid, self_key, None, sans=[xmpp_addr])
    pem = serialization.Encoding.PEM
    return GeneratedCertificates(
        directory=out,
        ca_cert=_write(out / "ca.pem", ca_cert.public_bytes(pem)),
        ca_key=_write(out / "ca_key.pem", _key_pem(ca_key)),
        cert=_write(out / "cert.pem", server_cert.public_bytes(pem)),
        key=_write(out / "key.pem", _key_pem(server_key, key_password)),
        client_cert=_write(out / "client.pem", client_cert.public_bytes(pem)),
        client_key=_write(out / "client_key.pem", _key_pem(client_key)),
        self_signed_cert=_write(out / "self_signed.pem", self_cert.public_bytes(pem)),
        self_signed_key=_write(out / "self_signed_key.pem", _key_pem(self_key)),
    )
