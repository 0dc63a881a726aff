"""The ``[auth]`` table: authentication methods, passwords and SASL.

Follows "Options: Auth" and the "Authentication methods" pages (rdbms,
anonymous, external, ldap, jwt, http, pki, dummy) of the MongooseIM 6.x
documentation; SASL mechanisms per RFC 4422, SCRAM per RFC 5802/7677 and
XEP-0438 for the iteration count.
"""

from __future__ import annotations

from mongoose.config.schema import (
    Bool,
    ConfigError,
    Enum,
    Field,
    Int,
    ListOf,
    Options,
    Section,
    Str,
    join_path,
)
from mongoose.config.sections.types import file_path, int_or_infinity, non_empty
from mongoose.config.sections.xmpp_listeners import AUTH_METHODS
from mongoose.xmpp.sasl.mechanisms import DEFAULT_SASL_MECHANISMS

__all__ = [
    "AUTH_METHODS",
    "DEFAULT_SASL_MECHANISMS",
    "JWT_ALGORITHMS",
    "SASL_MECHANISMS",
    "SCRAM_HASHES",
    "auth_section",
]


_FAST_MECHANISMS = tuple(
    f"ht_{hash_name}_{binding}"
    for hash_name in ("sha256", "sha384", "sha512", "sha3_256", "sha3_384", "sha3_512")
    for binding in ("none", "expr")
)

#: Every mechanism name ``sasl_mechanisms`` accepts.
SASL_MECHANISMS = DEFAULT_SASL_MECHANISMS + ("external", "digest") + _FAST_MECHANISMS

#: SCRAM hash functions of ``auth.password.hash`` (``sha`` is SHA-1).
SCRAM_HASHES = ("sha", "sha224", "sha256", "sha384", "sha512")

#: Signing algorithms of ``auth.jwt.algorithm`` (spelled as in MongooseIM).
JWT_ALGORITHMS = (
    "HS256",
    "RS256",
    "ES256",
    "HS386",
    "RS386",
    "ES386",
    "HS512",
    "RS512",
    "ES512",
)


def _password() -> Section:
    return Section(
        {
            "format": Field(
                Enum("scram", "plain"),
                default="scram",
                doc="Store SCRAM hashes (`scram`) or the passwords themselves (`plain`).",
            ),
            "hash": Field(
                ListOf(Enum(*SCRAM_HASHES), unique=True, nonempty=True),
                default=list(SCRAM_HASHES),
                doc="SCRAM hash functions kept (`sha` is SHA-1); limits the SCRAM-SHA-* "
                "mechanisms offered.",
            ),
            "scram_iterations": Field(
                Int(min=1), default=10000, doc="PBKDF2 iteration count of new SCRAM hashes."
            ),
        },
        doc="How passwords are stored (internal, rdbms and http methods).",
    )


def _anonymous() -> Section:
    return Section(
        {
            "backend": Field(
                Enum("mnesia", "cets"),
                default="mnesia",
                doc="Where anonymous users are remembered.",
                compat="both values mean this node's memory",
            ),
            "allow_multiple_connections": Field(
                Bool(),
                default=False,
                doc="Let several connections share one anonymous user name.",
            ),
            "protocol": Field(
                Enum("sasl_anon", "login_anon", "both"),
                default="sasl_anon",
                doc="`sasl_anon`: SASL ANONYMOUS; `login_anon`: any user name and "
                "password log in; `both`.",
            ),
        },
        doc="Anonymous login.",
    )


def _dummy() -> Section:
    return Section(
        {
            "base_time": Field(
                Int(min=0), default=50, doc="Milliseconds every check takes at least."
            ),
            "variance": Field(
                Int(min=1), default=450, doc="Random extra milliseconds (up to this)."
            ),
        },
        doc="Accepts any password after a delay (testing only).",
    )


def _external() -> Section:
    return Section(
        {
            "program": Field(
                non_empty(), required=True, doc="Path of the ejabberd-style extauth program."
            ),
            "instances": Field(Int(min=1), default=1, doc="Number of program instances."),
        },
        doc="An external program checks the credentials.",
    )


def _http() -> Section:
    return Section(
        {
            "basic_auth": Field(Str(), doc='`"user:password"` sent to the service; not set: none.'),
        },
        doc="An HTTP service checks the credentials (pool `outgoing_pools.http.auth`).",
    )


def _one_secret(options: Options, path: str, errors: list[ConfigError]) -> None:
    if len(options) != 1:
        errors.append(ConfigError(path, "give exactly one of file, env, value"))


def _jwt() -> Section:
    secret = Section(
        {
            "file": Field(file_path(), doc="File holding the key."),
            "env": Field(non_empty(), doc="Environment variable holding the key."),
            "value": Field(Str(), doc="The key itself."),
        },
        doc="Where the verification key comes from (exactly one option).",
        validate=_one_secret,
    )
    return Section(
        {
            "secret": Field(secret, required=True, doc="Verification key."),
            "algorithm": Field(Enum(*JWT_ALGORITHMS), required=True, doc="Signing algorithm."),
            "username_key": Field(non_empty(), required=True, doc="Claim holding the user name."),
        },
        doc="The password is a JSON Web Token.",
    )


def _ldap() -> Section:
    uid = Section(
        {
            "attr": Field(non_empty(), required=True, doc="LDAP attribute with the user name."),
            "format": Field(Str(), doc='Pattern with `%u`, e.g. `"%u@example.com"`.'),
        },
        doc="One user-name attribute.",
    )
    dn_filter = Section(
        {
            "filter": Field(Str(), required=True, doc="Filter applied after the DN is found."),
            "attributes": Field(
                ListOf(Str()), default=[], doc="Attributes substituted into the filter."
            ),
        },
        doc="Extra filter on the user's DN.",
    )
    local_filter = Section(
        {
            "operation": Field(Enum("equal", "notequal"), required=True, doc="Comparison."),
            "attribute": Field(non_empty(), required=True, doc="Attribute compared."),
            "values": Field(ListOf(Str(), nonempty=True), required=True, doc="Values."),
        },
        doc="Filter evaluated by the server on the user's attributes.",
    )
    return Section(
        {
            "pool_tag": Field(
                non_empty(), default="default", doc="Pool `outgoing_pools.ldap.TAG` for searches."
            ),
            "bind_pool_tag": Field(
                non_empty(), default="bind", doc="Pool `outgoing_pools.ldap.TAG` for binds."
            ),
            "base": Field(Str(), default="", doc="Search base DN."),
            "uids": Field(
                ListOf(uid),
                default=[{"attr": "uid", "format": "%u"}],
                doc="Attributes that hold user names.",
            ),
            "filter": Field(Str(), default="", doc="Extra search filter."),
            "dn_filter": Field(dn_filter, doc="Filter on the found DN. Not set: none."),
            "local_filter": Field(local_filter, doc="Local attribute filter. Not set: none."),
            "deref": Field(
                Enum("never", "always", "finding", "searching"),
                default="never",
                doc="Alias dereferencing.",
            ),
        },
        doc="Users live in an LDAP directory.",
    )


def _rdbms() -> Section:
    return Section(
        {
            "users_number_estimate": Field(
                Bool(),
                default=False,
                doc="Count users from the database's table statistics (fast, approximate).",
            ),
        },
        doc="Users live in the SQL database of `outgoing_pools.rdbms.default`.",
    )


def _method_sections() -> dict[str, Section]:
    return {
        "anonymous": _anonymous(),
        "dummy": _dummy(),
        "external": _external(),
        "http": _http(),
        "internal": Section({}, doc="Users live in the node's own database."),
        "jwt": _jwt(),
        "ldap": _ldap(),
        "pki": Section({}, doc="The client's TLS certificate proves its identity."),
        "rdbms": _rdbms(),
    }


def _check_methods(options: Options, path: str, errors: list[ConfigError]) -> Options:
    methods = options.get("methods")
    if methods is None:
        present = tuple(m for m in AUTH_METHODS if m in options)
        if not present:
            # MongooseIM would enable no method at all; mongoose keeps a file
            # without [auth] usable by enabling its own user database.
            return options.replace(methods=("internal",), internal=Options({}))
        return options.replace(methods=present)
    # A method listed without its table uses the table's defaults, as when
    # the table is given empty; a required option of it is still reported.
    specs = _method_sections()
    added = {}
    for method in methods:
        if method not in options and method in specs:
            added[method] = specs[method].parse({}, join_path(path, method), errors)
    return options.replace(**added) if added else options


def auth_section() -> Section:
    """The ``[auth]`` table (also ``host_config[].auth``).

    Returns:
        The section; ``methods`` defaults to the method tables present.
    """
    fields: dict[str, Field] = {
        "methods": Field(
            ListOf(Enum(*AUTH_METHODS), unique=True),
            doc="Methods tried in order until one accepts; each needs its table.",
            default_doc="the method tables present, in alphabetical order; none "
            'present: `["internal"]` (MongooseIM would enable no method)',
        ),
        "password": Field(_password(), default={}, doc="Password storage."),
        "sasl_mechanisms": Field(
            ListOf(Enum(*SASL_MECHANISMS), unique=True),
            default=list(DEFAULT_SASL_MECHANISMS),
            doc="SASL mechanisms offered, in this order (filtered by what the methods support).",
        ),
        "sasl_external": Field(
            ListOf(Enum("standard", "common_name", "auth_id"), unique=True, nonempty=True),
            default=["standard"],
            doc="How SASL EXTERNAL maps a client certificate to a user, tried in order.",
        ),
        "sasl_external_common_name": Field(
            Section(
                {
                    "prefix": Field(Str(), default="", doc="Prepended to the common name."),
                    "suffix": Field(Str(), default="", doc="Appended to the common name."),
                },
                doc="User name made from a certificate's common name.",
            ),
            default={},
            doc="Used by the `common_name` way of SASL EXTERNAL.",
        ),
        "max_users_per_domain": Field(
            int_or_infinity(),
            default="infinity",
            doc="Most registered users per domain (internal, rdbms, ldap).",
        ),
    }
    for name, section in _method_sections().items():
        fields[name] = Field(section, doc=f"Enables the `{name}` method. {section.doc}")
    return Section(fields, doc="Authentication.", validate=_check_methods)
