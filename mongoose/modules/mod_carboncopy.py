"""``mod_carboncopy``: Message Carbons (XEP-0280).

A session turns carbons on with ``<enable xmlns='urn:xmpp:carbons:2'/>``
(IQ set) and off with ``<disable/>``.  Once on, it gets a copy of

* every chat message (and normal message with a body) another resource of
  the same user sends, wrapped in ``<sent><forwarded/></sent>``
  (``user_send_packet``), and
* every such message delivered to another resource of the user, or to the
  user's bare JID but not to this session, wrapped in
  ``<received><forwarded/></received>`` (the router's ``message_delivered``
  hook, registered only while some session has carbons on, so the router's
  message fast path stays in use otherwise).

Messages with ``<private xmlns='urn:xmpp:carbons:2'/>`` (the element is
removed before routing) or the XEP-0334 ``<no-copy/>`` hint are not
copied, nor are errors or carbons themselves.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from twisted.words.xish.domish import Element
from zope.interface import implementer, provider

from mongoose.config.schema import Section
from mongoose.interfaces import IModule, IModuleFactory
from mongoose.modules.options import iqdisc_field
from mongoose.router.router import iq_result
from mongoose.xmpp.errors import StanzaError
from mongoose.xmpp.jid import JID
from mongoose.xmpp.namespaces import NS_CLIENT
from mongoose.xmpp.serialize import copy_element

__all__ = ["CarbonCopyModule", "NS_CARBONS", "NS_FORWARD", "should_copy", "carbon"]

NS_CARBONS = "urn:xmpp:carbons:2"
NS_FORWARD = "urn:xmpp:forward:0"
NS_HINTS = "urn:xmpp:hints"


def should_copy(message: Element) -> bool:
    """Whether a message qualifies for carbons (XEP-0280 section 6)."""
    if message.name != "message":
        return False
    kind = message.getAttribute("type") or "normal"
    has_body = False
    for child in message.elements():
        if child.uri == NS_CARBONS or (child.uri == NS_HINTS and child.name == "no-copy"):
            return False
        if child.name == "body":
            has_body = True
    return kind == "chat" or (kind == "normal" and has_body)


def _in_client_namespace(stanza: Element) -> Element:
    copy = copy_element(stanza)
    stack = [copy]
    old = stanza.uri
    while stack:
        node = stack.pop()
        if node.uri in (old, None):
            node.uri = NS_CLIENT
        if node.defaultUri in (old, None):
            node.defaultUri = NS_CLIENT
        stack.extend(node.elements())
    return copy


def carbon(direction: str, message: Element, owner: JID, to: JID) -> Element:
    """A ``sent`` or ``received`` carbon of ``message`` for resource ``to`` of ``owner``."""
    wrapper = Element((NS_CLIENT, "message"))
    wrapper["from"] = owner.bare().full()
    wrapper["to"] = to.full()
    wrapper["type"] = message.getAttribute("type") or "normal"
    forwarded = wrapper.addElement((NS_CARBONS, direction)).addElement((NS_FORWARD, "forwarded"))
    forwarded.addChild(_in_client_namespace(message))
    return wrapper


@provider(IModuleFactory)
@implementer(IModule)
class CarbonCopyModule:
    """Copies a user's chat messages to the user's other resources that asked for them."""

    name = "mod_carboncopy"
    dependencies = ()
    options_spec = Section(
        {"iqdisc": iqdisc_field()}, doc="Message Carbons (XEP-0280)."
    )

    def start(self, ctx) -> None:
        """Register the IQ handler and the hooks."""
        self.ctx = ctx
        #: id(session) -> session, for sessions with carbons on.
        self.enabled: dict[int, Any] = {}
        ctx.add_feature(NS_CARBONS)
        ctx.iq_handler(NS_CARBONS, self.handle_iq, scope="user")
        ctx.iq_handler(NS_CARBONS, self.handle_iq, scope="server")
        ctx.hook("user_send_packet", self.on_send, priority=90)
        #: The ``message_delivered`` registration, present only while a session
        #: has carbons on, so the router keeps its message fast path otherwise.
        self._delivered_hook = None
        ctx.hook("sm_remove_connection", self.on_session_end)

    def stop(self) -> None:
        """Forget which sessions asked for carbons."""
        self.enabled.clear()
        self._watch_deliveries()

    def _watch_deliveries(self) -> None:
        """Hook ``message_delivered`` exactly while some session has carbons on."""
        if self.enabled and self._delivered_hook is None:
            self._delivered_hook = self.ctx.hooks.add(
                "message_delivered", self.on_delivered, host=self.ctx.host
            )
        elif not self.enabled and self._delivered_hook is not None:
            self._delivered_hook.remove()
            self._delivered_hook = None

    def handle_iq(self, iq: Element, from_jid: JID, to_jid: JID) -> Element:
        """Answer enable/disable from the user's own session."""
        if from_jid is None or from_jid.host != self.ctx.host or (
            to_jid.user is not None and to_jid.bare() != from_jid.bare()
        ):
            raise StanzaError("forbidden", text="carbons are set by the user's own session")
        if iq["type"] != "set":
            raise StanzaError("bad-request", text="carbons are enabled with an IQ set")
        session = self.ctx.sessions.get(from_jid)
        if session is None:
            raise StanzaError("bad-request", text="only a connected session gets carbons")
        action = next(iq.elements()).name
        if action == "enable":
            self.enabled[id(session)] = session
        elif action == "disable":
            self.enabled.pop(id(session), None)
        else:
            raise StanzaError("bad-request", text="expected <enable/> or <disable/>")
        self._watch_deliveries()
        return iq_result(iq)

    def on_session_end(self, session: Any) -> None:
        """A session that ends gets no more carbons."""
        self.enabled.pop(id(session), None)
        self._watch_deliveries()

    def _other_enabled(self, user: str | None, exclude: Sequence[Any]) -> list[Any]:
        if not self.enabled or user is None:
            return []
        return [
            s for s in self.ctx.sessions.sessions_of(user, self.ctx.host)
            if id(s) in self.enabled and s not in exclude
        ]

    def on_send(self, stanza: Element, session: Any):
        """``user_send_packet``: ``sent`` carbons to the sender's other enabled resources."""
        if stanza.name != "message":
            return stanza
        private = [c for c in stanza.elements() if c.uri == NS_CARBONS and c.name == "private"]
        if private:
            for child in private:
                stanza.children.remove(child)
            return stanza
        if not self.enabled or not should_copy(stanza):
            return stanza
        return self._send_carbons(stanza, session)

    async def _send_carbons(self, stanza: Element, session: Any):
        for other in self._other_enabled(session.jid.user, (session,)):
            await self.ctx.router.deliver(other, carbon("sent", stanza, session.jid, other.jid))
        return stanza

    def on_delivered(self, stanza: Element, to_jid: JID, sessions: Sequence[Any]):
        """``message_delivered``: ``received`` carbons to the recipient's other enabled resources."""
        if not self.enabled or not should_copy(stanza):
            return None
        return self._received_carbons(stanza, to_jid, sessions)

    async def _received_carbons(self, stanza: Element, to_jid: JID, sessions: Sequence[Any]):
        for other in self._other_enabled(to_jid.user, sessions):
            await self.ctx.router.deliver(other, carbon("received", stanza, to_jid, other.jid))
