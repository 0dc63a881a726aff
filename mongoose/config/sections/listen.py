"""The ``[listen]`` table: every listening socket of the node.

Follows "Options: Listen" and the listener pages of the MongooseIM 6.x
documentation.  ``[[listen.service]]`` (MongooseIM up to 6.3) and
``[[listen.component]]`` (6.4 and later) name the same list; the parsed
options always use ``service``.
"""

from __future__ import annotations

from mongoose.config.schema import (
    Bool,
    ConfigError,
    Field,
    Int,
    ListOf,
    Options,
    Section,
    join_path,
)
from mongoose.config.sections.http_handlers import handlers_section
from mongoose.config.sections.tls import tls_section
from mongoose.config.sections.types import int_or_infinity
from mongoose.config.sections.xmpp_listeners import (
    c2s_listener,
    s2s_listener,
    service_listener,
    socket_fields,
    socket_validate,
)
from mongoose.extensions import ExtensionRegistry

__all__ = ["LISTENER_KINDS", "http_listener", "listen_section"]

#: Listener kinds, as used in the parsed options and ``Config.listeners``.
LISTENER_KINDS = ("c2s", "s2s", "service", "http")


def http_listener(extensions: ExtensionRegistry) -> Section:
    """One ``[[listen.http]]`` table.

    Args:
        extensions: where third-party handler names are looked up.

    Returns:
        The section.
    """
    transport = Section(
        {
            "num_acceptors": Field(
                Int(min=1),
                default=100,
                doc="Number of Erlang processes accepting connections.",
                compat="no effect on Twisted",
            ),
            "max_connections": Field(
                int_or_infinity(min=0),
                default=1024,
                doc="Most open HTTP connections.",
            ),
        },
        doc="HTTP transport settings.",
    )
    protocol = Section(
        {
            "compress": Field(
                Bool(), default=False, doc="Compress response bodies when the client accepts it."
            ),
        },
        doc="HTTP protocol settings.",
    )
    fields = {
        **socket_fields(),
        "transport": Field(transport, default={}, doc="Transport settings."),
        "protocol": Field(protocol, default={}, doc="Protocol settings."),
        "tls": Field(
            tls_section(server=True, doc="HTTPS settings."),
            doc="HTTPS; plain HTTP when the table is absent.",
        ),
        "handlers": Field(handlers_section(extensions), default={}, doc="Mounted handlers."),
    }
    return Section(
        fields, doc="HTTP listener (BOSH, WebSocket, APIs, metrics).", validate=socket_validate
    )


def _unique_sockets(options: Options, path: str, errors: list[ConfigError]) -> None:
    seen: dict[tuple, str] = {}
    for kind in LISTENER_KINDS:
        for index, listener in enumerate(options[kind]):
            where = join_path(join_path(path, kind), index)
            key = (listener["port"], listener["ip_address"], listener["proto"])
            if key in seen:
                errors.append(
                    ConfigError(
                        join_path(where, "port"),
                        f"{listener['port']} on {listener['ip_address']} is already "
                        f"used by {seen[key]}",
                    )
                )
            else:
                seen[key] = where


def listen_section(extensions: ExtensionRegistry) -> Section:
    """The top-level ``[listen]`` table.

    Args:
        extensions: where third-party HTTP handler names are looked up.

    Returns:
        The section; each kind holds a tuple of listener options.
    """
    return Section(
        {
            "c2s": Field(ListOf(c2s_listener()), default=[], doc="Client listeners."),
            "s2s": Field(ListOf(s2s_listener()), default=[], doc="Federation listeners."),
            "service": Field(
                ListOf(service_listener()),
                default=[],
                aliases=("component",),
                doc="External component listeners (`component` since MongooseIM 6.4).",
            ),
            "http": Field(ListOf(http_listener(extensions)), default=[], doc="HTTP listeners."),
        },
        doc="Listening sockets; no listener is enabled unless given.",
        validate=_unique_sockets,
    )
