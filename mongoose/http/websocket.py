"""``mongoose_websocket_handler`` (alias ``mod_websockets``): XMPP over WebSocket, RFC 7395.

Mounted like every ``[[listen.http.handlers.*]]`` entry (MongooseIM
"HTTP-based services", ``mod_websockets``)::

    [[listen.http.handlers.mongoose_websocket_handler]]
      host = "_"
      path = "/ws-xmpp"
      timeout = 60000
      ping_rate = 10000
      max_stanza_size = 100000

The WebSocket protocol itself is autobahn's; the client must offer the
``xmpp`` subprotocol (RFC 7395 section 3.1), else the upgrade is refused with
HTTP 400.  Every text frame holds one complete element: ``<open/>`` and
``<close/>`` in ``urn:ietf:params:xml:ns:xmpp-framing`` stand for the stream
header and footer, everything else goes to the ordinary client state machine
(:class:`mongoose.c2s.session.C2SSession`) through
:class:`WebSocketTransport`.

Options: ``timeout`` (milliseconds without a frame from the client before the
stream is closed with ``connection-timeout``; ``infinity``: never),
``ping_rate`` (milliseconds between WebSocket pings from the server; an
unanswered ping closes the connection), ``max_stanza_size`` (a larger frame
gets ``policy-violation``), ``c2s_state_timeout`` and
``backwards_compatible_session`` (as for ``[[listen.c2s]]``), and the
``service`` sub-table: XEP-0114 components over WebSocket, told apart from
clients by the first frame (a ``<stream:stream xmlns='jabber:component:accept'>``
opening instead of ``<open/>``), see :mod:`mongoose.http.ws_component`.

Errors reach the client as RFC 7395 stream errors followed by ``<close/>``:
``not-well-formed`` (a binary frame, malformed XML, or no ``<open/>`` first),
``policy-violation`` (an oversized frame; one over autobahn's payload limit
gets it as soon as its header arrives, unread) and what the session decides.
"""

from __future__ import annotations

import secrets
from typing import Any

from autobahn.twisted.resource import WebSocketResource
from autobahn.twisted.websocket import WebSocketServerFactory, WebSocketServerProtocol
from autobahn.websocket.types import ConnectionDeny
from twisted.internet import defer
from twisted.internet.interfaces import ISSLTransport
from twisted.logger import Logger
from twisted.words.xish.domish import Element
from zope.interface import implementer, provider

from mongoose.c2s.interfaces import IC2STransport
from mongoose.c2s.session import C2SSession
from mongoose.component.stream import ComponentStream
from mongoose.http import autobahn_logging
from mongoose.http.common import handler_context, peer_of, serialize
from mongoose.http.ws_component import (
    ComponentEndpoint,
    legacy_stream_namespace,
    start_component,
)
from mongoose.interfaces import IHTTPHandlerFactory
from mongoose.xmpp.errors import StreamError
from mongoose.xmpp.framing import parse_element
from mongoose.xmpp.namespaces import NS_FRAMING, NS_XML

autobahn_logging.install()

__all__ = [
    "cancel_close_timer",
    "DirectTimer",
    "SUBPROTOCOL",
    "WebSocketHandler",
    "WebSocketTransport",
    "XMPPWebSocketProtocol",
    "XMPPWebSocketFactory",
    "XMPPWebSocketResource",
]

log = Logger()

#: The WebSocket subprotocol of RFC 7395.
SUBPROTOCOL = "xmpp"

#: Seconds a closing connection has for the closing handshake.
_CLOSE_TIMEOUT = 3

_CLOSE_FRAME = f"<close xmlns='{NS_FRAMING}'/>"


def _ms(value: Any) -> float | None:
    if value is None or value == "infinity":
        return None
    return int(value) / 1000.0


def _header_attributes(el: Element) -> dict[str, str]:
    attributes: dict[str, str] = {}
    for key, value in el.attributes.items():
        if isinstance(key, tuple):
            if key == (NS_XML, "lang"):
                attributes["xml:lang"] = value
        else:
            attributes[key] = value
    return attributes


def cancel_close_timer(protocol: Any) -> None:
    """Cancel autobahn's closing-handshake timer (it outlives a lost connection otherwise)."""
    call = getattr(protocol, "closeHandshakeTimeoutCall", None)
    if call is not None:
        protocol.closeHandshakeTimeoutCall = None
        if call.active():
            call.cancel()


class XMPPWebSocketProtocol(WebSocketServerProtocol):
    """One XMPP client (or XEP-0114 component) over WebSocket: frames in, elements out.

    Attributes:
        session: the client's C2SSession, once the WebSocket is open (None
            again once the first frame showed a component).
        adapter: its :class:`WebSocketTransport`.
        component: the XEP-0114 stream when the peer is a component.
    """

    session: C2SSession | None = None
    adapter: WebSocketTransport | None = None
    component: ComponentStream | None = None
    _opened = False
    _first_frame = True
    _closing = False
    _paused = False
    _idle: Any = None

    # -- autobahn callbacks ---------------------------------------------------

    def onConnect(self, request: Any) -> str:
        """Accept the upgrade only for the ``xmpp`` subprotocol."""
        if SUBPROTOCOL not in request.protocols:
            raise ConnectionDeny(400, "the xmpp WebSocket subprotocol (RFC 7395) is required")
        return SUBPROTOCOL

    def onOpen(self) -> None:
        """Start the client session."""
        factory = self.factory
        self._pending: list[tuple[str, Any]] = []
        factory.connection_made(self)
        self.adapter = WebSocketTransport(self, ISSLTransport.providedBy(self.transport))
        self.session = C2SSession(factory.context, self.adapter, self.adapter.peer)
        self._touch()

    def onMessage(self, payload: bytes, isBinary: bool) -> None:
        """One frame: one element, ``<open/>`` or ``<close/>`` (or component stream bytes)."""
        if self.component is not None:
            self._component_frame(payload, isBinary)
            return
        if self.session is None or self._closing:
            return
        self._touch()
        if isBinary:
            self._event("failed", StreamError("not-well-formed", "frames must be text frames"))
            return
        limit = self.factory.context.settings.max_stanza_size
        if len(payload) > limit:
            self._event(
                "failed",
                StreamError("policy-violation", f"frame larger than the limit of {limit} bytes"),
            )
            return
        if self._first_frame:
            self._first_frame = False
            namespace = legacy_stream_namespace(payload)
            if namespace is not None:
                self._start_component(payload, namespace)
                return
        try:
            el = parse_element(payload, max_size=limit)
        except StreamError as error:
            self._event("failed", error)
            return
        if el.uri == NS_FRAMING and el.name == "open":
            self._opened = True
            self._event("open", _header_attributes(el))
        elif el.uri == NS_FRAMING and el.name == "close":
            self._event("close", None)
        elif not self._opened:
            self._event(
                "failed", StreamError("not-well-formed", "the stream must start with <open/>")
            )
        else:
            self._event("element", el)

    def onMessageFrameBegin(self, length: int) -> None:
        """Refuse a frame over autobahn's payload limits with an XMPP stream error first.

        autobahn fails such a connection before reading the payload; the
        peer first gets ``policy-violation`` in its own framing, as for a
        frame over ``max_stanza_size``.
        """
        total = getattr(self, "message_data_total_length", 0) + length
        too_big = 0 < self.maxMessagePayloadSize < total or 0 < self.maxFramePayloadSize < length
        if too_big and not self._closing and not self.failedByMe:
            text = f"frame of {length} bytes is over the limit"
            if self.component is not None:
                self.component.close("policy-violation", text)
            elif self.session is not None:
                self.session.close("policy-violation", text)
        super().onMessageFrameBegin(length)

    def onClose(self, wasClean: bool, code: int, reason: str) -> None:
        """The WebSocket is gone: tell the session (or the component stream)."""
        self._closing = True
        self._stop_idle()
        cancel_close_timer(self)
        self.factory.connection_gone(self)
        component = self.component
        if component is not None:
            component.connectionLost(None)
            return
        if self.session is None:
            return
        self._pending.clear()
        self.session.connection_lost((), self.adapter)

    # -- components (XEP-0114 over WebSocket) -------------------------------------

    def _start_component(self, payload: bytes, namespace: str) -> None:
        """The first frame opened a ``<stream:stream>``: serve a component, or refuse."""
        session, self.session = self.session, None
        self._pending.clear()
        if session is not None:
            session.connection_lost((), self.adapter)
        self.component = start_component(self, self.factory.components, payload, namespace)

    def _component_frame(self, payload: bytes, isBinary: bool) -> None:
        component = self.component
        if self._closing or component.state == "closed":
            return
        self._touch()
        if isBinary:
            component.close("not-well-formed", "frames must be text frames")
            return
        component.dataReceived(payload)

    def send_frame(self, data: bytes) -> None:
        """Send bytes (complete UTF-8 text) as one text frame, unless closing."""
        if self.state == WebSocketServerProtocol.STATE_OPEN and not self._closing:
            self.sendMessage(data, False)

    def close_connection(self) -> None:
        """Start the closing handshake (no ``<close/>``: legacy framing)."""
        if self._closing:
            return
        self._closing = True
        self._stop_idle()
        self._pending.clear()
        self.sendClose(1000)

    # -- input events -----------------------------------------------------------

    def _event(self, kind: str, value: Any) -> None:
        if self._paused or self._pending:
            self._pending.append((kind, value))
            return
        self._deliver(kind, value)

    def _deliver(self, kind: str, value: Any) -> None:
        session = self.session
        try:
            if kind == "element":
                session.element_received(value)
            elif kind == "open":
                session.stream_opened(value)
            elif kind == "close":
                session.stream_closed()
            else:
                session.stream_failed(value)
        except Exception:
            log.failure("WebSocket client {peer} failed", peer=self.adapter.peer[0])
            session.close("internal-server-error")

    def pause_input(self) -> None:
        """Hold input events until :meth:`resume_input`."""
        self._paused = True

    def resume_input(self) -> None:
        """Deliver held input events, stopping if the session pauses again."""
        self._paused = False
        pending = self._pending
        while pending and not self._paused and not self._closing:
            kind, value = pending.pop(0)
            self._deliver(kind, value)

    def _touch(self) -> None:
        timeout = self.factory.timeout
        if timeout is None:
            return
        idle = self._idle
        if idle is not None and idle.active():
            idle.reset(timeout)
        else:
            self._idle = self.factory.context.reactor.callLater(timeout, self._timed_out)

    def _stop_idle(self) -> None:
        idle, self._idle = self._idle, None
        if idle is not None and idle.active():
            idle.cancel()

    def _timed_out(self) -> None:
        self._idle = None
        if self.component is not None:
            self.component.close("connection-timeout", "no data from the component for too long")
        elif self.session is not None:
            self.session.close("connection-timeout", "no data from the client for too long")

    # -- output -----------------------------------------------------------------

    def send_text(self, text: str) -> None:
        """Send one text frame (dropped unless the WebSocket is open)."""
        if self.state == WebSocketServerProtocol.STATE_OPEN:
            self.sendMessage(text.encode("utf-8"), False)

    def close_stream(self, error: Element | None) -> None:
        """Send ``error`` and ``<close/>``, then start the closing handshake."""
        if self._closing:
            return
        if error is not None:
            self.send_text(serialize(error))
        self.send_text(_CLOSE_FRAME)
        self._closing = True
        self._stop_idle()
        self._pending.clear()
        self.sendClose(1000)


@implementer(IC2STransport)
class WebSocketTransport:
    """The c2s state machine's view of one WebSocket connection.

    Args:
        protocol: the connection.
        secure: the connection is over TLS (``wss:``).
    """

    kind = "websocket"
    can_starttls = False
    compression_methods: tuple[str, ...] = ()

    __slots__ = ("protocol", "secure", "peer")

    def __init__(self, protocol: XMPPWebSocketProtocol, secure: bool):
        self.protocol = protocol
        self.secure = secure
        self.peer = peer_of(protocol.transport.getPeer())

    def send_header(self, from_: str, to: str | None, stream_id: str | None, lang: str) -> None:
        """Send ``<open/>`` (RFC 7395 section 3.4)."""
        open_ = Element((NS_FRAMING, "open"))
        open_["from"] = from_
        if to:
            open_["to"] = to
        open_["id"] = stream_id or secrets.token_hex(8)
        open_["version"] = "1.0"
        open_[(NS_XML, "lang")] = lang
        self.protocol.send_text(serialize(open_))

    def send(self, element: Element) -> bool:
        """Send one element in its own frame."""
        if self.protocol._closing:
            return False
        self.protocol.send_text(serialize(element))
        return True

    def close(self, error: Element | None) -> None:
        """Send ``error`` and ``<close/>``, then close the WebSocket."""
        self.protocol.close_stream(error)

    def restart(self) -> None:
        """The client sends a new ``<open/>``: nothing to reset."""

    def start_tls(self) -> None:
        """Never offered: TLS belongs to the HTTP listener."""

    def start_compression(self, method: str) -> None:
        """Never offered over WebSocket."""

    def pause(self) -> None:
        """Hold input events until :meth:`resume`."""
        self.protocol.pause_input()

    def resume(self) -> None:
        """Deliver held input events."""
        self.protocol.resume_input()

    def shape(self, max_rate: int | None) -> None:
        """No shaping on WebSocket connections."""

    def channel_bindings(self) -> dict[str, bytes]:
        """No channel binding over WebSocket."""
        return {}

    def peer_certificate(self) -> Any:
        """No client certificates over WebSocket."""
        return None


class DirectTimer:
    """autobahn's timer hook with one reactor call per timer.

    autobahn batches its timers by default, and a batch's reactor call stays
    pending after every timer in it was cancelled; these are cancelled for
    real, so a closed connection leaves nothing behind.

    Args:
        reactor: the reactor to schedule on.
    """

    def __init__(self, reactor: Any):
        self.reactor = reactor

    def call_later(self, delay: float, func: Any, *args: Any, **kwargs: Any) -> Any:
        """Schedule ``func``; the result has ``cancel()``."""
        return self.reactor.callLater(delay, func, *args, **kwargs)


def _class_value(value: Any) -> Any:
    """``value`` as a class attribute that reads back unchanged from an instance."""
    return staticmethod(value) if callable(value) else value


class XMPPWebSocketFactory(WebSocketServerFactory):
    """The WebSocket side of one handler: its settings and open connections.

    Args:
        node: the mongoose.node.Node.
        options: the handler's options.
    """

    protocol = XMPPWebSocketProtocol

    def __init__(self, node: Any, options: Any):
        super().__init__(protocols=[SUBPROTOCOL], reactor=node.reactor)
        self._batched_timer = DirectTimer(node.reactor)
        self.context = handler_context(node, "mongoose_websocket_handler", options)
        #: Components over WebSocket (the ``service`` table), or None.
        self.components = (
            ComponentEndpoint(node, options) if options.get("service") is not None else None
        )
        self.metrics = getattr(node, "metrics", None)
        if self.metrics is not None:
            self.metrics.http_transports.add_websocket(self._open_connections)
        self.timeout = _ms(options.get("timeout", 60000))
        self.connections: set[XMPPWebSocketProtocol] = set()
        self._drained: defer.Deferred | None = None
        ping = _ms(options.get("ping_rate"))
        limit = self.context.settings.max_stanza_size
        self.setProtocolOptions(
            maxMessagePayloadSize=2 * limit + 65536,
            maxFramePayloadSize=2 * limit + 65536,
            autoPingInterval=ping or 0,
            autoPingTimeout=ping or 0,
            closeHandshakeTimeout=_CLOSE_TIMEOUT,
            # Fail a connection with a closing handshake rather than a reset,
            # so a stream error written just before still reaches the peer.
            failByDrop=False,
            openHandshakeTimeout=_CLOSE_TIMEOUT * 3,
        )
        # autobahn copies each of its ~30 options from the factory into every
        # new connection's instance dict unless the protocol already has it.
        # A protocol class per handler carrying them as class attributes keeps
        # them out of every connection (about 1.5 KB per idle WebSocket).
        # Callable options (perMessageCompressionAccept) stay plain functions.
        self.protocol = type(
            XMPPWebSocketProtocol.__name__,
            (XMPPWebSocketProtocol,),
            {name: _class_value(getattr(self, name))
             for name in XMPPWebSocketProtocol.CONFIG_ATTRS},
        )
        self.noisy = False

    def shutdown(self, *args: Any) -> defer.Deferred:
        """Close every connection with ``system-shutdown`` (the ``node_stopping`` hook).

        Fires once they are all gone; stragglers are dropped after
        :data:`_CLOSE_TIMEOUT` seconds.
        """
        for connection in list(self.connections):
            if connection.component is not None:
                connection.component.close("system-shutdown", "the server is stopping")
            elif connection.session is not None:
                connection.session.close("system-shutdown", "the server is stopping")
        if not self.connections:
            return defer.succeed(None)
        self._drained = defer.Deferred()
        timer = self.context.reactor.callLater(_CLOSE_TIMEOUT, self._drop_all)

        def stop_timer(result: Any) -> Any:
            if timer.active():
                timer.cancel()
            return result

        return self._drained.addBoth(stop_timer)

    def _open_connections(self) -> list[tuple[str | None, str]]:
        """``(host, type)`` of every open connection (read by the metrics gauge)."""
        entries: list[tuple[str | None, str]] = []
        for connection in self.connections:
            component = connection.component
            if component is not None:
                domains = component.domains
                entries.append((domains[0] if domains else component.requested, "component"))
            else:
                session = connection.session
                entries.append((session.host if session is not None else None, "client"))
        return entries

    def connection_made(self, connection: XMPPWebSocketProtocol) -> None:
        """Remember an open connection (and count it)."""
        self.connections.add(connection)
        if self.metrics is not None:
            self.metrics.websocket_opened()

    def connection_gone(self, connection: XMPPWebSocketProtocol) -> None:
        """Forget a closed connection."""
        if connection not in self.connections:
            return
        self.connections.discard(connection)
        if self.metrics is not None:
            self.metrics.websocket_closed()
        drained = self._drained
        if drained is not None and not self.connections:
            self._drained = None
            drained.callback(None)

    def _drop_all(self) -> None:
        for connection in list(self.connections):
            connection.dropConnection(abort=True)


class XMPPWebSocketResource(WebSocketResource):
    """The twisted.web resource that upgrades requests to XMPP WebSocket connections."""

    max_body_bytes = 4096

    def render(self, request: Any) -> Any:
        """Upgrade, or answer a plain GET with HTTP 426."""
        if (request.getHeader(b"upgrade") or b"").lower() != b"websocket":
            request.setResponseCode(426)
            request.setHeader(b"upgrade", b"websocket")
            request.setHeader(b"content-type", b"application/json")
            return b'{"error": "upgrade_required", "message": "connect with WebSocket (RFC 7395)"}'
        channel = request.channel
        if hasattr(channel, "setTimeout"):
            channel.setTimeout(None)
        return super().render(request)


@provider(IHTTPHandlerFactory)
class WebSocketHandler(XMPPWebSocketResource):
    """The ``mongoose_websocket_handler`` HTTP handler kind.

    ``WebSocketHandler(options, node)`` is the resource of one handler
    table; stopping the node closes its clients with ``system-shutdown``.
    """

    name = "mongoose_websocket_handler"
    #: None: the table is declared in mongoose.config.sections.http_handlers.
    options_spec = None

    def __init__(self, options: Any, node: Any):
        factory = XMPPWebSocketFactory(node, options)
        node.hooks.add("node_stopping", factory.shutdown)
        super().__init__(factory)
