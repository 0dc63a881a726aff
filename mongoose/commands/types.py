"""The closed set of command argument and result types.

Every command argument and result has one of these types: string, int,
bool, jid, domain, username, datetime, resource, xml, id, enum(values), list(T),
object(name, fields), oneof(name, tag, members) (results only in GraphQL:
a union) and map(T).  Each type parses a value from

* JSON (REST and GraphQL bodies): :meth:`ArgType.from_json`;
* command line text (``mongooseimctl``): :meth:`ArgType.from_cli`;
* an XEP-0004 data form field, i.e. a list of strings (XEP-0050 ad-hoc
  commands): :meth:`ArgType.from_form`;

and serialises a value back with :meth:`ArgType.to_json` and
:meth:`ArgType.to_form`.  Bad input raises
``CommandError("bad_request", "<arg>: <why>")``.

JIDs follow RFC 7622 as far as ``twisted.words.protocols.jabber.jid``
implements it (nodeprep, nameprep, resourceprep); domains are lowercased.
The set is closed on purpose: subclasses outside this module are refused,
so every front end can handle every type.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from twisted.words.protocols.jabber import jid as xmpp_jid

from mongoose.commands.errors import CommandError

__all__ = [
    "ArgType",
    "String",
    "Resource",
    "Xml",
    "Id",
    "Int",
    "Bool",
    "Jid",
    "Domain",
    "Username",
    "DateTime",
    "Enum",
    "ListOf",
    "Field",
    "Object",
    "OneOf",
    "MapOf",
    "STRING",
    "INT",
    "BOOL",
    "JID",
    "DOMAIN",
    "USERNAME",
    "DATETIME",
    "bad_request",
]

#: RFC 7622 section 3: each part of a JID is at most 1023 octets.
MAX_PART_BYTES = 1023

_INT_TEXT = re.compile(r"[+-]?[0-9]+")


def bad_request(path: str, why: str) -> CommandError:
    """Build the ``bad_request`` error for the argument at ``path``.

    Args:
        path: the argument name, possibly with an item or field suffix
            (``users[2]``, ``payload.jid``).
        why: what is wrong, for humans.
    """
    top = re.split(r"[.\[]", path, maxsplit=1)[0]
    return CommandError("bad_request", f"{path}: {why}", arg=top)


def _show(value: Any) -> str:
    """Render a user-supplied value for an error message (shortened)."""
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _single(values: str | Sequence[str], path: str, what: str) -> str:
    """One string out of a CLI value or the values of a form field."""
    if isinstance(values, str):
        return values
    if isinstance(values, Sequence):
        items = list(values)
        if not items:
            return ""
        if len(items) > 1:
            raise bad_request(path, f"expects one value, got {len(items)}")
        if isinstance(items[0], str):
            return items[0]
    raise bad_request(path, f"expects {what} as text, got {_json_kind(values)}")


class ArgType:
    """Base of the closed type set.

    Attributes:
        name: the type's name in signatures (``string``, ``list`` ...).
        form_type: the XEP-0004 field type used for it in data forms.
    """

    name: ClassVar[str] = ""
    form_type: ClassVar[str] = "text-single"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__module__ != __name__:
            raise TypeError(
                "the command type set is closed: add new types to mongoose.commands.types"
            )

    def from_json(self, value: Any, path: str) -> Any:
        """Parse a decoded JSON value.

        Args:
            value: what the JSON document held.
            path: the argument name, for error messages.

        Raises:
            CommandError: ``bad_request`` naming ``path``.
        """
        raise NotImplementedError

    def from_cli(self, value: str | Sequence[str], path: str) -> Any:
        """Parse command line text (a list when the option was repeated)."""
        return self.from_text(_single(value, path, self.label()), path)

    def from_form(self, values: str | Sequence[str], path: str) -> Any:
        """Parse the ``<value/>`` strings of an XEP-0004 field."""
        return self.from_text(_single(values, path, self.label()), path)

    def from_text(self, text: str, path: str) -> Any:
        """Parse one text value (CLI argument or form value)."""
        raise NotImplementedError

    def to_json(self, value: Any) -> Any:
        """Serialise a value of this type to JSON-able data (None stays None)."""
        return value

    def to_form(self, value: Any) -> list[str]:
        """Serialise a value to the ``<value/>`` strings of an XEP-0004 field."""
        if value is None:
            return []
        data = self.to_json(value)
        return [data if isinstance(data, str) else json.dumps(data)]

    def describe(self) -> dict[str, Any]:
        """A JSON-able description of the type, for signatures."""
        return {"type": self.name}

    def label(self) -> str:
        """A short human name of the type, e.g. ``list(jid)``."""
        return self.name


class _JsonObjectType(ArgType):
    """A type whose values are JSON objects; as text (CLI, form) they are JSON too."""

    def from_text(self, text: str, path: str) -> dict[str, Any]:
        try:
            decoded = json.loads(text)
        except ValueError:
            raise bad_request(path, "is not a valid JSON object") from None
        return self.from_json(decoded, path)


class _TextType(ArgType):
    """A type whose JSON form is a string parsed like its text form."""

    def from_json(self, value: Any, path: str) -> Any:
        if not isinstance(value, str):
            raise bad_request(path, f"expected {self.label()} as a string, got {_json_kind(value)}")
        return self.from_text(value, path)


@dataclass(frozen=True)
class String(_TextType):
    """A Unicode string.

    Attributes:
        non_empty: the empty string is refused (GraphQL ``NonEmptyString``).
    """

    non_empty: bool = False
    name: ClassVar[str] = "string"

    def from_text(self, text: str, path: str) -> str:
        if self.non_empty and not text:
            raise bad_request(path, "must not be empty")
        return text

    def to_json(self, value: Any) -> Any:
        return None if value is None else str(value)

    def describe(self) -> dict[str, Any]:
        info: dict[str, Any] = {"type": self.name}
        if self.non_empty:
            info["non_empty"] = True
        return info

    def label(self) -> str:
        return "string(non-empty)" if self.non_empty and self.name == "string" else self.name


@dataclass(frozen=True)
class Resource(String):
    """The resource part of a JID (resourceprep), e.g. ``phone`` (GraphQL ``ResourceName``)."""

    non_empty: bool = True
    name: ClassVar[str] = "resource"

    def from_text(self, text: str, path: str) -> str:
        if not text:
            raise bad_request(path, "must not be empty")
        try:
            prepared = xmpp_jid.resourceprep.prepare(text)
        except UnicodeError as exc:
            raise bad_request(path, f"{_show(text)} is not a valid resource ({exc})") from None
        if len(prepared.encode("utf-8")) > MAX_PART_BYTES:
            raise bad_request(path, f"is longer than {MAX_PART_BYTES} bytes")
        return prepared


@dataclass(frozen=True)
class Xml(String):
    """XML text, e.g. one stanza (GraphQL ``XmlElement``).

    The value stays text: each command parses it and says what is wrong
    with it (a stanza needs 'from' and 'to', private data a namespace ...).
    """

    non_empty: bool = True
    name: ClassVar[str] = "xml"


@dataclass(frozen=True)
class Id(String):
    """An opaque identifier such as a stanza id (GraphQL ``ID``)."""

    name: ClassVar[str] = "id"


@dataclass(frozen=True)
class Int(ArgType):
    """An integer, optionally bounded (``min``/``max`` inclusive)."""

    min: int | None = None
    max: int | None = None
    name: ClassVar[str] = "int"

    def from_json(self, value: Any, path: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad_request(path, f"expected an integer, got {_json_kind(value)}")
        return self._check(value, path)

    def from_text(self, text: str, path: str) -> int:
        if not _INT_TEXT.fullmatch(text.strip()):
            raise bad_request(path, f"expected an integer, got {_show(text)}")
        return self._check(int(text.strip()), path)

    def _check(self, value: int, path: str) -> int:
        if self.min is not None and value < self.min:
            raise bad_request(path, f"must be at least {self.min}, got {value}")
        if self.max is not None and value > self.max:
            raise bad_request(path, f"must be at most {self.max}, got {value}")
        return value

    def to_json(self, value: Any) -> Any:
        return None if value is None else int(value)

    def describe(self) -> dict[str, Any]:
        info: dict[str, Any] = {"type": self.name}
        if self.min is not None:
            info["min"] = self.min
        if self.max is not None:
            info["max"] = self.max
        return info

    def label(self) -> str:
        if self.min is not None and self.max is not None:
            return f"int({self.min}..{self.max})"
        if self.min is not None:
            return f"int(>={self.min})"
        if self.max is not None:
            return f"int(<={self.max})"
        return "int"


_TRUE_TEXT = frozenset({"true", "1", "yes", "on"})
_FALSE_TEXT = frozenset({"false", "0", "no", "off"})


@dataclass(frozen=True)
class Bool(ArgType):
    """A boolean: JSON true/false; ``true``/``false``/``1``/``0`` as text."""

    name: ClassVar[str] = "bool"
    form_type: ClassVar[str] = "boolean"

    def from_json(self, value: Any, path: str) -> bool:
        if not isinstance(value, bool):
            raise bad_request(path, f"expected true or false, got {_json_kind(value)}")
        return value

    def from_text(self, text: str, path: str) -> bool:
        lowered = text.strip().lower()
        if lowered in _TRUE_TEXT:
            return True
        if lowered in _FALSE_TEXT:
            return False
        raise bad_request(path, f"expected true or false, got {_show(text)}")

    def to_json(self, value: Any) -> Any:
        return None if value is None else bool(value)

    def to_form(self, value: Any) -> list[str]:
        # XEP-0004 section 3.3: boolean values are "0"/"1" (or "false"/"true").
        return [] if value is None else ["1" if value else "0"]


def _parse_jid(text: str, path: str) -> xmpp_jid.JID:
    """Parse and normalise a JID, turning every parser failure into bad_request."""
    if not text:
        raise bad_request(path, "must not be empty")
    if text.startswith("@") or text.endswith("/") or text.endswith("@"):
        raise bad_request(path, f"{_show(text)} is not a valid JID")
    try:
        parsed = xmpp_jid.JID(text)
    except Exception as exc:  # InvalidFormat, UnicodeError, IndexError from stringprep
        detail = str(exc) or exc.__class__.__name__
        raise bad_request(path, f"{_show(text)} is not a valid JID ({detail})") from None
    host = parsed.host
    if not host or any(not label for label in host.rstrip(".").split(".")):
        raise bad_request(path, f"{_show(text)} is not a valid JID (empty domain label)")
    for part in (parsed.user, host, parsed.resource):
        if part is not None and len(part.encode("utf-8")) > MAX_PART_BYTES:
            raise bad_request(path, f"a part of the JID is longer than {MAX_PART_BYTES} bytes")
    return parsed


@dataclass(frozen=True)
class Jid(_TextType):
    """An XMPP address (RFC 7622); the value is a ``twisted`` ``JID``.

    Attributes:
        require_user: the JID must have a local part (``alice@localhost``).
        bare: a user's account (GraphQL ``BareJID``); the commands ignore
            a resource given with it.
        full: a session's address, with a user and a resource
            (GraphQL ``FullJID``).
    """

    require_user: bool = False
    bare: bool = False
    full: bool = False
    name: ClassVar[str] = "jid"
    form_type: ClassVar[str] = "jid-single"

    def from_text(self, text: str, path: str) -> xmpp_jid.JID:
        parsed = _parse_jid(text, path)
        if (self.require_user or self.bare or self.full) and not parsed.user:
            raise bad_request(path, f"{_show(text)} has no user part (expected user@domain)")
        if self.full and not parsed.resource:
            raise bad_request(
                path, f"{_show(text)} is not a full JID (expected user@domain/resource)")
        return parsed

    def to_json(self, value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, xmpp_jid.JID):
            return value.full()
        return str(value)

    def describe(self) -> dict[str, Any]:
        info: dict[str, Any] = {"type": self.name}
        for flag in ("require_user", "bare", "full"):
            if getattr(self, flag):
                info[flag] = True
        return info

    def label(self) -> str:
        if self.full:
            return "jid(full)"
        return "jid(bare)" if self.bare else self.name


@dataclass(frozen=True)
class Domain(_TextType):
    """An XMPP domain name, returned lowercased (nameprep)."""

    name: ClassVar[str] = "domain"

    def from_text(self, text: str, path: str) -> str:
        parsed = _parse_jid(text, path)
        if parsed.user is not None or parsed.resource is not None or "@" in text:
            raise bad_request(path, f"{_show(text)} is not a domain name")
        return parsed.host

    def to_json(self, value: Any) -> Any:
        return None if value is None else str(value)


@dataclass(frozen=True)
class Username(_TextType):
    """The local part of a JID (nodeprep), e.g. ``alice``."""

    name: ClassVar[str] = "username"

    def from_text(self, text: str, path: str) -> str:
        if not text:
            raise bad_request(path, "must not be empty")
        try:
            prepared = xmpp_jid.nodeprep.prepare(text)
        except UnicodeError as exc:
            raise bad_request(path, f"{_show(text)} is not a valid user name ({exc})") from None
        if not prepared:
            raise bad_request(path, "must not be empty")
        if len(prepared.encode("utf-8")) > MAX_PART_BYTES:
            raise bad_request(path, f"is longer than {MAX_PART_BYTES} bytes")
        return prepared

    def to_json(self, value: Any) -> Any:
        return None if value is None else str(value)


@dataclass(frozen=True)
class DateTime(_TextType):
    """A point in time: RFC 3339 / ISO 8601 text with a UTC offset."""

    name: ClassVar[str] = "datetime"

    def from_text(self, text: str, path: str) -> datetime:
        try:
            value = datetime.fromisoformat(text.strip())
        except ValueError:
            raise bad_request(
                path, f"{_show(text)} is not a date and time (e.g. 2024-05-01T12:00:00Z)"
            ) from None
        if value.tzinfo is None:
            raise bad_request(
                path, f"{_show(text)} has no time zone (add Z or an offset such as +02:00)"
            )
        return value

    def to_json(self, value: Any) -> Any:
        if value is None:
            return None
        text = value.isoformat()
        return text[:-6] + "Z" if text.endswith("+00:00") else text


@dataclass(frozen=True, init=False)
class Enum(_TextType):
    """One of a fixed set of strings."""

    values: tuple[str, ...]
    name: ClassVar[str] = "enum"
    form_type: ClassVar[str] = "list-single"

    def __init__(self, *values: str):
        if not values or not all(isinstance(v, str) for v in values):
            raise TypeError("Enum needs one or more string values")
        object.__setattr__(self, "values", tuple(values))

    def from_text(self, text: str, path: str) -> str:
        if text not in self.values:
            allowed = ", ".join(self.values)
            raise bad_request(path, f"{_show(text)} is not one of: {allowed}")
        return text

    def describe(self) -> dict[str, Any]:
        return {"type": self.name, "values": list(self.values)}

    def label(self) -> str:
        return "enum(" + "|".join(self.values) + ")"


@dataclass(frozen=True)
class ListOf(ArgType):
    """A list whose items all have type ``item``.

    On the command line a list is given by repeating the option, as a JSON
    array, or as comma-separated text.
    """

    item: ArgType
    name: ClassVar[str] = "list"

    def __post_init__(self) -> None:
        if not isinstance(self.item, ArgType):
            raise TypeError("ListOf needs an ArgType for its items")

    @property
    def form_type(self) -> str:  # type: ignore[override]
        if isinstance(self.item, Jid):
            return "jid-multi"
        if isinstance(self.item, Enum):
            return "list-multi"
        return "text-multi"

    def from_json(self, value: Any, path: str) -> list[Any]:
        if not isinstance(value, list):
            raise bad_request(path, f"expected a list, got {_json_kind(value)}")
        return [self.item.from_json(v, f"{path}[{i}]") for i, v in enumerate(value)]

    def from_cli(self, value: str | Sequence[str], path: str) -> list[Any]:
        """Parse CLI text: one text (a JSON array or comma-separated items) or a list.

        A list comes from a repeated option: each occurrence is one item, except
        an occurrence holding a JSON array, which gives its items.
        """
        if isinstance(value, str):
            stripped = value.strip()
            if stripped.startswith("["):
                return self._json_array(stripped, path)
            items = [] if not stripped else [part.strip() for part in stripped.split(",")]
            return [self.item.from_cli(v, f"{path}[{i}]") for i, v in enumerate(items)]
        result: list[Any] = []
        for occurrence in value:
            if isinstance(occurrence, str) and occurrence.strip().startswith("["):
                result.extend(self._json_array(occurrence.strip(), path))
            else:
                result.append(self.item.from_cli(occurrence, f"{path}[{len(result)}]"))
        return result

    def _json_array(self, text: str, path: str) -> list[Any]:
        try:
            decoded = json.loads(text)
        except ValueError:
            raise bad_request(path, "is not a valid JSON array") from None
        return self.from_json(decoded, path)

    def from_form(self, values: str | Sequence[str], path: str) -> list[Any]:
        items = [values] if isinstance(values, str) else list(values)
        return [self.item.from_form(v, f"{path}[{i}]") for i, v in enumerate(items)]

    def from_text(self, text: str, path: str) -> list[Any]:
        return self.from_cli(text, path)

    def to_json(self, value: Any) -> Any:
        return None if value is None else [self.item.to_json(v) for v in value]

    def to_form(self, value: Any) -> list[str]:
        if value is None:
            return []
        out: list[str] = []
        for v in value:
            out.extend(self.item.to_form(v))
        return out

    def describe(self) -> dict[str, Any]:
        return {"type": self.name, "items": self.item.describe()}

    def label(self) -> str:
        return f"list({self.item.label()})"


@dataclass(frozen=True)
class Field:
    """One field of an :class:`Object` type.

    Attributes:
        name: the key in the JSON object.
        type: its :class:`ArgType`.
        description: one line for docs.
        optional: the key may be absent or null.
    """

    name: str
    type: ArgType
    description: str = ""
    optional: bool = False


@dataclass(frozen=True, init=False)
class Object(_JsonObjectType):
    """A named record of typed fields (a JSON object, GraphQL type, form table)."""

    type_name: str
    fields: tuple[Field, ...]
    name: ClassVar[str] = "object"

    def __init__(self, type_name: str, fields: Sequence[Field]):
        if not all(isinstance(f, Field) for f in fields):
            raise TypeError("Object fields must be Field values")
        object.__setattr__(self, "type_name", type_name)
        object.__setattr__(self, "fields", tuple(fields))

    def from_json(self, value: Any, path: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise bad_request(path, f"expected an object, got {_json_kind(value)}")
        known = {f.name for f in self.fields}
        for key in value:
            if key not in known:
                allowed = ", ".join(sorted(known))
                raise bad_request(f"{path}.{key}", f"unknown field (allowed: {allowed})")
        result: dict[str, Any] = {}
        for fld in self.fields:
            raw = value.get(fld.name)
            if raw is None:
                if not fld.optional:
                    raise bad_request(f"{path}.{fld.name}", "missing required field")
                result[fld.name] = None
                continue
            result[fld.name] = fld.type.from_json(raw, f"{path}.{fld.name}")
        return result

    def to_json(self, value: Any) -> Any:
        if value is None:
            return None
        if not isinstance(value, Mapping):
            raise TypeError(f"{self.type_name} result must be a mapping, got {value!r}")
        return {f.name: f.type.to_json(value.get(f.name)) for f in self.fields}

    def describe(self) -> dict[str, Any]:
        return {
            "type": self.name,
            "name": self.type_name,
            "fields": [
                {"name": f.name, "type": f.type.describe(), "optional": f.optional,
                 "description": f.description}
                for f in self.fields
            ],
        }

    def label(self) -> str:
        return self.type_name


@dataclass(frozen=True, init=False)
class OneOf(_JsonObjectType):
    """One of several :class:`Object` types, told apart by a tag field (a GraphQL union).

    A value is a mapping whose ``tag`` field names its member, e.g. the
    ``type`` of a MongooseIM ``MetricResult`` (``counter`` -> ``CounterMetric``).
    """

    type_name: str
    tag: str
    members: tuple[tuple[str, Object], ...]
    name: ClassVar[str] = "oneof"

    def __init__(self, type_name: str, tag: str, members: Mapping[str, Object]):
        if not members or not all(isinstance(m, Object) for m in members.values()):
            raise TypeError("OneOf members must be Object types")
        object.__setattr__(self, "type_name", type_name)
        object.__setattr__(self, "tag", tag)
        object.__setattr__(self, "members", tuple((str(k), v) for k, v in members.items()))

    def member(self, value: Mapping[str, Any], path: str = "result") -> Object:
        """The member type of ``value`` (by its tag field).

        Raises:
            CommandError: ``bad_request`` when the tag names no member.
        """
        tag = value.get(self.tag) if isinstance(value, Mapping) else None
        for key, member in self.members:
            if key == tag:
                return member
        allowed = ", ".join(k for k, _ in self.members)
        raise bad_request(f"{path}.{self.tag}", f"{_show(tag)} is not one of: {allowed}")

    def from_json(self, value: Any, path: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise bad_request(path, f"expected an object, got {_json_kind(value)}")
        return self.member(value, path).from_json(value, path)

    def to_json(self, value: Any) -> Any:
        if value is None:
            return None
        return self.member(value).to_json(value)

    def describe(self) -> dict[str, Any]:
        return {"type": self.name, "name": self.type_name, "tag": self.tag,
                "members": {k: m.describe() for k, m in self.members}}

    def label(self) -> str:
        return self.type_name


@dataclass(frozen=True)
class MapOf(_JsonObjectType):
    """A JSON object from free-form string keys to values of type ``value``.

    GraphQL has no maps: the schema shows it as a list of ``{key, value}``
    entries.
    """

    value: ArgType
    name: ClassVar[str] = "map"

    def __post_init__(self) -> None:
        if not isinstance(self.value, ArgType):
            raise TypeError("MapOf needs an ArgType for its values")

    def from_json(self, value: Any, path: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise bad_request(path, f"expected an object, got {_json_kind(value)}")
        return {str(k): self.value.from_json(v, f"{path}.{k}") for k, v in value.items()}

    def to_json(self, value: Any) -> Any:
        if value is None:
            return None
        return {str(k): self.value.to_json(v) for k, v in dict(value).items()}

    def describe(self) -> dict[str, Any]:
        return {"type": self.name, "values": self.value.describe()}

    def label(self) -> str:
        return f"map({self.value.label()})"


STRING = String()
INT = Int()
BOOL = Bool()
JID = Jid()
DOMAIN = Domain()
USERNAME = Username()
DATETIME = DateTime()
