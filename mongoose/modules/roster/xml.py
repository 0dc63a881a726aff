"""The ``jabber:iq:roster`` wire format (RFC 6121 section 2.1) and roster versions (XEP-0237).

``item_element`` writes a roster item the way clients see it (no pending-in
state: RFC 6121 3.1.3 keeps unanswered requests out of the roster);
``parse_set`` reads and checks the single item of a roster set, with the
errors of RFC 6121 section 2.3.3.
"""

from __future__ import annotations

from dataclasses import dataclass

from twisted.words.xish.domish import Element

from mongoose.storage.interfaces import RosterItem
from mongoose.xmpp.errors import StanzaError
from mongoose.xmpp.jid import JID, InvalidJID

__all__ = [
    "NS_ROSTER",
    "NS_ROSTERVER_FEATURE",
    "NS_PREAPPROVAL_FEATURE",
    "MAX_TEXT",
    "RosterSet",
    "item_element",
    "parse_set",
    "query_element",
    "removed_item_element",
]

NS_ROSTER = "jabber:iq:roster"
#: Stream feature announcing roster versioning (XEP-0237 section 2.1).
NS_ROSTERVER_FEATURE = "urn:xmpp:features:rosterver"
#: Stream feature announcing subscription pre-approval (RFC 6121 section 3.4).
NS_PREAPPROVAL_FEATURE = "urn:xmpp:features:pre-approval"

#: Longest handle or group name accepted, in characters.
MAX_TEXT = 1023


def query_element(version: str | None = None) -> Element:
    """An empty ``<query xmlns='jabber:iq:roster'/>``, with ``ver`` when given."""
    query = Element((NS_ROSTER, "query"))
    if version is not None:
        query["ver"] = version
    return query


def item_element(item: RosterItem) -> Element:
    """The ``<item/>`` clients see for a listed roster item."""
    el = Element((NS_ROSTER, "item"))
    el["jid"] = item.contact
    if item.name:
        el["name"] = item.name
    el["subscription"] = item.subscription
    if item.pending_out:
        el["ask"] = "subscribe"
    if item.approved:
        el["approved"] = "true"
    for group in item.groups:
        el.addElement((NS_ROSTER, "group"), content=group)
    return el


def removed_item_element(contact: str) -> Element:
    """The ``<item subscription='remove'/>`` of a roster push for a removed contact."""
    el = Element((NS_ROSTER, "item"))
    el["jid"] = contact
    el["subscription"] = "remove"
    return el


@dataclass(frozen=True)
class RosterSet:
    """The parsed item of a roster set.

    Attributes:
        contact: the item's bare JID.
        remove: ``subscription='remove'`` was asked.
        name: the handle, or None.
        groups: the group names in the order given.
    """

    contact: JID
    remove: bool
    name: str | None
    groups: tuple[str, ...]


def parse_set(query: Element) -> RosterSet:
    """Read the single ``<item/>`` of a roster set.

    Attributes other than ``jid``, ``name`` and ``subscription='remove'`` are
    ignored, as RFC 6121 2.1.2 asks (``ask``, ``approved`` and other
    subscription values are the server's business).

    Raises:
        StanzaError: ``bad-request`` (not exactly one item, duplicate group),
            ``jid-malformed`` (missing or bad JID) or ``not-acceptable``
            (empty group, name or group too long).
    """
    items = [el for el in query.elements() if el.name == "item"]
    if len(items) != 1:
        raise StanzaError("bad-request", text="a roster set carries exactly one item")
    (item,) = items
    raw_jid = item.getAttribute("jid")
    if not raw_jid:
        raise StanzaError("jid-malformed", text="the roster item has no jid")
    try:
        contact = JID.parse(raw_jid).bare()
    except InvalidJID as exc:
        raise StanzaError("jid-malformed", text=exc.reason) from None
    if item.getAttribute("subscription") == "remove":
        return RosterSet(contact, True, None, ())
    name = item.getAttribute("name") or None
    if name is not None and len(name) > MAX_TEXT:
        raise StanzaError("not-acceptable", text=f"the name is longer than {MAX_TEXT} characters")
    groups: list[str] = []
    for group in item.elements():
        if group.name != "group":
            continue
        text = str(group)
        if not text:
            raise StanzaError("not-acceptable", text="a group name is empty")
        if len(text) > MAX_TEXT:
            raise StanzaError(
                "not-acceptable", text=f"a group name is longer than {MAX_TEXT} characters"
            )
        if text in groups:
            raise StanzaError("bad-request", text=f"the group {text!r} is given twice")
        groups.append(text)
    return RosterSet(contact, False, name, tuple(groups))
