"""Channel binding data from a Twisted TLS transport (RFC 5056).

Two types are supported:

* ``tls-exporter`` (RFC 9266): 32 bytes exported with the label
  ``EXPORTER-Channel-Binding`` and an empty context.  Offered on TLS 1.3
  only: on TLS 1.2 it is safe only with the extended master secret, which
  pyOpenSSL does not let us check.
* ``tls-server-end-point`` (RFC 5929 section 4): the hash of the server's
  certificate, with the certificate's signature hash (SHA-256 when that is
  MD5 or SHA-1).  Not defined for certificates signed without a separate hash
  (Ed25519, Ed448), so not offered for them.

Both work for direct TLS (the transport is a ``TLSMemoryBIOProtocol``) and
after STARTTLS (Twisted then makes the TCP transport's ``getHandle`` return
the pyOpenSSL ``Connection``).  Call them after the handshake has completed.
"""

from __future__ import annotations

from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding
from OpenSSL import SSL

__all__ = [
    "SUPPORTED_TYPES",
    "TLS_EXPORTER",
    "TLS_SERVER_END_POINT",
    "channel_binding_data",
    "channel_bindings",
    "server_end_point_hash",
    "tls_connection",
]

TLS_EXPORTER = "tls-exporter"
TLS_SERVER_END_POINT = "tls-server-end-point"
#: Types this server can bind to, in order of preference.
SUPPORTED_TYPES = (TLS_EXPORTER, TLS_SERVER_END_POINT)

_EXPORTER_LABEL = b"EXPORTER-Channel-Binding"


def tls_connection(transport: Any) -> SSL.Connection | None:
    """Return the pyOpenSSL connection under a transport, or None without TLS."""
    get_handle = getattr(transport, "getHandle", None)
    if get_handle is None:
        return None
    try:
        handle = get_handle()
    except Exception:
        return None
    return handle if isinstance(handle, SSL.Connection) else None


def server_end_point_hash(certificate: x509.Certificate) -> bytes | None:
    """Hash a certificate as ``tls-server-end-point`` asks (RFC 5929 section 4.1).

    Args:
        certificate: the server's certificate.

    Returns:
        The digest, or None when the certificate has no signature hash.
    """
    try:
        algorithm = certificate.signature_hash_algorithm
    except Exception:
        return None
    if algorithm is None:
        return None
    if isinstance(algorithm, hashes.MD5 | hashes.SHA1):
        algorithm = hashes.SHA256()
    digest = hashes.Hash(algorithm)
    digest.update(certificate.public_bytes(Encoding.DER))
    return digest.finalize()


def _handshake_done(connection: SSL.Connection) -> bool:
    try:
        return connection.get_protocol_version_name() in ("TLSv1.2", "TLSv1.3") and (
            connection.get_cipher_name() is not None
        )
    except Exception:
        return False


def channel_binding_data(transport: Any, cb_type: str, *, server_side: bool = True) -> bytes | None:
    """Return one kind of channel binding data for a connection.

    Args:
        transport: the TLS transport of the XML stream.
        cb_type: ``tls-exporter`` or ``tls-server-end-point``.
        server_side: True on the server (the end point is our certificate),
            False on a client (the peer's certificate).

    Returns:
        The data, or None when the type is not available on this connection.
    """
    connection = tls_connection(transport)
    if connection is None or not _handshake_done(connection):
        return None
    if cb_type == TLS_EXPORTER:
        if connection.get_protocol_version_name() != "TLSv1.3":
            return None
        try:
            return connection.export_keying_material(_EXPORTER_LABEL, 32, b"")
        except Exception:
            return None
    if cb_type == TLS_SERVER_END_POINT:
        if server_side:
            certificate = connection.get_certificate(as_cryptography=True)
        else:
            certificate = connection.get_peer_certificate(as_cryptography=True)
        if certificate is None:
            return None
        return server_end_point_hash(certificate)
    return None


def channel_bindings(transport: Any, *, server_side: bool = True) -> dict[str, bytes]:
    """Return every available kind of channel binding data for a connection.

    Args:
        transport: the TLS transport of the XML stream.
        server_side: see :func:`channel_binding_data`.

    Returns:
        A dict from type name to data, in :data:`SUPPORTED_TYPES` order;
        empty without TLS.
    """
    found = {}
    for cb_type in SUPPORTED_TYPES:
        data = channel_binding_data(transport, cb_type, server_side=server_side)
        if data is not None:
            found[cb_type] = data
    return found
