"""XEP-0114 components over WebSocket: the ``service`` table of ``mongoose_websocket_handler``.

MongooseIM up to 6.0 let external components connect to ``mod_websockets``
(``[listen.http.handlers.mod_websockets.service]``, with the options of a
``[[listen.service]]`` listener).  It tells a component from a client by the
framing of the first frame, and so does this module:

* a first frame that is an RFC 7395 ``<open xmlns='urn:ietf:params:xml:ns:xmpp-framing'/>``
  (or anything else that is not a stream header) starts a client stream;
* a first frame that opens a ``<stream:stream>`` (the older
  "draft-moffitt" framing, where the frames together form one XML stream)
  whose default namespace is ``jabber:component:accept`` starts a component
  stream: the frames are fed, in order, to the same
  :class:`~mongoose.component.stream.ComponentStream` that serves
  ``[[listen.service]]`` over TCP, and each piece the stream writes (its
  header, ``<handshake/>``, a stanza, a stream error, ``</stream:stream>``)
  goes out as one text frame.

Without a ``service`` table, or for a ``<stream:stream>`` in another
namespace (clients must use RFC 7395 framing), the server answers in the
same framing with an ``invalid-namespace`` stream error and closes.

:class:`WebSocketStreamTransport` is the adapter: the component stream sees
an ordinary Twisted transport (``write``, ``loseConnection``, producers,
``getPeer``), so nothing of the XEP-0114 logic is repeated here (DESIGN.md
principle 2).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from twisted.internet.interfaces import IPushProducer, ITransport
from twisted.logger import Logger
from zope.interface import implementer

from mongoose.component.listener import component_environment, settings_from_options
from mongoose.component.stream import ComponentEnvironment, ComponentSettings, ComponentStream
from mongoose.xmpp.errors import stream_error_element
from mongoose.xmpp.framing import XMLStreamParser
from mongoose.xmpp.namespaces import NS_COMPONENT_ACCEPT
from mongoose.xmpp.serialize import STREAM_FOOTER, element_to_bytes, stream_header

__all__ = [
    "ComponentEndpoint",
    "WebSocketStreamTransport",
    "legacy_stream_namespace",
    "refuse_legacy_stream",
    "start_component",
]

log = Logger()


def legacy_stream_namespace(payload: bytes) -> str | None:
    """The content namespace when ``payload`` starts a ``<stream:stream>``, else None.

    The first frame is parsed with the ordinary stream parser (same limits
    and refusals as a TCP stream); only its header matters.

    Args:
        payload: the first text frame of a WebSocket connection.

    Returns:
        The stream's default namespace (``""`` when none is declared), or
        None when the frame does not open a stream in the
        ``http://etherx.jabber.org/streams`` namespace (RFC 7395 framing).
    """
    found: list[str] = []

    def start(header: dict[str, str]) -> None:
        found.append(header.get("xmlns", ""))
        parser.close()

    def ignore(*args: Any) -> None:
        pass

    parser = XMLStreamParser(start, ignore, ignore, ignore, content_namespaces=None)
    try:
        parser.feed(payload)
    except Exception:
        return None
    return found[0] if found else None


def refuse_legacy_stream(send: Any, namespace: str, condition: str, text: str) -> None:
    """Answer a ``<stream:stream>`` opening with a stream error in the same framing.

    Args:
        send: callable(bytes) sending one text frame.
        namespace: the content namespace the peer declared (echoed in the
            header so its parser accepts the answer).
        condition: an RFC 6120 stream error condition.
        text: the error's description.
    """
    send(stream_header(xmlns=namespace or NS_COMPONENT_ACCEPT, version=None))
    send(
        element_to_bytes(
            stream_error_element(condition, text), default_uri=namespace or NS_COMPONENT_ACCEPT
        )
    )
    send(STREAM_FOOTER)


@implementer(ITransport, IPushProducer)
class WebSocketStreamTransport:
    """A Twisted transport over one WebSocket connection, for a byte-stream protocol.

    Every ``write`` is one text frame; ``loseConnection`` starts the
    WebSocket closing handshake.  Pausing reads pauses the underlying TCP
    (or TLS) transport (the component shaper), and the registered producer
    is told when the socket's send buffer fills or drains, so a component
    that reads too slowly hits ``max_fsm_queue`` as over TCP.

    Args:
        protocol: the :class:`~mongoose.http.websocket.XMPPWebSocketProtocol`.
    """

    disconnecting = False

    def __init__(self, protocol: Any):
        self.protocol = protocol
        self.producer: Any = None

    # -- ITransport -------------------------------------------------------------

    def write(self, data: bytes) -> None:
        """Send ``data`` (complete UTF-8 XML pieces) as one text frame."""
        self.protocol.send_frame(data)

    def writeSequence(self, data: Any) -> None:
        """Send the pieces joined, as one text frame."""
        self.write(b"".join(data))

    def loseConnection(self) -> None:
        """Close the WebSocket (closing handshake)."""
        self.disconnecting = True
        self.protocol.close_connection()

    def abortConnection(self) -> None:
        """Drop the TCP connection at once."""
        self.disconnecting = True
        self.protocol.dropConnection(abort=True)

    def getPeer(self) -> Any:
        """The client's address."""
        return self.protocol.transport.getPeer()

    def getHost(self) -> Any:
        """The server's address."""
        return self.protocol.transport.getHost()

    # -- reading (the shaper) -------------------------------------------------------

    def pauseProducing(self) -> None:
        """Stop reading from the socket for a while."""
        pause = getattr(self.protocol.transport, "pauseProducing", None)
        if pause is not None:
            pause()

    def resumeProducing(self) -> None:
        """Read from the socket again."""
        resume = getattr(self.protocol.transport, "resumeProducing", None)
        if resume is not None:
            resume()

    def stopProducing(self) -> None:
        """Drop the connection."""
        self.abortConnection()

    # -- writing (back pressure) ------------------------------------------------------

    def registerProducer(self, producer: Any, streaming: bool) -> None:
        """Let ``producer`` hear when the socket's send buffer fills and drains.

        The socket's producer slot was held by the HTTP channel the
        WebSocket came from (it has no more use for it after the upgrade).
        """
        self.producer = producer
        underlying = self.protocol.transport
        try:
            underlying.unregisterProducer()
            underlying.registerProducer(producer, streaming)
        except Exception as exc:  # back pressure is an optimisation: keep serving
            log.debug("no write back pressure on this WebSocket: {error}", error=exc)

    def unregisterProducer(self) -> None:
        """Forget the producer."""
        self.producer = None
        unregister = getattr(self.protocol.transport, "unregisterProducer", None)
        if unregister is not None:
            try:
                unregister()
            except Exception:
                pass


class ComponentEndpoint:
    """The component side of one WebSocket handler: its options as streams use them.

    Args:
        node: the :class:`mongoose.node.Node`.
        handler_options: the handler's table; its ``service`` sub-table gives
            the component options, ``max_stanza_size`` and
            ``c2s_state_timeout`` (the time to complete the handshake) are
            the handler's own.

    Attributes:
        environment: shared by the handler's component streams.
        settings: the stream settings.
    """

    def __init__(self, node: Any, handler_options: Mapping[str, Any]):
        service = dict(handler_options["service"])
        for key, name in (
            ("max_stanza_size", "max_stanza_size"),
            ("c2s_state_timeout", "state_timeout"),
        ):
            if key in handler_options:
                service[name] = handler_options[key]
        label = f"mongoose_websocket_handler {handler_options.get('path', '/')}"
        self.environment: ComponentEnvironment = component_environment(node, service)
        self.settings: ComponentSettings = settings_from_options(
            label, service, node.config.options.get("general")
        )

    def stream(self) -> ComponentStream:
        """A new component stream (not yet connected)."""
        return ComponentStream(self.environment, self.settings)


def start_component(
    protocol: Any, endpoint: ComponentEndpoint | None, payload: bytes, namespace: str
) -> ComponentStream | None:
    """Serve a connection whose first frame opened a ``<stream:stream>``.

    Args:
        protocol: the WebSocket connection.
        endpoint: the handler's component endpoint, or None without ``service``.
        payload: the first frame (fed to the stream).
        namespace: the stream's content namespace.

    Returns:
        The running component stream, or None when the stream was refused
        (the refusal is sent and the connection is closing).
    """
    if namespace != NS_COMPONENT_ACCEPT or endpoint is None:
        if namespace == NS_COMPONENT_ACCEPT:
            text = "this WebSocket endpoint does not accept components (no service table)"
        else:
            text = (
                "clients use the RFC 7395 framing (<open/>); <stream:stream> over WebSocket "
                f"is only for {NS_COMPONENT_ACCEPT} components"
            )
        refuse_legacy_stream(protocol.send_frame, namespace, "invalid-namespace", text)
        protocol.close_connection()
        return None
    stream = endpoint.stream()
    stream.makeConnection(WebSocketStreamTransport(protocol))
    stream.dataReceived(payload)
    return stream

