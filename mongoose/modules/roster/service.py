"""Rosters and presence subscriptions of one host (RFC 6121 sections 2 and 3).

:class:`RosterService` is what ``mod_roster`` runs on a host: it reads and
writes rosters through an :class:`~mongoose.storage.interfaces.IRosterStore`,
applies the subscription state machine of :mod:`mongoose.modules.roster.state`,
sends roster pushes to the user's interested resources (RFC 6121 2.1.6,
with XEP-0237 versions when enabled), routes subscription stanzas stamped
with the user's bare JID, and sends the user's presence to a contact that
gains or loses a subscription.  The admin commands of the ``roster``
category use the same methods, so a contact added by an administrator looks
exactly like one added by the user's client.
"""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from twisted.logger import Logger
from twisted.words.xish.domish import Element

from mongoose.modules.roster import state
from mongoose.modules.roster.xml import item_element, query_element, removed_item_element
from mongoose.storage.interfaces import IRosterStore, RosterItem, RosterUpdate
from mongoose.xmpp.jid import JID
from mongoose.xmpp.namespaces import NS_CLIENT
from mongoose.xmpp.serialize import copy_element

__all__ = ["NotInRoster", "RosterService"]

log = Logger()


class NotInRoster(LookupError):
    """The contact is not in the user's roster."""


def _presence(kind: str | None, from_: str, to: str) -> Element:
    el = Element((NS_CLIENT, "presence"))
    if kind is not None:
        el["type"] = kind
    el["from"] = from_
    el["to"] = to
    return el


def _status_text(stanza: Element | None) -> str | None:
    if stanza is None:
        return None
    for child in stanza.elements():
        if child.name == "status":
            return str(child) or None
    return None


class RosterService:
    """Rosters and subscriptions of the users of one host.

    Args:
        host: the XMPP domain.
        store: the roster store.
        sessions: the node's SessionManager.
        router: the node's Router.
        versioning: include XEP-0237 versions in results and pushes.
        user_exists: ``(user, host) -> awaitable bool``; subscription requests
            for users that do not exist are answered with ``unsubscribed``.
    """

    def __init__(
        self,
        host: str,
        store: IRosterStore,
        sessions: Any,
        router: Any,
        versioning: bool = False,
        user_exists: Callable[[str, str], Awaitable[bool]] | None = None,
    ):
        self.host = host
        self.store = store
        self.sessions = sessions
        self.router = router
        self.versioning = versioning
        self.user_exists = user_exists
        self._push_ids = itertools.count(1)

    # -- reading ------------------------------------------------------------

    def bare(self, user: str) -> JID:
        """The bare JID of a user of this host."""
        return JID(user, self.host)

    async def items(self, user: str) -> list[RosterItem]:
        """Every stored item of ``user``, pending requests included."""
        return await self.store.get_items(self.host, user)

    async def item(self, user: str, contact: JID) -> RosterItem | None:
        """The stored item of ``user`` for ``contact``, or None."""
        return await self.store.get_item(self.host, user, contact.userhost)

    async def roster(self, user: str) -> tuple[list[RosterItem], str]:
        """The items a client sees and the roster version they correspond to.

        The version is read first: a write racing with the read then leaves
        the client with a version older than its items, so it fetches again
        later instead of missing a change.
        """
        version = await self.store.get_version(self.host, user)
        items = await self.store.get_items(self.host, user)
        return [i for i in items if i.listed], version

    async def subscription_lists(self, user: str) -> tuple[set[str], set[str]]:
        """Bare JIDs subscribed to ``user`` (from/both) and that ``user`` is subscribed to."""
        subscribed_from: set[str] = set()
        subscribed_to: set[str] = set()
        for item in await self.store.get_items(self.host, user):
            if state.has_from(item):
                subscribed_from.add(item.contact)
            if state.has_to(item):
                subscribed_to.add(item.contact)
        return subscribed_from, subscribed_to

    # -- roster management (RFC 6121 sections 2.3-2.5) ------------------------

    async def set_item(
        self, user: str, contact: JID, name: str | None, groups: tuple[str, ...]
    ) -> RosterUpdate:
        """Add ``contact`` to the roster or change its handle and groups (a roster set).

        The subscription state is kept; the item's name and groups are replaced.
        """
        bare = contact.userhost

        def change(before: RosterItem | None) -> RosterItem:
            base = before if before is not None else RosterItem(bare, listed=False)
            return replace(base, listed=True, name=name, groups=tuple(groups))

        update = await self.store.update_item(self.host, user, bare, change)
        await self.push(user, update)
        return update

    async def remove_item(self, user: str, contact: JID, listed_only: bool = True) -> RosterItem:
        """Remove ``contact`` and cancel both subscriptions (RFC 6121 section 2.5.2).

        Args:
            user: the roster's owner.
            contact: the contact to remove.
            listed_only: refuse contacts not shown in the roster (a pending
                request alone); admins may remove those too.

        Returns:
            The removed item.

        Raises:
            NotInRoster: there is no such item.
        """
        bare = contact.userhost

        def change(before: RosterItem | None) -> None:
            if before is None or (listed_only and not before.listed):
                raise NotInRoster(bare)
            return None

        update = await self.store.update_item(self.host, user, bare, change)
        removed = update.before
        assert removed is not None
        await self.push(user, update)
        me = self.bare(user).userhost
        if removed.pending_out or state.has_to(removed):
            await self.router.route(_presence("unsubscribe", me, bare))
        if removed.pending_in or state.has_from(removed):
            await self.router.route(_presence("unsubscribed", me, bare))
        if state.has_from(removed):
            await self.send_presence(user, contact, "unavailable")
        return removed

    async def set_both(
        self,
        user: str,
        contact: JID,
        name: str | None = None,
        groups: tuple[str, ...] | None = None,
    ) -> RosterUpdate:
        """Make ``user`` and ``contact`` subscribed to each other on the user's side (admin).

        ``name`` and ``groups`` replace the item's when given.  The user's
        presence is sent to the contact when the contact gains the subscription.
        """
        bare = contact.userhost

        def change(before: RosterItem | None) -> RosterItem:
            base = before if before is not None else RosterItem(bare)
            return replace(
                base,
                listed=True,
                subscription="both",
                pending_out=False,
                pending_in=False,
                approved=False,
                ask_message=None,
                name=base.name if name is None else name,
                groups=base.groups if groups is None else tuple(groups),
            )

        update = await self.store.update_item(self.host, user, bare, change)
        await self.push(user, update)
        if not state.has_from(update.before):
            await self.send_presence(user, contact, "available")
        return update

    async def drop_item(self, user: str, contact: JID) -> RosterItem | None:
        """Delete the item without telling the contact (the admin changes both sides).

        Returns:
            The removed item, or None when there was none.
        """
        update = await self.store.update_item(
            self.host, user, contact.userhost, lambda before: None
        )
        await self.push(user, update)
        if state.has_from(update.before):
            await self.send_presence(user, contact, "unavailable")
        return update.before

    async def remove_user(self, user: str) -> None:
        """Cancel every subscription of a removed account and delete its roster."""
        me = self.bare(user).userhost
        for item in await self.store.get_items(self.host, user):
            if item.pending_out or state.has_to(item):
                await self.router.route(_presence("unsubscribe", me, item.contact))
            if item.pending_in or state.has_from(item):
                await self.router.route(_presence("unsubscribed", me, item.contact))
        await self.store.remove_user(self.host, user)

    # -- subscriptions (RFC 6121 section 3) ----------------------------------

    async def outbound(
        self, user: str, contact: JID, kind: str, stanza: Element | None = None
    ) -> state.Outcome:
        """The user sends a subscription stanza of type ``kind`` to ``contact``.

        The roster changes as RFC 6121 Appendix A.2 says, interested
        resources get a push, and the stanza (its children kept) is routed
        to the contact with the user's bare JID as 'from', unless it only
        records or cancels a pre-approval.
        """
        bare = contact.userhost
        seen: list[state.Outcome] = []

        def change(before: RosterItem | None) -> RosterItem | None:
            outcome = state.outbound(kind, before, bare)
            seen.append(outcome)
            return outcome.after

        update = await self.store.update_item(self.host, user, bare, change)
        outcome = seen[-1]
        await self.push(user, update)
        if outcome.forward:
            out = _presence(kind, self.bare(user).userhost, bare)
            if stanza is not None:
                for child in stanza.elements():
                    out.addChild(copy_element(child))
                if stanza.hasAttribute("id"):
                    out["id"] = stanza["id"]
            await self.router.route(out)
        if outcome.presence is not None:
            await self.send_presence(user, contact, outcome.presence)
        return outcome

    async def inbound(self, user: str, sender: JID, kind: str, stanza: Element) -> state.Outcome:
        """A subscription stanza of type ``kind`` from ``sender`` reaches ``user``.

        The roster changes as RFC 6121 Appendix A.3 says; the stanza is
        delivered to the user's available resources only when it changes
        something (a new request is also kept and shown again at each login
        until answered), and requests from approved contacts are answered
        for the user.
        """
        contact = sender.bare()
        bare = contact.userhost
        me = self.bare(user).userhost
        if kind == "subscribe" and self.user_exists is not None:
            if not await self.user_exists(user, self.host):
                await self.router.route(_presence("unsubscribed", me, bare))
                return state.Outcome(None, None, forward=False, auto_reply="unsubscribed")
        message = _status_text(stanza) if kind == "subscribe" else None
        seen: list[state.Outcome] = []

        def change(before: RosterItem | None) -> RosterItem | None:
            outcome = state.inbound(kind, before, bare, message)
            seen.append(outcome)
            return outcome.after

        update = await self.store.update_item(self.host, user, bare, change)
        outcome = seen[-1]
        await self.push(user, update)
        if outcome.forward:
            delivered = copy_element(stanza)
            delivered["from"] = bare
            delivered["to"] = me
            for session in self.sessions.available_sessions(user, self.host):
                await self.router.deliver(session, delivered)
        if outcome.auto_reply is not None:
            await self.router.route(_presence(outcome.auto_reply, me, bare))
        if outcome.presence is not None:
            await self.send_presence(user, contact, outcome.presence)
        return outcome

    async def redeliver_requests(self, session: Any) -> int:
        """Show a session that just became available the requests its user has not answered.

        Returns:
            How many requests were delivered.
        """
        user = session.jid.user
        me = self.bare(user).userhost
        count = 0
        for item in await self.store.get_items(self.host, user):
            if not item.pending_in:
                continue
            request = _presence("subscribe", item.contact, me)
            if item.ask_message:
                request.addElement((NS_CLIENT, "status"), content=item.ask_message)
            await self.router.deliver(session, request)
            count += 1
        return count

    # -- pushes and presence --------------------------------------------------

    async def push(self, user: str, update: RosterUpdate) -> None:
        """Send a roster push to every interested resource if what clients see changed."""
        if state.visible(update.before) == state.visible(update.after):
            return
        contact = (update.after or update.before).contact  # type: ignore[union-attr]
        version = update.version if self.versioning else None
        for session in self.sessions.sessions_of(user, self.host):
            if not session.roster_requested:
                continue
            iq = Element((NS_CLIENT, "iq"))
            iq["type"] = "set"
            iq["id"] = f"push{next(self._push_ids)}"
            iq["to"] = session.jid.full()
            query = iq.addChild(query_element(version))
            if state.visible(update.after) is None:
                query.addChild(removed_item_element(contact))
            else:
                query.addChild(item_element(update.after))  # type: ignore[arg-type]
            await self.router.deliver(session, iq)

    async def send_presence(self, user: str, contact: JID, kind: str) -> None:
        """Send the presence of each available resource of ``user`` to ``contact``.

        Args:
            user: whose presence.
            contact: the recipient.
            kind: ``available`` (each resource's last presence) or
                ``unavailable``.
        """
        to = contact.full()
        for session in self.sessions.available_sessions(user, self.host):
            if kind == "available":
                if session.presence is None:
                    continue
                presence = copy_element(session.presence)
                presence["from"] = session.jid.full()
                presence["to"] = to
            else:
                presence = _presence("unavailable", session.jid.full(), to)
            await self.router.route(presence)
