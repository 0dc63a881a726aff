"""Server certificates for federation tests: one CA, one certificate per domain.

Server-to-server certificates are used on both sides of a TLS connection
(the originating server presents its certificate as a TLS client), so each
one carries both the serverAuth and clientAuth extended key usages and the
domain as a dNSName subject alternative name.  Keys are fresh P-256 keys,
valid for a day; nothing is committed to the repository.
"""

from __future__ import annotations

import datetime
import os
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = ["DomainCertificate", "S2SCertificates", "s2s_certificates"]


@dataclass(frozen=True)
class DomainCertificate:
    """Paths of one domain's certificate and key."""

    cert: str
    key: str


@dataclass(frozen=True)
class S2SCertificates:
    """The CA file and the certificate of each domain."""

    ca_cert: str
    domains: dict[str, DomainCertificate]


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _write(path: str, data: bytes) -> str:
    with open(path, "wb") as f:
        f.write(data)
    return path


def s2s_certificates(directory: str, domains: list[str] | dict[str, str]) -> S2SCertificates:
    """Write a CA and a certificate per domain into ``directory``.

    Args:
        directory: an existing directory.
        domains: domain names; or a mapping file-name -> name the certificate
            is issued for (to make a certificate for the wrong domain).

    Returns:
        The paths.
    """
    names = dict(domains) if isinstance(domains, dict) else {d: d for d in domains}
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(_name("mongoose s2s test CA"))
        .issuer_name(_name("mongoose s2s test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True,
                crl_sign=True, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    ca_path = _write(os.path.join(directory, "s2s-ca.pem"), ca_cert.public_bytes(pem))
    issued = {}
    for label, domain in names.items():
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (
            x509.CertificateBuilder()
            .subject_name(_name(domain))
            .issuer_name(ca_cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(domain)]), critical=False)
            .add_extension(
                x509.ExtendedKeyUsage(
                    [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
                ),
                critical=False,
            )
            .sign(ca_key, hashes.SHA256())
        )
        key_pem = key.private_bytes(
            pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        issued[label] = DomainCertificate(
            cert=_write(os.path.join(directory, f"{label}.pem"), cert.public_bytes(pem)),
            key=_write(os.path.join(directory, f"{label}.key"), key_pem),
        )
    return S2SCertificates(ca_path, issued)
