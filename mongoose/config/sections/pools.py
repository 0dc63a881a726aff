"""The ``[outgoing_pools]`` table: connections to databases and services.

Follows "Options: Outgoing connections" of the MongooseIM 6.x documentation
(``[outgoing_pools.TYPE.TAG]``).  Mongoose adds the RDBMS driver ``sqlite``,
whose ``connection.database`` is a file path.
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
    format_value,
    join_path,
)
from mongoose.config.sections.tls import tls_section
from mongoose.config.sections.types import PORT, int_or_infinity, non_empty

__all__ = ["POOL_TYPES", "RDBMS_DRIVERS", "host_pools_section", "pools_section"]

#: Pool types, i.e. the keys of ``[outgoing_pools]``.
POOL_TYPES = ("rdbms", "redis", "http", "ldap", "cassandra", "elastic", "rabbit")

#: Values of ``outgoing_pools.rdbms.*.connection.driver``.
RDBMS_DRIVERS = ("pgsql", "mysql", "cockroachdb", "odbc", "sqlite")

_NETWORK_DRIVERS = ("pgsql", "mysql", "cockroachdb")
_DEFAULT_PORTS = {"pgsql": 5432, "mysql": 3306, "cockroachdb": 26257}
_NOT_USED_YET = "accepted; no part of mongoose uses this pool type yet"


def _client_tls(sql: bool = False) -> Field:
    return Field(
        tls_section(client=True, sql=sql, doc="TLS towards the server."),
        doc="TLS settings; plain TCP when the table is absent.",
    )


def _check_rdbms(options: Options, path: str, errors: list[ConfigError]) -> Options:
    driver = options["driver"]
    given = set(options)
    if driver in _NETWORK_DRIVERS:
        for key in ("host", "database", "username", "password"):
            if key not in given:
                errors.append(
                    ConfigError(
                        join_path(path, key),
                        f"required option is missing (driver {format_value(driver)})",
                    )
                )
        if "settings" in given:
            errors.append(ConfigError(join_path(path, "settings"), 'only used by driver "odbc"'))
        if "port" not in given:
            options = options.replace(port=_DEFAULT_PORTS[driver])
        return options
    if driver == "odbc":
        if "settings" not in given:
            errors.append(
                ConfigError(
                    join_path(path, "settings"), 'required option is missing (driver "odbc")'
                )
            )
        return options
    # sqlite: one local file.
    if "database" not in given:
        errors.append(
            ConfigError(join_path(path, "database"), 'required option is missing (driver "sqlite")')
        )
    for key in ("host", "port", "username", "password", "settings", "tls"):
        if key in given:
            errors.append(ConfigError(join_path(path, key), 'not used by driver "sqlite"'))
    return options


def _rdbms_connection() -> Section:
    return Section(
        {
            "driver": Field(
                Enum(*RDBMS_DRIVERS),
                required=True,
                doc="Database engine; `sqlite` (mongoose extension) is a local file.",
            ),
            "host": Field(non_empty(), doc="Server host (pgsql, mysql, cockroachdb)."),
            "port": Field(
                PORT,
                doc="Server port.",
                default_doc="5432 for pgsql, 3306 for mysql, 26257 for cockroachdb",
            ),
            "database": Field(
                non_empty(),
                doc="Database name; for `sqlite` the database file, relative to the "
                "working directory unless absolute.",
            ),
            "username": Field(non_empty(), doc="User name."),
            "password": Field(non_empty(), doc="Password."),
            "settings": Field(Str(), doc="ODBC connection string (driver odbc)."),
            "query_timeout": Field(Int(min=0), default=5000, doc="Milliseconds a query may take."),
            "keepalive_interval": Field(
                Int(min=1), doc="Seconds between keep-alive queries; not set: none."
            ),
            "max_start_interval": Field(
                Int(min=1), default=30, doc="Most seconds between reconnection attempts."
            ),
            "tls": _client_tls(sql=True),
        },
        doc="How to reach the database.",
        validate=_check_rdbms,
    )


def _redis_connection() -> Section:
    return Section(
        {
            "host": Field(non_empty(), default="127.0.0.1", doc="Redis host."),
            "port": Field(PORT, default=6379, doc="Redis port."),
            "database": Field(Int(min=0), default=0, doc="Redis database number."),
            "username": Field(Str(), doc="ACL user name; not set: none."),
            "password": Field(Str(), doc="Password; not set: none."),
            "tls": _client_tls(),
        },
        doc="How to reach Redis.",
    )


def _http_url(value: str) -> str | None:
    if not (value.startswith("http://") or value.startswith("https://")):
        return "is not an http:// or https:// URL"
    return None


def _http_connection() -> Section:
    return Section(
        {
            "host": Field(
                Str(validate=_http_url, pattern_doc="http[s]://host[:port]"),
                required=True,
                doc="Base URL of the service.",
            ),
            "path_prefix": Field(non_empty(), default="/", doc="Prefix of every request path."),
            "request_timeout": Field(
                Int(min=0), default=2000, doc="Milliseconds a request may take."
            ),
            "tls": _client_tls(),
        },
        doc="How to reach the HTTP service.",
    )


def _ldap_port(options: Options, path: str, errors: list[ConfigError]) -> Options:
    if "port" in options:
        return options
    return options.replace(port=636 if "tls" in options else 389)


def _ldap_connection() -> Section:
    return Section(
        {
            "servers": Field(
                ListOf(non_empty(), unique=True, nonempty=True),
                default=["localhost"],
                doc="LDAP server host names.",
            ),
            "port": Field(PORT, doc="LDAP port.", default_doc="389, or 636 with tls"),
            "root_dn": Field(Str(), default="", doc="Bind DN; empty: anonymous."),
            "password": Field(Str(), default="", doc="Bind password."),
            "connect_interval": Field(
                Int(min=1), default=10000, doc="Milliseconds between reconnection attempts."
            ),
            "tls": _client_tls(),
        },
        doc="How to reach the LDAP servers.",
        validate=_ldap_port,
    )


def _cassandra_connection() -> Section:
    server = Section(
        {
            "host": Field(non_empty(), required=True, doc="Host."),
            "port": Field(PORT, default=9042, doc="Port."),
        },
        doc="One Cassandra server.",
    )
    plain = Section(
        {
            "username": Field(Str(), required=True, doc="User name."),
            "password": Field(Str(), required=True, doc="Password."),
        },
        doc="Plain-text authentication.",
    )
    return Section(
        {
            "servers": Field(
                ListOf(server, nonempty=True),
                default=[{"host": "localhost", "port": 9042}],
                doc="Servers to connect to.",
            ),
            "keyspace": Field(non_empty(), default="mongooseim", doc="Keyspace."),
            "auth": Field(
                Section(
                    {"plain": Field(plain, required=True, doc="Plain authentication.")},
                    doc="Authentication.",
                ),
                doc="Authentication; not set: none.",
            ),
            "tls": _client_tls(),
        },
        doc="How to reach Cassandra.",
    )


def _elastic_connection() -> Section:
    return Section(
        {
            "host": Field(non_empty(), default="localhost", doc="Host."),
            "port": Field(PORT, default=9200, doc="Port."),
        },
        doc="How to reach Elasticsearch.",
    )


def _rabbit_connection() -> Section:
    reconnect = Section(
        {
            "attempts": Field(Int(min=0), default=0, doc="Reconnection attempts."),
            "delay": Field(Int(min=0), default=2000, doc="Milliseconds between attempts."),
        },
        doc="Reconnection.",
    )
    return Section(
        {
            "host": Field(non_empty(), default="localhost", doc="Host."),
            "port": Field(PORT, default=5672, doc="Port."),
            "username": Field(non_empty(), default="guest", doc="User name."),
            "password": Field(non_empty(), default="guest", doc="Password."),
            "virtual_host": Field(non_empty(), default="/", doc="Virtual host."),
            "confirms_enabled": Field(Bool(), default=False, doc="Use publisher confirms."),
            "max_worker_queue_len": Field(
                int_or_infinity(min=0),
                doc="Most queued messages per worker (MongooseIM up to 6.5; later a pool option).",
            ),
            "reconnect": Field(reconnect, default={}, doc="Reconnection."),
            "tls": _client_tls(),
        },
        doc="How to reach RabbitMQ.",
    )


_CONNECTIONS = {
    "rdbms": _rdbms_connection,
    "redis": _redis_connection,
    "http": _http_connection,
    "ldap": _ldap_connection,
    "cassandra": _cassandra_connection,
    "elastic": _elastic_connection,
    "rabbit": _rabbit_connection,
}

_STRATEGIES = (
    "best_worker",
    "random_worker",
    "next_worker",
    "available_worker",
    "next_available_worker",
)


def _check_pool(options: Options, path: str, errors: list[ConfigError]) -> Options:
    if "max_worker_queue_len" in options and options["strategy"] != "best_worker":
        errors.append(
            ConfigError(
                join_path(path, "max_worker_queue_len"),
                'only allowed with strategy "best_worker"',
            )
        )
    scope = options.get("scope")
    if scope == "host":
        options = options.replace(scope="host_type")
    if scope == "single_host" and "host" not in options:
        errors.append(
            ConfigError(join_path(path, "host"), 'required option is missing (scope "single_host")')
        )
    if "host" in options and scope != "single_host":
        errors.append(ConfigError(join_path(path, "host"), 'only allowed with scope "single_host"'))
    return options


def _pool(kind: str, in_host_config: bool) -> Section:
    fields: dict[str, Field] = {}
    if not in_host_config:
        fields["scope"] = Field(
            Enum("global", "host_type", "host", "single_host"),
            default="global",
            doc="`global`: one pool for the node; `host_type`: one per host type "
            '(`"host"` is the old spelling and reads as `host_type`); `single_host`: '
            "one for the host given in `host` (MongooseIM 6.0).",
        )
        fields["host"] = Field(
            non_empty(), doc='The host of a `"single_host"` pool (MongooseIM 6.0).'
        )
    fields.update(
        {
            "workers": Field(
                Int(min=1), default=20 if kind == "cassandra" else 10, doc="Connections."
            ),
            "strategy": Field(
                Enum(*_STRATEGIES), default="best_worker", doc="How a connection is picked."
            ),
            "call_timeout": Field(
                Int(min=1),
                default=60000 if kind == "rdbms" else 5000,
                doc="Milliseconds a caller waits for a connection's answer.",
            ),
            "max_worker_queue_len": Field(
                Int(min=0),
                doc="Most requests queued per connection (best_worker only); not set: no limit.",
            ),
        }
    )
    connection = _CONNECTIONS[kind]()
    # Connection tables with no required option may be left out entirely.
    if any(f.required for f in connection.fields.values()):
        fields["connection"] = Field(connection, required=True, doc=connection.doc)
    else:
        fields["connection"] = Field(connection, default={}, doc=connection.doc)
    compat = "" if kind in ("rdbms", "redis", "http", "ldap") else _NOT_USED_YET
    return Section(
        fields,
        doc=f"A {kind} pool." + (f" ({compat})" if compat else ""),
        validate=_check_pool,
    )


def _pools(in_host_config: bool) -> Section:
    return Section(
        {
            kind: Field(
                MapOf(_pool(kind, in_host_config), key=non_empty(), key_doc="tag"),
                default={},
                doc=f"{kind} pools by tag.",
                compat="" if kind in ("rdbms", "redis", "http", "ldap") else _NOT_USED_YET,
            )
            for kind in POOL_TYPES
        },
        doc="Connection pools; `default` is the tag most users look for.",
    )


def pools_section() -> Section:
    """The top-level ``[outgoing_pools]`` table.

    Returns:
        The section: type -> tag -> pool options.
    """
    return _pools(in_host_config=False)


def host_pools_section() -> Section:
    """``host_config[].outgoing_pools``: pools of one host (no ``scope``).

    Returns:
        The section.
    """
    return _pools(in_host_config=True)
