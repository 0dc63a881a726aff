"""The ``tls`` tables of listeners, outgoing s2s and outgoing pools.

Follows the "TLS options for C2S" part of the MongooseIM listener docs
(``listen.c2s.tls.*``), the HTTP listener's TLS options, the outgoing pool
"TLS options" and ``s2s.outgoing.tls``.  The options of both TLS libraries of
MongooseIM 6.0-6.2 (``fast_tls`` and ``just_tls``) are accepted; here both
mean pyOpenSSL.
"""

from __future__ import annotations

from mongoose.config.schema import Bool, Enum, Field, ListOf, Section, Str
from mongoose.config.sections.types import file_path, non_empty

__all__ = ["TLS_VERSIONS", "tls_section"]

#: TLS protocol versions, spelled as in MongooseIM (Erlang/OTP names).
TLS_VERSIONS = ("tlsv1", "tlsv1.1", "tlsv1.2", "tlsv1.3")

_MODES = ("tls", "starttls", "starttls_required")


def _common_fields() -> dict[str, Field]:
    return {
        "verify_mode": Field(
            Enum("peer", "selfsigned_peer", "none"),
            default="peer",
            doc="How the peer's certificate is checked: `peer` needs a certificate "
            "signed by a trusted CA, `selfsigned_peer` also accepts self-signed ones, "
            "`none` does not check.",
        ),
        "certfile": Field(file_path(), doc="PEM file with this side's certificate (chain)."),
        "keyfile": Field(file_path(), doc="PEM file with the private key."),
        "password": Field(Str(), doc="Password of the private key file."),
        "cacertfile": Field(
            file_path(),
            doc="PEM file with the CA certificates used to verify the peer; "
            "the system store when not set.",
        ),
        "ciphers": Field(Str(), doc="OpenSSL cipher list; not set: the library's default suites."),
        "versions": Field(
            ListOf(Enum(*TLS_VERSIONS), unique=True, nonempty=True),
            doc="TLS versions offered; not set: all supported versions.",
        ),
        "disconnect_on_failure": Field(
            Bool(),
            default=True,
            doc="Close the connection when peer certificate verification fails "
            "(false: go on and let SASL decide).",
        ),
        "crl_files": Field(
            ListOf(file_path()),
            default=[],
            doc="Certificate revocation lists checked during verification.",
        ),
        "protocol_options": Field(
            ListOf(non_empty()),
            doc="OpenSSL option names as in MongooseIM's fast_tls, e.g. "
            '`"no_tlsv1"`; not set: SSLv2, SSLv3, TLS 1.0 and 1.1 are disabled.',
        ),
    }


def _server_fields() -> dict[str, Field]:
    return {
        "dhfile": Field(file_path(), doc="PEM file with Diffie-Hellman parameters."),
        "early_data": Field(Bool(), default=False, doc="Accept TLS 1.3 0-RTT early data."),
        "session_tickets": Field(
            Enum("stateless"), doc="Issue TLS 1.3 session tickets (stateless only)."
        ),
    }


def _client_fields() -> dict[str, Field]:
    sni = Section(
        {
            "enabled": Field(
                Bool(),
                default=True,
                doc="Send the server name (SNI) and check it against the certificate; "
                "only when verify_mode is not none.",
            ),
            "host": Field(non_empty(), doc="Name to send instead of the connection host."),
            "protocol": Field(
                Enum("default", "https"),
                default="default",
                doc="`https` uses the HTTPS rules for matching wildcard certificates.",
            ),
        },
        doc="Server Name Indication for outgoing connections.",
    )
    return {"server_name_indication": Field(sni, default={}, doc="SNI settings.")}


def tls_section(
    *,
    server: bool = False,
    client: bool = False,
    mode: str | None = None,
    c2s: bool = False,
    sql: bool = False,
    doc: str = "",
) -> Section:
    """Build a ``tls`` table.

    Args:
        server: add the options of a listening side (dhfile, early data ...).
        client: add the options of a connecting side (server name indication).
        mode: add ``mode`` (tls/starttls/starttls_required) and
            ``keep_secrets``, with this default mode.
        c2s: add ``module`` (fast_tls/just_tls), accepted for compatibility.
        sql: add ``required`` (outgoing RDBMS pools).
        doc: description of the table.

    Returns:
        The section.
    """
    fields: dict[str, Field] = {}
    if mode is not None:
        fields["mode"] = Field(
            Enum(*_MODES),
            default=mode,
            doc="`tls`: TLS from the first byte (direct TLS); `starttls`: offer "
            "STARTTLS; `starttls_required`: require STARTTLS before anything else.",
        )
    fields.update(_common_fields())
    if server:
        fields.update(_server_fields())
    if client:
        fields.update(_client_fields())
    if mode is not None:
        fields["keep_secrets"] = Field(
            Bool(),
            default=False,
            doc="Write TLS session keys to the file named by SSLKEYLOGFILE (debugging only).",
        )
    if c2s:
        fields["module"] = Field(
            Enum("fast_tls", "just_tls"),
            doc="TLS library of MongooseIM 6.0-6.2.",
            compat="both values mean pyOpenSSL here",
        )
    if sql:
        fields["required"] = Field(
            Bool(), default=False, doc="Refuse to talk to the database without TLS."
        )
    return Section(fields, doc=doc)
