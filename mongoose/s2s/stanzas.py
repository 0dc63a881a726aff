"""Stanza namespaces on server streams (RFC 6120 section 4.8.3).

Inside the server stanzas are in ``jabber:client``; on a server-to-server
stream they are in ``jabber:server``.  :func:`from_server` renames a parsed
stanza in place; :func:`to_server` returns a renamed copy (the router may
hand the original to other recipients).  Payloads in other namespaces are
left alone.
"""

from __future__ import annotations

from twisted.words.xish.domish import Element

from mongoose.xmpp.namespaces import NS_CLIENT, NS_SERVER

__all__ = ["STANZA_NAMES", "from_server", "to_server"]

#: First-level elements that are stanzas.
STANZA_NAMES = frozenset({"message", "presence", "iq"})


def _rename(el: Element) -> None:
    if el.uri == NS_SERVER:
        el.uri = NS_CLIENT
    if el.defaultUri == NS_SERVER:
        el.defaultUri = NS_CLIENT
    for child in el.children:
        if isinstance(child, Element):
            _rename(child)


def from_server(stanza: Element) -> Element:
    """Move a stanza read from a server stream into ``jabber:client``, in place.

    Args:
        stanza: a first-level element from a ``jabber:server`` stream.

    Returns:
        The same element.
    """
    _rename(stanza)
    return stanza


def _copy(el: Element, top: bool) -> Element:
    uri = NS_SERVER if top or el.uri == NS_CLIENT else el.uri
    default = el.defaultUri
    if default == NS_CLIENT or (top and default in (None, "")):
        default = NS_SERVER
    new = Element((uri, el.name), default, dict(el.attributes), dict(el.localPrefixes))
    new.defaultUri = default
    for child in el.children:
        if isinstance(child, Element):
            copied = _copy(child, False)
            copied.parent = new
            new.children.append(copied)
        else:
            new.children.append(child)
    return new


def to_server(stanza: Element) -> Element:
    """A copy of an internal stanza in ``jabber:server``, ready to write.

    Args:
        stanza: a stanza in ``jabber:client``.

    Returns:
        The renamed copy.
    """
    return _copy(stanza, True)
