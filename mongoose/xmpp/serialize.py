"""Writing XML stream headers and stanzas as UTF-8 bytes (RFC 6120 section 4).

``element_to_bytes`` serialises a ``twisted.words.xish.domish.Element`` with
the same namespace model as domish (``uri`` None means "inherit", ``defaultUri``
is the default namespace for the children, ``localPrefixes`` declares
prefixes) but with stricter escaping than ``Element.toXml``: tab, newline and
carriage return in attribute values become character references so they
survive attribute-value normalisation, ``\\r`` in text is kept, and characters
XML 1.0 cannot carry at all are replaced by U+FFFD so one bad string can never
break the stream for its reader.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from twisted.words.xish.domish import Element, SerializedXML

from mongoose.xmpp.namespaces import NS_CLIENT, NS_STREAMS, NS_XML

__all__ = [
    "STREAM_FOOTER",
    "copy_element",
    "element_to_bytes",
    "element_to_str",
    "escape_attribute",
    "escape_text",
    "stream_header",
]

#: The closing tag of a stream (RFC 6120 section 4.4).
STREAM_FOOTER = b"</stream:stream>"

# Characters XML 1.0 does not allow anywhere (section 2.2 of the XML spec).
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")

_DEFAULT_SCOPE: Mapping[str, str] = {NS_STREAMS: "stream", NS_XML: "xml"}


def _valid(text: str) -> str:
    if _INVALID_XML.search(text) is None:
        return text
    return _INVALID_XML.sub("\ufffd", text)


def escape_text(text: str) -> str:
    """Escape character data for use between tags.

    Args:
        text: any string.

    Returns:
        The text with ``&``, ``<``, ``>`` and ``\\r`` escaped and characters
        XML cannot carry replaced by U+FFFD.
    """
    text = _valid(text)
    if "&" in text:
        text = text.replace("&", "&amp;")
    if "<" in text:
        text = text.replace("<", "&lt;")
    if ">" in text:
        text = text.replace(">", "&gt;")
    if "\r" in text:
        text = text.replace("\r", "&#13;")
    return text


def escape_attribute(value: str) -> str:
    """Escape an attribute value for use inside single or double quotes.

    Args:
        value: any string.

    Returns:
        The value with ``& < > ' "`` and tab, newline and carriage return
        escaped, and characters XML cannot carry replaced by U+FFFD.
    """
    value = escape_text(value)
    if "'" in value:
        value = value.replace("'", "&apos;")
    if '"' in value:
        value = value.replace('"', "&quot;")
    if "\n" in value:
        value = value.replace("\n", "&#10;")
    if "\t" in value:
        value = value.replace("\t", "&#9;")
    return value


def _inherits_default(el: Element) -> bool:
    """Tell whether a descendant takes its namespace from ``el``'s default."""
    for child in el.children:
        if isinstance(child, Element):
            if child.uri is None:
                return True
            if child.defaultUri is None and _inherits_default(child):
                return True
    return False


class _Writer:
    """Serialises one element tree into a list of strings."""

    def __init__(self) -> None:
        self.out: list[str] = []
        self._counter = 0

    def _new_prefix(self, scope: Mapping[str, str]) -> str:
        used = set(scope.values())
        while True:
            prefix = f"ns{self._counter}"
            self._counter += 1
            if prefix not in used:
                return prefix

    def write(self, el: Element, parent_default: str | None, scope: Mapping[str, str]) -> None:
        """Append the serialisation of ``el`` to ``self.out``."""
        own_default = el.defaultUri if el.defaultUri is not None else parent_default
        uri = el.uri if el.uri is not None else own_default
        declarations: list[str] = []
        inner: dict[str, str] | None = None

        def declare(prefix: str, ns: str) -> None:
            nonlocal inner
            if inner is None:
                inner = dict(scope)
            inner[ns] = prefix
            declarations.append(f" xmlns:{prefix}='{escape_attribute(ns)}'")

        for prefix, ns in el.localPrefixes.items():
            if (inner if inner is not None else scope).get(ns) != prefix:
                declare(prefix, ns)

        prefix = None
        children_default = own_default
        if uri == own_default:
            bound = (inner if inner is not None else scope).get(uri) if uri else None
            if bound is not None and uri != parent_default and not _inherits_default(el):
                prefix = bound
                children_default = parent_default
        elif not uri:
            # No namespace cannot be written with a prefix: undeclare the default.
            children_default = ""
        else:
            prefix = (inner if inner is not None else scope).get(uri)
            if prefix is None:
                prefix = self._new_prefix(inner if inner is not None else scope)
                declare(prefix, uri)
        tag = el.name if prefix is None else f"{prefix}:{el.name}"

        parts = ["<", tag]
        if children_default != parent_default and children_default is not None:
            parts.append(f" xmlns='{escape_attribute(children_default)}'")
        attributes: list[str] = []
        for key, value in el.attributes.items():
            if isinstance(key, tuple):
                ans, aname = key
                if ans:
                    aprefix = (inner if inner is not None else scope).get(ans)
                    if aprefix is None:
                        aprefix = self._new_prefix(inner if inner is not None else scope)
                        declare(aprefix, ans)
                    attributes.append(f" {aprefix}:{aname}='{escape_attribute(value)}'")
                    continue
                key = aname
            attributes.append(f" {key}='{escape_attribute(value)}'")
        parts.extend(declarations)
        parts.extend(attributes)
        write = self.out.append
        if not el.children:
            parts.append("/>")
            write("".join(parts))
            return
        parts.append(">")
        write("".join(parts))
        child_scope = inner if inner is not None else scope
        for child in el.children:
            if isinstance(child, SerializedXML):
                write(child)
            elif isinstance(child, str):
                write(escape_text(child))
            else:
                self.write(child, children_default, child_scope)
        write(f"</{tag}>")


def element_to_str(
    el: Element,
    *,
    default_uri: str | None = NS_CLIENT,
    prefixes: Mapping[str, str] | None = None,
) -> str:
    """Serialise an element as it would appear inside an open stream.

    Args:
        el: the element (a domish Element).
        default_uri: the default namespace in force where the element is
            written (the stream's content namespace); a matching namespace is
            not declared again.  None: nothing is in force.
        prefixes: namespace URI to prefix bindings already declared by the
            enclosing stream; by default ``stream:`` and ``xml:``.

    Returns:
        The XML text.
    """
    scope = dict(_DEFAULT_SCOPE if prefixes is None else prefixes)
    scope.setdefault(NS_XML, "xml")
    writer = _Writer()
    writer.write(el, default_uri, scope)
    return "".join(writer.out)


def element_to_bytes(
    el: Element,
    *,
    default_uri: str | None = NS_CLIENT,
    prefixes: Mapping[str, str] | None = None,
) -> bytes:
    """Serialise an element to UTF-8 bytes; see :func:`element_to_str`.

    Args:
        el: the element (a domish Element).
        default_uri: the default namespace in force where it is written.
        prefixes: namespace URI to prefix bindings already in scope.

    Returns:
        The UTF-8 encoded XML.
    """
    return element_to_str(el, default_uri=default_uri, prefixes=prefixes).encode("utf-8")


def stream_header(
    from_: str | None = None,
    to: str | None = None,
    id: str | None = None,
    version: str | None = "1.0",
    lang: str | None = None,
    xmlns: str = NS_CLIENT,
    *,
    xml_declaration: bool = True,
    extra_prefixes: Mapping[str, str] | None = None,
) -> bytes:
    """Build an opening ``<stream:stream>`` tag (RFC 6120 section 4.7).

    Args:
        from_: the 'from' attribute, or None to leave it out.
        to: the 'to' attribute, or None.
        id: the stream id (only the receiving entity sends one), or None.
        version: the 'version' attribute; None leaves it out (pre-1.0 peers).
        lang: the 'xml:lang' attribute, or None.
        xmlns: the content namespace (jabber:client, jabber:server ...).
        xml_declaration: start with ``<?xml version='1.0'?>``.
        extra_prefixes: more prefix to URI declarations, e.g.
            ``{"db": "jabber:server:dialback"}``.

    Returns:
        The UTF-8 encoded header, left open.
    """
    parts = ["<?xml version='1.0'?>"] if xml_declaration else []
    parts.append(f"<stream:stream xmlns='{escape_attribute(xmlns)}' xmlns:stream='{NS_STREAMS}'")
    for prefix, uri in (extra_prefixes or {}).items():
        parts.append(f" xmlns:{prefix}='{escape_attribute(uri)}'")
    for name, value in (("id", id), ("from", from_), ("to", to), ("version", version)):
        if value is not None:
            parts.append(f" {name}='{escape_attribute(value)}'")
    if lang is not None:
        parts.append(f" xml:lang='{escape_attribute(lang)}'")
    parts.append(">")
    return "".join(parts).encode("utf-8")


def copy_element(el: Element) -> Element:
    """Return a deep copy of an element tree (new parents, same strings).

    Args:
        el: the element to copy.

    Returns:
        An independent copy; changing it leaves ``el`` untouched.
    """
    new = Element((el.uri, el.name), el.defaultUri, dict(el.attributes), dict(el.localPrefixes))
    new.defaultUri = el.defaultUri
    for child in el.children:
        if isinstance(child, str):
            new.children.append(child)
        else:
            sub = copy_element(child)
            sub.parent = new
            new.children.append(sub)
    return new
