"""Deciding whether a privacy list lets a stanza through (XEP-0016 section 2.2-2.4).

The first item (lowest order) that matches the contact and covers the
stanza kind decides; with no matching item the stanza is allowed.
"""

from __future__ import annotations

from collections.abc import Sequence

from mongoose.storage.interfaces import PrivacyItem, RosterItem
from mongoose.xmpp.jid import JID, InvalidJID

__all__ = ["decide", "jid_matches", "needs_roster", "blocked_jids", "is_block_item"]


def jid_matches(value: str, contact: JID) -> bool:
    """Whether a ``jid`` item value covers ``contact`` (XEP-0016 section 2.1 order)."""
    try:
        rule = JID.parse(value)
    except InvalidJID:
        return False
    if rule.host != contact.host:
        return False
    if rule.resource is None:
        return rule.user is None or rule.user == contact.user
    return rule.user == contact.user and rule.resource == contact.resource


def needs_roster(items: Sequence[PrivacyItem]) -> bool:
    """Whether deciding needs the contact's roster entry (group or subscription items)."""
    return any(item.type in ("group", "subscription") for item in items)


def _matches(item: PrivacyItem, contact: JID, roster: RosterItem | None) -> bool:
    if item.type is None:
        return True
    if item.type == "jid":
        return jid_matches(item.value, contact)
    if item.type == "group":
        return roster is not None and item.value in roster.groups
    subscription = roster.subscription if roster is not None else "none"
    return subscription == item.value


def decide(
    items: Sequence[PrivacyItem], kind: str, contact: JID, roster: RosterItem | None = None
) -> str:
    """``"allow"`` or ``"deny"`` for a stanza of ``kind`` exchanged with ``contact``.

    Args:
        items: the list, in order.
        kind: ``message``, ``iq``, ``presence-in`` or ``presence-out``.
        contact: the other party.
        roster: the user's roster entry for the contact's bare JID, if any.
    """
    for item in items:
        if item.stanzas and kind not in item.stanzas:
            continue
        if _matches(item, contact, roster):
            return item.action
    return "allow"


def is_block_item(item: PrivacyItem) -> bool:
    """Whether an item is an XEP-0191 block: deny everything from one JID."""
    return item.type == "jid" and item.action == "deny" and not item.stanzas


def blocked_jids(items: Sequence[PrivacyItem]) -> list[str]:
    """The JIDs a list blocks in the XEP-0191 sense, in list order."""
    return [item.value for item in items if is_block_item(item)]
