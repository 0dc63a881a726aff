"""``[[listen.http.handlers.NAME]]``: what an HTTP listener serves.

Follows "HTTP-based services" (``listen-http``) of the MongooseIM 6.x
documentation: BOSH (XEP-0124/0206), WebSocket (RFC 7395), the GraphQL API,
the REST admin and client APIs of MongooseIM 6.5 and Prometheus metrics.
MongooseIM 6.6 renamed ``mod_bosh`` to ``mongoose_bosh_handler`` and
``mod_websockets`` to ``mongoose_websocket_handler``; both spellings are
accepted.  Any other name is looked up in the extension registry
(``mongoose.http_handlers`` entry points).  An installed handler's own
``options_spec`` (plus ``host`` and ``path``) replaces the options declared
here for its name, so the implementation decides what it accepts; the
declarations below apply to handlers this node does not implement.
"""

from __future__ import annotations

from mongoose.config.schema import (
    Bool,
    ConfigError,
    DynamicSection,
    Enum,
    Field,
    Int,
    ListOf,
    Options,
    Section,
    Spec,
    Str,
    Validator,
    format_value,
    join_path,
)
from mongoose.config.sections.types import int_or_infinity, non_empty
from mongoose.config.sections.xmpp_listeners import component_fields
from mongoose.extensions import ExtensionRegistry

__all__ = [
    "ADMIN_API_HANDLERS",
    "CLIENT_API_HANDLERS",
    "GRAPHQL_CATEGORIES",
    "HANDLER_ALIASES",
    "handler_common_fields",
    "handlers_section",
]

#: Parts of the REST admin API (MongooseIM 6.5, plus mongoose's generic
#: ``commands`` routes).
ADMIN_API_HANDLERS = (
    "contacts",
    "users",
    "sessions",
    "messages",
    "stanzas",
    "muc_light",
    "muc",
    "inbox",
    "domain",
    "metrics",
    "commands",
)

#: Parts of the REST client API (MongooseIM 6.5).
CLIENT_API_HANDLERS = (
    "sse",
    "messages",
    "contacts",
    "rooms",
    "rooms_config",
    "rooms_users",
    "rooms_messages",
)

#: GraphQL categories a handler can be limited to.
GRAPHQL_CATEGORIES = (
    "checkAuth",
    "account",
    "domain",
    "last",
    "muc",
    "muc_light",
    "session",
    "stanza",
    "roster",
    "vcard",
    "private",
    "metric",
    "stat",
    "gdpr",
    "mnesia",
    "server",
    "inbox",
    "http_upload",
    "offline",
    "token",
    "cets",
    "broadcast",
    "blocklist",
)

#: Old handler name -> the name used in the parsed options.
HANDLER_ALIASES = {
    "mod_bosh": "mongoose_bosh_handler",
    "mod_websockets": "mongoose_websocket_handler",
}


def _path(value: str) -> str | None:
    if not value.startswith("/"):
        return 'does not start with "/"'
    return None


def handler_common_fields() -> dict[str, Field]:
    """``host`` and ``path``, which every handler has.

    Returns:
        Field name -> Field.
    """
    return {
        "host": Field(
            non_empty(),
            required=True,
            doc='Host name the handler answers for; `"_"`: any host.',
        ),
        "path": Field(
            Str(validate=_path, pattern_doc="URL path"),
            required=True,
            doc="URL path of the handler.",
        ),
    }


def _handler(fields: dict[str, Field], doc: str, validate: Validator | None = None) -> Section:
    return Section({**handler_common_fields(), **fields}, doc=doc, validate=validate)


def _credentials_together(options: Options, path: str, errors: list[ConfigError]) -> None:
    if ("username" in options) != ("password" in options):
        missing = "password" if "username" in options else "username"
        errors.append(
            ConfigError(join_path(path, missing), "required when the other credential is given")
        )


def _check_graphql(options: Options, path: str, errors: list[ConfigError]) -> None:
    if options["schema_endpoint"] != "admin":
        for key in ("username", "password"):
            if key in options:
                errors.append(
                    ConfigError(
                        join_path(path, key),
                        'only allowed when schema_endpoint is "admin" '
                        f"(here {format_value(options['schema_endpoint'])})",
                    )
                )
        return
    _credentials_together(options, path, errors)


def _credentials() -> dict[str, Field]:
    return {
        "username": Field(Str(), doc="Basic-auth user name; not set: no authentication."),
        "password": Field(Str(), doc="Basic-auth password (needs username)."),
    }


def _bosh() -> Section:
    return _handler(
        {},
        "BOSH (XEP-0124, XEP-0206); its settings live in mod_bosh (service_bosh since "
        "MongooseIM 6.6).",
    )


def _websocket() -> Section:
    service = Section(
        {
            **component_fields(),
            "shaper": Field(
                non_empty(),
                default="none",
                aliases=("shaper_rule",),
                doc='Traffic shaper (a name from `[shaper]`); `"none"`: no shaping.',
            ),
        },
        doc="External components over WebSocket.",
    )
    return _handler(
        {
            "timeout": Field(
                int_or_infinity(min=0),
                default=60000,
                doc="Milliseconds of inactivity after which the connection is closed.",
            ),
            "ping_rate": Field(
                Int(min=1),
                doc="Milliseconds between server pings; not set: no pings.",
            ),
            "max_stanza_size": Field(
                int_or_infinity(), default="infinity", doc="Largest stanza accepted, in bytes."
            ),
            "c2s_state_timeout": Field(
                int_or_infinity(min=0),
                default=5000,
                aliases=("state_timeout",),
                doc="Milliseconds the client has for each step of stream negotiation.",
            ),
            "backwards_compatible_session": Field(
                Bool(), default=True, doc="Offer the RFC 3921 session establishment IQ."
            ),
            "service": Field(
                service,
                doc="Accept XEP-0114 components over WebSocket with these options "
                "(MongooseIM up to 6.0): a first frame opening "
                "`<stream:stream xmlns='jabber:component:accept'>` starts a component "
                "stream. Not set: such a stream gets `invalid-namespace`.",
            ),
        },
        "XMPP over WebSocket (RFC 7395).",
    )


def _graphql() -> Section:
    return _handler(
        {
            "schema_endpoint": Field(
                Enum("admin", "domain_admin", "user"),
                required=True,
                doc="Which API: global admin, domain admin or user.",
            ),
            **_credentials(),
            "allowed_categories": Field(
                ListOf(Enum(*GRAPHQL_CATEGORIES), unique=True, nonempty=True),
                doc="Categories served; others answer 'category disabled'. Not set: all.",
            ),
            "sse_idle_timeout": Field(
                int_or_infinity(),
                default=3600000,
                doc="Milliseconds after which an idle server-sent-events stream is closed.",
            ),
        },
        "GraphQL API. username/password are only for the admin endpoint.",
        validate=_check_graphql,
    )


def _admin_api() -> Section:
    return _handler(
        {
            **_credentials(),
            "handlers": Field(
                ListOf(Enum(*ADMIN_API_HANDLERS), unique=True),
                default=list(ADMIN_API_HANDLERS),
                doc="Parts of the API served.",
            ),
        },
        "REST admin API (MongooseIM 6.5).",
        validate=_credentials_together,
    )


def _client_api() -> Section:
    return _handler(
        {
            "handlers": Field(
                ListOf(Enum(*CLIENT_API_HANDLERS), unique=True),
                default=list(CLIENT_API_HANDLERS),
                doc="Parts of the API served.",
            ),
            "docs": Field(
                Bool(), default=True, doc="Serve the Swagger documentation at /api-docs."
            ),
        },
        "REST client API (MongooseIM 6.5).",
    )


def _prometheus() -> Section:
    return _handler({}, "Prometheus metrics exposition (needs [instrumentation.prometheus]).")


def _registry_lookup(extensions: ExtensionRegistry, declared: dict[str, Section]):
    def lookup(name: str, path: str, errors: list[ConfigError]) -> Spec | None:
        try:
            factory = extensions.http_handler(name)
        except LookupError as exc:
            errors.append(ConfigError(path, str(exc)))
            return None
        except Exception as exc:  # a broken plugin must not crash start-up
            errors.append(ConfigError(path, f"cannot be loaded: {exc.__class__.__name__}: {exc}"))
            return None
        if factory is None:
            if name in declared:
                return declared[name]
            errors.append(ConfigError(path, "unknown HTTP handler"))
            return None
        own = getattr(factory, "options_spec", None)
        if own is None:
            return declared.get(name) or _handler({}, f"Third-party handler {name}.")
        return Section(handler_common_fields(), doc=own.doc).merged(own)

    return lookup


def handlers_section(extensions: ExtensionRegistry) -> DynamicSection:
    """``listen.http[].handlers``: handler name -> array of handler tables.

    Args:
        extensions: where handler names not built in are looked up.

    Returns:
        The dynamic section.
    """
    declared = {
        "mongoose_bosh_handler": _bosh(),
        "mongoose_websocket_handler": _websocket(),
        "mongoose_graphql_handler": _graphql(),
        "mongoose_admin_api": _admin_api(),
        "mongoose_client_api": _client_api(),
        "mongoose_prometheus_handler": _prometheus(),
    }
    return DynamicSection(
        lookup=_registry_lookup(extensions, declared),
        kind="table of arrays of tables",
        doc="One `[[listen.http.handlers.NAME]]` table per mounted handler.",
        item_list=True,
        entries=declared,
        aliases=dict(HANDLER_ALIASES),
        entries_first=False,
    )
