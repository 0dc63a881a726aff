"""The stanza router: local sessions, IQ handlers, components and remote domains.

Delivery rules for local users follow RFC 6121 section 8.5:

* to a full JID with a session: that session;
* a message to a bare JID (or to a full JID without a session, for types
  normal and chat): the available resources with the highest non-negative
  priority (all non-negative ones for headline); with none available the
  ``offline_message`` hook runs (``mod_offline`` stores it), else the sender
  gets ``service-unavailable``;
* available/unavailable presence to a bare JID: every available resource;
  subscription presence runs ``presence_subscription_in``, probes
  ``presence_probe`` (``mod_roster``/``mod_presence``);
* an IQ to a bare JID or the server: the IQ handler registered for the
  payload namespace, else ``service-unavailable`` (RFC 6120 8.5.1 / 10.3.3).

Every delivery to a session runs ``user_receive_packet(stanza, session)``
(fold; None holds it back, used by ``mod_privacy``); a message handed to at
least one session then runs ``message_delivered(stanza, to_jid, sessions)``
(``mod_carboncopy``).  The message fast path is skipped while either hook
has handlers.

Errors are answered per RFC 6120 section 8, echoing the original stanza, and
an error is never answered with an error.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from twisted.internet import defer
from twisted.logger import Logger
from twisted.words.xish.domish import Element

from mongoose.hooks import STOP
from mongoose.router.interfaces import IQ_SCOPE_SERVER, IQ_SCOPE_USER
from mongoose.xmpp.errors import StanzaError, error_reply
from mongoose.xmpp.jid import JID, InvalidJID

__all__ = ["Router", "IQHandlers", "iq_result", "payload_namespace"]

log = Logger()

_STANZA_NAMES = frozenset(("message", "presence", "iq"))


def payload_namespace(iq: Element) -> str | None:
    """Namespace of the first child element of an IQ (its payload), or None."""
    for child in iq.elements():
        return child.uri
    return None


def iq_result(iq: Element, payload: Element | None = None) -> Element:
    """A ``type='result'`` reply to ``iq`` with 'from'/'to' swapped and the same id."""
    reply = Element((iq.uri, "iq"))
    reply["type"] = "result"
    if iq.hasAttribute("id"):
        reply["id"] = iq["id"]
    if iq.hasAttribute("from"):
        reply["to"] = iq["from"]
    if iq.hasAttribute("to"):
        reply["from"] = iq["to"]
    if payload is not None:
        reply.addChild(payload)
    return reply


class _IQRegistration:
    def __init__(self, registry: IQHandlers, key: tuple[str, str, str]):
        self.registry = registry
        self.key = key

    def remove(self) -> None:
        self.registry._handlers.pop(self.key, None)


class IQHandlers:
    """IQ handlers per (host, payload namespace, scope)."""

    def __init__(self) -> None:
        self._handlers: dict[tuple[str, str, str], Callable[..., Any]] = {}

    def add(self, host: str, xmlns: str, handler, scope: str = IQ_SCOPE_SERVER):
        """Register ``handler(iq, from_jid, to_jid)`` returning a reply element or None.

        Raises:
            ValueError: another handler has this (host, namespace, scope).
        """
        key = (host, xmlns, scope)
        if key in self._handlers:
            raise ValueError(f"an IQ handler for {xmlns} ({scope}) on {host} exists already")
        self._handlers[key] = handler
        return _IQRegistration(self, key)

    def get(self, host: str, xmlns: str | None, scope: str):
        """The handler for an IQ, or None."""
        if xmlns is None:
            return None
        return self._handlers.get((host, xmlns, scope))

    def namespaces(self, host: str, scope: str = IQ_SCOPE_SERVER) -> list[str]:
        """Namespaces with a handler on ``host`` (for disco features)."""
        return sorted(ns for (h, ns, s) in self._handlers if h == host and s == scope)


class Router:
    """Routes stanzas between local sessions, IQ handlers and external sinks.

    Args:
        hooks: the node's HookRegistry.
        sessions: the SessionManager.
        is_local: callable(domain) -> True for domains this node serves.
        user_exists: callable(user, host) -> Deferred[bool].
    """

    def __init__(self, hooks, sessions, is_local: Callable[[str], bool], user_exists=None):
        self.hooks = hooks
        self.sessions = sessions
        self.is_local = is_local
        self.user_exists = user_exists
        self.iq_handlers = IQHandlers()
        #: domain -> IStanzaSink for components (and later remote servers).
        self.routes: dict[str, Any] = {}
        #: Where stanzas for other domains go (s2s), or None.
        self.remote = None
        #: Read by mongoose.metrics at scrape time: totals, stanzas routed ("in")
        #: and delivered to sessions ("out") by element name, bounces by condition.
        self.stats: dict[str, Any] = {
            "routed": 0, "errors": 0, "in": Counter(), "out": Counter(), "bounced": Counter()
        }
        self._pending_iqs: dict[str, defer.Deferred] = {}
        self._iq_counter = 0

    # -- external routes -------------------------------------------------

    def add_route(self, domain: str, sink) -> None:
        """Send stanzas for ``domain`` to ``sink`` (a component stream)."""
        self.routes[domain] = sink

    def remove_route(self, domain: str, sink) -> None:
        """Forget ``domain`` if it still routes to ``sink``."""
        if self.routes.get(domain) is sink:
            del self.routes[domain]

    # -- entry points ----------------------------------------------------

    def route(self, stanza: Element, from_jid: JID | None = None, to_jid: JID | None = None):
        """Route one stanza; fires when it was delivered, queued or bounced.

        ``from_jid``/``to_jid`` are parsed from the attributes when not given.
        Never fails: problems are answered with stanza errors and logged.
        """
        if (
            to_jid is not None
            and stanza.name == "message"
            and self._fast_message(stanza, to_jid)
        ):
            return defer.succeed(None)
        d = defer.ensureDeferred(self._route(stanza, from_jid, to_jid))
        d.addErrback(self._log_failure, stanza)
        return d

    def _fast_message(self, stanza: Element, to_jid: JID) -> bool:
        """Deliver a message to online local sessions without a coroutine.

        Covers the common case only (RFC 6121 8.5 rules for chat, normal and
        headline messages to a user with a fitting session and no
        ``user_receive_packet`` handlers); returns False to take the full path.
        """
        host = to_jid.host
        if to_jid.user is None or not self.is_local(host):
            return False
        if self.hooks.count("user_receive_packet", host) or self.hooks.count(
            "message_delivered", host
        ):
            return False
        kind = stanza.attributes.get("type") or "normal"
        if kind not in ("chat", "normal", "headline"):
            return False
        targets = None
        if to_jid.resource is not None:
            session = self.sessions.get(to_jid)
            if session is not None:
                targets = (session,)
        if targets is None:
            available = [
                s for s in self.sessions.available_sessions(to_jid.user, host) if s.priority >= 0
            ]
            if not available:
                return False
            if kind != "headline":
                top = max(s.priority for s in available)
                available = [s for s in available if s.priority == top]
            targets = available
        stats = self.stats
        stats["routed"] += 1
        stats["in"]["message"] += 1
        stats["out"]["message"] += len(targets)
        for session in targets:
            session.deliver(stanza)
        return True

    def _log_failure(self, failure, stanza) -> None:
        self.stats["errors"] += 1
        log.failure("routing failed for {stanza}", failure, stanza=stanza.toXml()[:200])

    async def _route(self, stanza: Element, from_jid: JID | None, to_jid: JID | None) -> None:
        self.stats["routed"] += 1
        self.stats["in"][stanza.name if stanza.name in _STANZA_NAMES else "other"] += 1
        try:
            if from_jid is None and stanza.hasAttribute("from"):
                from_jid = JID.parse(stanza["from"])
            if to_jid is None:
                if not stanza.hasAttribute("to"):
                    if from_jid is None:
                        return
                    to_jid = from_jid.bare()
                else:
                    to_jid = JID.parse(stanza["to"])
        except InvalidJID as exc:
            self._refuse_malformed(stanza, from_jid, str(exc))
            return
        host = to_jid.host
        if self.is_local(host):
            await self._route_local(stanza, from_jid, to_jid)
        elif host in self.routes:
            self.routes[host].send(stanza)
        elif self.remote is not None and from_jid is not None:
            self.remote.send(stanza, from_jid, to_jid)
        else:
            self.bounce(stanza, "remote-server-not-found", f"{host} is not served here")

    def bounce(self, stanza: Element, condition: str, text: str | None = None, *,
               type: str | None = None, app_condition: Element | None = None) -> None:
        """Answer ``stanza`` with a stanza error, unless it must not be answered."""
        self.stats["bounced"][condition] += 1
        kind = stanza.getAttribute("type")
        if kind == "error" or (stanza.name == "iq" and kind == "result"):
            return
        if not stanza.hasAttribute("from"):
            return
        try:
            reply = error_reply(stanza, condition, type, text=text, app_condition=app_condition)
        except ValueError:
            return
        self.route(reply)

    def _refuse_malformed(self, stanza: Element, from_jid: JID | None, reason: str) -> None:
        """Answer a stanza whose 'to' (or 'from') is not a valid JID with jid-malformed.

        The error cannot come "from" the malformed address, so it comes from
        the server (no 'from') and goes straight to the sender.
        """
        self.stats["bounced"]["jid-malformed"] += 1
        kind = stanza.getAttribute("type")
        if from_jid is None or kind == "error" or (stanza.name == "iq" and kind == "result"):
            return
        try:
            reply = error_reply(stanza, "jid-malformed", text=reason)
        except ValueError:
            return
        if reply.hasAttribute("from"):
            del reply.attributes["from"]
        self.route(reply, from_jid=None, to_jid=from_jid)

    # -- IQs sent by the server -----------------------------------------

    def send_iq(self, iq: Element, timeout: float | None = None, clock=None) -> defer.Deferred:
        """Route a server-originated IQ get/set; fires with the result or error reply.

        The IQ gets a unique id.  With ``timeout`` (seconds) and ``clock``,
        the Deferred fails with TimeoutError when no reply comes in time.
        """
        self._iq_counter += 1
        iq_id = f"mongoose-{self._iq_counter}"
        iq["id"] = iq_id
        waiting: defer.Deferred = defer.Deferred()
        self._pending_iqs[iq_id] = waiting
        if timeout is not None and clock is not None:
            call = clock.callLater(timeout, self._iq_timed_out, iq_id)
            waiting.addBoth(_cancel_call, call)
        self.route(iq)
        return waiting

    def _iq_timed_out(self, iq_id: str) -> None:
        waiting = self._pending_iqs.pop(iq_id, None)
        if waiting is not None:
            waiting.errback(TimeoutError(f"no reply to IQ {iq_id}"))

    def _iq_reply(self, iq: Element) -> bool:
        waiting = self._pending_iqs.pop(iq.getAttribute("id") or "", None)
        if waiting is None:
            return False
        waiting.callback(iq)
        return True

    # -- local delivery --------------------------------------------------

    async def _route_local(self, stanza: Element, from_jid, to_jid: JID) -> None:
        name = stanza.name
        if to_jid.user is None:
            if name == "iq":
                await self._handle_iq(stanza, from_jid, to_jid, IQ_SCOPE_SERVER)
            elif name == "presence":
                await self.hooks.run("presence_to_server", to_jid.host, from_jid, to_jid, stanza)
            else:
                await self.hooks.run("message_to_server", to_jid.host, from_jid, to_jid, stanza)
            return
        if name == "message":
            await self._route_message(stanza, from_jid, to_jid)
        elif name == "presence":
            await self._route_presence(stanza, from_jid, to_jid)
        elif name == "iq":
            await self._route_iq(stanza, from_jid, to_jid)

    async def deliver(self, session, stanza: Element) -> bool:
        """Hand a stanza to a session, through ``user_receive_packet`` when hooked.

        Returns:
            False when a ``user_receive_packet`` handler held it back.
        """
        host = session.jid.host
        if self.hooks.count("user_receive_packet", host):
            stanza = await self.hooks.fold("user_receive_packet", host, stanza, session)
            if stanza is None or stanza is STOP:
                return False
        self.stats["out"][stanza.name if stanza.name in _STANZA_NAMES else "other"] += 1
        session.deliver(stanza)
        return True

    async def _delivered(self, stanza: Element, to_jid: JID, sessions) -> None:
        """Run ``message_delivered(stanza, to_jid, sessions)`` for sessions that got it."""
        if sessions and self.hooks.count("message_delivered", to_jid.host):
            await self.hooks.run("message_delivered", to_jid.host, stanza, to_jid, sessions)

    async def _route_message(self, stanza: Element, from_jid, to_jid: JID) -> None:
        kind = stanza.getAttribute("type") or "normal"
        if to_jid.resource is not None:
            session = self.sessions.get(to_jid)
            if session is not None:
                if await self.deliver(session, stanza):
                    await self._delivered(stanza, to_jid, [session])
                return
            if kind == "groupchat":
                self.bounce(stanza, "service-unavailable")
                return
            if kind == "error":
                return
        if kind == "groupchat":
            self.bounce(stanza, "service-unavailable")
            return
        if kind == "error":
            targets = self.sessions.available_sessions(to_jid.user, to_jid.host)
            for session in targets:
                await self.deliver(session, stanza)
            return
        available = [
            s
            for s in self.sessions.available_sessions(to_jid.user, to_jid.host)
            if s.priority >= 0
        ]
        if available:
            if kind != "headline":
                top = max(s.priority for s in available)
                available = [s for s in available if s.priority == top]
            delivered = [s for s in available if await self.deliver(s, stanza)]
            await self._delivered(stanza, to_jid, delivered)
            return
        exists = await self._exists(to_jid)
        if not exists:
            if kind != "headline":
                self.bounce(stanza, "service-unavailable")
            return
        handled = not await self.hooks.run(
            "offline_message", to_jid.host, from_jid, to_jid.bare(), stanza
        )
        if not handled and kind in ("normal", "chat"):
            self.bounce(stanza, "service-unavailable")

    async def _exists(self, jid: JID) -> bool:
        if self.sessions.sessions_of(jid.user, jid.host):
            return True
        if self.user_exists is None:
            return False
        return bool(await self.user_exists(jid.user, jid.host))

    async def _route_presence(self, stanza: Element, from_jid, to_jid: JID) -> None:
        kind = stanza.getAttribute("type")
        host = to_jid.host
        if kind in ("subscribe", "subscribed", "unsubscribe", "unsubscribed"):
            if self.hooks.count("presence_subscription_in", host):
                await self.hooks.run(
                    "presence_subscription_in", host, from_jid, to_jid.bare(), stanza
                )
            else:
                for session in self.sessions.available_sessions(to_jid.user, host):
                    await self.deliver(session, stanza)
            return
        if kind == "probe":
            await self.hooks.run("presence_probe", host, from_jid, to_jid.bare(), stanza)
            return
        if to_jid.resource is not None:
            session = self.sessions.get(to_jid)
            if session is not None:
                await self.deliver(session, stanza)
            return
        for session in self.sessions.available_sessions(to_jid.user, host):
            await self.deliver(session, stanza)

    async def _route_iq(self, stanza: Element, from_jid, to_jid: JID) -> None:
        kind = stanza.getAttribute("type")
        if to_jid.resource is not None:
            session = self.sessions.get(to_jid)
            if session is not None:
                await self.deliver(session, stanza)
            elif kind in ("get", "set"):
                self.bounce(stanza, "service-unavailable")
            return
        await self._handle_iq(stanza, from_jid, to_jid, IQ_SCOPE_USER)

    async def _handle_iq(self, iq: Element, from_jid, to_jid: JID, scope: str) -> None:
        kind = iq.getAttribute("type")
        if kind not in ("get", "set"):
            if kind in ("result", "error"):
                self._iq_reply(iq)
            else:
                self.bounce(iq, "bad-request", "IQ type must be get, set, result or error")
            return
        children = list(iq.elements())
        if len(children) != 1:
            self.bounce(iq, "bad-request", "an IQ get or set has exactly one payload")
            return
        handler = self.iq_handlers.get(to_jid.host, children[0].uri, scope)
        if handler is None:
            self.bounce(iq, "service-unavailable")
            return
        try:
            reply = handler(iq, from_jid, to_jid)
            if isinstance(reply, defer.Deferred) or hasattr(reply, "__await__"):
                reply = await reply
        except StanzaError as exc:
            self.bounce(iq, exc.condition, exc.text, type=exc.type,
                        app_condition=exc.app_condition)
            return
        except Exception:
            log.failure("IQ handler for {ns} failed", ns=children[0].uri)
            self.bounce(iq, "internal-server-error")
            return
        if reply is not None:
            self.route(reply)


def _cancel_call(result, call):
    if call.active():
        call.cancel()
    return result
