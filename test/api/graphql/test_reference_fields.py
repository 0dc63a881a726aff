"""Our generated GraphQL fields, arguments and scalars against MongooseIM's schema files.

For every category both schemas have (admin and user), a query written
against MongooseIM's schema must validate against ours and its result must
fit MongooseIM's declared types:

* every field MongooseIM has is there (fields of the category types and of
  every object and input type reached from them);
* every argument MongooseIM has is there, with the same named type (so a
  variable declared as ``$u: BareJID!`` fits), and a wrapping at least as
  permissive as MongooseIM's (a variable of MongooseIM's type fits ours:
  we may accept ``[String]`` where MongooseIM says ``[String!]``); an
  argument only we have is optional;
* every field's type has the same named type and a wrapping at least as
  strict as MongooseIM's (we may answer ``[Session!]`` where MongooseIM
  says ``[Session]``);
* input object fields follow the argument rule, enum types have the same
  values.

All differences are reported in one failure message, except those in
:data:`ALLOWED`, each with the reason it is deliberate.
"""

from __future__ import annotations

from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLUnionType,
    get_named_type,
)
from twisted.trial.unittest import SynchronousTestCase

from mongoose.api.graphql.schema import build_schema
from mongoose.commands.docs import build_registry
from test.api.graphql.test_reference_names import category_types, reference_schema

#: Deliberate differences: the difference text (as :func:`field_differences`
#: words it) -> why we keep it.
ALLOWED: dict[str, str] = {
    # Command results stay nullable: an error in one command nulls that field
    # only, not the whole category object with its other results.
    "admin AdminQuery.server.globalInfo: type ours GlobalInfo, MongooseIM GlobalInfo!":
        "a failing command nulls only its own field",
    "admin AdminQuery.server.hostTypes: type ours [HostTypeInfo!], MongooseIM [HostTypeInfo!]!":
        "a failing command nulls only its own field",
    # account.importUsers reads a CSV file on the server's disk; not implemented.
    "admin AdminMutation.account.importUsers: missing":
        "importing a CSV file from the server's disk is not implemented",
    # checkPasswordHash hashes the stored password with a method the caller
    # names; the default password format (SCRAM) does not keep the password.
    "admin AdminQuery.account.checkPasswordHash: missing":
        "needs the plain password, which SCRAM storage does not keep",
    # AgentInput.vcard nests a whole vCard in the AGENT property; the vCard
    # commands store AGENT as an external value only.
    "admin AgentInput.vcard: missing": "a nested vCard in AGENT is not stored",
    "user AgentInput.vcard: missing": "a nested vCard in AGENT is not stored",
}


def _show(gtype) -> str:
    return str(gtype)


def fits(narrow, wide) -> bool:
    """A value of type ``narrow`` may be used where ``wide`` is expected.

    ``[X!]!`` fits ``[X]``; the named types must be the same.
    """
    if isinstance(wide, GraphQLNonNull):
        return isinstance(narrow, GraphQLNonNull) and fits(narrow.of_type, wide.of_type)
    if isinstance(narrow, GraphQLNonNull):
        return fits(narrow.of_type, wide)
    if isinstance(wide, GraphQLList) or isinstance(narrow, GraphQLList):
        return (isinstance(wide, GraphQLList) and isinstance(narrow, GraphQLList)
                and fits(narrow.of_type, wide.of_type))
    return narrow.name == wide.name


class _Walk:
    """Compares the types reached from the category types, collecting differences."""

    def __init__(self, kind: str):
        self.kind = kind
        self.differences: list[str] = []
        self.seen: set[str] = set()
        self.todo: list[tuple] = []

    def note(self, where: str, what: str) -> None:
        self.differences.append(f"{self.kind} {where}: {what}")

    def follow(self, mine, theirs) -> None:
        mine, theirs = get_named_type(mine), get_named_type(theirs)
        if mine.name == theirs.name:
            self.todo.append((mine, theirs))

    def run(self, ours: GraphQLSchema, theirs: GraphQLSchema) -> list[str]:
        for root, category, mine, reference in category_types(ours, theirs):
            self.compare_fields(f"{root}.{category}", mine, reference)
        while self.todo:
            mine, reference = self.todo.pop()
            if mine.name in self.seen or type(mine) is not type(reference):
                continue
            self.seen.add(mine.name)
            if isinstance(mine, GraphQLObjectType):
                self.compare_fields(mine.name, mine, reference)
            elif isinstance(mine, GraphQLInputObjectType):
                self.compare_input(mine, reference)
            elif isinstance(mine, GraphQLEnumType):
                missing = set(reference.values) - set(mine.values)
                extra = set(mine.values) - set(reference.values)
                if missing:
                    self.note(mine.name, f"enum values missing: {', '.join(sorted(missing))}")
                if extra:
                    self.note(mine.name, f"enum values MongooseIM lacks: "
                                         f"{', '.join(sorted(extra))}")
            elif isinstance(mine, GraphQLUnionType):
                members = {member.name: member for member in reference.types}
                for member in mine.types:
                    if member.name in members:
                        self.todo.append((member, members[member.name]))
        return self.differences

    def compare_fields(self, where: str, mine, reference) -> None:
        for name, theirs in reference.fields.items():
            here = f"{where}.{name}"
            ours = mine.fields.get(name)
            if ours is None:
                self.note(here, "missing")
                continue
            if not fits(ours.type, theirs.type):
                self.note(here, f"type ours {_show(ours.type)}, MongooseIM {_show(theirs.type)}")
            self.follow(ours.type, theirs.type)
            for arg, their_arg in theirs.args.items():
                our_arg = ours.args.get(arg)
                if our_arg is None:
                    self.note(f"{here}({arg})", "argument missing")
                    continue
                if not fits(their_arg.type, our_arg.type):
                    self.note(f"{here}({arg})", f"argument type ours {_show(our_arg.type)}, "
                                                f"MongooseIM {_show(their_arg.type)}")
                self.follow(our_arg.type, their_arg.type)
            for arg, our_arg in ours.args.items():
                if arg not in theirs.args and isinstance(our_arg.type, GraphQLNonNull):
                    self.note(f"{here}({arg})", "required argument MongooseIM does not have")

    def compare_input(self, mine: GraphQLInputObjectType,
                      reference: GraphQLInputObjectType) -> None:
        for name, theirs in reference.fields.items():
            here = f"{mine.name}.{name}"
            ours = mine.fields.get(name)
            if ours is None:
                self.note(here, "missing")
                continue
            if not fits(theirs.type, ours.type):
                self.note(here, f"input type ours {_show(ours.type)}, "
                                f"MongooseIM {_show(theirs.type)}")
            self.follow(ours.type, theirs.type)
        for name, ours in mine.fields.items():
            if name not in reference.fields and isinstance(ours.type, GraphQLNonNull):
                self.note(f"{mine.name}.{name}", "required input field MongooseIM does not have")


def field_differences(kind: str, ours: GraphQLSchema, theirs: GraphQLSchema) -> list[str]:
    """Every difference a MongooseIM client could notice, as one line each."""
    return sorted(set(_Walk(kind).run(ours, theirs)))


class FitsTests(SynchronousTestCase):
    """The wrapping rule itself."""

    def test_rules(self):
        """Non-null fits nullable, not the reverse; lists compare their items."""
        from graphql import GraphQLString
        s = GraphQLString
        self.assertTrue(fits(GraphQLNonNull(s), s))
        self.assertFalse(fits(s, GraphQLNonNull(s)))
        self.assertTrue(fits(GraphQLList(GraphQLNonNull(s)), GraphQLList(s)))
        self.assertFalse(fits(GraphQLList(s), GraphQLList(GraphQLNonNull(s))))
        self.assertFalse(fits(GraphQLList(s), s))


class ReferenceFieldTests(SynchronousTestCase):
    """Fields, arguments, scalars and enum values follow MongooseIM's schemas."""

    def setUp(self):
        self.registry = build_registry()

    def check(self, kind: str) -> None:
        ours = build_schema(self.registry, kind)
        found = field_differences(kind, ours, reference_schema(kind))
        unexpected = [line for line in found if line not in ALLOWED]
        self.assertEqual(unexpected, [], "differences from MongooseIM's schema:\n"
                         + "\n".join(unexpected))
        return found

    def test_admin_fields(self):
        """The admin schema's fields, arguments and types fit MongooseIM's."""
        self.check("admin")

    def test_user_fields(self):
        """The user schema's fields, arguments and types fit MongooseIM's."""
        self.check("user")

    def test_allow_list_is_current(self):
        """Every allowed difference still exists (the allow-list does not rot)."""
        found = set()
        for kind in ("admin", "user"):
            found |= set(field_differences(kind, build_schema(self.registry, kind),
                                           reference_schema(kind)))
        self.assertEqual(sorted(set(ALLOWED) - found), [])
