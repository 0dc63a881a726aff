"""The presence subscription state machine of RFC 6121 section 3 and Appendix A.

Pure functions over :class:`mongoose.storage.interfaces.RosterItem`: given
the user's item for a contact (or None) and a subscription stanza type, they
return the new item and what the server must do.  ``outbound`` handles
stanzas the user sends to the contact (Appendix A.2), ``inbound`` those the
contact sends to the user (Appendix A.3).  Pre-approvals (section 3.4) are
supported.  Nothing here does I/O, so the tables can be tested exhaustively.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from mongoose.storage.interfaces import RosterItem

__all__ = [
    "SUBSCRIPTION_TYPES",
    "Outcome",
    "compose",
    "has_from",
    "has_to",
    "inbound",
    "outbound",
    "prune",
    "visible",
]

#: The presence types that manage subscriptions.
SUBSCRIPTION_TYPES = frozenset({"subscribe", "subscribed", "unsubscribe", "unsubscribed"})

_COMPOSE = {
    (False, False): "none",
    (True, False): "to",
    (False, True): "from",
    (True, True): "both",
}


def has_to(item: RosterItem | None) -> bool:
    """True when the user receives the contact's presence (``to`` or ``both``)."""
    return item is not None and item.subscription in ("to", "both")


def has_from(item: RosterItem | None) -> bool:
    """True when the contact receives the user's presence (``from`` or ``both``)."""
    return item is not None and item.subscription in ("from", "both")


def compose(to: bool, from_: bool) -> str:
    """The subscription value for the two directions."""
    return _COMPOSE[(to, from_)]


def prune(item: RosterItem | None) -> RosterItem | None:
    """None for an item that no longer ties user and contact together, else the item."""
    if item is None:
        return None
    if (
        not item.listed
        and item.subscription == "none"
        and not (item.pending_out or item.pending_in or item.approved)
    ):
        return None
    return item


def visible(item: RosterItem | None) -> tuple | None:
    """What a client sees of an item in a roster result or push (None: not shown)."""
    if item is None or not item.listed:
        return None
    return (item.name, item.groups, item.subscription, item.pending_out, item.approved)


@dataclass(frozen=True)
class Outcome:
    """The result of one subscription stanza.

    Attributes:
        before: the item before.
        after: the item after (None: no row).
        forward: outbound: route the stanza to the contact; inbound: deliver
            it to the user's available resources.
        auto_reply: inbound only: a presence type the server sends to the
            contact on the user's behalf (``subscribed`` when the contact is
            already approved).
        presence: ``available`` when the contact just gained a subscription
            to the user (send the user's current presence to the contact),
            ``unavailable`` when it just lost one, else None.
    """

    before: RosterItem | None
    after: RosterItem | None
    forward: bool
    auto_reply: str | None = None
    presence: str | None = None

    @property
    def changed(self) -> bool:
        """True when the stored item changes."""
        return self.before != self.after


def _start(item: RosterItem | None, contact: str) -> RosterItem:
    return item if item is not None else RosterItem(contact, listed=False)


def outbound(kind: str, item: RosterItem | None, contact: str) -> Outcome:
    """The user sends a subscription stanza of type ``kind`` to ``contact`` (Appendix A.2).

    Args:
        kind: subscribe, subscribed, unsubscribe or unsubscribed.
        item: the user's item for the contact, or None.
        contact: the contact's bare JID.

    Raises:
        ValueError: ``kind`` is not a subscription type.
    """
    current = _start(item, contact)
    to, from_ = has_to(current), has_from(current)
    if kind == "subscribe":
        # A.2.1: ask for the contact's presence; the roster gets the item.
        new = replace(current, listed=True, pending_out=current.pending_out or not to)
        return Outcome(item, prune(new), forward=True)
    if kind == "unsubscribe":
        # A.2.2: stop receiving (or asking for) the contact's presence.
        new = replace(current, pending_out=False, subscription=compose(False, from_))
        return Outcome(item, prune(new), forward=True)
    if kind == "subscribed":
        if current.pending_in:
            # A.2.3: approve the contact's request.
            new = replace(
                current, listed=True, pending_in=False, ask_message=None, approved=False,
                subscription=compose(to, True),
            )
            return Outcome(item, prune(new), forward=True, presence="available")
        if not from_:
            # Section 3.4: no request yet, so this is a pre-approval; not routed.
            new = replace(current, listed=True, approved=True)
            return Outcome(item, prune(new), forward=False)
        return Outcome(item, item, forward=True)
    if kind == "unsubscribed":
        if current.pending_in or from_:
            # A.2.4: deny the request or cancel the contact's subscription.
            new = replace(
                current, pending_in=False, ask_message=None, approved=False,
                subscription=compose(to, False),
            )
            return Outcome(
                item, prune(new), forward=True, presence="unavailable" if from_ else None
            )
        if current.approved:
            # Section 3.4: cancel a pre-approval; the contact never knew of it.
            return Outcome(item, prune(replace(current, approved=False)), forward=False)
        return Outcome(item, item, forward=True)
    raise ValueError(f"{kind!r} is not a subscription presence type")


def inbound(
    kind: str, item: RosterItem | None, contact: str, message: str | None = None
) -> Outcome:
    """The contact sends a subscription stanza of type ``kind`` to the user (Appendix A.3).

    Args:
        kind: subscribe, subscribed, unsubscribe or unsubscribed.
        item: the user's item for the contact, or None.
        contact: the contact's bare JID.
        message: the status text of a subscription request, kept with it.

    Raises:
        ValueError: ``kind`` is not a subscription type.
    """
    current = _start(item, contact)
    to, from_ = has_to(current), has_from(current)
    if kind == "subscribe":
        if from_:
            # Section 3.1.3: already subscribed; answer for the user.
            return Outcome(item, item, forward=False, auto_reply="subscribed")
        if current.approved:
            # Section 3.4: pre-approved; the subscription starts at once.
            new = replace(
                current, approved=False, pending_in=False, ask_message=None,
                subscription=compose(to, True),
            )
            return Outcome(
                item, prune(new), forward=False, auto_reply="subscribed", presence="available"
            )
        if current.pending_in:
            # A duplicate request: it is stored and shown at the next login.
            return Outcome(item, item, forward=False)
        new = replace(current, pending_in=True, ask_message=message)
        return Outcome(item, prune(new), forward=True)
    if kind == "unsubscribe":
        if current.pending_in or from_:
            new = replace(
                current, pending_in=False, ask_message=None, subscription=compose(to, False)
            )
            return Outcome(item, prune(new), forward=True)
        return Outcome(item, item, forward=False)
    if kind == "subscribed":
        if current.pending_out:
            new = replace(current, pending_out=False, subscription=compose(True, from_))
            return Outcome(item, prune(new), forward=True)
        return Outcome(item, item, forward=False)
    if kind == "unsubscribed":
        if current.pending_out or to:
            new = replace(current, pending_out=False, subscription=compose(False, from_))
            return Outcome(item, prune(new), forward=True)
        return Outcome(item, item, forward=False)
    raise ValueError(f"{kind!r} is not a subscription presence type")
