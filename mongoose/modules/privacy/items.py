"""The ``jabber:iq:privacy`` wire format of privacy lists (XEP-0016 section 2).

Converts between ``<list/>`` elements and
:class:`~mongoose.storage.interfaces.PrivacyItem` values, refusing what
XEP-0016 section 2.2 does not allow with ``bad-request``.
"""

from __future__ import annotations

from collections.abc import Sequence

from twisted.words.xish.domish import Element

from mongoose.storage.interfaces import PrivacyItem
from mongoose.xmpp.errors import StanzaError
from mongoose.xmpp.jid import JID, InvalidJID

__all__ = ["NS_PRIVACY", "NS_BLOCKING", "NS_BLOCKING_ERRORS", "STANZA_KINDS", "parse_items", "list_element"]

NS_PRIVACY = "jabber:iq:privacy"
#: XEP-0191 namespaces (the blocklist is kept in privacy lists).
NS_BLOCKING = "urn:xmpp:blocking"
NS_BLOCKING_ERRORS = "urn:xmpp:blocking:errors"
#: Child element names of an item, which are also the stanza kinds it covers.
STANZA_KINDS = ("message", "iq", "presence-in", "presence-out")
_TYPES = ("jid", "group", "subscription")
_SUBSCRIPTIONS = ("none", "to", "from", "both")
#: The most items one list may hold.
MAX_ITEMS = 1000


def _parse_item(item: Element) -> PrivacyItem:
    action = item.getAttribute("action")
    if action not in ("allow", "deny"):
        raise StanzaError("bad-request", text="an item's action is 'allow' or 'deny'")
    try:
        order = int(item.getAttribute("order") or "")
    except ValueError:
        raise StanzaError("bad-request", text="an item needs a non-negative order") from None
    if order < 0:
        raise StanzaError("bad-request", text="an item needs a non-negative order")
    kind = item.getAttribute("type")
    value = item.getAttribute("value") or ""
    if kind is not None:
        if kind not in _TYPES:
            raise StanzaError("bad-request", text=f"unknown item type {kind!r}")
        if kind == "jid":
            try:
                value = JID.parse(value).full()
            except InvalidJID as exc:
                raise StanzaError("bad-request", text=f"bad JID value: {exc.reason}") from None
        elif kind == "subscription" and value not in _SUBSCRIPTIONS:
            raise StanzaError("bad-request", text=f"unknown subscription {value!r}")
        elif not value:
            raise StanzaError("bad-request", text="a group item needs a value")
    stanzas = frozenset(child.name for child in item.elements() if child.name in STANZA_KINDS)
    return PrivacyItem(action, order, kind, value if kind else "", stanzas)


def parse_items(list_el: Element) -> list[PrivacyItem]:
    """The items of a ``<list/>`` in order.

    Raises:
        StanzaError: bad-request for malformed items or duplicate orders.
    """
    items = [_parse_item(el) for el in list_el.elements() if el.name == "item"]
    if len(items) > MAX_ITEMS:
        raise StanzaError("resource-constraint", text=f"a list holds at most {MAX_ITEMS} items")
    if len({item.order for item in items}) != len(items):
        raise StanzaError("bad-request", text="two items have the same order")
    return sorted(items, key=lambda item: item.order)


def list_element(name: str, items: Sequence[PrivacyItem]) -> Element:
    """A ``<list name=.../>`` holding ``items``."""
    list_el = Element((NS_PRIVACY, "list"))
    list_el["name"] = name
    for item in items:
        item_el = list_el.addElement("item")
        if item.type is not None:
            item_el["type"] = item.type
            item_el["value"] = item.value
        item_el["action"] = item.action
        item_el["order"] = str(item.order)
        for kind in STANZA_KINDS:
            if kind in item.stanzas:
                item_el.addElement(kind)
    return list_el
