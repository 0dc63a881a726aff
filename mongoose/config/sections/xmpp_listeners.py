"""``[[listen.c2s]]``, ``[[listen.s2s]]`` and ``[[listen.service]]`` listeners.

Follows "Options: Listen" (general and XMPP listener options) and the
listener pages "Client to server (C2S)", "Server to server (S2S)" and "XMPP
components" of the MongooseIM 6.x documentation.  Component listeners speak
XEP-0114; MongooseIM 6.4 renamed ``[[listen.service]]`` to
``[[listen.component]]`` and ``shaper_rule`` to ``shaper``: both spellings
are accepted.
"""

from __future__ import annotations

import ipaddress

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
    format_value,
    join_path,
)
from mongoose.config.sections.tls import tls_section
from mongoose.config.sections.types import PORT, int_or_infinity, non_empty

__all__ = [
    "AUTH_METHODS",
    "c2s_listener",
    "component_fields",
    "s2s_listener",
    "service_listener",
    "socket_fields",
    "socket_validate",
]

#: Authentication methods of the ``[auth]`` section, in MongooseIM's order.
AUTH_METHODS = (
    "anonymous",
    "dummy",
    "external",
    "http",
    "internal",
    "jwt",
    "ldap",
    "pki",
    "rdbms",
)

_ERLANG_ONLY = "no effect on Twisted"


def _only_tcp(value: str) -> str | None:
    if value != "tcp":
        return 'is not supported: listeners use "tcp" only'
    return None


def socket_fields() -> dict[str, Field]:
    """Options every listener has: where it listens.

    Returns:
        Field name -> Field.
    """
    return {
        "port": Field(PORT, required=True, doc="TCP port to listen on."),
        "ip_address": Field(
            IPAddress(),
            doc="IP address to bind.",
            default_doc='all addresses: `"0.0.0.0"`, or `"::"` when ip_version is 6',
        ),
        "ip_version": Field(
            Enum(4, 6),
            doc="IP version of the socket.",
            default_doc="the version of ip_address; 4 when ip_address is not set",
        ),
        "proto": Field(
            Str(validate=_only_tcp, pattern_doc='"tcp"'),
            default="tcp",
            doc='Transport protocol; only `"tcp"` exists.',
        ),
        "hibernate_after": Field(
            int_or_infinity(min=0),
            default=0,
            doc="c2s: the period of the idle-parser sweep in milliseconds (at least one "
            "second): a connection that read nothing for two whole periods frees its XML "
            "parser to save memory (rebuilt on the next read), so 0 frees it after two to "
            'three idle seconds; "infinity": never. s2s and component listeners: no effect.',
        ),
    }


def socket_validate(options: Options, path: str, errors: list[ConfigError]) -> Options:
    """Fill in ``ip_address`` and ``ip_version`` from each other.

    Args:
        options: the parsed listener.
        path: its path, e.g. ``listen.c2s[0]``.
        errors: a version that contradicts the address is reported here.

    Returns:
        The listener with both options set.
    """
    address = options.get("ip_address")
    version = options.get("ip_version")
    if address is None:
        version = version or 4
        address = "0.0.0.0" if version == 4 else "::"
    else:
        actual = ipaddress.ip_address(address).version
        if version is not None and version != actual:
            errors.append(
                ConfigError(
                    join_path(path, "ip_version"),
                    f"{version} does not match ip_address {format_value(address)}",
                )
            )
        version = actual
    return options.replace(ip_address=address, ip_version=version)


def _xmpp_fields(
    state_timeout: str = "state_timeout", shaper_aliases: tuple[str, ...] = ()
) -> dict[str, Field]:
    aliases = ("state_timeout",) if state_timeout != "state_timeout" else ()
    return {
        "backlog": Field(Int(min=0), default=1024, doc="TCP accept backlog."),
        "proxy_protocol": Field(
            Bool(),
            default=False,
            doc="Expect a PROXY protocol (v1 or v2) header from a load balancer "
            "on every connection.",
        ),
        "num_acceptors": Field(
            Int(min=1),
            default=100,
            doc="Number of Erlang processes accepting connections.",
            compat=_ERLANG_ONLY,
        ),
        "max_connections": Field(
            int_or_infinity(),
            default="infinity",
            doc="Most open connections on this listener.",
        ),
        "reuse_port": Field(
            Bool(),
            default=False,
            doc="Set SO_REUSEPORT so several processes can bind the port.",
        ),
        "max_stanza_size": Field(
            int_or_infinity(),
            default="infinity",
            doc="Largest stanza accepted, in bytes.",
        ),
        "shaper": Field(
            non_empty(),
            default="none",
            aliases=shaper_aliases,
            doc="Traffic shaper for incoming data: a name from `[shaper]` (or, as in "
            'MongooseIM 6.0, an access rule returning one); `"none"`: no shaping.',
        ),
        state_timeout: Field(
            int_or_infinity(min=0),
            default=5000,
            aliases=aliases,
            doc="Milliseconds the peer has for each step of stream negotiation and authentication.",
        ),
    }


def _max_fsm_queue() -> Field:
    return Field(
        Int(min=1),
        doc="Most stanzas queued for one connection; overrides general.max_fsm_queue.",
    )


def c2s_listener() -> Section:
    """One ``[[listen.c2s]]`` table: client connections (RFC 6120).

    Returns:
        The section.
    """
    fields = {
        **socket_fields(),
        **_xmpp_fields("c2s_state_timeout"),
        "access": Field(
            non_empty(),
            default="all",
            doc='Access rule deciding who may connect; `"all"`: everyone.',
        ),
        "max_fsm_queue": _max_fsm_queue(),
        "zlib": Field(
            Int(min=1),
            doc="Offer stream compression (XEP-0138); the value limits the "
            "decompressed size of incoming data, in bytes. Not set: no compression.",
        ),
        "backwards_compatible_session": Field(
            Bool(),
            default=True,
            doc="Offer the RFC 3921 session establishment IQ.",
        ),
        "allowed_auth_methods": Field(
            ListOf(Enum(*AUTH_METHODS), unique=True),
            doc="Subset of the enabled auth methods usable on this listener. "
            "Not set: all enabled methods.",
        ),
        "tls": Field(
            tls_section(server=True, mode="starttls", c2s=True, doc="TLS for clients."),
            doc="TLS settings; TLS is off when the table is absent.",
        ),
    }
    return Section(fields, doc="Client-to-server listener.", validate=socket_validate)


def s2s_listener() -> Section:
    """One ``[[listen.s2s]]`` table: incoming federation (RFC 6120, XEP-0220).

    Returns:
        The section.
    """
    fields = {
        **socket_fields(),
        **_xmpp_fields(),
        "tls": Field(
            tls_section(server=True, mode="starttls", doc="TLS for incoming s2s."),
            doc="TLS settings; TLS is off when the table is absent.",
        ),
    }
    return Section(fields, doc="Server-to-server listener.", validate=socket_validate)


def component_fields() -> dict[str, Field]:
    """Options of an external component endpoint (XEP-0114).

    Used by ``[[listen.service]]`` and by the WebSocket handler's ``service``
    table.

    Returns:
        Field name -> Field.
    """
    return {
        "access": Field(
            non_empty(),
            default="all",
            doc='Access rule deciding who may talk to the components; `"all"`: everyone.',
        ),
        "password": Field(
            non_empty(), required=True, doc="Shared secret components authenticate with."
        ),
        "check_from": Field(
            Bool(),
            default=True,
            doc="Check that stanzas from a component come from its own domain.",
        ),
        "hidden_components": Field(
            Bool(),
            default=False,
            doc="Mark the components as hidden (mod_disco can leave them out).",
        ),
        "conflict_behaviour": Field(
            Enum("disconnect", "kick_old"),
            default="disconnect",
            doc="When a component connects for a domain that is taken: refuse the "
            "new one (`disconnect`) or drop the old one (`kick_old`).",
        ),
        "max_fsm_queue": _max_fsm_queue(),
    }


def service_listener() -> Section:
    """One ``[[listen.service]]`` (``[[listen.component]]``) table.

    Returns:
        The section.
    """
    fields = {
        **socket_fields(),
        **_xmpp_fields(shaper_aliases=("shaper_rule",)),
        **component_fields(),
        "tls": Field(
            tls_section(server=True, mode="tls", doc="TLS for components."),
            doc="TLS settings; TLS is off when the table is absent.",
        ),
    }
    return Section(fields, doc="External component listener (XEP-0114).", validate=socket_validate)
