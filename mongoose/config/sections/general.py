"""The ``[general]`` table: hosts, logging, backends and server-wide limits.

Follows "Options: General" of the MongooseIM 6.x documentation, including
the options MongooseIM 6.0-6.2 still had (``all_metrics_are_global``,
``max_fsm_queue``, ``domain_certfile``, ``mongooseimctl_access_commands``),
plus the mongoose extension ``data_dir``.
"""

from __future__ import annotations

from mongoose.config.schema import (
    Bool,
    ConfigError,
    Enum,
    Field,
    Int,
    ListOf,
    MapOf,
    Options,
    Section,
    Str,
)
from mongoose.config.sections.types import (
    LOG_LEVELS,
    Domain,
    file_path,
    int_or_infinity,
    non_empty,
)

__all__ = ["ROUTING_MODULES", "general_section", "host_general_section"]

#: MongooseIM's routing stages, in their default order.
ROUTING_MODULES = (
    "mongoose_router_global",
    "mongoose_router_localdomain",
    "mongoose_router_external_localnode",
    "mongoose_router_external",
    "mongoose_router_dynamic_domains",
    "ejabberd_s2s",
)


def _route_subdomains() -> Field:
    return Field(
        Enum("s2s"),
        doc='`"s2s"`: stanzas to subdomains of a served domain go over s2s instead '
        "of to local services. Not set: local routing.",
    )


def _replaced_wait_timeout() -> Field:
    return Field(
        Int(min=1),
        default=2000,
        doc="Milliseconds to wait for a replaced session (same full JID) to close.",
    )


def _check_hosts(options: Options, path: str, errors: list[ConfigError]) -> None:
    if not options["hosts"] and not options["host_types"]:
        errors.append(
            ConfigError(
                f"{path}.hosts" if path else "hosts",
                "give at least one domain here or one host type in general.host_types",
            )
        )
    overlap = sorted(set(options["hosts"]) & set(options["host_types"]))
    if overlap:
        errors.append(
            ConfigError(
                f"{path}.host_types" if path else "host_types",
                f"{', '.join(overlap)} also listed in general.hosts",
            )
        )


def _ctl_access_rule() -> Section:
    return Section(
        {
            "commands": Field(
                ListOf(non_empty(), unique=True),
                doc="Commands the rule allows; not set: all commands.",
            ),
            "argument_restrictions": Field(
                MapOf(Str(), key_doc="argument"),
                default={},
                doc="Argument name -> the only value allowed for it.",
            ),
        },
        doc="Commands allowed to users for whom the access rule returns allow.",
    )


def general_section() -> Section:
    """The top-level ``[general]`` table.

    Returns:
        The section; ``hosts`` and ``host_types`` may not both be empty.
    """
    fields = {
        "loglevel": Field(
            Enum(*LOG_LEVELS),
            default="warning",
            doc="Verbosity of the server log.",
        ),
        "hosts": Field(
            ListOf(Domain(), unique=True),
            default=[],
            doc="XMPP domains served by this node (static domains).",
        ),
        "host_types": Field(
            ListOf(non_empty(), unique=True),
            default=[],
            doc="Host types: labels for groups of dynamic domains that share one configuration.",
        ),
        "default_server_domain": Field(
            Domain(),
            required=True,
            doc="Domain used when none can be determined, e.g. in stream errors "
            "sent before the client names a domain.",
        ),
        "language": Field(
            non_empty(),
            default="en",
            doc="Default `xml:lang` of the server's streams and messages.",
        ),
        "registration_timeout": Field(
            int_or_infinity(),
            default=600,
            doc="Seconds between two in-band registrations from one IP address; "
            '`"infinity"`: no limit.',
        ),
        "hide_service_name": Field(
            Bool(),
            default=False,
            doc="Close connections that send invalid data without a stream error "
            "(hides the server's identity).",
        ),
        "sm_backend": Field(
            Enum("mnesia", "cets", "redis"),
            default="mnesia",
            doc='Where the session table lives: `"mnesia"` and `"cets"` keep it in '
            'this node\'s memory, `"redis"` shares it between nodes through the '
            "`outgoing_pools.redis.default` pool.",
        ),
        "component_backend": Field(
            Enum("mnesia", "cets"),
            default="mnesia",
            doc="Where the table of connected external components lives.",
            compat="both values mean this node's memory (shared through Redis "
            "when sm_backend is redis)",
        ),
        "s2s_backend": Field(
            Enum("mnesia", "cets"),
            default="mnesia",
            doc="Where the table of outgoing s2s connections lives.",
            compat="both values mean this node's memory",
        ),
        "replaced_wait_timeout": _replaced_wait_timeout(),
        "route_subdomains": _route_subdomains(),
        "routing_modules": Field(
            ListOf(Enum(*ROUTING_MODULES), unique=True, nonempty=True),
            default=list(ROUTING_MODULES),
            doc="Ordered routing stages a stanza goes through.",
        ),
        "max_fsm_queue": Field(
            Int(min=1),
            doc="Most stanzas queued for one connection before it is closed "
            "(MongooseIM 6.0-6.2). Not set: no limit.",
        ),
        "http_server_name": Field(
            Str(),
            doc="Value of the `Server` header of every HTTP response. Not set: "
            "the default name of the HTTP server.",
        ),
        "rdbms_server_type": Field(
            Enum("mssql", "pgsql"),
            doc="SQL dialect hint of MongooseIM for ODBC pools.",
            compat="the SQL dialect follows the pool's driver",
        ),
        "all_metrics_are_global": Field(
            Bool(),
            default=False,
            doc="Report per-host metrics as global ones (MongooseIM 6.0-6.2; later "
            "`instrumentation.exometer.all_metrics_are_global`).",
            compat="Prometheus metrics always carry a host label",
        ),
        "domain_certfile": Field(
            ListOf(
                Section(
                    {
                        "domain": Field(non_empty(), required=True, doc="Domain or host type."),
                        "certfile": Field(file_path(), required=True, doc="PEM certificate."),
                    },
                    doc="Certificate used for one domain.",
                )
            ),
            doc="Per-domain certificates for c2s TLS (MongooseIM 6.0-6.2).",
        ),
        "mongooseimctl_access_commands": Field(
            MapOf(_ctl_access_rule(), key_doc="access rule"),
            default={},
            doc="Access rule -> commands it allows in mongooseimctl (deprecated "
            "since MongooseIM 6.0).",
            compat="mongooseimctl authenticates through the admin API; these rules "
            "are accepted but not enforced",
        ),
        "data_dir": Field(
            non_empty(),
            default="data",
            doc="Mongoose extension: directory of the embedded SQLite database and "
            "other node state, relative to the working directory unless absolute.",
        ),
    }
    return Section(fields, doc="Basic server settings.", validate=_check_hosts)


def host_general_section() -> Section:
    """``host_config[].general``: the general options a host may override.

    Returns:
        The section; options not given keep their top-level value.
    """
    return Section(
        {
            "route_subdomains": _route_subdomains(),
            "replaced_wait_timeout": Field(
                Int(min=1), doc="Overrides general.replaced_wait_timeout."
            ),
        },
        doc="General options overridden for one host.",
    )
