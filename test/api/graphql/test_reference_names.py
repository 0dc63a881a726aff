"""Our generated GraphQL type names against MongooseIM's own schema files.

MongooseIM's schemas (``admin/**`` + ``global/**`` for the admin and
domain_admin endpoints, ``user/**`` + ``global/**`` for the user endpoint)
are read from the shared reference material.  For every category we serve
that MongooseIM has too, the category's type must carry MongooseIM's name
(``stat`` -> ``StatsAdminQuery``), and so must every object, union and enum
type reachable from it through fields both schemas have.  Clients that use
fragments (``... on GaugeMetric``) or introspection depend on these names.
"""

from __future__ import annotations

import glob
import os

from graphql import (
    GraphQLEnumType,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLUnionType,
    build_ast_schema,
    get_named_type,
    parse,
)
from twisted.trial.unittest import SkipTest, SynchronousTestCase

from mongoose.api.graphql.schema import MONGOOSEIM_CATEGORIES, build_schema
from mongoose.commands.docs import build_registry


def _reference_dir() -> str:
    """The folder of MongooseIM's GraphQL schemas in the shared reference material."""
    here = os.path.dirname(os.path.abspath(__file__))
    candidate = os.path.join(here, *[os.pardir] * 4, "shared", "reference", "mongooseim",
                             "graphql")
    if os.path.isdir(candidate):
        return os.path.normpath(candidate)
    return "/work/shared/reference/mongooseim/graphql"


REFERENCE = _reference_dir()
_NAMED = (GraphQLObjectType, GraphQLUnionType, GraphQLEnumType)
_ROOTS = ("query_type", "mutation_type", "subscription_type")


def reference_schema(kind: str) -> GraphQLSchema:
    """MongooseIM's ``admin`` or ``user`` schema, built from its .gql files."""
    if not os.path.isdir(os.path.join(REFERENCE, kind)):
        raise SkipTest(f"MongooseIM's GraphQL schemas are not available in {REFERENCE}")
    paths = sorted(glob.glob(os.path.join(REFERENCE, kind, "*.gql")))
    # spectaql_dir.gql only serves MongooseIM's documentation generator.
    paths += sorted(p for p in glob.glob(os.path.join(REFERENCE, "global", "*.gql"))
                    if not p.endswith("spectaql_dir.gql"))
    text = "\n".join(open(p, encoding="utf-8").read() for p in paths)
    # The @spectaql directive is used but not declared outside spectaql_dir.gql.
    return build_ast_schema(parse(text), assume_valid_sdl=True)


def category_types(ours: GraphQLSchema, theirs: GraphQLSchema):
    """(root, category, our type, their type) for each category both schemas have."""
    for root in _ROOTS:
        mine, reference = getattr(ours, root), getattr(theirs, root)
        if mine is None or reference is None:
            continue
        for category, field in mine.fields.items():
            if category in reference.fields:
                yield (mine.name, category, get_named_type(field.type),
                       get_named_type(reference.fields[category].type))


def name_differences(ours: GraphQLSchema, theirs: GraphQLSchema) -> list[str]:
    """Every named type (object, union, enum) reached from the roots whose name differs."""
    differences = []
    todo = [(f"{root}.{category}", mine, reference)
            for root, category, mine, reference in category_types(ours, theirs)]
    seen: set[str] = set()
    while todo:
        where, mine, reference = todo.pop()
        if mine.name != reference.name:
            differences.append(f"{where}: ours {mine.name}, MongooseIM {reference.name}")
        if mine.name in seen:
            continue
        seen.add(mine.name)
        if isinstance(mine, GraphQLUnionType) and isinstance(reference, GraphQLUnionType):
            members = {member.name: member for member in reference.types}
            for member in mine.types:
                if member.name not in members:
                    differences.append(f"{where}: member {member.name} is not in "
                                       f"MongooseIM's {reference.name}")
                else:
                    todo.append((f"{where}|{member.name}", member, members[member.name]))
        if not (isinstance(mine, GraphQLObjectType) and isinstance(reference, GraphQLObjectType)):
            continue
        for name, field in mine.fields.items():
            if name not in reference.fields:
                continue
            ours_type = get_named_type(field.type)
            their_type = get_named_type(reference.fields[name].type)
            if isinstance(their_type, _NAMED):
                if isinstance(ours_type, _NAMED):
                    todo.append((f"{where}.{name}", ours_type, their_type))
                else:
                    differences.append(f"{where}.{name}: ours {ours_type.name}, "
                                       f"MongooseIM {their_type.name}")
    return sorted(set(differences))


class ReferenceNameTests(SynchronousTestCase):
    """Category, object, union and enum type names follow MongooseIM's schemas."""

    def setUp(self):
        self.registry = build_registry()

    def check(self, kind: str) -> list[tuple]:
        theirs = reference_schema(kind)
        ours = build_schema(self.registry, kind)
        pairs = list(category_types(ours, theirs))
        self.assertEqual(name_differences(ours, theirs), [])
        return pairs

    def test_admin_category_types(self):
        """Each admin category both schemas have is named as MongooseIM names it."""
        pairs = self.check("admin")
        names = {(root, category): mine.name for root, category, mine, _ in pairs}
        self.assertEqual(names[("AdminQuery", "stat")], "StatsAdminQuery")
        self.assertEqual(names[("AdminSubscription", "stanza")], "StanzaAdminSubscription")
        served = {category for _, category in names}
        for category in ("account", "domain", "roster", "session", "stanza", "vcard",
                         "private", "last", "stat", "server", "offline", "gdpr", "metric",
                         "blocklist"):
            self.assertIn(category, served)

    def test_user_category_types(self):
        """The same for the user schema (UserQuery, UserMutation, UserSubscription)."""
        pairs = self.check("user")
        self.assertIn(("UserQuery", "roster", "RosterUserQuery"),
                      {(root, category, mine.name) for root, category, mine, _ in pairs})

    def test_known_categories_are_mongooseims(self):
        """Every category in our table of MongooseIM names is a root field upstream."""
        upstream = set()
        for kind in ("admin", "user"):
            theirs = reference_schema(kind)
            for root in _ROOTS:
                upstream |= set(getattr(theirs, root).fields)
        self.assertEqual(set(MONGOOSEIM_CATEGORIES) - upstream, set())

    def test_a_legacy_category_cannot_take_a_mongooseim_name(self):
        """The legacy ``stats`` category yields ``StatsAdminQuery`` to ``stat``."""
        schema = build_schema(self.registry, "admin")
        if "stats" not in schema.query_type.fields:
            raise SkipTest("no legacy 'stats' category registered")
        self.assertEqual(get_named_type(schema.query_type.fields["stat"].type).name,
                         "StatsAdminQuery")
        self.assertNotEqual(get_named_type(schema.query_type.fields["stats"].type).name,
                            "StatsAdminQuery")
