"""Tests for mongoose.commands.types: every type from JSON, CLI text and XEP-0004 forms."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from twisted.trial.unittest import SynchronousTestCase
from twisted.words.protocols.jabber.jid import JID as TwistedJID

from mongoose.commands.errors import CommandError
from mongoose.commands.types import (
    BOOL,
    DATETIME,
    DOMAIN,
    INT,
    JID,
    STRING,
    USERNAME,
    ArgType,
    Enum,
    Field,
    Int,
    Jid,
    ListOf,
    MapOf,
    Object,
    OneOf,
)

PAYLOAD = Object("Payload", [Field("jid", JID), Field("count", INT),
                             Field("note", STRING, optional=True)])


class BadInputMixin:
    """Assertion helper for bad_request errors."""

    def assertBad(self, call, *args, mentions: str = "arg"):
        """Assert ``call(*args)`` raises bad_request whose message starts with ``mentions``."""
        error = self.assertRaises(CommandError, call, *args)
        self.assertEqual(error.code, "bad_request")
        self.assertTrue(
            error.message.startswith(mentions + ":"),
            f"{error.message!r} does not start with {mentions!r}",
        )
        return error


class ScalarMatrixTests(BadInputMixin, SynchronousTestCase):
    """Each scalar type parses the same value from all three sources and serialises it."""

    # (type, json input, cli text, form values, parsed value, json output)
    CASES = [
        (STRING, "hello", "hello", ["hello"], "hello", "hello"),
        (INT, 42, "42", ["42"], 42, 42),
        (INT, -7, " -7 ", ["-7"], -7, -7),
        (BOOL, True, "true", ["1"], True, True),
        (BOOL, False, "no", ["false"], False, False),
        (DOMAIN, "LocalHost", "LOCALHOST", ["localhost"], "localhost", "localhost"),
        (USERNAME, "Alice", "alice", ["ALICE"], "alice", "alice"),
        (Enum("a", "b"), "b", "b", ["b"], "b", "b"),
    ]

    def test_scalar_matrix(self):
        """JSON, CLI and form inputs give the same value; to_json gives the JSON form."""
        for kind, as_json, as_cli, as_form, value, out in self.CASES:
            with self.subTest(kind=kind.label(), value=value):
                self.assertEqual(kind.from_json(as_json, "arg"), value)
                self.assertEqual(kind.from_cli(as_cli, "arg"), value)
                self.assertEqual(kind.from_form(as_form, "arg"), value)
                self.assertEqual(kind.to_json(value), out)

    def test_jid_from_every_source(self):
        """A JID is parsed to a normalised twisted JID and serialised as text."""
        for parse, raw in ((JID.from_json, "Alice@LocalHost/Phone"),
                           (JID.from_cli, "Alice@LocalHost/Phone"),
                           (JID.from_form, ["Alice@LocalHost/Phone"])):
            value = parse(raw, "user")
            self.assertIsInstance(value, TwistedJID)
            self.assertEqual(JID.to_json(value), "alice@localhost/Phone")

    def test_datetime_from_every_source(self):
        """Datetimes need an offset and serialise in UTC with Z."""
        expected = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
        self.assertEqual(DATETIME.from_json("2024-05-01T12:00:00Z", "at"), expected)
        self.assertEqual(DATETIME.from_cli("2024-05-01T14:00:00+02:00", "at"), expected)
        self.assertEqual(DATETIME.from_form(["2024-05-01T12:00:00+00:00"], "at"), expected)
        self.assertEqual(DATETIME.to_json(expected), "2024-05-01T12:00:00Z")
        other = datetime(2024, 5, 1, 12, 0, tzinfo=timezone(timedelta(hours=2)))
        self.assertEqual(DATETIME.to_json(other), "2024-05-01T12:00:00+02:00")

    def test_none_serialises_to_null(self):
        """Every type serialises None (an absent optional value) to null and no form value."""
        for kind in (STRING, INT, BOOL, JID, DOMAIN, USERNAME, DATETIME, Enum("x"),
                     ListOf(STRING), PAYLOAD):
            self.assertIsNone(kind.to_json(None))
            self.assertEqual(kind.to_form(None), [])

    def test_form_serialisation(self):
        """to_form gives XEP-0004 value strings (booleans as 1/0)."""
        self.assertEqual(BOOL.to_form(True), ["1"])
        self.assertEqual(BOOL.to_form(False), ["0"])
        self.assertEqual(INT.to_form(5), ["5"])
        self.assertEqual(JID.to_form(TwistedJID("a@b")), ["a@b"])
        self.assertEqual(ListOf(JID).to_form(["a@b", "c@d"]), ["a@b", "c@d"])

    def test_form_field_types(self):
        """Types map to the XEP-0004 field types the ad-hoc front end uses."""
        self.assertEqual(JID.form_type, "jid-single")
        self.assertEqual(ListOf(JID).form_type, "jid-multi")
        self.assertEqual(BOOL.form_type, "boolean")
        self.assertEqual(Enum("a").form_type, "list-single")
        self.assertEqual(ListOf(STRING).form_type, "text-multi")
        self.assertEqual(STRING.form_type, "text-single")


class BadScalarTests(BadInputMixin, SynchronousTestCase):
    """Wrong input gives bad_request naming the argument."""

    def test_wrong_json_types(self):
        """A JSON value of the wrong kind is refused by every scalar type."""
        for kind, value in ((STRING, 1), (INT, "1"), (INT, True), (INT, 1.5), (BOOL, "true"),
                            (BOOL, 1), (JID, 5), (DOMAIN, None), (USERNAME, []),
                            (DATETIME, 0), (Enum("a"), 1)):
            with self.subTest(kind=kind.label(), value=value):
                self.assertBad(kind.from_json, value, "arg")

    def test_bad_text(self):
        """Malformed text is refused with the argument name first."""
        for kind, text in ((INT, "12a"), (INT, ""), (BOOL, "maybe"), (JID, "a b@c"),
                           (JID, ""), (JID, "@localhost"), (JID, "alice@"), (JID, "a@b/"),
                           (JID, "a@foo..bar"), (DOMAIN, "bad domain"),
                           (DOMAIN, "alice@localhost"), (DOMAIN, "localhost/res"),
                           (USERNAME, "a@b"), (USERNAME, ""), (USERNAME, "a b"),
                           (DATETIME, "yesterday"), (DATETIME, "2024-05-01T12:00:00"),
                           (Enum("a", "b"), "c")):
            with self.subTest(kind=kind.label(), text=text):
                self.assertBad(kind.from_cli, text, "arg")
                self.assertBad(kind.from_form, [text], "arg")

    def test_int_bounds(self):
        """Bounded integers refuse values outside the range and say the bound."""
        error = self.assertBad(Int(min=1).from_json, 0, "limit", mentions="limit")
        self.assertIn("at least 1", error.message)
        error = self.assertBad(Int(max=3).from_cli, "4", "n", mentions="n")
        self.assertIn("at most 3", error.message)
        self.assertEqual(Int(min=1, max=3).label(), "int(1..3)")

    def test_jid_requires_user(self):
        """Jid(require_user=True) refuses a bare domain."""
        error = self.assertBad(Jid(require_user=True).from_json, "localhost", "user",
                               mentions="user")
        self.assertIn("no user part", error.message)
        self.assertEqual(Jid(require_user=True).from_json("a@b", "u").user, "a")

    def test_long_jid_part(self):
        """A JID part over 1023 bytes is refused (RFC 7622)."""
        self.assertBad(JID.from_json, "a" * 1024 + "@localhost", "arg")
        self.assertBad(USERNAME.from_json, "a" * 1024, "arg")

    def test_form_multiple_values_for_scalar(self):
        """A single-valued form field with several values is refused."""
        error = self.assertBad(STRING.from_form, ["a", "b"], "arg")
        self.assertIn("one value", error.message)

    def test_enum_error_lists_values(self):
        """The enum error names the allowed values."""
        error = self.assertBad(Enum("none", "both").from_json, "to", "sub", mentions="sub")
        self.assertIn("none, both", error.message)

    def test_error_arg_is_top_level_name(self):
        """CommandError.arg is the top-level argument even for nested paths."""
        error = self.assertBad(ListOf(INT).from_json, [1, "x"], "ids", mentions="ids[1]")
        self.assertEqual(error.arg, "ids")


class ListTests(BadInputMixin, SynchronousTestCase):
    """list(T) from every source."""

    def test_json(self):
        """A JSON array is parsed item by item."""
        self.assertEqual(ListOf(INT).from_json([1, 2], "ids"), [1, 2])
        self.assertBad(ListOf(INT).from_json, "1,2", "ids", mentions="ids")

    def test_cli_forms(self):
        """CLI lists: repeated options, a JSON array, or comma-separated text."""
        kind = ListOf(DOMAIN)
        self.assertEqual(kind.from_cli(["A.com", "b.com"], "d"), ["a.com", "b.com"])
        self.assertEqual(kind.from_cli('["a.com", "B.com"]', "d"), ["a.com", "b.com"])
        self.assertEqual(kind.from_cli("a.com, b.com", "d"), ["a.com", "b.com"])
        self.assertEqual(kind.from_cli("", "d"), [])
        self.assertEqual(kind.from_cli(["a.com", '["b.com", "c.com"]'], "d"),
                         ["a.com", "b.com", "c.com"])
        self.assertBad(kind.from_cli, ["a.com", "b c"], "d", mentions="d[1]")
        self.assertBad(kind.from_cli, "[1,", "d", mentions="d")

    def test_form_multi(self):
        """A multi-valued form field gives one item per value."""
        self.assertEqual(ListOf(JID).from_form(["a@b", "c@d"], "j")[1].user, "c")
        self.assertEqual(ListOf(BOOL).from_form(["1", "0"], "b"), [True, False])

    def test_item_error_names_index(self):
        """An item error names the item's index."""
        error = self.assertBad(ListOf(JID).from_form, ["a@b", "x y@z"], "jids",
                               mentions="jids[1]")
        self.assertEqual(error.arg, "jids")

    def test_describe(self):
        """Signatures describe the item type."""
        self.assertEqual(ListOf(JID).describe(), {"type": "list", "items": {"type": "jid"}})
        self.assertEqual(ListOf(JID).label(), "list(jid)")


class ObjectTests(BadInputMixin, SynchronousTestCase):
    """object(name, fields) from every source."""

    def test_json(self):
        """A JSON object is parsed field by field; optional fields may be absent."""
        value = PAYLOAD.from_json({"jid": "A@B", "count": 2}, "p")
        self.assertEqual(value["jid"].full(), "a@b")
        self.assertEqual(value["count"], 2)
        self.assertIsNone(value["note"])

    def test_cli_and_form_take_json_text(self):
        """On the command line and in a form an object is JSON text."""
        text = '{"jid": "a@b", "count": 1, "note": "hi"}'
        self.assertEqual(PAYLOAD.from_cli(text, "p")["note"], "hi")
        self.assertEqual(PAYLOAD.from_form([text], "p")["count"], 1)
        self.assertBad(PAYLOAD.from_cli, "{", "p", mentions="p")

    def test_field_errors(self):
        """Missing, unknown and mistyped fields are named."""
        self.assertBad(PAYLOAD.from_json, {"jid": "a@b"}, "p", mentions="p.count")
        self.assertBad(PAYLOAD.from_json, {"jid": "a@b", "count": 1, "x": 1}, "p",
                       mentions="p.x")
        self.assertBad(PAYLOAD.from_json, {"jid": "a@b", "count": "1"}, "p",
                       mentions="p.count")
        self.assertBad(PAYLOAD.from_json, ["a@b"], "p", mentions="p")

    def test_to_json(self):
        """Serialising fills absent optional fields with null and converts values."""
        self.assertEqual(
            PAYLOAD.to_json({"jid": TwistedJID("a@b"), "count": 3}),
            {"jid": "a@b", "count": 3, "note": None},
        )
        self.assertEqual(PAYLOAD.to_form({"jid": "a@b", "count": 3}),
                         ['{"jid": "a@b", "count": 3, "note": null}'])

    def test_describe(self):
        """Signatures list the fields with their types."""
        info = PAYLOAD.describe()
        self.assertEqual(info["name"], "Payload")
        self.assertEqual([f["name"] for f in info["fields"]], ["jid", "count", "note"])
        self.assertTrue(info["fields"][2]["optional"])


class OneOfAndMapTests(BadInputMixin, SynchronousTestCase):
    """oneof (a union told apart by a tag field) and map (free-form keys)."""

    SHAPE = OneOf("Shape", "kind", {
        "circle": Object("Circle", [Field("kind", STRING), Field("r", INT)]),
        "square": Object("Square", [Field("kind", STRING), Field("side", INT)]),
    })

    def test_one_of_picks_the_member_by_tag(self):
        """Serialising uses the tagged member's fields; an unknown tag is named."""
        self.assertEqual(self.SHAPE.to_json({"kind": "circle", "r": 2, "side": 9}),
                         {"kind": "circle", "r": 2})
        self.assertEqual(self.SHAPE.from_json({"kind": "square", "side": 3}, "s"),
                         {"kind": "square", "side": 3})
        self.assertBad(self.SHAPE.from_json, {"kind": "blob"}, "s", mentions="s.kind")
        self.assertEqual(self.SHAPE.label(), "Shape")
        self.assertEqual(sorted(self.SHAPE.describe()["members"]), ["circle", "square"])

    def test_map(self):
        """A map keeps its keys and types its values."""
        counts = MapOf(INT)
        self.assertEqual(counts.to_json({"a": 1.0, "b": 2}), {"a": 1, "b": 2})
        self.assertEqual(counts.from_json({"a": 1}, "m"), {"a": 1})
        self.assertBad(counts.from_json, {"a": "x"}, "m", mentions="m.a")
        self.assertBad(counts.from_json, [1], "m", mentions="m")
        self.assertEqual(counts.from_cli('{"a": 3}', "m"), {"a": 3})
        self.assertEqual(counts.label(), "map(int)")


class ClosedSetTests(SynchronousTestCase):
    """The type set cannot be extended from outside the module."""

    def test_subclass_refused(self):
        """Defining a new ArgType elsewhere raises TypeError."""

        def define():
            class Color(ArgType):
                name = "color"

        self.assertRaises(TypeError, define)
