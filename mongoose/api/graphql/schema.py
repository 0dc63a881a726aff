"""Build MongooseIM-style GraphQL schemas from the command registry.

Follows MongooseIM's ``admin/admin_schema.gql`` and ``user/user_schema.gql``:
the root ``query`` type has ``checkAuth`` and one field per command
category (``account``, ``roster`` ...) whose type holds the category's
``read`` commands; the root ``mutation`` type has the same shape for the
``create``/``update``/``delete`` commands.  Each command is a field with
its arguments typed from the registry's closed type set; object results
become object types named by :class:`mongoose.commands.types.Object`.
The root ``subscription`` type holds ``stanza.subscribeForMessages`` and,
on the admin schema, ``stanza.subscribeForTraffic``.

The user schema holds the ``user``-policy commands without their identity
argument (``user`` or ``caller``): the authenticated user is implied.  A few
commands also answer there under MongooseIM's user-schema name
(:data:`USER_ALIASES`) or keep their identity argument, optional
(:data:`USER_OPTIONAL_IDENTITY`).

Resolvers hold no per-command code: they call the request context
(``info.context``) with the category and command name, see
:mod:`mongoose.api.graphql.executor`.
"""

from __future__ import annotations

import re
from typing import Any

from graphql import (
    GraphQLArgument,
    GraphQLBoolean,
    GraphQLEnumType,
    GraphQLEnumValue,
    GraphQLField,
    GraphQLID,
    GraphQLInputField,
    GraphQLInputObjectType,
    GraphQLInt,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLString,
    GraphQLUnionType,
)

from mongoose.api.graphql.scalars import SCALARS
from mongoose.commands.caller import USER
from mongoose.commands.registry import Command, CommandRegistry
from mongoose.commands.types import (
    ArgType,
    Bool,
    DateTime,
    Domain,
    Enum,
    Id,
    Int,
    Jid,
    ListOf,
    MapOf,
    Object,
    OneOf,
    Resource,
    String,
    Username,
    Xml,
)

__all__ = ["ADMIN_SCHEMA", "USER_SCHEMA", "build_schema", "type_name_of_category"]

ADMIN_SCHEMA = "admin"
USER_SCHEMA = "user"

#: MongooseIM's names for enums we know by their values (``global/roster.gql``,
#: ``admin/session.gql``, ``global/domain.gql``, ``global/vcard.gql`` ...); other
#: enums get a name from where they are used.
KNOWN_ENUMS: dict[frozenset[str], str] = {
    frozenset({"invite", "accept", "decline", "cancel"}): "SubAction",
    frozenset({"connect", "disconnect"}): "MutualSubAction",
    frozenset({"available", "error", "probe", "subscribe", "subscribed", "unavailable",
               "unsubscribe", "unsubscribed"}): "PresenceType",
    frozenset({"online", "away", "chat", "dnd", "xa"}): "PresenceShow",
    frozenset({"none", "both", "from", "to"}): "ContactSub",
    frozenset({"none", "emergency", "alert", "critical", "error", "warning", "notice", "info",
               "debug", "all"}): "LogLevel",
    frozenset({"RUNNING", "NOT_RUNNING"}): "StatusCode",
    frozenset({"histogram", "counter", "spiral", "gauge"}): "MetricType",
    frozenset({"ENABLED", "DISABLED", "DELETING", "DELETED"}): "DomainStatus",
    frozenset({"STATIC", "DYNAMIC"}): "DomainType",
    frozenset({"PUBLIC", "PRIVATE", "CONFIDENTIAL"}): "PrivacyClassificationTags",
}

#: Enums whose GraphQL value names keep the values' case (MongooseIM's
#: ``admin/metric.gql`` spells ``MetricType`` in lower case).
KEEP_CASE_ENUMS = frozenset({"MetricType"})

#: The categories of MongooseIM's root types (``admin/admin_schema.gql``,
#: ``user/user_schema.gql``) and the first part of their type names, where
#: it is not the category's name in camel case (``stat`` -> ``StatsAdminQuery``).
MONGOOSEIM_CATEGORIES: dict[str, str | None] = {
    "account": None, "blocklist": None, "broadcast": None, "cets": "CETS", "domain": None,
    "externalServices": None, "gdpr": None, "httpUpload": None, "inbox": None, "last": None,
    "metric": None, "mnesia": None, "muc": "MUC", "muc_light": "MUCLight", "offline": None,
    "private": None, "roster": None, "server": None, "session": None, "stanza": None,
    "stat": "Stats", "token": None, "vcard": None,
}

#: User commands whose MongooseIM user-schema field has another name
#: (``user/session.gql``): the user schema serves them under both names.
USER_ALIASES: dict[tuple[str, str], str] = {
    ("session", "listUserSessions"): "listSessions",
    ("session", "countUserResources"): "countResources",
    ("session", "listUserResources"): "listResources",
}

#: User commands whose identity argument stays in the user schema, optional
#: (MongooseIM's ``getVcard(user: JID)``, ``getLast(user: JID)``): omitted, it
#: is the caller; the registry lets a user name only their own account.
USER_OPTIONAL_IDENTITY = frozenset({("vcard", "getVcard"), ("last", "getLast")})

#: Required arguments MongooseIM's schemas declare nullable
#: (``sendStanza(stanza: XmlElement)``): nullable here too, so that a variable
#: declared as MongooseIM declares it fits; the registry still answers a
#: missing value with ``bad_request``.
NULLABLE_ARGS = frozenset({("stanza", "sendStanza", "stanza")})

_NOT_NAME = re.compile(r"[^_0-9A-Za-z]")


def _camel(text: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[_\W]+", text) if part)


def type_name_of_category(category: str, schema: str, operation: str) -> str:
    """GraphQL type name of a category as MongooseIM spells it, e.g. ``StatsAdminQuery``."""
    prefix = MONGOOSEIM_CATEGORIES.get(category) or _camel(category)
    return f"{prefix}{_camel(schema)}{_camel(operation)}"


def _enum_value_name(value: str) -> str:
    name = _NOT_NAME.sub("_", value).upper() or "_"
    return "_" + name if name[0].isdigit() else name


class _TypeFactory:
    """Turns registry types into GraphQL types, one GraphQL type per name."""

    def __init__(self) -> None:
        self._enums: dict[tuple[str, ...], GraphQLEnumType] = {}
        self._outputs: dict[str, tuple[Object, GraphQLObjectType]] = {}
        self._inputs: dict[str, tuple[Object, GraphQLInputObjectType]] = {}
        self._unions: dict[str, tuple[OneOf, GraphQLUnionType]] = {}
        self._names: set[str] = set(SCALARS) | {
            "AuthStatus", "AuthType", "AdminAuthInfo", "UserAuthInfo", "StanzaMap", "TraceMap",
            "AdminSubscription", "UserSubscription", "StanzaAdminSubscription",
            "StanzaUserSubscription", "AdminQuery", "AdminMutation", "UserQuery",
            "UserMutation"}

    def fresh_name(self, name: str) -> str:
        """A type name not used yet in this schema, based on ``name``."""
        candidate, n = name, 2
        while candidate in self._names:
            candidate, n = f"{name}{n}", n + 1
        self._names.add(candidate)
        return candidate

    def enum(self, kind: Enum, context: str) -> GraphQLEnumType:
        key = kind.values
        if key not in self._enums:
            known = KNOWN_ENUMS.get(frozenset(key))
            name = self.fresh_name(known or _camel(context))
            if known in KEEP_CASE_ENUMS:
                values = {v: GraphQLEnumValue(v) for v in key}
            else:
                values = {_enum_value_name(v): GraphQLEnumValue(v) for v in key}
            self._enums[key] = GraphQLEnumType(name, values)
        return self._enums[key]

    def scalar(self, kind: ArgType) -> Any:
        """MongooseIM's scalar for a registry type (``global/scalar_types.gql``)."""
        if isinstance(kind, Jid):
            if kind.full:
                return SCALARS["FullJID"]
            return SCALARS["BareJID"] if kind.bare else SCALARS["JID"]
        if isinstance(kind, Domain):
            return SCALARS["DomainName"]
        if isinstance(kind, Username):
            return SCALARS["UserName"]
        if isinstance(kind, DateTime):
            return SCALARS["DateTime"]
        if isinstance(kind, Bool):
            return GraphQLBoolean
        if isinstance(kind, Int):
            if kind.min == 1:
                return SCALARS["PosInt"]
            if kind.min == 0:
                return SCALARS["NonNegInt"]
            return GraphQLInt
        if isinstance(kind, Resource):
            return SCALARS["ResourceName"]
        if isinstance(kind, Xml):
            return SCALARS["XmlElement"]
        if isinstance(kind, Id):
            return GraphQLID
        if isinstance(kind, String):
            return SCALARS["NonEmptyString"] if kind.non_empty else GraphQLString
        raise TypeError(f"no GraphQL type for {kind.label()}")

    def input(self, kind: ArgType, context: str) -> Any:
        """The GraphQL input type of an argument type (nullable).

        List items are nullable too, so a variable typed as MongooseIM types
        it (``[String]`` or ``[String!]``) fits; the registry refuses a null
        item with ``bad_request``.
        """
        if isinstance(kind, Enum):
            return self.enum(kind, context)
        if isinstance(kind, ListOf):
            return GraphQLList(self.input(kind.item, context))
        if isinstance(kind, Object):
            return self._input_object(kind)
        if isinstance(kind, (OneOf, MapOf)):
            raise TypeError(f"{kind.label()} cannot be a GraphQL argument ({context})")
        return self.scalar(kind)

    def output(self, kind: ArgType, context: str) -> Any:
        """The GraphQL output type of a result type (nullable).

        Results never hold null list items, so items are non-null, as
        MongooseIM mostly declares them (``[Session!]``).
        """
        if isinstance(kind, Enum):
            return self.enum(kind, context)
        if isinstance(kind, ListOf):
            return GraphQLList(GraphQLNonNull(self.output(kind.item, context)))
        if isinstance(kind, Object):
            return self._output_object(kind)
        if isinstance(kind, OneOf):
            return self._union(kind)
        if isinstance(kind, MapOf):
            return GraphQLList(self._entry(kind, context))
        return self.scalar(kind)

    def _union(self, kind: OneOf) -> GraphQLUnionType:
        known = self._unions.get(kind.type_name)
        if known is not None and known[0] == kind:
            return known[1]
        members = {tag: self._output_object(member) for tag, member in kind.members}
        names = {tag: gql.name for tag, gql in members.items()}

        def resolve_type(value: Any, _info: Any, _type: Any) -> str | None:
            tag = value.get(kind.tag) if isinstance(value, dict) else None
            return names.get(tag)

        gql = GraphQLUnionType(self.fresh_name(kind.type_name), list(members.values()),
                               resolve_type=resolve_type)
        if known is None:
            self._unions[kind.type_name] = (kind, gql)
        return gql

    def _entry(self, kind: MapOf, context: str) -> GraphQLObjectType:
        """``{key, value}``: one entry of a map (GraphQL has no map type)."""
        name = self.fresh_name(_camel(context) + "Entry")
        return GraphQLObjectType(name, lambda: {
            "key": GraphQLField(GraphQLString, description="The key"),
            "value": GraphQLField(self.output(kind.value, name + "Value"),
                                  description="The value"),
        })

    def _input_object(self, kind: Object) -> GraphQLInputObjectType:
        known = self._inputs.get(kind.type_name)
        if known is not None and known[0] == kind:
            return known[1]
        base = kind.type_name if kind.type_name.endswith("Input") else kind.type_name + "Input"
        name = self.fresh_name(base)

        def fields() -> dict[str, GraphQLInputField]:
            result = {}
            for fld in kind.fields:
                gtype = self.input(fld.type, name + _camel(fld.name))
                result[fld.name] = GraphQLInputField(
                    gtype if fld.optional else GraphQLNonNull(gtype),
                    description=fld.description or None,
                )
            return result

        gql = GraphQLInputObjectType(name, fields)
        if known is None:
            self._inputs[kind.type_name] = (kind, gql)
        return gql

    def _output_object(self, kind: Object) -> GraphQLObjectType:
        known = self._outputs.get(kind.type_name)
        if known is not None and known[0] == kind:
            return known[1]
        name = self.fresh_name(kind.type_name)

        def fields() -> dict[str, GraphQLField]:
            result = {}
            for fld in kind.fields:
                gtype = self.output(fld.type, name + _camel(fld.name))
                result[fld.name] = GraphQLField(
                    gtype if fld.optional else GraphQLNonNull(gtype),
                    description=fld.description or None,
                )
            return result

        gql = GraphQLObjectType(name, fields)
        if known is None:
            self._outputs[kind.type_name] = (kind, gql)
        return gql


def _resolve_category(category: str):
    def resolve(_root: Any, info: Any) -> Any:
        return info.context.open_category(category)

    return resolve


def graphql_value(kind: ArgType | None, value: Any) -> Any:
    """A command's JSON result in the shape of its GraphQL type (maps become entry lists)."""
    if value is None or kind is None:
        return value
    if isinstance(kind, MapOf) and isinstance(value, dict):
        return [{"key": k, "value": graphql_value(kind.value, v)} for k, v in value.items()]
    if isinstance(kind, ListOf) and isinstance(value, list):
        return [graphql_value(kind.item, v) for v in value]
    if isinstance(kind, OneOf) and isinstance(value, dict):
        try:
            kind = kind.member(value)
        except Exception:
            return value
    if isinstance(kind, Object) and isinstance(value, dict):
        fields = {f.name: f.type for f in kind.fields}
        return {k: graphql_value(fields.get(k), v) for k, v in value.items()}
    return value


def _needs_reshaping(kind: ArgType | None) -> bool:
    if isinstance(kind, MapOf):
        return True
    if isinstance(kind, ListOf):
        return _needs_reshaping(kind.item)
    if isinstance(kind, OneOf):
        return any(_needs_reshaping(m) for _, m in kind.members)
    if isinstance(kind, Object):
        return any(_needs_reshaping(f.type) for f in kind.fields)
    return False


def _resolve_command(command: Command):
    category, name = command.key
    reshape = _needs_reshaping(command.result)

    def resolve(_root: Any, info: Any, **args: Any) -> Any:
        value = info.context.run_command(category, name, args, tuple(info.path.as_list()))
        return graphql_value(command.result, value) if reshape else value

    return resolve


def _resolve_check_auth(_root: Any, info: Any) -> Any:
    return info.context.check_auth()


def _auth_types(schema: str) -> GraphQLObjectType:
    status = GraphQLEnumType(
        "AuthStatus",
        {"AUTHORIZED": GraphQLEnumValue("AUTHORIZED", description="Request is authorized"),
         "UNAUTHORIZED": GraphQLEnumValue("UNAUTHORIZED",
                                          description="Request is unauthorized")},
        description="All authorization statuses",
    )
    if schema == USER_SCHEMA:
        return GraphQLObjectType(
            "UserAuthInfo",
            {"username": GraphQLField(SCALARS["UserName"],
                                      description="Authorized as this user (the bare JID)"),
             "authStatus": GraphQLField(status, description="Authorization status")},
            description="Information about user request authorization",
        )
    auth_type = GraphQLEnumType(
        "AuthType",
        {"DOMAIN_ADMIN": GraphQLEnumValue("DOMAIN_ADMIN"),
         "ADMIN": GraphQLEnumValue("ADMIN"),
         "UNAUTHORIZED": GraphQLEnumValue("UNAUTHORIZED")},
        description="Who the request is authorized as",
    )
    return GraphQLObjectType(
        "AdminAuthInfo",
        {"domain": GraphQLField(SCALARS["DomainName"], description="Authorized for a domain"),
         "authStatus": GraphQLField(GraphQLNonNull(status), description="Authorization status"),
         "authType": GraphQLField(auth_type, description="Authorized as")},
        description="Information about admin request authorization",
    )


def _resolve_subscription_category(root: Any, info: Any) -> Any:
    if root is not None:
        return root.get("stanza")
    return info.context.open_category("stanza")


def _resolve_subscribe_messages(root: Any, info: Any, **args: Any) -> Any:
    if root:
        return root.get("subscribeForMessages")
    return info.context.subscribe_messages(args)


def _resolve_subscribe_traffic(root: Any, info: Any, **args: Any) -> Any:
    if root:
        return root.get("subscribeForTraffic")
    return info.context.subscribe_traffic(args)


def _trace_map() -> GraphQLObjectType:
    """MongooseIM's ``TraceMap`` (``global/stanza.gql``): one stanza of ``service_traffic``."""
    return GraphQLObjectType("TraceMap", {
        "pid": GraphQLField(GraphQLString, description="Session pid"),
        "jid": GraphQLField(SCALARS["JID"], description="Session owner"),
        "timestamp": GraphQLField(SCALARS["DateTime"], description="Stanza's timestamp"),
        "dir": GraphQLField(GraphQLString, description="Direction"),
        "stanza": GraphQLField(GraphQLString, description="Stanza's data"),
    }, description="Trace map data")


def _subscription_root(schema: str) -> GraphQLObjectType:
    """MongooseIM's ``stanza`` subscriptions (``admin/stanza.gql``, ``user/stanza.gql``).

    ``subscribeForMessages`` on both schemas, ``subscribeForTraffic`` (needs
    ``service_traffic``) on the admin schema.  Not registry commands: their
    events come from the router and from ``service_traffic``, see
    :mod:`mongoose.api.graphql.subscriptions`.
    """
    stanza_map = GraphQLObjectType("StanzaMap", {
        "sender": GraphQLField(SCALARS["JID"], description="Sender's JID"),
        "timestamp": GraphQLField(SCALARS["DateTime"], description="Stanza's timestamp"),
        "stanza_id": GraphQLField(GraphQLString, description="ID of the stanza"),
        "stanza": GraphQLField(SCALARS["XmlElement"], description="Stanza's data"),
    }, description="A stanza received by the subscribed user")
    args = {} if schema == USER_SCHEMA else {
        "caller": GraphQLArgument(GraphQLNonNull(SCALARS["JID"]),
                                  description="The user whose messages to receive")}
    prefix = "Admin" if schema == ADMIN_SCHEMA else "User"
    fields = {
        "subscribeForMessages": GraphQLField(
            stanza_map, args=args, resolve=_resolve_subscribe_messages,
            description="Subscribe to a user's incoming messages (over Server-Sent Events)"),
    }
    if schema == ADMIN_SCHEMA:
        fields["subscribeForTraffic"] = GraphQLField(
            _trace_map(), resolve=_resolve_subscribe_traffic,
            args={"limit": GraphQLArgument(GraphQLInt, description="The most stanzas to send "
                                                                    "before the stream ends")},
            description="Subscribe for XMPP traffic (the stanzas of every client session; "
                        "global admin only; needs service_traffic)")
    category = GraphQLObjectType(f"Stanza{prefix}Subscription", fields)
    return GraphQLObjectType(f"{prefix}Subscription", {
        "stanza": GraphQLField(category, resolve=_resolve_subscription_category,
                               description="Stanza subscriptions"),
    })


def _command_field(command: Command, schema: str, types: _TypeFactory) -> GraphQLField:
    identity = command.identity_arg if schema == USER_SCHEMA else None
    optional_identity = command.key in USER_OPTIONAL_IDENTITY
    args: dict[str, GraphQLArgument] = {}
    for arg in command.args:
        if arg.name == identity and not optional_identity:
            continue
        gtype = types.input(arg.type, _camel(command.name) + _camel(arg.name))
        required = (arg.required and arg.name != identity
                    and (*command.key, arg.name) not in NULLABLE_ARGS)
        args[arg.name] = GraphQLArgument(
            GraphQLNonNull(gtype) if required else gtype,
            description=arg.description or None,
        )
    result = types.output(command.result, _camel(command.name) + "Result") \
        if command.result is not None else GraphQLString
    return GraphQLField(result, args=args, resolve=_resolve_command(command),
                        description=command.description)


def build_schema(registry: CommandRegistry, schema: str = ADMIN_SCHEMA) -> GraphQLSchema:
    """Generate the GraphQL schema of an endpoint from the registry.

    Args:
        registry: the commands to expose.
        schema: ``admin`` (global and domain admins: every command) or
            ``user`` (the ``user``-policy commands, caller implied).

    Returns:
        A schema whose resolvers expect the executor's request context.
    """
    if schema not in (ADMIN_SCHEMA, USER_SCHEMA):
        raise ValueError(f"unknown schema {schema!r}")
    types = _TypeFactory()
    commands = [c for c in registry.list()
                if schema == ADMIN_SCHEMA or c.security_policy == USER]
    roots: dict[str, dict[str, GraphQLField]] = {"query": {}, "mutation": {}}
    roots["query"]["checkAuth"] = GraphQLField(
        _auth_types(schema), resolve=_resolve_check_auth, description="Check authorization status")
    grouped: dict[tuple[str, str], list[Command]] = {}
    for command in commands:
        operation = "query" if command.action == "read" else "mutation"
        grouped.setdefault((operation, command.category), []).append(command)
    # MongooseIM's categories claim their type names first, so that another
    # category (e.g. the legacy ``stats``) cannot take ``StatsAdminQuery``.
    type_names: dict[tuple[str, str], str] = {}
    for operation, category in sorted(grouped, key=lambda key: (
            key[1] not in MONGOOSEIM_CATEGORIES, key)):
        type_names[(operation, category)] = types.fresh_name(
            type_name_of_category(category, schema, operation))
    for (operation, category), members in sorted(grouped.items()):
        fields = {c.name: _command_field(c, schema, types) for c in members}
        if schema == USER_SCHEMA:
            for command in members:
                alias = USER_ALIASES.get(command.key)
                if alias is not None and alias not in fields:
                    fields[alias] = _command_field(command, schema, types)
        type_name = type_names[(operation, category)]
        roots[operation][category] = GraphQLField(
            GraphQLObjectType(type_name, fields, description=f"{category} commands"),
            resolve=_resolve_category(category),
            description=f"{category} commands",
        )
    prefix = "Admin" if schema == ADMIN_SCHEMA else "User"
    query = GraphQLObjectType(f"{prefix}Query", roots["query"],
                              description=f"Queries available to the {schema} endpoint")
    mutation = None
    if roots["mutation"]:
        mutation = GraphQLObjectType(f"{prefix}Mutation", roots["mutation"],
                                     description=f"Mutations available to the {schema} endpoint")
    return GraphQLSchema(query=query, mutation=mutation,
                         subscription=_subscription_root(schema))
