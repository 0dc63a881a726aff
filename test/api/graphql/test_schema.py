"""Tests for mongoose.api.graphql.schema: schemas generated from the command registry."""

from __future__ import annotations

from graphql import GraphQLEnumType, GraphQLNonNull, get_named_type, graphql_sync
from twisted.trial.unittest import SynchronousTestCase

from mongoose.api.graphql.executor import GraphQLAPI
from mongoose.api.graphql.schema import USER_ALIASES, build_schema
from mongoose.commands.docs import build_registry
from mongoose.commands.registry import Arg, Command
from mongoose.commands.types import DOMAIN, JID, STRING, Enum, Field, Int, ListOf, Object

INTROSPECT = """
{ __schema {
    queryType { fields { name type { name fields { name args { name } } } } }
    mutationType { fields { name type { name fields { name args { name } } } } }
} }
"""


def fields_by_category(schema, root: str) -> dict[str, dict[str, list[str]]]:
    """category -> command -> argument names, read through introspection."""
    result = graphql_sync(schema, INTROSPECT)
    assert result.errors is None, result.errors
    out: dict[str, dict[str, list[str]]] = {}
    for category in result.data["__schema"][root]["fields"]:
        if category["name"] == "checkAuth":
            continue
        out[category["name"]] = {
            f["name"]: [a["name"] for a in f["args"]] for f in category["type"]["fields"]
        }
    return out


async def _noop(**_kwargs):
    return None


class IntrospectionTests(SynchronousTestCase):
    """Introspection of each schema matches the registry."""

    def test_admin_schema_has_every_command_with_its_arguments(self):
        """Each command is a field under its category, read commands under query."""
        registry = build_registry()
        schema = build_schema(registry, "admin")
        queries = fields_by_category(schema, "queryType")
        mutations = fields_by_category(schema, "mutationType")
        for command in registry.list():
            where = queries if command.action == "read" else mutations
            self.assertEqual(where[command.category][command.name],
                             [a.name for a in command.args], command.key)

    def test_user_schema_has_user_commands_without_identity(self):
        """The user schema serves user-policy commands only, without the 'user' argument."""
        registry = build_registry()
        schema = build_schema(registry, "user")
        queries = fields_by_category(schema, "queryType")
        mutations = fields_by_category(schema, "mutationType")
        served = {(cat, name) for part in (queries, mutations)
                  for cat, names in part.items() for name in names}
        expected = {c.key for c in registry.list() if c.security_policy == "user"}
        # MongooseIM's user-schema names of a few of them, served as well.
        expected |= {(category, alias) for (category, _), alias in USER_ALIASES.items()}
        self.assertEqual(served, expected)
        self.assertEqual(queries["session"]["listSessions"], [])
        self.assertEqual(queries["vcard"]["getVcard"], ["user"])
        self.assertEqual(mutations["roster"]["addContact"], ["contact", "name", "groups"])
        self.assertNotIn("registerUser", mutations.get("account", {}))

    def test_registered_command_appears_and_unregistered_goes(self):
        """A command registered after start is served by the next request, then removed."""
        registry = build_registry()
        api = GraphQLAPI(registry, "admin")
        self.assertNotIn("demo", fields_by_category(api.schema, "queryType"))
        registry.register(Command(
            category="demo", name="echoDomain", description="Echo a domain", action="read",
            security_policy="domain_admin", domain_arg="domain", handler=_noop,
            args=(Arg("domain", DOMAIN),), result=STRING))
        self.assertEqual(fields_by_category(api.schema, "queryType")["demo"],
                         {"echoDomain": ["domain"]})
        registry.unregister("demo", "echoDomain")
        self.assertNotIn("demo", fields_by_category(api.schema, "queryType"))


class TypeMappingTests(SynchronousTestCase):
    """Registry types become MongooseIM's scalar, enum and object types."""

    def setUp(self):
        self.schema = build_schema(build_registry(), "admin")

    def arg_type(self, root, category, name, arg):
        """The GraphQL type of one argument."""
        category_type = self.schema.get_type(root).fields[category].type
        return category_type.fields[name].args[arg].type

    def test_scalars_follow_mongooseim(self):
        """JID, DomainName, UserName, PosInt and NonNegInt are used, required args are non-null."""
        listing = self.schema.get_type("AccountAdminQuery").fields["listUsers"]
        self.assertEqual(str(listing.args["domain"].type), "DomainName!")
        self.assertEqual(str(listing.args["limit"].type), "PosInt")
        self.assertEqual(str(listing.args["index"].type), "NonNegInt")
        register = self.schema.get_type("AccountAdminMutation").fields["registerUser"]
        self.assertEqual(str(register.args["username"].type), "UserName")
        self.assertEqual(str(register.args["password"].type), "String!")
        self.assertEqual(str(register.type), "UserPayload")
        remove = self.schema.get_type("AccountAdminMutation").fields["removeUser"]
        self.assertEqual(str(remove.args["user"].type), "JID!")

    def test_enums_carry_mongooseim_names_and_values(self):
        """Roster subscription actions are the SubAction enum with upper-case values."""
        action = self.arg_type("AdminMutation", "roster", "subscription", "action")
        self.assertIsInstance(action, GraphQLNonNull)
        enum = get_named_type(action)
        self.assertIsInstance(enum, GraphQLEnumType)
        self.assertEqual(enum.name, "SubAction")
        self.assertEqual(set(enum.values), {"INVITE", "ACCEPT", "DECLINE", "CANCEL"})

    def test_object_results_and_inputs(self):
        """Object args become input types, object results object types, lists typed."""
        contacts = self.arg_type("AdminMutation", "roster", "addContacts", "contacts")
        # Input list items are nullable: MongooseIM's [ContactInput!]! variables fit.
        self.assertEqual(str(contacts), "[ContactInput]!")
        registry = build_registry()
        item = Object("Pair", [Field("left", JID), Field("right", Int(min=0), optional=True),
                               Field("kind", Enum("x-y", "z"))])
        registry.register(Command(
            category="demo", name="pairs", description="Pairs", action="read",
            security_policy="admin", handler=_noop, args=(Arg("items", ListOf(item)),),
            result=ListOf(item)))
        schema = build_schema(registry, "admin")
        field = schema.get_type("DemoAdminQuery").fields["pairs"]
        # Result list items are non-null, so are object fields not marked optional.
        self.assertEqual(str(field.type), "[Pair!]")
        self.assertEqual(str(field.args["items"].type), "[PairInput]!")
        self.assertEqual(str(field.type.of_type.of_type.fields["left"].type), "JID!")
        self.assertEqual(str(field.type.of_type.of_type.fields["right"].type), "NonNegInt")
        pair_input = schema.get_type("PairInput")
        self.assertEqual(str(pair_input.fields["right"].type), "NonNegInt")
        self.assertEqual(str(pair_input.fields["left"].type), "JID!")
        self.assertEqual(set(get_named_type(pair_input.fields["kind"].type).values),
                         {"X_Y", "Z"})

    def test_metric_union_enum_and_maps(self):
        """MetricResult is a union; MetricType keeps lower-case values; maps are entry lists."""
        metrics = self.schema.get_type("MetricAdminQuery").fields
        self.assertEqual(str(metrics["getMetrics"].type), "[MetricResult!]")
        union = self.schema.get_type("MetricResult")
        self.assertEqual(sorted(t.name for t in union.types),
                         ["CounterMetric", "GaugeMetric", "HistogramMetric", "SpiralMetric"])
        self.assertEqual(set(self.schema.get_type("MetricType").values),
                         {"histogram", "counter", "spiral", "gauge"})
        self.assertEqual(str(metrics["getMetricsAsDicts"].type), "[MetricDictResult!]")
        self.assertEqual(str(metrics["getClusterMetricsAsDicts"].args["nodes"].type),
                         "[String]")
        values = get_named_type(metrics["getGlobalMetric"].type).fields["metric"].type
        entry = get_named_type(values)
        self.assertEqual(set(entry.fields), {"key", "value"})
        stats = self.schema.get_type("StatsAdminQuery").fields
        self.assertEqual(str(stats["globalStats"].type), "GlobalStats")
        self.assertEqual(str(stats["domainStats"].args["domain"].type), "DomainName!")

    def test_check_auth_on_both_schemas(self):
        """checkAuth is a query on the admin and the user schema."""
        user = build_schema(build_registry(), "user")
        self.assertEqual(str(self.schema.query_type.fields["checkAuth"].type), "AdminAuthInfo")
        self.assertEqual(str(user.query_type.fields["checkAuth"].type), "UserAuthInfo")
