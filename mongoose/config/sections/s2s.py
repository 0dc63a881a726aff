"""The ``[s2s]`` table: federation policy and outgoing s2s connections.

Follows "Options: S2S" of the MongooseIM 6.x documentation (RFC 6120
federation, XEP-0220 dialback).  MongooseIM 6.3 moved ``address``, ``dns``
and ``max_retry_delay`` into ``[s2s.outgoing]``; the old top-level spellings
are accepted and the parsed options always carry them under ``outgoing``.
"""

from __future__ import annotations

from mongoose.config.schema import (
    Bool,
    ConfigError,
    Enum,
    Field,
    Int,
    IPAddress,
    ListOf,
    Options,
    Section,
    Str,
    join_path,
)
from mongoose.config.sections.tls import tls_section
from mongoose.config.sections.types import PORT, file_path, int_or_infinity, non_empty

__all__ = ["s2s_section"]

_MOVED = ("address", "dns", "max_retry_delay")


def _address() -> Field:
    entry = Section(
        {
            "host": Field(non_empty(), required=True, doc="Remote domain."),
            "ip_address": Field(IPAddress(), required=True, doc="Address to connect to."),
            "port": Field(PORT, doc="Port; not set: outgoing.port."),
            "tls": Field(Bool(), default=False, doc="Use direct TLS on this address."),
        },
        doc="A fixed address of one remote domain.",
    )
    return Field(
        ListOf(entry),
        doc="Fixed addresses of remote domains, used instead of DNS. Not set: DNS only.",
    )


def _dns() -> Field:
    return Field(
        Section(
            {
                "timeout": Field(Int(min=1), default=10, doc="Seconds per DNS query."),
                "retries": Field(Int(min=1), default=2, doc="DNS query attempts."),
            },
            doc="DNS look-ups of remote servers.",
        ),
        default={},
        doc="DNS settings.",
    )


def _max_retry_delay() -> Field:
    return Field(
        Int(min=1),
        default=300,
        doc="Longest wait, in seconds, before a remote server that could not be reached "
        "is tried again; the wait starts at 1 s and doubles with each failure. Stanzas "
        "sent while waiting bounce with `remote-server-not-found`.",
    )


def _outgoing() -> Section:
    return Section(
        {
            "port": Field(PORT, default=5269, doc="Default port of remote servers."),
            "ip_versions": Field(
                ListOf(Enum(4, 6), unique=True, nonempty=True),
                default=[4, 6],
                doc="IP versions tried, in order; addresses of other versions are not used.",
            ),
            "connection_timeout": Field(
                int_or_infinity(), default=10000, doc="Milliseconds to establish a connection."
            ),
            "address": _address(),
            "dns": _dns(),
            "max_retry_delay": _max_retry_delay(),
            "max_stanza_size": Field(
                int_or_infinity(), default="infinity", doc="Largest stanza accepted, in bytes."
            ),
            "shaper": Field(
                non_empty(),
                default="none",
                doc='Traffic shaper (a name from `[shaper]`); `"none"`: no shaping.',
            ),
            "state_timeout": Field(
                int_or_infinity(min=0),
                default=5000,
                doc="Milliseconds the remote server has for each negotiation step.",
            ),
            "stream_timeout": Field(
                int_or_infinity(min=0),
                default=600000,
                doc="Milliseconds a stream without traffic stays open: outgoing streams, "
                "and incoming streams to this domain (closed with `connection-timeout`).",
            ),
            "tls": Field(
                tls_section(client=True, mode="starttls", doc="TLS of outgoing s2s."),
                doc="TLS settings; no TLS when the table is absent.",
            ),
        },
        doc="Outgoing s2s connections.",
    )


def _no_double_spelling(raw: dict, path: str, errors: list[ConfigError]) -> None:
    outgoing = raw.get("outgoing")
    if not isinstance(outgoing, dict):
        return
    for key in _MOVED:
        if key in raw and key in outgoing:
            errors.append(
                ConfigError(
                    join_path(path, key),
                    f"same option as 'outgoing.{key}'; give only one of them",
                )
            )


def _move_legacy(options: Options, path: str, errors: list[ConfigError]) -> Options:
    moved = {key: options[key] for key in _MOVED if key in options}
    if not moved:
        return options
    kept = {key: value for key, value in options.items() if key not in moved}
    kept["outgoing"] = options["outgoing"].replace(**moved)
    return Options(kept)


def s2s_section() -> Section:
    """The ``[s2s]`` table (also ``host_config[].s2s``, which replaces it).

    Returns:
        The section.
    """
    legacy = " (MongooseIM 6.0-6.2 spelling of `outgoing.{}`)."
    fields = {
        "default_policy": Field(
            Enum("allow", "deny"),
            default="allow",
            doc="Whether s2s connections to and from other servers are allowed.",
        ),
        "host_policy": Field(
            ListOf(
                Section(
                    {
                        "host": Field(non_empty(), required=True, doc="Remote domain."),
                        "policy": Field(Enum("allow", "deny"), required=True, doc="Policy."),
                    },
                    doc="Policy for one remote domain.",
                )
            ),
            doc="Per-domain exceptions to default_policy. Not set: none.",
        ),
        "shared": Field(
            non_empty(),
            doc="Dialback secret (XEP-0220).",
            default_doc="random bytes chosen at start-up",
        ),
        "outgoing": Field(_outgoing(), default={}, doc="Outgoing connections."),
        "use_starttls": Field(
            Enum("false", "optional", "required", "required_trusted"),
            doc="STARTTLS for s2s in MongooseIM 6.0-6.2; later replaced by the `tls` "
            "tables. Not set: decided by those tables.",
        ),
        "certfile": Field(file_path(), doc="Certificate and key of s2s TLS (MongooseIM 6.0-6.2)."),
        "ciphers": Field(Str(), doc="OpenSSL cipher list of s2s TLS (MongooseIM 6.0-6.2)."),
        "address": Field(_address().spec, doc="Fixed addresses" + legacy.format("address")),
        "dns": Field(_dns().spec, doc="DNS settings" + legacy.format("dns")),
        "max_retry_delay": Field(Int(min=1), doc="Retry delay" + legacy.format("max_retry_delay")),
    }
    return Section(
        fields,
        doc="Server-to-server federation.",
        validate=_move_legacy,
        prepare=_no_double_spelling,
    )
