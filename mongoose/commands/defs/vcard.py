"""The ``vcard`` commands (MongooseIM GraphQL ``VcardAdminQuery``/``VcardAdminMutation``).

``mod_vcard`` registers them.  A vCard travels as the GraphQL ``Vcard`` /
``VcardInput`` object and is stored as XEP-0054 ``vcard-temp`` XML; this
module maps one onto the other field by field (:func:`vcard_to_json`,
:func:`json_to_vcard`).  Unions of the GraphQL schema (``Image``, ``Sound``,
``Agent``) are flattened into one object with the alternatives as optional
fields; an agent is given by its ``extValue`` only.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from twisted.words.xish.domish import Element

from mongoose.commands.defs.addresses import bare_jid, module_missing
from mongoose.commands.errors import CommandError
from mongoose.commands.registry import Arg, Command
from mongoose.commands.types import STRING, ArgType, Enum, Field, Jid, ListOf, Object

__all__ = ["vcard_commands", "vcard_to_json", "json_to_vcard", "VCARD", "VCARD_INPUT", "NS_VCARD"]

CATEGORY = "vcard"
NS_VCARD = "vcard-temp"

ADDRESS_TAGS = ("HOME", "WORK", "POSTAL", "PARCEL", "DOM", "PREF", "INTL")
TELEPHONE_TAGS = ("HOME", "WORK", "VOICE", "FAX", "PAGER", "MSG", "CELL", "VIDEO", "BBS",
                  "MODEM", "ISDN", "PCS", "PREF")
EMAIL_TAGS = ("HOME", "WORK", "INTERNET", "PREF", "X400")
PRIVACY_TAGS = ("PUBLIC", "PRIVATE", "CONFIDENTIAL")


@dataclass(frozen=True)
class _Part:
    """One child of a structured vCard element: JSON name, XML name, repeated, required."""

    key: str
    xml: str
    repeated: bool = False
    required: bool = False


@dataclass(frozen=True)
class _Struct:
    """A structured vCard element (``ADR``, ``TEL`` ...) as a JSON object type."""

    name: str
    parts: tuple[_Part, ...]
    tags: tuple[str, ...] = ()


_IMAGE = _Struct("Image", (_Part("type", "TYPE"), _Part("binValue", "BINVAL"),
                           _Part("extValue", "EXTVAL")))
_STRUCTS: dict[str, tuple[str, _Struct]] = {
    "photo": ("PHOTO", _IMAGE),
    "address": ("ADR", _Struct("Address", (
        _Part("pobox", "POBOX"), _Part("extadd", "EXTADD"), _Part("street", "STREET"),
        _Part("locality", "LOCALITY"), _Part("region", "REGION"), _Part("pcode", "PCODE"),
        _Part("country", "CTRY")), ADDRESS_TAGS)),
    "label": ("LABEL", _Struct("Label", (_Part("line", "LINE", True, True),), ADDRESS_TAGS)),
    "telephone": ("TEL", _Struct("Telephone", (_Part("number", "NUMBER", required=True),),
                                 TELEPHONE_TAGS)),
    "email": ("EMAIL", _Struct("Email", (_Part("userId", "USERID", required=True),),
                               EMAIL_TAGS)),
    "geo": ("GEO", _Struct("GeographicalPosition", (
        _Part("lat", "LAT", required=True), _Part("lon", "LON", required=True)))),
    "logo": ("LOGO", _IMAGE),
    "agent": ("AGENT", _Struct("Agent", (_Part("extValue", "EXTVAL"),))),
    "org": ("ORG", _Struct("Organization", (
        _Part("orgname", "ORGNAME", required=True), _Part("orgunit", "ORGUNIT", True)))),
    "categories": ("CATEGORIES", _Struct("Keyword", (_Part("keyword", "KEYWORD", True),))),
    "sound": ("SOUND", _Struct("Sound", (
        _Part("phonetic", "PHONETIC"), _Part("binValue", "BINVAL"),
        _Part("extValue", "EXTVAL")))),
    "class": ("CLASS", _Struct("Privacy", (), PRIVACY_TAGS)),
    "key": ("KEY", _Struct("Key", (_Part("type", "TYPE"),
                                   _Part("credential", "CRED", required=True)))),
}
_NAME = _Struct("NameComponents", (
    _Part("family", "FAMILY"), _Part("givenName", "GIVEN"), _Part("middleName", "MIDDLE"),
    _Part("prefix", "PREFIX"), _Part("suffix", "SUFFIX")))
_TEXTS = {
    "nickname": "NICKNAME", "birthday": "BDAY", "jabberId": "JABBERID", "mailer": "MAILER",
    "timeZone": "TZ", "title": "TITLE", "role": "ROLE", "note": "NOTE", "prodId": "PRODID",
    "rev": "REV", "sortString": "SORT-STRING", "uid": "UID", "url": "URL", "desc": "DESC",
}
#: JSON field order of the GraphQL ``Vcard`` type.
_ORDER = ("formattedName", "nameComponents", "nickname", "photo", "birthday", "address",
          "label", "telephone", "email", "jabberId", "mailer", "timeZone", "geo", "title",
          "role", "logo", "agent", "org", "categories", "note", "prodId", "rev", "sortString",
          "sound", "uid", "url", "desc", "class", "key")


def _struct_type(struct: _Struct, for_input: bool) -> Object:
    fields = []
    if struct.tags:
        fields.append(Field("tags", ListOf(Enum(*struct.tags)), "Tags", optional=True))
    for part in struct.parts:
        kind: ArgType = ListOf(STRING) if part.repeated else STRING
        fields.append(Field(part.key, kind, optional=not (for_input and part.required)))
    suffix = "Input" if for_input else ""
    return Object(struct.name + suffix, fields)


def _vcard_type(for_input: bool) -> Object:
    fields = []
    for key in _ORDER:
        if key == "formattedName":
            fields.append(Field(key, STRING, "Formatted name", optional=not for_input))
        elif key == "nameComponents":
            fields.append(Field(key, _struct_type(_NAME, for_input), "Name details",
                                optional=not for_input))
        elif key in _TEXTS:
            fields.append(Field(key, ListOf(STRING), optional=True))
        else:
            fields.append(Field(key, ListOf(_struct_type(_STRUCTS[key][1], for_input)),
                                optional=True))
    return Object("VcardInput" if for_input else "Vcard", fields)


#: The GraphQL ``Vcard`` result type and ``VcardInput`` argument type.
VCARD = _vcard_type(False)
VCARD_INPUT = _vcard_type(True)


def _children(element: Element, name: str) -> list[Element]:
    return [c for c in element.elements() if c.name == name]


def _text(element: Element, name: str) -> str | None:
    found = _children(element, name)
    return str(found[0]) if found else None


def _struct_to_json(element: Element, struct: _Struct) -> dict[str, Any]:
    value: dict[str, Any] = {}
    if struct.tags:
        value["tags"] = [c.name for c in element.elements() if c.name in struct.tags]
    for part in struct.parts:
        if part.repeated:
            value[part.key] = [str(c) for c in _children(element, part.xml)]
        else:
            value[part.key] = _text(element, part.xml)
    return value


def vcard_to_json(vcard: Element) -> dict[str, Any]:
    """The GraphQL ``Vcard`` object of a ``<vCard xmlns='vcard-temp'/>`` element."""
    value: dict[str, Any] = {
        "formattedName": _text(vcard, "FN"),
        "nameComponents": None,
    }
    names = _children(vcard, "N")
    if names:
        value["nameComponents"] = _struct_to_json(names[0], _NAME)
    for key, xml in _TEXTS.items():
        value[key] = [str(c) for c in _children(vcard, xml)]
    for key, (xml, struct) in _STRUCTS.items():
        value[key] = [_struct_to_json(c, struct) for c in _children(vcard, xml)]
    return value


def _struct_to_xml(parent: Element, name: str, value: dict[str, Any], struct: _Struct) -> None:
    element = parent.addElement(name)
    for tag in value.get("tags") or ():
        element.addElement(tag)
    for part in struct.parts:
        item = value.get(part.key)
        if item is None:
            continue
        for text in item if part.repeated else [item]:
            element.addElement(part.xml, content=text)


def json_to_vcard(value: dict[str, Any]) -> Element:
    """A ``<vCard xmlns='vcard-temp'/>`` element from a parsed ``VcardInput`` object."""
    vcard = Element((NS_VCARD, "vCard"))
    for key in _ORDER:
        item = value.get(key)
        if item is None:
            continue
        if key == "formattedName":
            vcard.addElement("FN", content=item)
        elif key == "nameComponents":
            _struct_to_xml(vcard, "N", item, _NAME)
        elif key in _TEXTS:
            for text in item:
                vcard.addElement(_TEXTS[key], content=text)
        else:
            xml, struct = _STRUCTS[key]
            for entry in item:
                _struct_to_xml(vcard, xml, entry, struct)
    return vcard


def vcard_commands(find_service: Callable[[str], Awaitable[Any]]) -> list[Command]:
    """Build the ``vcard`` commands.

    Args:
        find_service: ``domain -> awaitable`` of the domain's ``mod_vcard``
            instance (with ``user_exists(user)``, ``get_vcard(user)`` firing
            an element or None, and ``set_vcard(user, element)``, which
            raises ValueError when the vCard is larger than allowed), or None.

    Returns:
        The commands, ready for :meth:`CommandRegistry.register`.
    """

    async def existing_user(jid: Any) -> tuple[Any, Any]:
        user = bare_jid(jid, "user")
        service = await find_service(user.host)
        if service is None:
            raise module_missing("mod_vcard", user.host)
        if not await service.user_exists(user.user):
            raise CommandError("not_found", f"user {user.userhost} does not exist")
        return user, service

    async def get_vcard(user: Any) -> dict[str, Any]:
        jid, service = await existing_user(user)
        vcard = await service.get_vcard(jid.user)
        if vcard is None:
            raise CommandError("not_found", f"user {jid.userhost} has no vCard")
        return vcard_to_json(vcard)

    async def set_vcard(user: Any, vcard: dict[str, Any]) -> dict[str, Any]:
        jid, service = await existing_user(user)
        element = json_to_vcard(vcard)
        try:
            await service.set_vcard(jid.user, element)
        except ValueError as exc:
            raise CommandError("too_large", str(exc)) from None
        return vcard_to_json(element)

    user_arg = Arg("user", Jid(require_user=True), "The user's bare JID",
                   example="alice@localhost")
    return [
        Command(
            category=CATEGORY, name="getVcard", action="read",
            description="Get the user's vcard",
            security_policy="user", args=(user_arg,), result=VCARD, handler=get_vcard,
            # vCards are public: any user may read another's (vcard-temp IQ too).
            public_read=True,
        ),
        Command(
            category=CATEGORY, name="setVcard", action="update",
            description="Set a new vcard for a user",
            security_policy="user",
            args=(
                user_arg,
                Arg("vcard", VCARD_INPUT, "The new vCard",
                    example={"formattedName": "Alice", "nameComponents": {"givenName": "Alice"}}),
            ),
            result=VCARD, handler=set_vcard,
        ),
    ]
