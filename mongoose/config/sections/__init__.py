"""One module per top-level table of the MongooseIM TOML configuration.

Each module follows the matching page of the MongooseIM 6.x documentation
("Options: General", "Options: Listen", "Options: Auth" ...).
"""

__all__ = [
    "access",
    "auth",
    "extensions",
    "general",
    "host_config",
    "http_handlers",
    "instrumentation",
    "internal_databases",
    "listen",
    "pools",
    "s2s",
    "tls",
    "types",
    "xmpp_listeners",
]
