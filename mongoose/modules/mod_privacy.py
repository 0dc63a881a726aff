"""``mod_privacy``: privacy lists (XEP-0016) and the one privacy enforcement point.

Every user may keep named lists of allow/deny rules, choose a *default*
list (applied whenever no other is active, also while offline) and an
*active* list per session.  ``mod_blocking`` (XEP-0191) stores its blocklist
as rules of the default list, so both protocols share this module's checks:

* outgoing (``user_send_packet``): a stanza the user's list denies is not
  routed; the sender gets ``not-acceptable`` (with XEP-0191's
  ``<blocked xmlns='urn:xmpp:blocking:errors'/>`` when ``mod_blocking`` runs);
* incoming (``user_receive_packet``, run by the router for every delivery,
  and ``offline_message`` for users without a session): a denied message
  or IQ get/set is answered ``service-unavailable`` once, anything else is
  dropped silently.  Broadcast presence from a local user is also checked
  against the sender's ``presence-out`` rules here.

Lists are edited with ``jabber:iq:privacy`` IQs (XEP-0016 section 3); every
change to a list is pushed to all of the user's resources.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from twisted.words.xish.domish import Element
from zope.interface import implementer, provider

from mongoose.config.schema import Enum, Field, Section
from mongoose.hooks import STOP, Stop
from mongoose.interfaces import IModule, IModuleFactory
from mongoose.modules.options import iqdisc_field
from mongoose.modules.privacy.items import (
    NS_BLOCKING,
    NS_BLOCKING_ERRORS,
    NS_PRIVACY,
    list_element,
    parse_items,
)
from mongoose.modules.privacy.rules import decide, is_block_item, needs_roster
from mongoose.router.router import iq_result
from mongoose.storage.interfaces import PrivacyItem
from mongoose.xmpp.errors import StanzaError, error_reply
from mongoose.xmpp.jid import JID, InvalidJID

__all__ = ["PrivacyModule", "BLOCKING_LIST", "stanza_kind"]

#: The list created for blocks when the user has no default list.
BLOCKING_LIST = "blocking"
#: Users whose default list is kept in memory (per host) before the cache restarts.
_CACHE_SIZE = 10_000


def stanza_kind(stanza: Element, incoming: bool) -> str:
    """The XEP-0016 kind of a stanza: message, iq, presence-in/out, or ``other``.

    Presence subscriptions and probes are ``other``: only items without
    stanza kinds (which cover everything) apply to them.
    """
    name = stanza.name
    if name == "presence":
        if stanza.getAttribute("type") in (None, "unavailable"):
            return "presence-in" if incoming else "presence-out"
        return "other"
    return name if name in ("message", "iq") else "other"


def _answerable(stanza: Element) -> bool:
    kind = stanza.getAttribute("type")
    if stanza.name == "iq":
        return kind in ("get", "set")
    return stanza.name == "message" and kind != "error"


@provider(IModuleFactory)
@implementer(IModule)
class PrivacyModule:
    """Privacy lists and the checks every routed stanza passes."""

    name = "mod_privacy"
    dependencies = ()
    options_spec = Section(
        {
            "iqdisc": iqdisc_field(),
            "backend": Field(
                Enum("mnesia", "rdbms"), default="mnesia", doc="Storage backend of MongooseIM.",
                compat="accepted; lists are kept in the node's SQL database "
                "(outgoing_pools.rdbms)",
            ),
        },
        doc="Privacy lists (XEP-0016), also enforcing mod_blocking's blocklist.",
    )

    def start(self, ctx) -> None:
        """Register the IQ handler, the checks and the service lookup."""
        self.ctx = ctx
        self.host = ctx.host
        self.store = ctx.stores.privacy
        self._defaults: dict[str, tuple[str | None, list[PrivacyItem]]] = {}
        #: id(session) -> (list name, items) of the session's active list.
        self._active: dict[int, tuple[str, list[PrivacyItem]]] = {}
        self._push_counter = 0
        ctx.add_feature(NS_PRIVACY)
        ctx.iq_handler(NS_PRIVACY, self.handle_iq, scope="user")
        ctx.hook("user_send_packet", self.on_send, priority=20)
        ctx.hook("user_receive_packet", self.on_receive, priority=20)
        ctx.hook("offline_message", self.on_offline_message, priority=10)
        ctx.hook("sm_remove_connection", self.on_session_end)
        ctx.hook("remove_user", self.on_remove_user)
        ctx.hook("privacy_service", lambda acc: Stop(self))

    def stop(self) -> None:
        """Forget cached lists."""
        self._defaults.clear()
        self._active.clear()

    # -- lists ------------------------------------------------------------------

    async def default_list(self, user: str) -> tuple[str | None, list[PrivacyItem]]:
        """The user's default list name and items (cached)."""
        cached = self._defaults.get(user)
        if cached is not None:
            return cached
        _names, default = await self.store.list_names(self.host, user)
        items = []
        if default is not None:
            items = await self.store.get_list(self.host, user, default) or []
        if len(self._defaults) >= _CACHE_SIZE:
            self._defaults.clear()
        self._defaults[user] = (default, items)
        return default, items

    async def _items_for(self, user: str, session: Any) -> list[PrivacyItem]:
        if session is not None:
            active = self._active.get(id(session))
            if active is not None:
                return active[1]
        return (await self.default_list(user))[1]

    async def allowed(self, user: str, session: Any, kind: str, contact: JID) -> bool:
        """Whether ``user``'s list (the session's active one, else the default) lets it pass.

        Args:
            user: the local user (on this module's host) whose list applies.
            session: the user's session the stanza leaves or reaches, or None.
            kind: see :func:`stanza_kind`.
            contact: the other party.
        """
        items = await self._items_for(user, session)
        if not items:
            return True
        roster = None
        if needs_roster(items) and self.ctx.stores.roster is not None:
            roster = await self.ctx.stores.roster.get_item(
                self.host, user, contact.bare().full()
            )
        return decide(items, kind, contact, roster) == "allow"

    # -- enforcement ------------------------------------------------------------

    def _nothing_applies(self, session: Any) -> bool:
        """True when the session's user is known to have no rules at all (no I/O needed)."""
        if id(session) in self._active:
            return False
        cached = self._defaults.get(session.jid.user)
        return cached is not None and not cached[1]

    def on_send(self, stanza: Element, session: Any):
        """``user_send_packet``: stop stanzas the sender's own list denies."""
        if stanza.attributes.get("to") is None or self._nothing_applies(session):
            return stanza
        return self._check_send(stanza, session)

    async def _check_send(self, stanza: Element, session: Any):
        to = stanza.getAttribute("to")
        try:
            contact = JID.parse(to)
        except InvalidJID:
            return stanza  # the router answers jid-malformed
        if contact.bare() == session.jid.bare():
            return stanza
        if await self.allowed(session.jid.user, session, stanza_kind(stanza, False), contact):
            return stanza
        kind = stanza.getAttribute("type")
        if kind != "error" and not (stanza.name == "iq" and kind == "result"):
            app = None
            if NS_BLOCKING in self.ctx.host_features():
                app = Element((NS_BLOCKING_ERRORS, "blocked"))
            session.deliver(error_reply(
                stanza, "not-acceptable", text="You have blocked this contact",
                app_condition=app,
            ))
        return Stop(None)

    def on_receive(self, stanza: Element, session: Any):
        """``user_receive_packet``: stop stanzas the recipient's list denies."""
        if stanza.name != "presence" and self._nothing_applies(session):
            return stanza  # presence may still meet the sender's presence-out rules
        return self._check_receive(stanza, session)

    async def _check_receive(self, stanza: Element, session: Any):
        sender = stanza.getAttribute("from")
        if sender is None:
            return stanza
        try:
            contact = JID.parse(sender)
        except InvalidJID:
            return stanza
        user = session.jid.user
        if contact.bare() == session.jid.bare():
            return stanza
        kind = stanza_kind(stanza, True)
        if not await self.allowed(user, session, kind, contact):
            self._refuse(stanza)
            return Stop(None)
        if (
            kind == "presence-in"
            and contact.host == self.host
            and contact.user is not None
            and self.ctx.sessions.get(contact) is not None
        ):
            # Broadcast presence never passes user_send_packet with a 'to'.
            sender_session = self.ctx.sessions.get(contact)
            if not await self.allowed(contact.user, sender_session, "presence-out",
                                      session.jid):
                return Stop(None)
        return stanza

    def _refuse(self, stanza: Element) -> None:
        # A message to a bare JID is delivered to several sessions: answer once.
        if _answerable(stanza) and not getattr(stanza, "_privacy_refused", False):
            stanza._privacy_refused = True
            self.ctx.router.bounce(stanza, "service-unavailable")

    async def on_offline_message(self, from_jid: JID | None, to_jid: JID, stanza: Element):
        """``offline_message``: the default list also guards an offline user."""
        if from_jid is None or to_jid.user is None:
            return None
        if await self.allowed(to_jid.user, None, "message", from_jid):
            return None
        self._refuse(stanza)
        return STOP

    def on_session_end(self, session: Any) -> None:
        """Forget the session's active list."""
        self._active.pop(id(session), None)

    async def on_remove_user(self, user: str, host: str) -> None:
        """Delete a removed account's lists."""
        if host != self.host:
            return
        self._defaults.pop(user, None)
        await self.store.remove_user(host, user)

    # -- jabber:iq:privacy ------------------------------------------------------

    async def handle_iq(self, iq: Element, from_jid: JID, to_jid: JID) -> Element:
        """Answer a privacy IQ from the user's own session."""
        if from_jid is None or from_jid.bare() != to_jid.bare():
            raise StanzaError("forbidden", text="privacy lists belong to their owner")
        session = self.ctx.sessions.get(from_jid)
        query = next(iq.elements())
        children = list(query.elements())
        user = from_jid.user
        if iq["type"] == "get":
            return iq_result(iq, await self._get(user, session, children))
        if len(children) != 1:
            raise StanzaError("bad-request", text="a privacy set changes exactly one thing")
        child = children[0]
        name = child.getAttribute("name")
        if child.name == "active":
            await self._set_active(user, session, name)
        elif child.name == "default":
            await self._set_default(user, name)
        elif child.name == "list" and name:
            await self._set_list(user, session, name, parse_items(child))
        else:
            raise StanzaError("bad-request", text="expected <active/>, <default/> or <list/>")
        return iq_result(iq)

    async def _get(self, user: str, session: Any, children: Sequence[Element]) -> Element:
        query = Element((NS_PRIVACY, "query"))
        if not children:
            names, default = await self.store.list_names(self.host, user)
            active = self._active.get(id(session)) if session is not None else None
            active_el = query.addElement("active")
            if active is not None:
                active_el["name"] = active[0]
            default_el = query.addElement("default")
            if default is not None:
                default_el["name"] = default
            for name in names:
                query.addElement("list")["name"] = name
            return query
        if len(children) != 1 or children[0].name != "list" or not children[0].getAttribute(
            "name"
        ):
            raise StanzaError("bad-request", text="ask for one list by name")
        name = children[0]["name"]
        items = await self.store.get_list(self.host, user, name)
        if items is None:
            raise StanzaError("item-not-found", text=f"no privacy list named {name!r}")
        query.addChild(list_element(name, items))
        return query

    async def _set_active(self, user: str, session: Any, name: str | None) -> None:
        if session is None:
            raise StanzaError("bad-request", text="only a connected session has an active list")
        if name is None:
            self._active.pop(id(session), None)
            return
        items = await self.store.get_list(self.host, user, name)
        if items is None:
            raise StanzaError("item-not-found", text=f"no privacy list named {name!r}")
        self._active[id(session)] = (name, items)

    async def _set_default(self, user: str, name: str | None) -> None:
        if not await self.store.set_default(self.host, user, name):
            raise StanzaError("item-not-found", text=f"no privacy list named {name!r}")
        self._defaults.pop(user, None)

    async def _set_list(
        self, user: str, session: Any, name: str, items: list[PrivacyItem]
    ) -> None:
        if not items:
            for other in self.ctx.sessions.sessions_of(user, self.host):
                active = self._active.get(id(other))
                if other is not session and active is not None and active[0] == name:
                    raise StanzaError("conflict", text="the list is active on another resource")
            default, _items = await self.default_list(user)
            if default == name:
                raise StanzaError("conflict", text="the default list cannot be removed")
            if not await self.store.remove_list(self.host, user, name):
                raise StanzaError("item-not-found", text=f"no privacy list named {name!r}")
        else:
            await self.store.set_list(self.host, user, name, items)
        self._list_changed(user, name, items)
        self.push_list(user, name)

    def _list_changed(self, user: str, name: str, items: list[PrivacyItem]) -> None:
        cached = self._defaults.get(user)
        if cached is not None and cached[0] == name:
            self._defaults[user] = (name, items)
        for key, (active_name, _old) in list(self._active.items()):
            if active_name == name:
                for other in self.ctx.sessions.sessions_of(user, self.host):
                    if id(other) == key:
                        self._active[key] = (name, items)

    def push_list(self, user: str, name: str) -> None:
        """Tell every resource of ``user`` that list ``name`` changed (XEP-0016 section 3.5)."""
        for session in self.ctx.sessions.sessions_of(user, self.host):
            self._push_counter += 1
            push = Element((None, "iq"))
            push["type"] = "set"
            push["id"] = f"privacy-push-{self._push_counter}"
            push["to"] = session.jid.full()
            push.addElement((NS_PRIVACY, "query")).addElement("list")["name"] = name
            session.deliver(push)

    # -- the blocklist (for mod_blocking) ---------------------------------------

    async def blocklist(self, user: str) -> list[str]:
        """The JIDs ``user`` blocks (XEP-0191 items of the default list)."""
        _default, items = await self.default_list(user)
        return [item.value for item in items if is_block_item(item)]

    async def change_blocklist(
        self, user: str, block: Sequence[str] = (), unblock: Sequence[str] | None = ()
    ) -> list[str]:
        """Add and remove blocks in the default list (``unblock=None``: remove every block).

        The blocks go first in the list, so they win over other rules; a user
        without a default list gets one named ``blocking``.

        Returns:
            The JIDs whose state actually changed.
        """
        default, items = await self.default_list(user)
        name = default or BLOCKING_LIST
        blocked = [item.value for item in items if is_block_item(item)]
        if unblock is None:
            removing = set(blocked)
        else:
            removing = set(unblock) & set(blocked)
        adding = [jid for jid in dict.fromkeys(block) if jid not in blocked]
        if not adding and not removing:
            return []
        kept = [item for item in items if not (is_block_item(item) and item.value in removing)]
        new_items = [PrivacyItem("deny", 0, "jid", jid) for jid in adding] + kept
        new_items = [
            PrivacyItem(item.action, index, item.type, item.value, item.stanzas)
            for index, item in enumerate(new_items)
        ]
        await self.store.set_list(self.host, user, name, new_items)
        if default is None:
            await self.store.set_default(self.host, user, name)
        self._defaults[user] = (name, new_items)
        self._list_changed(user, name, new_items)
        return adding + sorted(removing)
