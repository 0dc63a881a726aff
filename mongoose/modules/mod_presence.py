"""``mod_presence``: server-side presence (RFC 6121 section 4), as MongooseIM 6 names it.

Driven by the client stream, which stores each session's broadcast presence
and priority and then runs ``user_presence_broadcast(session, stanza,
was_available)``:

* initial presence (4.2): broadcast to the contacts subscribed to the user
  (``from``/``both``) and to all of the user's available resources (the
  sender included), probes to the contacts the user is subscribed to
  (``to``/``both``), the presence of the user's other available resources
  delivered to the new one, then the ``user_available(session)`` hook
  (``mod_roster`` shows pending requests, ``mod_offline`` delivers stored
  messages);
* subsequent presence (4.4): the same broadcast, no probes;
* unavailable presence (4.5), sent by the client or caused by the session
  ending (``sm_remove_connection``): broadcast to the same contacts, the
  user's other available resources and everyone who got directed presence
  from the session, then the ``user_unavailable(session)`` hook;
* directed presence (4.6) is tracked per session from ``user_send_packet``;
* probes (4.3) from contacts subscribed to the user, or from the user's own
  account, are answered with the last presence of every available resource,
  or with unavailable presence when there is none.  Probes from others are
  ignored, so presence is never revealed to unsubscribed entities.

Who is subscribed comes from the ``roster_get_subscription_lists`` fold
hook (``mod_roster``); without it presence only reaches the user's own
resources and the recipients of directed presence.
"""

from __future__ import annotations

from twisted.words.xish.domish import Element
from zope.interface import implementer, provider

from mongoose.config.schema import Section
from mongoose.interfaces import IModule, IModuleFactory
from mongoose.xmpp.jid import JID, InvalidJID
from mongoose.xmpp.namespaces import NS_CLIENT
from mongoose.xmpp.serialize import copy_element

__all__ = ["PresenceModule", "subscription_lists"]


async def subscription_lists(hooks, user: str, host: str) -> tuple[set[str], set[str]]:
    """Ask the roster which bare JIDs are subscribed to ``user`` and which ``user`` follows.

    Returns:
        ``(from, to)``: sets of bare JID strings.
    """
    lists = await hooks.fold(
        "roster_get_subscription_lists", host, {"from": set(), "to": set()}, user, host
    )
    if not isinstance(lists, dict):
        return set(), set()
    return set(lists.get("from", ())), set(lists.get("to", ()))


def _addressed(stanza: Element, from_: str, to: str) -> Element:
    copy = copy_element(stanza)
    copy["from"] = from_
    copy["to"] = to
    return copy


def _unavailable(from_: str, to: str | None = None) -> Element:
    el = Element((NS_CLIENT, "presence"))
    el["type"] = "unavailable"
    el["from"] = from_
    if to is not None:
        el["to"] = to
    return el


@provider(IModuleFactory)
@implementer(IModule)
class PresenceModule:
    """Presence broadcast, probes and directed presence for one host."""

    name = "mod_presence"
    dependencies = ()
    options_spec = Section({}, doc="Server-side presence handling (RFC 6121 section 4).")

    def start(self, ctx) -> None:
        """Hook into the presence path of client sessions."""
        self.ctx = ctx
        #: id(session) -> full or bare JIDs that got directed available presence.
        self.directed: dict[int, set[str]] = {}
        ctx.hook("user_presence_broadcast", self.on_broadcast)
        ctx.hook("presence_probe", self.on_probe)
        ctx.hook("sm_remove_connection", self.on_session_end)
        ctx.hook("user_send_packet", self.on_user_send_packet, priority=60)

    def stop(self) -> None:
        """Forget directed presence records."""
        self.directed.clear()

    # -- broadcast ------------------------------------------------------------

    async def on_broadcast(self, session, stanza: Element, was_available: bool) -> None:
        """Handle presence a client sent without 'to' (RFC 6121 4.2, 4.4, 4.5)."""
        kind = stanza.getAttribute("type")
        if kind is None:
            await self._available(session, stanza, was_available)
        elif kind == "unavailable":
            await self._went_unavailable(session, stanza)

    async def _available(self, session, stanza: Element, was_available: bool) -> None:
        jid = session.jid
        subscribed_from, subscribed_to = await subscription_lists(
            self.ctx.hooks, jid.user, jid.host
        )
        await self._broadcast(jid, stanza, subscribed_from)
        if was_available:
            return
        me = jid.full()
        for contact in sorted(subscribed_to):
            if contact == jid.userhost:
                continue
            probe = Element((NS_CLIENT, "presence"))
            probe["type"] = "probe"
            probe["from"] = me
            probe["to"] = contact
            await self.ctx.router.route(probe)
        for other in self.ctx.sessions.available_sessions(jid.user, jid.host):
            if other is not session and other.presence is not None:
                await self.ctx.router.deliver(
                    session, _addressed(other.presence, other.jid.full(), me)
                )
        await self.ctx.hooks.run("user_available", jid.host, session)

    async def _broadcast(self, jid: JID, stanza: Element, contacts: set[str]) -> None:
        """Send ``stanza`` from ``jid`` to each contact and to the user's available resources."""
        sender = jid.full()
        own = jid.userhost
        for contact in sorted(contacts):
            if contact != own:
                await self.ctx.router.route(_addressed(stanza, sender, contact))
        await self.ctx.router.route(_addressed(stanza, sender, own))

    async def _went_unavailable(self, session, stanza: Element | None) -> None:
        jid = session.jid
        directed = self.directed.pop(id(session), set())
        subscribed_from, _ = await subscription_lists(self.ctx.hooks, jid.user, jid.host)
        if stanza is None:
            successor = self.ctx.sessions.get(jid)
            if successor is not None and successor is not session and (
                successor.priority is not None
            ):
                return  # replaced by a new session that is available under the same JID
            stanza = _unavailable(jid.full())
        await self._broadcast(jid, stanza, subscribed_from)
        for target in sorted(directed):
            bare = target.split("/", 1)[0]
            if bare in subscribed_from:
                continue
            await self.ctx.router.route(_addressed(stanza, jid.full(), target))
        await self.ctx.hooks.run("user_unavailable", jid.host, session)

    async def on_session_end(self, session) -> None:
        """A session ended: announce it unavailable if it was available or sent directed presence."""
        if session.presence is not None or session.priority is not None:
            await self._went_unavailable(session, None)
            return
        directed = self.directed.pop(id(session), set())
        for target in sorted(directed):
            await self.ctx.router.route(_unavailable(session.jid.full(), target))

    # -- directed presence ----------------------------------------------------

    def on_user_send_packet(self, stanza: Element, session):
        """Remember who got directed presence from a session (RFC 6121 4.6)."""
        if stanza.name != "presence" or session is None:
            return None
        to = stanza.getAttribute("to")
        kind = stanza.getAttribute("type")
        if not to or kind not in (None, "unavailable"):
            return None
        try:
            target = JID.parse(to)
        except InvalidJID:
            return None
        if target.bare() == session.jid.bare():
            return None
        key = id(session)
        if kind is None:
            self.directed.setdefault(key, set()).add(target.full())
        else:
            targets = self.directed.get(key)
            if targets is not None:
                targets.discard(target.full())
                if not targets:
                    del self.directed[key]
        return None

    # -- probes ---------------------------------------------------------------

    async def on_probe(self, from_jid: JID | None, to_jid: JID, stanza: Element) -> None:
        """Answer a presence probe for a user of this host (RFC 6121 4.3.2)."""
        if from_jid is None or to_jid.user is None:
            return
        user = to_jid.user
        prober = from_jid.bare()
        if prober != to_jid.bare():
            subscribed_from, _ = await subscription_lists(self.ctx.hooks, user, to_jid.host)
            if prober.userhost not in subscribed_from:
                return
        reply_to = from_jid.full()
        sessions = [
            s for s in self.ctx.sessions.available_sessions(user, to_jid.host)
            if s.presence is not None
        ]
        if not sessions:
            await self.ctx.router.route(_unavailable(to_jid.bare().full(), reply_to))
            return
        for session in sessions:
            await self.ctx.router.route(
                _addressed(session.presence, session.jid.full(), reply_to)
            )
