"""The server side of one XEP-0114 component connection ("jabber:component:accept").

Protocol flow (XEP-0114 section 3):

1. the component opens ``<stream:stream xmlns='jabber:component:accept'
   to='DOMAIN'>``; with ``is_subdomain='true'`` (a MongooseIM extension) it
   asks for ``DOMAIN.HOST`` for every XMPP host of the node instead;
2. the server answers with its header, ``from='DOMAIN'`` and a fresh ``id``;
3. the component sends ``<handshake>`` with the hex SHA-1 of id + secret; a
   wrong value ends the stream with ``not-authorized``, a domain that is
   taken with ``conflict`` (or, with ``conflict_behaviour = "kick_old"``, the
   old connection gets ``conflict``), else the server answers
   ``<handshake/>`` and routes the domains to this connection;
4. then both sides exchange ``<message/>``, ``<presence/>`` and ``<iq/>``.

Stream errors (RFC 6120 section 4.9) end every problem: ``host-unknown``
(no usable 'to'), ``not-authorized`` (anything before a good handshake),
``connection-timeout`` (no handshake within ``state_timeout``),
``invalid-from`` (``check_from``: a 'from' outside the component's domains
and their subdomains), ``improper-addressing`` (missing or malformed
addresses), ``unsupported-stanza-type``, ``policy-violation`` (a stanza over
``max_stanza_size``, or a component that reads so slowly that more than
``max_fsm_queue`` stanzas wait for it), ``system-shutdown`` (node stop).

Stanzas for the component pass the listener's ``access`` rule, evaluated on
the sender: a denied sender gets a ``not-allowed`` stanza error.  Incoming
bytes pass the listener's shaper (the transport stops reading for a while
when the component sends faster than ``max_rate``).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from twisted.internet import defer
from twisted.internet.interfaces import IPushProducer
from twisted.internet.protocol import Protocol
from twisted.logger import Logger
from twisted.words.xish.domish import Element
from zope.interface import implementer

from mongoose.component.handshake import handshake_matches, new_stream_id
from mongoose.component.registry import ComponentConflict, IComponentConnection
from mongoose.component.stanzas import STANZA_NAMES, from_component, owns, to_component
from mongoose.listeners.shaper import Shaper
from mongoose.xmpp.errors import StreamError, error_reply, stream_error_element
from mongoose.xmpp.framing import DEFAULT_MAX_STANZA_SIZE, XMLStreamParser
from mongoose.xmpp.jid import JID, InvalidJID
from mongoose.xmpp.namespaces import NS_COMPONENT_ACCEPT
from mongoose.xmpp.serialize import STREAM_FOOTER, element_to_bytes, stream_header

__all__ = [
    "CLOSE_GRACE",
    "DEFAULT_MAX_QUEUED_BYTES",
    "ComponentEnvironment",
    "ComponentSettings",
    "ComponentStream",
]

#: Bytes of stanzas waiting for a slow component before its stream is closed
#: with ``policy-violation``, whatever ``max_fsm_queue`` says.
DEFAULT_MAX_QUEUED_BYTES = 16 * 1024 * 1024
#: Seconds a closing stream may take to flush before the socket is aborted.
CLOSE_GRACE = 10.0

_HANDSHAKE_OK = b"<handshake/>"


@dataclass(frozen=True)
class ComponentSettings:
    """The options of one component listener, as the stream uses them.

    Attributes:
        password: the shared secret.
        listener: the option path, e.g. ``listen.service[0]`` (for logs and commands).
        check_from: refuse stanzas whose 'from' is outside the component's domains.
        hidden: register components as hidden (``hidden_components``).
        conflict_behaviour: ``disconnect`` or ``kick_old``.
        max_stanza_size: largest stanza read, in bytes.
        max_queue: most stanzas waiting for a slow component (None: only the
            byte limit applies).
        max_queued_bytes: most bytes waiting for a slow component.
        state_timeout: seconds to complete the handshake (None: no limit).
    """

    password: str
    listener: str = "listen.service[0]"
    check_from: bool = True
    hidden: bool = False
    conflict_behaviour: str = "disconnect"
    max_stanza_size: int = DEFAULT_MAX_STANZA_SIZE
    max_queue: int | None = None
    max_queued_bytes: int = DEFAULT_MAX_QUEUED_BYTES
    state_timeout: float | None = 5.0


def _always(*args: Any) -> bool:
    return True


def _no_shaper(domain: str) -> Shaper | None:
    return None


@dataclass
class ComponentEnvironment:
    """What component streams share on one listener.

    Attributes:
        router: routes stanzas from components (``route``, ``bounce``).
        registry: the node's :class:`~mongoose.component.registry.ComponentRegistry`.
        hosts: callable returning the node's XMPP hosts (for ``is_subdomain``).
        clock: the reactor (``callLater``, ``seconds``).
        may_receive_from: callable(sender JID or None) -> True when the
            listener's ``access`` rule lets the sender talk to components.
        shaper_for: callable(component domain) -> a Shaper or None.
        connections: the open streams of the listener (kept by the streams).
    """

    router: Any
    registry: Any
    hosts: Callable[[], Sequence[str]]
    clock: Any
    may_receive_from: Callable[[JID | None], bool] = _always
    shaper_for: Callable[[str], Shaper | None] = _no_shaper
    connections: set = field(default_factory=set)


@implementer(IPushProducer)
class _WriteGate:
    """Told by the transport when its send buffer is full (pause) or drained (resume)."""

    __slots__ = ("stream",)

    def __init__(self, stream: ComponentStream):
        self.stream = stream

    def pauseProducing(self) -> None:
        """The transport's buffer is full: queue further stanzas."""
        self.stream._writes_paused = True

    def resumeProducing(self) -> None:
        """The transport drained its buffer: write queued stanzas."""
        self.stream._writes_paused = False
        self.stream._flush()

    def stopProducing(self) -> None:
        """The connection is gone; nothing to do (connectionLost cleans up)."""


def _domain(text: str) -> str:
    """Prepare a domain name; raise InvalidJID when ``text`` is not one."""
    jid = JID.parse(text)
    if jid.user is not None or jid.resource is not None:
        raise InvalidJID(text, "a domain name has no '@' or '/' part")
    return jid.host


@implementer(IComponentConnection)
class ComponentStream(Protocol):
    """One XEP-0114 connection from an external component.

    Args:
        environment: what the listener's streams share.
        settings: the listener's options.

    Attributes:
        state: ``header`` (waiting for the stream header), ``handshake``,
            ``open`` (authenticated) or ``closed``.
        domains: the registered domains once open, else ().
        hidden: the ``hidden_components`` flag (read by mod_disco).
        info: facts for commands (listener, address, connected).
    """

    log = Logger()

    def __init__(self, environment: ComponentEnvironment, settings: ComponentSettings):
        self.env = environment
        self.settings = settings
        self.state = "header"
        self.domains: tuple[str, ...] = ()
        self.hidden = settings.hidden
        self.info: dict[str, Any] = {"listener": settings.listener}
        self.stream_id = new_stream_id()
        self.requested: str | None = None
        self._subdomain = False
        self._header_sent = False
        self._parser: XMLStreamParser | None = None
        self._shaper: Shaper | None = None
        self._timer = None
        self._read_pause = None
        self._abort = None
        self._writes_paused = False
        self._queue: deque[tuple[Element, bytes]] = deque()
        self._queued_bytes = 0
        self._lost = False
        self._lost_waiters: list[defer.Deferred] = []
        #: Set by the listener to refuse the connection at once (too many).
        self.refuse_with: StreamError | None = None

    # -- connection ------------------------------------------------------------

    def connectionMade(self) -> None:
        """Start reading the stream header; the handshake clock starts now."""
        peer = self.transport.getPeer()
        host, port = getattr(peer, "host", None), getattr(peer, "port", None)
        self.info["address"] = f"{host}:{port}" if host is not None else str(peer)
        self.info["connected"] = datetime.fromtimestamp(self.env.clock.seconds(), UTC)
        self.env.connections.add(self)
        self._parser = XMLStreamParser(
            self._on_start,
            self._on_stanza,
            self._on_end,
            self._on_error,
            max_stanza_size=self.settings.max_stanza_size,
            content_namespaces=(NS_COMPONENT_ACCEPT,),
        )
        self.transport.registerProducer(_WriteGate(self), True)
        if self.refuse_with is not None:
            self._close_stream(self.refuse_with)
            return
        if self.settings.state_timeout is not None:
            self._timer = self.env.clock.callLater(self.settings.state_timeout, self._timed_out)

    def dataReceived(self, data: bytes) -> None:
        """Parse bytes from the component, then apply the shaper."""
        if self.state == "closed" or self._parser is None:
            return
        try:
            self._parser.feed(data)
        except Exception:
            self.log.failure("component stream {address} failed", address=self.info["address"])
            self.close("internal-server-error")
            return
        if self._shaper is not None and self.state != "closed":
            pause = self._shaper.update(len(data))
            if pause > 0 and self._read_pause is None:
                self.transport.pauseProducing()
                self._read_pause = self.env.clock.callLater(pause, self._resume_reading)

    def _resume_reading(self) -> None:
        self._read_pause = None
        if self.state != "closed":
            self.transport.resumeProducing()

    def connectionLost(self, reason: Any = None) -> None:
        """Unregister the domains and bounce what was still waiting."""
        if self.state != "closed":
            self.log.info(
                "component {domains} ({address}) disconnected",
                domains=", ".join(self.domains) or self.requested or "-",
                address=self.info.get("address"),
            )
            self._shutdown()
        self.env.connections.discard(self)
        for call in (self._abort, self._read_pause):
            if call is not None and call.active():
                call.cancel()
        self._abort = self._read_pause = None
        self._lost = True
        waiters, self._lost_waiters = self._lost_waiters, []
        for waiter in waiters:
            waiter.callback(None)

    def when_lost(self) -> defer.Deferred:
        """A Deferred that fires once the connection is gone."""
        if self._lost:
            return defer.succeed(None)
        waiter: defer.Deferred = defer.Deferred()
        self._lost_waiters.append(waiter)
        return waiter

    # -- parser events ----------------------------------------------------------

    def _on_start(self, header: dict[str, str]) -> None:
        if self.state != "header":
            raise StreamError("invalid-xml", "the stream was already opened")
        to = header.get("to")
        if not to:
            raise StreamError("host-unknown", "the stream header must name the component in 'to'")
        try:
            self.requested = _domain(to)
        except InvalidJID:
            raise StreamError("host-unknown", f"{to!r} is not a valid domain name") from None
        self._subdomain = header.get("is_subdomain") == "true"
        self._send_header()
        self.state = "handshake"
        self._shaper = self.env.shaper_for(self.requested)

    def _on_stanza(self, el: Element) -> None:
        if self.state == "handshake":
            self._handshake(el)
        elif self.state == "open":
            if el.uri != NS_COMPONENT_ACCEPT or el.name not in STANZA_NAMES:
                raise StreamError(
                    "unsupported-stanza-type", f"<{el.name}/> is not a stanza of this stream"
                )
            self._route_in(el)

    def _on_end(self) -> None:
        self._close_stream(None)

    def _on_error(self, error: StreamError) -> None:
        self._close_stream(error)

    # -- handshake --------------------------------------------------------------

    def _wanted_domains(self) -> tuple[str, ...]:
        assert self.requested is not None
        if not self._subdomain:
            return (self.requested,)
        domains = []
        for host in self.env.hosts():
            name = f"{self.requested}.{host}"
            try:
                domains.append(_domain(name))
            except InvalidJID:
                raise StreamError("host-unknown", f"{name!r} is not a valid domain name") from None
        return tuple(domains)

    def _handshake(self, el: Element) -> None:
        if el.name != "handshake" or el.uri != NS_COMPONENT_ACCEPT:
            raise StreamError("not-authorized", "authenticate with <handshake/> first")
        if not handshake_matches(self.stream_id, self.settings.password, str(el)):
            self.log.warn(
                "component {domain} ({address}) sent a wrong handshake",
                domain=self.requested,
                address=self.info.get("address"),
            )
            raise StreamError("not-authorized", "wrong handshake: the shared secret does not match")
        domains = self._wanted_domains()
        try:
            self.env.registry.register(self, domains, self.settings.conflict_behaviour)
        except ComponentConflict as exc:
            raise StreamError("conflict", str(exc)) from None
        self._cancel_timer()
        self.state = "open"
        self._write(_HANDSHAKE_OK)
        self.log.info(
            "component {domains} connected from {address} on {listener}",
            domains=", ".join(self.domains),
            address=self.info.get("address"),
            listener=self.settings.listener,
        )

    def _timed_out(self) -> None:
        self._timer = None
        if self.state in ("header", "handshake"):
            self.close(
                "connection-timeout",
                f"no handshake within {self.settings.state_timeout:g} seconds",
            )

    def _cancel_timer(self) -> None:
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None

    # -- stanzas from the component ---------------------------------------------

    def _route_in(self, el: Element) -> None:
        check = self.settings.check_from
        sender = el.getAttribute("from")
        if not sender:
            raise StreamError(
                "invalid-from" if check else "improper-addressing",
                "a stanza from a component needs a 'from' address",
            )
        try:
            from_jid = JID.parse(sender)
        except InvalidJID as exc:
            raise StreamError("improper-addressing", f"'from' is not a valid JID: {exc}") from None
        if check and not owns(self.domains, from_jid.host):
            raise StreamError(
                "invalid-from", f"{sender} is not in the component's domain {self.domains[0]}"
            )
        target = el.getAttribute("to")
        if not target:
            raise StreamError("improper-addressing", "a stanza from a component needs a 'to' address")
        from_component(el)
        try:
            to_jid = JID.parse(target)
        except InvalidJID as exc:
            # Answered here: the router could not route an error from a bad address.
            if el.getAttribute("type") != "error":
                self._write_stanza(error_reply(el, "jid-malformed", text=str(exc)))
            return
        self.env.router.route(el, from_jid, to_jid)

    # -- stanzas to the component (IStanzaSink) ------------------------------------

    def send(self, stanza: Element) -> None:
        """Write a stanza routed to the component's domain (after the access rule)."""
        if self.state != "open":
            self.env.router.bounce(stanza, "service-unavailable")
            return
        sender = stanza.getAttribute("from")
        try:
            sender_jid = JID.parse(sender) if sender else None
        except InvalidJID:
            sender_jid = None
        if not self.env.may_receive_from(sender_jid):
            self.env.router.bounce(stanza, "not-allowed", "you may not talk to this component")
            return
        self._write_stanza(stanza)

    def _write_stanza(self, stanza: Element) -> None:
        """Write an internal stanza now, or queue it while the transport is full."""
        data = element_to_bytes(to_component(stanza), default_uri=NS_COMPONENT_ACCEPT)
        if not self._writes_paused and not self._queue:
            self._write(data)
            return
        self._queue.append((stanza, data))
        self._queued_bytes += len(data)
        limit = self.settings.max_queue
        if (limit is not None and len(self._queue) > limit) or (
            self._queued_bytes > self.settings.max_queued_bytes
        ):
            self.close("policy-violation", "too many stanzas are waiting for this component")

    def _flush(self) -> None:
        while self._queue and not self._writes_paused and self.state == "open":
            _, data = self._queue.popleft()
            self._queued_bytes -= len(data)
            self._write(data)

    # -- closing ----------------------------------------------------------------

    def close(self, condition: str, text: str | None = None) -> None:
        """End the stream with a stream error and close the connection.

        Args:
            condition: an RFC 6120 stream error condition.
            text: a description for the component's operator.
        """
        self._close_stream(StreamError(condition, text))

    def _close_stream(self, error: StreamError | None) -> None:
        if self.state == "closed":
            return
        if error is not None:
            if not self._header_sent:
                self._send_header()
            self.log.info(
                "closing component stream {domain} ({address}): {error}",
                domain=", ".join(self.domains) or self.requested or "-",
                address=self.info.get("address"),
                error=str(error),
            )
            self._write(
                element_to_bytes(
                    stream_error_element(error.condition, error.text),
                    default_uri=NS_COMPONENT_ACCEPT,
                )
            )
        if self._header_sent:
            self._write(STREAM_FOOTER)
        self._shutdown()
        # Armed before loseConnection: a transport that reports the loss at
        # once (connectionLost) cancels it again.
        self._abort = self.env.clock.callLater(CLOSE_GRACE, self._abort_now)
        self.transport.loseConnection()

    def _abort_now(self) -> None:
        self._abort = None
        abort = getattr(self.transport, "abortConnection", None)
        if abort is not None:
            abort()

    def _shutdown(self) -> None:
        self.state = "closed"
        self._cancel_timer()
        if self._parser is not None:
            self._parser.close()
        self.env.registry.unregister(self)
        queued, self._queue = self._queue, deque()
        self._queued_bytes = 0
        for stanza, _ in queued:
            self.env.router.bounce(stanza, "service-unavailable")

    # -- output -------------------------------------------------------------------

    def _send_header(self) -> None:
        self._header_sent = True
        self._write(
            stream_header(
                from_=self.requested,
                id=self.stream_id,
                version=None,
                xmlns=NS_COMPONENT_ACCEPT,
            )
        )

    def _write(self, data: bytes) -> None:
        self.transport.write(data)
