"""Tests of the declarative schema framework, mongoose.config.schema."""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from mongoose.config.schema import (
    MISSING,
    ConfigError,
    ConfigErrors,
    DynamicSection,
    Enum,
    Field,
    Int,
    IPAddress,
    ListOf,
    MapOf,
    OneOf,
    Options,
    Section,
    Str,
)


def check(spec, value, path="x"):
    """Parse ``value`` with ``spec``; return (result, error lines)."""
    errors: list[ConfigError] = []
    result = spec.parse(value, path, errors)
    return result, [str(e) for e in errors]


class ScalarTests(SynchronousTestCase):
    """Scalar types accept their values and explain refusals."""

    def test_enum_message_lists_values(self):
        """A value outside an Enum names the allowed values in order."""
        _, errors = check(Enum("tls", "starttls"), "startls", "a.mode")
        self.assertEqual(errors, ['a.mode: "startls" is not one of "tls", "starttls"'])

    def test_enum_keeps_booleans_apart_from_integers(self):
        """true is not accepted where the integer 1 is allowed."""
        _, errors = check(Enum(1, 2), True)
        self.assertEqual(errors, ["x: true is not one of 1, 2"])

    def test_single_value_enum_is_described_as_the_value(self):
        """An Enum of one value reads as that value in messages."""
        _, errors = check(OneOf(Int(min=1), Enum("infinity")), "forever")
        self.assertEqual(errors, ['x: "forever" is not a positive integer or "infinity"'])

    def test_int_bounds(self):
        """Integers outside their bounds are refused with the range."""
        _, errors = check(Int(min=1, max=65535), 70000)
        self.assertEqual(errors, ["x: 70000 is not an integer from 1 to 65535"])

    def test_ip_address(self):
        """IP literals pass, host names do not."""
        self.assertEqual(check(IPAddress(), "::1"), ("::1", []))
        _, errors = check(IPAddress(), "localhost")
        self.assertEqual(errors, ['x: "localhost" is not an IP address'])

    def test_str_validator(self):
        """A string validator's message follows the value."""
        spec = Str(validate=lambda v: None if v.startswith("/") else "is not a path")
        _, errors = check(spec, "api")
        self.assertEqual(errors, ['x: "api" is not a path'])


class ListTests(SynchronousTestCase):
    """Arrays are parsed item by item."""

    def test_items_are_checked_with_their_index(self):
        """Each bad item is reported at its own index."""
        _, errors = check(ListOf(Int()), [1, "2", 3, "4"])
        self.assertEqual(errors, ['x[1]: "2" is not an integer', 'x[3]: "4" is not an integer'])

    def test_unique(self):
        """A repeated item of a unique list is reported."""
        _, errors = check(ListOf(Str(), unique=True), ["a", "b", "a"])
        self.assertEqual(errors, ['x[2]: "a" is listed more than once'])

    def test_result_is_a_tuple(self):
        """Parsed arrays are immutable tuples."""
        self.assertEqual(check(ListOf(Int()), [1, 2]), ((1, 2), []))


class SectionTests(SynchronousTestCase):
    """Tables: known options, defaults, aliases and hooks."""

    def setUp(self):
        self.section = Section(
            {
                "port": Field(Int(), required=True),
                "mode": Field(Enum("a", "b"), default="a"),
                "name": Field(Str(), aliases=("old_name",)),
            }
        )

    def test_defaults_and_given_values(self):
        """Given options are parsed, absent ones take their default or stay absent."""
        result, errors = check(self.section, {"port": 1})
        self.assertEqual(errors, [])
        self.assertEqual(result, {"port": 1, "mode": "a"})
        self.assertNotIn("name", result)

    def test_unknown_option_lists_allowed_ones(self):
        """An unknown key is reported with the keys allowed there."""
        _, errors = check(self.section, {"port": 1, "prot": 2})
        self.assertEqual(errors, ["x.prot: unknown option; allowed here: mode, name, port"])

    def test_required(self):
        """A missing required option is reported at its path."""
        _, errors = check(self.section, {})
        self.assertEqual(errors, ["x.port: required option is missing"])

    def test_alias_is_stored_under_the_canonical_name(self):
        """An old spelling is accepted and parsed under the new name."""
        result, _ = check(self.section, {"port": 1, "old_name": "n"})
        self.assertEqual(result["name"], "n")

    def test_both_spellings_are_refused(self):
        """Giving an option under both names is an error."""
        _, errors = check(self.section, {"port": 1, "name": "a", "old_name": "b"})
        self.assertEqual(errors, ["x.old_name: same option as 'name'; give only one of them"])

    def test_not_a_table(self):
        """A scalar where a table belongs is refused."""
        _, errors = check(self.section, 5)
        self.assertEqual(errors, ["x: 5 is not a table"])

    def test_always_present_subsection_reports_its_required_options(self):
        """An absent table with a dict default is parsed in place, errors included."""
        outer = Section({"inner": Field(self.section, default={})})
        _, errors = check(outer, {}, "top")
        self.assertEqual(errors, ["top.inner.port: required option is missing"])

    def test_validate_runs_on_clean_tables_and_may_replace(self):
        """The validate hook sees clean options and can return new ones."""
        section = Section(
            {"a": Field(Int(), default=1)},
            validate=lambda options, path, errors: options.replace(b=options["a"] * 2),
        )
        self.assertEqual(check(section, {"a": 4}), (Options({"a": 4, "b": 8}), []))
        result, errors = check(section, {"a": "x"})
        self.assertEqual(errors, ['x.a: "x" is not an integer'])
        self.assertNotIn("b", result)

    def test_prepare_sees_the_raw_table(self):
        """The prepare hook may report problems and rewrite the raw input."""

        def prepare(raw, path, errors):
            """Report and drop the legacy key."""
            if "legacy" in raw:
                errors.append(ConfigError(f"{path}.legacy", "was renamed to new"))
            return {k: v for k, v in raw.items() if k != "legacy"}

        section = Section({"new": Field(Int(), default=0)}, prepare=prepare)
        self.assertEqual(
            check(section, {"legacy": 1}), (Options({"new": 0}), ["x.legacy: was renamed to new"])
        )

    def test_merged_sections_keep_both_field_sets(self):
        """merged() adds the other section's fields and hooks."""
        extra = Section(
            {"extra": Field(Int(), default=3)},
            validate=lambda options, path, errors: errors.append(ConfigError(path, "checked")),
        )
        result, errors = check(self.section.merged(extra), {"port": 1})
        self.assertEqual(result, {"port": 1, "mode": "a", "extra": 3})
        self.assertEqual(errors, ["x: checked"])

    def test_defaults(self):
        """defaults() is what an empty table parses to."""
        section = Section({"a": Field(Int(), default=1), "b": Field(Int())})
        self.assertEqual(section.defaults(), {"a": 1})


class MapTests(SynchronousTestCase):
    """Tables keyed by user-chosen names."""

    def test_values_are_checked_under_their_key(self):
        """A bad value is reported at its key's path."""
        result, errors = check(MapOf(Int()), {"a": 1, "b": "two"})
        self.assertEqual(result, {"a": 1})
        self.assertEqual(errors, ['x.b: "two" is not an integer'])


class DynamicSectionTests(SynchronousTestCase):
    """Tables whose keys name extensions."""

    def lookup(self, name, path, errors):
        """Know ``known``; report everything else."""
        if name == "known":
            return Section({"a": Field(Int(), default=1)})
        errors.append(ConfigError(path, "unknown thing"))
        return None

    def test_lookup_and_unknown_names(self):
        """Known names are parsed with their spec, unknown ones reported."""
        spec = DynamicSection(lookup=self.lookup)
        result, errors = check(spec, {"known": {}, "other": {}})
        self.assertEqual(result, {"known": {"a": 1}})
        self.assertEqual(errors, ["x.other: unknown thing"])

    def test_entries_and_aliases_join_item_lists(self):
        """Arrays under an old and a new name end up in one array, in order."""
        spec = DynamicSection(
            lookup=self.lookup,
            item_list=True,
            entries={"new": Section({"n": Field(Int(), required=True)})},
            aliases={"old": "new"},
        )
        result, errors = check(spec, {"new": [{"n": 1}], "old": [{"n": 2}]})
        self.assertEqual(errors, [])
        self.assertEqual(result.to_dict(), {"new": [{"n": 1}, {"n": 2}]})

    def test_aliases_without_item_lists_refuse_both(self):
        """Two spellings of one table are an error."""
        spec = DynamicSection(
            lookup=self.lookup, entries={"new": Section({})}, aliases={"old": "new"}
        )
        _, errors = check(spec, {"new": {}, "old": {}})
        self.assertEqual(errors, ["x.old: same as 'new'; give only one of them"])

    def test_a_crashing_spec_becomes_an_error(self):
        """An exception raised by a third-party spec is reported, not raised."""

        def explode(options, path, errors):
            """Fail the way a buggy plugin would."""
            raise RuntimeError("boom")

        spec = DynamicSection(lookup=lambda name, path, errors: Section({}, validate=explode))
        _, errors = check(spec, {"plugin": {}})
        self.assertEqual(errors, ["x.plugin: checking the options failed: RuntimeError: boom"])


class OptionsTests(SynchronousTestCase):
    """The immutable option tree."""

    def test_attribute_and_item_access(self):
        """Options read as attributes and as mapping items."""
        options = Options({"tls": Options({"mode": "tls"})})
        self.assertEqual(options.tls.mode, options["tls"]["mode"])

    def test_read_only(self):
        """Options cannot be assigned to."""
        options = Options({"a": 1})
        self.assertRaises(AttributeError, setattr, options, "a", 2)

    def test_to_dict(self):
        """to_dict gives plain dicts and lists."""
        options = Options({"a": (Options({"b": 1}),)})
        self.assertEqual(options.to_dict(), {"a": [{"b": 1}]})


class ErrorsTests(SynchronousTestCase):
    """ConfigErrors carries every problem, one per line."""

    def test_message_has_one_line_per_error(self):
        """The exception text lists each error on its own line."""
        exc = ConfigErrors([ConfigError("a.b", "bad"), ConfigError("", "whole file")])
        self.assertEqual(str(exc), "a.b: bad\nwhole file")

    def test_missing_is_falsy(self):
        """MISSING reads as false and prints as MISSING."""
        self.assertFalse(MISSING)
        self.assertEqual(repr(MISSING), "MISSING")
