"""Declarative schema for the MongooseIM TOML configuration.

Every option is declared once with its type, default and validation.  Parsing
a raw TOML document against the schema yields an immutable option tree
(:class:`Options`) or a list of :class:`ConfigError` values, each naming the
option path, the bad value and what is allowed.  Nothing is silently dropped
or clamped: an unknown key is an error.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "MISSING",
    "ConfigError",
    "ConfigErrors",
    "Options",
    "Spec",
    "Field",
    "Str",
    "Int",
    "Float",
    "Bool",
    "Enum",
    "Any_",
    "IPAddress",
    "OneOf",
    "ListOf",
    "Section",
    "MapOf",
    "DynamicSection",
    "Validator",
    "Preparer",
    "format_value",
    "join_path",
    "with_article",
]


class _Missing:
    """Marker for an option that has no default (and is therefore absent)."""

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


MISSING: Any = _Missing()


@dataclass(frozen=True)
class ConfigError:
    """One problem in a configuration: where it is and what is wrong."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class ConfigErrors(Exception):
    """Raised when a configuration has one or more problems."""

    def __init__(self, errors: list[ConfigError]):
        self.errors = list(errors)
        super().__init__("\n".join(str(e) for e in self.errors))


def format_value(value: Any) -> str:
    """Render a TOML value the way a user wrote it, for error messages."""
    if isinstance(value, Options):
        value = value.to_dict()
    try:
        return json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        return repr(value)


def with_article(text: str) -> str:
    """Prefix a noun phrase with "a"/"an" ("an integer"); leave value lists alone."""
    if not text or text.startswith(("one of", '"', "array", "table")) or text[0].isdigit():
        return text
    return ("an " if text[0] in "aeiou" else "a ") + text


def join_path(path: str, key: str | int) -> str:
    """Append a key (``.name``) or an index (``[n]``) to an option path."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


class Options(Mapping):
    """An immutable, attribute-accessible mapping of parsed options.

    ``opts.tls.mode`` and ``opts["tls"]["mode"]`` are the same.  Options
    with no default that were not given are absent; use ``opts.get``.
    """

    __slots__ = ("_data",)

    def __init__(self, data: Mapping[str, Any] | None = None):
        object.__setattr__(self, "_data", dict(data or {}))

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __getattr__(self, name: str) -> Any:
        try:
            return self._data[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("configuration options are read-only")

    def __repr__(self) -> str:
        return f"Options({self._data!r})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Options):
            return self._data == other._data
        if isinstance(other, Mapping):
            return self._data == dict(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(tuple(sorted(self._data)))

    def replace(self, **changes: Any) -> "Options":
        """Return a copy with some options replaced (used by tests and overrides)."""
        data = dict(self._data)
        data.update(changes)
        return Options(data)

    def to_dict(self) -> dict[str, Any]:
        """Return plain nested dicts and lists (for JSON output and tests)."""

        def plain(value: Any) -> Any:
            if isinstance(value, Options):
                return value.to_dict()
            if isinstance(value, tuple):
                return [plain(v) for v in value]
            return value

        return {k: plain(v) for k, v in self._data.items()}


class Spec:
    """Base class of option types.

    Subclasses implement :meth:`check`, which returns the parsed value or
    appends to ``errors`` and returns :data:`MISSING`.
    """

    #: Short human description of the accepted values, used in docs.
    kind = "value"

    def parse(self, value: Any, path: str, errors: list[ConfigError]) -> Any:
        """Validate ``value`` found at ``path``; collect problems in ``errors``."""
        return self.check(value, path, errors)

    def check(self, value: Any, path: str, errors: list[ConfigError]) -> Any:
        """Return the parsed ``value``, or append to ``errors`` and return MISSING.

        Args:
            value: the raw TOML value.
            path: where it was found, for messages (``listen.c2s[0].port``).
            errors: problems are appended here.
        """
        raise NotImplementedError

    def describe(self) -> str:
        """What values are allowed, for documentation."""
        return self.kind

    def fail(self, errors: list[ConfigError], path: str, message: str) -> Any:
        """Record ``message`` at ``path`` and return MISSING."""
        errors.append(ConfigError(path, message))
        return MISSING


class Any_(Spec):
    """Any TOML value, kept as is (only for opaque, pass-through data)."""

    kind = "any value"

    def check(self, value, path, errors):
        return _freeze(value)


def _freeze(value: Any) -> Any:
    if isinstance(value, dict):
        return Options({k: _freeze(v) for k, v in value.items()})
    if isinstance(value, list):
        return tuple(_freeze(v) for v in value)
    return value


class Str(Spec):
    """A string, optionally non-empty, matching a pattern or checked by a function."""

    def __init__(
        self,
        nonempty: bool = False,
        pattern: str | None = None,
        pattern_doc: str | None = None,
        validate: Callable[[str], str | None] | None = None,
    ):
        self.nonempty = nonempty
        self.pattern = re.compile(pattern) if pattern else None
        self.pattern_doc = pattern_doc
        self.validate = validate

    def describe(self) -> str:
        if self.pattern_doc:
            return self.pattern_doc
        return "non-empty string" if self.nonempty else "string"

    def check(self, value, path, errors):
        if not isinstance(value, str):
            return self.fail(errors, path, f"{format_value(value)} is not a string")
        if self.nonempty and not value:
            return self.fail(errors, path, "must not be empty")
        if self.pattern and not self.pattern.fullmatch(value):
            return self.fail(
                errors, path, f"{format_value(value)} is not {with_article(self.describe())}"
            )
        if self.validate:
            problem = self.validate(value)
            if problem:
                return self.fail(errors, path, f"{format_value(value)} {problem}")
        return value


class Int(Spec):
    """An integer within optional bounds."""

    def __init__(self, min: int | None = None, max: int | None = None):
        self.min = min
        self.max = max

    def describe(self) -> str:
        if self.min is not None and self.max is not None:
            return f"integer from {self.min} to {self.max}"
        if self.min == 0:
            return "non-negative integer"
        if self.min == 1:
            return "positive integer"
        if self.min is not None:
            return f"integer >= {self.min}"
        return "integer"

    def check(self, value, path, errors):
        if isinstance(value, bool) or not isinstance(value, int):
            return self.fail(errors, path, f"{format_value(value)} is not an integer")
        if (self.min is not None and value < self.min) or (
            self.max is not None and value > self.max
        ):
            return self.fail(
                errors, path, f"{format_value(value)} is not {with_article(self.describe())}"
            )
        return value


class Float(Spec):
    """A number (integer or float) within optional bounds."""

    def __init__(self, min: float | None = None, max: float | None = None):
        self.min = min
        self.max = max

    def describe(self) -> str:
        return "number"

    def check(self, value, path, errors):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return self.fail(errors, path, f"{format_value(value)} is not a number")
        if (self.min is not None and value < self.min) or (
            self.max is not None and value > self.max
        ):
            return self.fail(errors, path, f"{format_value(value)} is out of range")
        return value


class Bool(Spec):
    """A boolean (``true`` or ``false``)."""

    kind = "boolean"

    def check(self, value, path, errors):
        if not isinstance(value, bool):
            return self.fail(errors, path, f"{format_value(value)} is not true or false")
        return value


class Enum(Spec):
    """One of a fixed set of values."""

    def __init__(self, *values: Any):
        self.values = values

    def describe(self) -> str:
        if len(self.values) == 1:
            return format_value(self.values[0])
        return "one of " + ", ".join(format_value(v) for v in self.values)

    def check(self, value, path, errors):
        # bool is an int subclass: keep true distinct from 1.
        for allowed in self.values:
            if type(allowed) is type(value) and allowed == value:
                return value
        return self.fail(errors, path, f"{format_value(value)} is not {self.describe()}")


class IPAddress(Spec):
    """An IPv4 or IPv6 address literal."""

    kind = "IP address"

    def check(self, value, path, errors):
        if not isinstance(value, str):
            return self.fail(errors, path, f"{format_value(value)} is not a string")
        try:
            ipaddress.ip_address(value)
        except ValueError:
            return self.fail(errors, path, f"{format_value(value)} is not an IP address")
        return value


class OneOf(Spec):
    """The first of several specs that accepts the value, e.g. an int or ``"infinity"``."""

    def __init__(self, *specs: Spec):
        self.specs = specs

    def describe(self) -> str:
        return " or ".join(s.describe() for s in self.specs)

    def check(self, value, path, errors):
        for spec in self.specs:
            attempt: list[ConfigError] = []
            result = spec.parse(value, path, attempt)
            if not attempt:
                return result
        return self.fail(
            errors, path, f"{format_value(value)} is not {with_article(self.describe())}"
        )


class ListOf(Spec):
    """A TOML array whose items all match ``item``."""

    def __init__(self, item: Spec, unique: bool = False, nonempty: bool = False):
        self.item = item
        self.unique = unique
        self.nonempty = nonempty

    def describe(self) -> str:
        if isinstance(self.item, Section):
            return "array of tables"
        return f"array of ({self.item.describe()})"

    def check(self, value, path, errors):
        if not isinstance(value, list):
            return self.fail(errors, path, f"{format_value(value)} is not an array")
        if self.nonempty and not value:
            return self.fail(errors, path, "must not be empty")
        result = []
        for index, item in enumerate(value):
            parsed = self.item.parse(item, join_path(path, index), errors)
            if parsed is not MISSING:
                result.append(parsed)
        if self.unique:
            seen = []
            for index, item in enumerate(result):
                if item in seen:
                    self.fail(
                        errors,
                        join_path(path, index),
                        f"{format_value(item)} is listed more than once",
                    )
                seen.append(item)
        return tuple(result)


@dataclass
class Field:
    """One named option inside a :class:`Section`.

    Attributes:
        spec: the type of the value.
        default: the value used when the option is absent, or MISSING.  A
            dict default of a :class:`Section` option means "always present":
            the absent table is parsed as that dict, so its own defaults and
            required options apply.
        required: absent -> ``required option is missing``.
        doc: one-line description for the generated documentation.
        compat: when set, the option is accepted for MongooseIM compatibility
            and this text says why it has no effect here.
        aliases: other spellings of the same option (renamed keys).
        default_doc: how the default is worked out, for options whose default
            depends on other options (shown in the docs instead of ``default``).
    """

    spec: Spec
    default: Any = MISSING
    required: bool = False
    doc: str = ""
    compat: str = ""
    aliases: tuple[str, ...] = ()
    default_doc: str = ""


#: A hook that checks or rewrites a parsed table: ``(options, path, errors)``.
Validator = Callable[[Options, str, list[ConfigError]], "Options | None"]

#: A hook that looks at a raw table before it is parsed: ``(raw, path, errors)``.
Preparer = Callable[[dict, str, list[ConfigError]], "dict | None"]


class Section(Spec):
    """A TOML table with a fixed set of named options.

    Args:
        fields: option name -> :class:`Field`, in documentation order.
        doc: what the table is for, for the generated documentation.
        validate: called with the parsed options when the table had no error;
            it may append errors and may return replacement options (derived
            defaults, normalised spellings).
        prepare: called with the raw TOML table before parsing; it may append
            errors and may return a replacement raw table.
    """

    kind = "table"

    def __init__(
        self,
        fields: Mapping[str, Field],
        doc: str = "",
        validate: Validator | None = None,
        prepare: Preparer | None = None,
    ):
        self.fields = dict(fields)
        self.doc = doc
        self.validate = validate
        self.prepare = prepare
        self._alias = {alias: name for name, f in self.fields.items() for alias in f.aliases}

    def describe(self) -> str:
        return "table"

    def check(self, value, path, errors):
        if isinstance(value, Options):
            value = value.to_dict()
        if not isinstance(value, dict):
            return self.fail(errors, path, f"{format_value(value)} is not a table")
        start = len(errors)
        if self.prepare is not None:
            prepared = self.prepare(value, path, errors)
            if prepared is not None:
                value = prepared
        given: dict[str, tuple[str, Any]] = {}
        for key, raw in value.items():
            name = self._alias.get(key, key)
            if name not in self.fields:
                self.fail(errors, join_path(path, key), self.unknown_message(key))
                continue
            if name in given:
                self.fail(
                    errors,
                    join_path(path, key),
                    f"same option as {given[name][0]!r}; give only one of them",
                )
                continue
            given[name] = (key, raw)
        result: dict[str, Any] = {}
        for name, fld in self.fields.items():
            if name in given:
                key, raw = given[name]
                parsed = fld.spec.parse(raw, join_path(path, key), errors)
                if parsed is not MISSING:
                    result[name] = parsed
            elif fld.required:
                self.fail(errors, join_path(path, name), "required option is missing")
            elif isinstance(fld.spec, Section) and isinstance(fld.default, dict):
                # An always-present table: parse it where it would be, so the
                # user hears about its required options.
                parsed = fld.spec.parse(dict(fld.default), join_path(path, name), errors)
                if parsed is not MISSING:
                    result[name] = parsed
            elif fld.default is not MISSING:
                result[name] = self.default_of(fld)
        options = Options(result)
        if self.validate and len(errors) == start:
            replaced = self.validate(options, path, errors)
            if replaced is not None:
                options = replaced
        return options

    def unknown_message(self, key: str) -> str:
        """The message for an unknown ``key``: the options allowed instead."""
        allowed = ", ".join(sorted(self.fields))
        return f"unknown option; allowed here: {allowed}" if allowed else "unknown option"

    @staticmethod
    def default_of(fld: Field) -> Any:
        """The parsed value of ``fld``'s default."""
        default = fld.default
        if isinstance(fld.spec, Section) and isinstance(default, dict):
            return fld.spec.check(default, "", [])
        return _freeze(default)

    def defaults(self) -> Options:
        """The options this section has when it is given empty."""
        return self.check({}, "", [])

    def merged(self, other: "Section", doc: str | None = None) -> "Section":
        """A new section with this one's fields followed by ``other``'s.

        ``other``'s fields win on a name clash; its hooks run after ours.
        """
        validators = [v for v in (self.validate, other.validate) if v is not None]
        preparers = [p for p in (self.prepare, other.prepare) if p is not None]
        return Section(
            {**self.fields, **other.fields},
            doc=self.doc if doc is None else doc,
            validate=_chain_validators(validators),
            prepare=_chain_preparers(preparers),
        )


def _chain_validators(hooks: list[Validator]) -> Validator | None:
    if not hooks:
        return None
    if len(hooks) == 1:
        return hooks[0]

    def chained(options: Options, path: str, errors: list[ConfigError]) -> Options:
        for hook in hooks:
            start = len(errors)
            replaced = hook(options, path, errors)
            if replaced is not None:
                options = replaced
            if len(errors) != start:
                break
        return options

    return chained


def _chain_preparers(hooks: list[Preparer]) -> Preparer | None:
    if not hooks:
        return None
    if len(hooks) == 1:
        return hooks[0]

    def chained(raw: dict, path: str, errors: list[ConfigError]) -> dict:
        for hook in hooks:
            replaced = hook(raw, path, errors)
            if replaced is not None:
                raw = replaced
        return raw

    return chained


class MapOf(Spec):
    """A table whose keys are names chosen by the user (``[shaper.NAME]``)."""

    def __init__(
        self,
        value: Spec,
        key: Spec | None = None,
        doc: str = "",
        key_doc: str = "name",
    ):
        self.value = value
        self.key = key
        self.doc = doc
        #: What the user-chosen key stands for, for the docs (``<name>``).
        self.key_doc = key_doc

    def describe(self) -> str:
        if isinstance(self.value, Section):
            return "table of tables"
        if isinstance(self.value, ListOf) and isinstance(self.value.item, Section):
            return "table of arrays of tables"
        return f"table of ({self.value.describe()})"

    def check(self, value, path, errors):
        if not isinstance(value, dict):
            return self.fail(errors, path, f"{format_value(value)} is not a table")
        result = {}
        for key, raw in value.items():
            sub = join_path(path, key)
            if self.key is not None:
                if self.key.parse(key, sub, errors) is MISSING:
                    continue
            parsed = self.value.parse(raw, sub, errors)
            if parsed is not MISSING:
                result[key] = parsed
        return Options(result)


@dataclass
class DynamicSection(Spec):
    """A table whose keys are looked up in a callable (modules, services, handlers).

    ``lookup(name, path, errors)`` returns the :class:`Spec` for that name's
    options, or appends an error (``unknown module``) and returns None.

    Attributes:
        lookup: finds the spec of a name that is not in ``entries``.
        kind: short description for the docs.
        doc: what the table is for.
        item_list: each name holds an array of tables (``[[x.name]]``).
        extra: free-form metadata for callers.
        entries: names known up front -> spec; checked before ``lookup`` and
            listed in the generated documentation.
        aliases: other spelling -> canonical name.  The parsed options use
            the canonical name; with ``item_list`` both spellings' arrays are
            joined, otherwise giving both is an error.
        entries_first: look in ``entries`` before calling ``lookup``; when
            False, ``lookup`` is asked first and is expected to fall back to
            ``entries`` itself (so an installed extension can replace a
            declared entry's options).
    """

    lookup: Callable[[str, str, list[ConfigError]], Spec | None]
    kind: str = "table"
    doc: str = ""
    item_list: bool = False
    extra: dict = field(default_factory=dict)
    entries: dict = field(default_factory=dict)
    aliases: dict = field(default_factory=dict)
    entries_first: bool = True

    def describe(self) -> str:
        return self.kind

    def spec_for(self, name: str, path: str, errors: list[ConfigError]) -> Spec | None:
        """The spec of canonical ``name``: a known entry or the lookup's answer."""
        if self.entries_first and name in self.entries:
            return self.entries[name]
        return self.lookup(name, path, errors)

    def check(self, value, path, errors):
        if not isinstance(value, dict):
            return self.fail(errors, path, f"{format_value(value)} is not a table")
        result: dict[str, Any] = {}
        spelled: dict[str, str] = {}
        for key, raw in value.items():
            sub = join_path(path, key)
            name = self.aliases.get(key, key)
            if name in spelled and not self.item_list:
                self.fail(errors, sub, f"same as {spelled[name]!r}; give only one of them")
                continue
            spec = self.spec_for(name, sub, errors)
            if spec is None:
                continue
            spelled.setdefault(name, key)
            if self.item_list:
                spec = ListOf(spec)
            try:
                parsed = spec.parse(raw, sub, errors)
            except Exception as exc:  # a third-party spec must not crash start-up
                self.fail(
                    errors,
                    sub,
                    f"checking the options failed: {exc.__class__.__name__}: {exc}",
                )
                continue
            if parsed is MISSING:
                continue
            if self.item_list and name in result:
                parsed = result[name] + parsed
            result[name] = parsed
        return Options(result)
