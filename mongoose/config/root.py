"""The whole MongooseIM TOML configuration file, and checks across its tables.

Assembles the sections of "Configuration" in the MongooseIM 6.x
documentation (general, listen, auth, outgoing_pools, internal_databases,
services, modules, shaper, acl, access, s2s, host_config, instrumentation)
and adds the checks that need more than one table: names of shapers and
access rules used by listeners must be defined, ``host_config`` entries must
name configured hosts, and backends must have the pools they need.
"""

from __future__ import annotations

from mongoose.config.schema import ConfigError, Field, Options, Section, format_value, join_path
from mongoose.config.sections.access import access_section, acl_section, shaper_section
from mongoose.config.sections.auth import auth_section
from mongoose.config.sections.extensions import modules_section, services_section
from mongoose.config.sections.general import general_section
from mongoose.config.sections.host_config import host_config_section
from mongoose.config.sections.instrumentation import instrumentation_section
from mongoose.config.sections.internal_databases import internal_databases_section
from mongoose.config.sections.listen import listen_section
from mongoose.config.sections.pools import pools_section
from mongoose.config.sections.s2s import s2s_section
from mongoose.extensions import ExtensionRegistry

__all__ = ["BUILTIN_ACCESS_RULES", "BUILTIN_SHAPERS", "root_spec"]

#: Shaper names that need no ``[shaper]`` table.
BUILTIN_SHAPERS = frozenset({"none"})

#: Access rule names that need no ``[access]`` entry.
BUILTIN_ACCESS_RULES = frozenset({"all", "none"})


def root_spec(extensions: ExtensionRegistry) -> Section:
    """The schema of a whole configuration file.

    Args:
        extensions: where module, service and third-party HTTP handler names
            are looked up.

    Returns:
        The root section.
    """
    fields = {
        "general": Field(general_section(), default={}, doc="Basic server settings."),
        "listen": Field(listen_section(extensions), default={}, doc="Listeners."),
        "auth": Field(auth_section(), default={}, doc="Authentication."),
        "outgoing_pools": Field(pools_section(), default={}, doc="Connection pools."),
        "internal_databases": Field(
            internal_databases_section(),
            default={"mnesia": {}},
            doc="Erlang-side databases; absent means `[internal_databases.mnesia]`.",
        ),
        "services": Field(services_section(extensions), default={}, doc="Global services."),
        "modules": Field(modules_section(extensions), default={}, doc="Modules of every host."),
        "shaper": Field(shaper_section(), default={}, doc="Traffic shapers."),
        "acl": Field(acl_section(), default={}, doc="Access classes."),
        "access": Field(access_section(), default={}, doc="Access rules."),
        "s2s": Field(s2s_section(), default={}, doc="Federation."),
        "host_config": Field(host_config_section(extensions), default=[], doc="Per-host settings."),
        "instrumentation": Field(
            instrumentation_section(), default={}, doc="Metrics and instrumentation."
        ),
    }
    return Section(fields, doc="A MongooseIM configuration file.", validate=_cross_checks)


class _Names:
    """The shaper and access rule names a configuration defines."""

    def __init__(self, options: Options):
        self.shapers = set(options["shaper"]) | BUILTIN_SHAPERS
        self.rules = set(options["access"])
        for entry in options["host_config"]:
            self.rules |= set(entry.get("access", {}))
        self.rules_or_builtin = self.rules | BUILTIN_ACCESS_RULES

    def check_shaper(
        self, name: str, path: str, errors: list[ConfigError], rule_ok: bool = False
    ) -> None:
        if name in self.shapers or (rule_ok and name in self.rules):
            return
        errors.append(
            ConfigError(path, f"{format_value(name)} is not a shaper defined in [shaper]")
        )

    def check_rule(self, name: str, path: str, errors: list[ConfigError]) -> None:
        if name not in self.rules_or_builtin:
            errors.append(
                ConfigError(path, f"{format_value(name)} is not an access rule defined in [access]")
            )


def _check_listeners(options: Options, names: _Names, errors: list[ConfigError]) -> None:
    listen = options["listen"]
    for kind in ("c2s", "s2s", "service"):
        for index, listener in enumerate(listen[kind]):
            where = f"listen.{kind}[{index}]"
            # MongooseIM 6.0 listeners could name an access rule returning a shaper.
            names.check_shaper(listener["shaper"], join_path(where, "shaper"), errors, rule_ok=True)
            if "access" in listener:
                names.check_rule(listener["access"], join_path(where, "access"), errors)
    for index, listener in enumerate(listen["http"]):
        sockets = listener["handlers"].get("mongoose_websocket_handler", ())
        for number, handler in enumerate(sockets):
            if "service" not in handler:
                continue
            where = f"listen.http[{index}].handlers.mongoose_websocket_handler[{number}].service"
            service = handler["service"]
            names.check_shaper(service["shaper"], join_path(where, "shaper"), errors)
            names.check_rule(service["access"], join_path(where, "access"), errors)


def _check_s2s_shapers(options: Options, names: _Names, errors: list[ConfigError]) -> None:
    names.check_shaper(options["s2s"]["outgoing"]["shaper"], "s2s.outgoing.shaper", errors)
    for index, entry in enumerate(options["host_config"]):
        if "s2s" in entry:
            names.check_shaper(
                entry["s2s"]["outgoing"]["shaper"],
                f"host_config[{index}].s2s.outgoing.shaper",
                errors,
            )


def _check_host_config(options: Options, errors: list[ConfigError]) -> None:
    general = options["general"]
    hosts = set(general["hosts"])
    host_types = set(general["host_types"])
    seen: dict[str, str] = {}
    for index, entry in enumerate(options["host_config"]):
        where = f"host_config[{index}]"
        if "host" in entry:
            key, name = "host", entry["host"]
            if name not in hosts and name not in host_types:
                errors.append(
                    ConfigError(
                        join_path(where, key),
                        f"{format_value(name)} is not in general.hosts or general.host_types",
                    )
                )
        else:
            key, name = "host_type", entry["host_type"]
            if name not in host_types:
                errors.append(
                    ConfigError(
                        join_path(where, key),
                        f"{format_value(name)} is not in general.host_types",
                    )
                )
        if name in seen:
            errors.append(
                ConfigError(
                    join_path(where, key), f"{format_value(name)} is also set up by {seen[name]}"
                )
            )
        else:
            seen[name] = where


def _check_backends(options: Options, errors: list[ConfigError]) -> None:
    if options["general"]["sm_backend"] == "redis":
        if "default" not in options["outgoing_pools"]["redis"]:
            errors.append(
                ConfigError(
                    "general.sm_backend",
                    '"redis" needs a pool at outgoing_pools.redis.default',
                )
            )


def _check_auth_methods(options: Options, errors: list[ConfigError]) -> None:
    enabled = set(options["auth"]["methods"])
    for entry in options["host_config"]:
        if "auth" in entry:
            enabled |= set(entry["auth"]["methods"])
    for index, listener in enumerate(options["listen"]["c2s"]):
        for number, method in enumerate(listener.get("allowed_auth_methods", ())):
            if method not in enabled:
                errors.append(
                    ConfigError(
                        f"listen.c2s[{index}].allowed_auth_methods[{number}]",
                        f"{format_value(method)} is not enabled in [auth]",
                    )
                )


def _cross_checks(options: Options, path: str, errors: list[ConfigError]) -> None:
    names = _Names(options)
    _check_listeners(options, names, errors)
    _check_s2s_shapers(options, names, errors)
    _check_host_config(options, errors)
    _check_backends(options, errors)
    _check_auth_methods(options, errors)
