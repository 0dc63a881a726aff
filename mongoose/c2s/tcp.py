"""The TCP transport of client streams: bytes in, elements out (RFC 6120 over TCP).

:class:`C2SProtocol` is the adapter between a Twisted TCP (or TLS) transport
and one :class:`~mongoose.c2s.session.C2SSession`:

* input: PROXY header (done by :mod:`mongoose.listeners.proxy_protocol` below it),
  TLS (direct, or STARTTLS through ``transport.startTLS``), zlib (XEP-0138,
  with the listener's decompressed-size limit), the shaper (token bucket;
  the transport stops reading while the bucket refills), then the
  limit-enforcing XML parser (``max_stanza_size`` is checked while parsing);
* output: elements serialised once and written, compressed when zlib is on.
  The protocol is a streaming producer for its transport: when the
  transport's buffer is full (a client that does not read), further stanzas
  wait in a queue bounded by ``max_fsm_queue`` stanzas and by
  :data:`~mongoose.c2s.context.DEFAULT_MAX_QUEUED_BYTES` bytes.  Past either
  bound the client gets ``policy-violation`` and the queued messages go to
  offline storage (the ``offline_message`` hook).

:class:`C2SFactory` makes the protocols of one listener, enforces
``max_connections`` and closes every connection with ``system-shutdown``
when the node stops.
"""

from __future__ import annotations

import secrets
from collections import deque
from typing import Any

from twisted.internet import defer, task
from twisted.internet.interfaces import IProtocol, IPushProducer
from twisted.internet.protocol import Factory
from twisted.logger import Logger
from twisted.words.xish.domish import Element
from zope.interface import implementer

from mongoose.c2s.compression import METHODS, CompressionError, Deflater, Inflater
from mongoose.c2s.context import C2SContext
from mongoose.c2s.interfaces import IC2STransport
from mongoose.c2s.session import C2SSession
from mongoose.c2s.shaper import Shaper
from mongoose.xmpp.errors import StreamError
from mongoose.xmpp.framing import XMLStreamParser
from mongoose.xmpp.sasl.channel_binding import channel_bindings
from mongoose.xmpp.serialize import STREAM_FOOTER, element_to_bytes, stream_header
from mongoose.xmpp.tls import TLSConfigError, peer_certificate

__all__ = ["CLOSE_GRACE", "SHUTDOWN_GRACE", "C2SFactory", "C2SProtocol"]

log = Logger()

#: Seconds a closing connection has to flush before it is aborted.
CLOSE_GRACE = 5.0
#: Seconds the node waits for its clients to go at shutdown before aborting them.
SHUTDOWN_GRACE = 3.0

#: Shortest period of the idle-parser sweep, in seconds (``hibernate_after``
#: of 0, MongooseIM's default, sweeps once a second).
MIN_HIBERNATE_PERIOD = 1.0
#: Whole sweep periods without input before a connection's parser is freed:
#: with the default, after two to three idle seconds.  Freeing after a single
#: period cost about 40 % more CPU per message in the shared harness's chat
#: scenario at 1,000 msg/s over 1,000 users (each user talks about once a
#: second, so many parsers were rebuilt for every message).
IDLE_SWEEPS = 2

# Reasons to stop reading, as bits.
_BUSY = 1
_SHAPED = 2


def _peer_tuple(address: Any) -> tuple[str, int]:
    host = getattr(address, "host", None)
    port = getattr(address, "port", 0)
    if host is None:
        return str(address), 0
    return str(host), int(port or 0)


@implementer(IProtocol, IPushProducer, IC2STransport)
class C2SProtocol:
    """One client connection over TCP (plain, STARTTLS or direct TLS).

    Attributes:
        factory: the listener's C2SFactory.
        transport: the Twisted transport.
        session: the connection's C2SSession (None when refused at connect).
        parser: the XML stream parser.
        received: bytes read from the network so far.
    """

    __slots__ = (
        "factory",
        "transport",
        "connected",
        "session",
        "parser",
        "secure",
        "kind",
        "received",
        "_inflater",
        "_deflater",
        "_shaper",
        "_reading_paused",
        "_resume_call",
        "_write_paused",
        "_queue",
        "_queued_bytes",
        "_closing",
        "_abort_call",
    )

    def __init__(self, factory: C2SFactory):
        self.factory = factory
        self.transport: Any = None
        self.connected = 0
        self.session: C2SSession | None = None
        self.parser: XMLStreamParser | None = None
        self.secure = False
        self.kind = "tcp"
        self.received = 0
        self._inflater: Inflater | None = None
        self._deflater: Deflater | None = None
        self._shaper: Shaper | None = None
        self._reading_paused = 0
        self._resume_call: Any = None
        self._write_paused = False
        self._queue: deque[tuple[bytes, Element | None]] | None = None
        self._queued_bytes = 0
        self._closing = False
        self._abort_call: Any = None

    # -- IProtocol --------------------------------------------------------------

    def makeConnection(self, transport: Any) -> None:
        """Start the session (IProtocol)."""
        self.transport = transport
        self.connected = 1
        factory = self.factory
        settings = factory.context.settings
        limit = settings.max_connections
        if limit is not None and len(factory.connections) >= limit:
            log.info("{path}: connection refused, max_connections reached", path=settings.path)
            self._closing = True
            transport.loseConnection()
            return
        factory.connections.add(self)
        transport.registerProducer(self, True)
        if factory.direct_tls:
            self.secure = True
            self.kind = "tls"
        session = C2SSession(factory.context, self, _peer_tuple(transport.getPeer()))
        self.session = session
        self.parser = XMLStreamParser(
            session.stream_opened,
            session.element_received,
            session.stream_closed,
            session.stream_failed,
            max_stanza_size=settings.max_stanza_size,
        )
        self.shape(settings.shaper.rate())

    def connectionMade(self) -> None:
        """Nothing to do: :meth:`makeConnection` set everything up (IProtocol)."""

    def dataReceived(self, data: bytes) -> None:
        """Feed received bytes through zlib and the shaper to the parser (IProtocol)."""
        if self._closing:
            return
        size = len(data)
        self.received += size
        try:
            if self._inflater is not None:
                try:
                    data = self._inflater.decompress(data)
                except CompressionError as error:
                    self.session.stream_failed(StreamError("policy-violation", str(error)))
                    return
            shaper = self._shaper
            delay = shaper.update(size) if shaper is not None else 0.0
            self.parser.feed(data)
            if delay and not self._closing:
                self._shape_pause(delay)
        except Exception:
            log.failure("c2s connection from {peer} failed", peer=self.session.info.get("ip"))
            self.session.close("internal-server-error")

    def connectionLost(self, reason: Any = None) -> None:
        """Tell the session; queued messages go to offline storage (IProtocol)."""
        self.connected = 0
        self._closing = True
        self._cancel_calls()
        queue = self._queue
        self._queue = None
        undelivered = [el for _, el in queue if el is not None] if queue else []
        if self.parser is not None:
            self.parser.close()
        if self.session is not None:
            self.session.connection_lost(undelivered, self)
        self.factory.connection_gone(self)

    # -- IPushProducer: the transport's write buffer ------------------------------

    def pauseProducing(self) -> None:
        """The transport's buffer is full: queue further output."""
        self._write_paused = True

    def resumeProducing(self) -> None:
        """The transport drained its buffer: write what is queued."""
        self._write_paused = False
        queue = self._queue
        while queue and not self._write_paused:
            data, _ = queue.popleft()
            self._queued_bytes -= len(data)
            self._write(data)
        if queue is not None and not queue:
            self._queue = None

    def stopProducing(self) -> None:
        """The connection is going away; write nothing more."""
        self._write_paused = True

    # -- IC2STransport --------------------------------------------------------

    @property
    def can_starttls(self) -> bool:
        """True when STARTTLS is configured and not done yet."""
        settings = self.factory.context.settings
        return (
            not self.secure
            and settings.tls_creator is not None
            and settings.tls_mode in ("starttls", "starttls_required")
        )

    @property
    def compression_methods(self) -> tuple[str, ...]:
        """``("zlib",)`` when the listener has ``zlib`` and it is not on yet."""
        if self._deflater is None and self.factory.context.settings.zlib_limit:
            return METHODS
        return ()

    @property
    def peer(self) -> tuple[str, int]:
        """The client's (ip, port)."""
        return _peer_tuple(self.transport.getPeer())

    def send_header(self, from_: str, to: str | None, stream_id: str | None, lang: str) -> None:
        """Write the server's stream header."""
        if self._closing:
            return
        header = stream_header(
            from_=from_, to=to, id=stream_id or secrets.token_hex(8), version="1.0", lang=lang
        )
        self._output(header, None)

    def send(self, element: Element) -> bool:
        """Serialise and write one element, or queue it while the client is not reading."""
        if self._closing:
            return False
        self._output(element_to_bytes(element), element if element.name == "message" else None)
        return True

    def close(self, error: Element | None) -> None:
        """Send ``error`` and the stream footer, then disconnect."""
        if self._closing:
            return
        self._closing = True
        self._cancel_calls()
        if self.parser is not None:
            self.parser.close()
        transport = self.transport
        if self._write_paused:
            # The client does not read: nothing more would reach it.
            transport.abortConnection()
            return
        tail = STREAM_FOOTER if error is None else element_to_bytes(error) + STREAM_FOOTER
        self._write(tail)
        transport.unregisterProducer()
        transport.loseConnection()
        self._abort_call = self.factory.context.reactor.callLater(CLOSE_GRACE, self._abort)

    def restart(self) -> None:
        """Expect a new stream header on the same connection."""
        self.parser.reset()

    def start_tls(self) -> None:
        """Start the TLS handshake (after ``<proceed/>``); read bytes are discarded.

        The certificate is the stream domain's own one when
        ``general.domain_certfile`` names it, else the listener's.
        """
        self._flush()
        host = self.session.host if self.session is not None else None
        self.transport.startTLS(self.factory.context.settings.creator_for(host))
        self.secure = True
        self.kind = "tls"
        self.parser.reset(discard_pending=True)

    def start_compression(self, method: str) -> None:
        """Compress both directions from now on (after ``<compressed/>``)."""
        self._flush()
        self._deflater = Deflater()
        self._inflater = Inflater(self.factory.context.settings.zlib_limit)
        self.parser.reset(discard_pending=True)

    def pause(self) -> None:
        """Hold input events (and stop reading) while the session waits."""
        self.parser.pause()
        self._pause_reading(_BUSY)

    def resume(self) -> None:
        """Deliver held input events and read again."""
        self._resume_reading(_BUSY)
        self.parser.resume()

    def shape(self, max_rate: int | None) -> None:
        """Apply a shaper of ``max_rate`` bytes per second (None: no shaping)."""
        if max_rate is None:
            self._shaper = None
        elif self._shaper is None or self._shaper.max_rate != max_rate:
            self._shaper = Shaper(max_rate, self.factory.context.reactor.seconds)

    def channel_bindings(self) -> dict[str, bytes]:
        """Channel binding data of the TLS connection (empty without TLS)."""
        return channel_bindings(self.transport) if self.secure else {}

    def peer_certificate(self) -> Any:
        """The client's certificate report, or None without TLS."""
        return peer_certificate(self.transport) if self.secure else None

    # -- internals -----------------------------------------------------------

    @property
    def queued_bytes(self) -> int:
        """Bytes waiting in the queue for a client that is not reading."""
        return self._queued_bytes

    def _output(self, data: bytes, element: Element | None) -> None:
        queue = self._queue
        if not self._write_paused and not queue:
            self._write(data)
            return
        if queue is None:
            queue = self._queue = deque()
        queue.append((data, element))
        self._queued_bytes += len(data)
        settings = self.factory.context.settings
        if self._queued_bytes > settings.max_queued_bytes or (
            settings.max_fsm_queue is not None and len(queue) > settings.max_fsm_queue
        ):
            log.info(
                "{path}: {peer} does not read; {count} stanzas ({size} bytes) queued",
                path=settings.path,
                peer=self.session.info.get("ip"),
                count=len(queue),
                size=self._queued_bytes,
            )
            self.session.close(
                "policy-violation", "too much data queued for a client that does not read"
            )

    def _write(self, data: bytes) -> None:
        if self._deflater is not None:
            data = self._deflater.compress(data)
        self.transport.write(data)

    def _flush(self) -> None:
        """Write everything queued now, whether or not the transport asked to pause."""
        queue = self._queue
        while queue:
            data, _ = queue.popleft()
            self._queued_bytes -= len(data)
            self._write(data)

    def _pause_reading(self, reason: int) -> None:
        if not self._reading_paused and self.connected:
            self.transport.pauseProducing()
        self._reading_paused |= reason

    def _resume_reading(self, reason: int) -> None:
        was = self._reading_paused
        self._reading_paused &= ~reason
        if was and not self._reading_paused and self.connected and not self._closing:
            self.transport.resumeProducing()

    def _shape_pause(self, delay: float) -> None:
        self._pause_reading(_SHAPED)
        call = self._resume_call
        if call is not None and call.active():
            call.reset(delay)
        else:
            self._resume_call = self.factory.context.reactor.callLater(delay, self._shape_resume)

    def _shape_resume(self) -> None:
        self._resume_call = None
        self._resume_reading(_SHAPED)

    def _abort(self) -> None:
        self._abort_call = None
        if self.connected:
            self.transport.abortConnection()

    def _cancel_calls(self) -> None:
        for name in ("_resume_call", "_abort_call"):
            call = getattr(self, name)
            if call is not None:
                setattr(self, name, None)
                if call.active():
                    call.cancel()


class C2SFactory(Factory):
    """Makes the client connections of one ``[[listen.c2s]]`` listener.

    Args:
        context: the listener's shared context.

    Attributes:
        connections: the live connections (C2SProtocol).
        direct_tls: the listener uses ``tls.mode = "tls"`` (the TLS layer is
            below the protocol from the first byte).
    """

    def __init__(self, context: C2SContext):
        self.context = context
        self.connections: set[C2SProtocol] = set()
        self.direct_tls = context.settings.tls_mode == "tls"
        self._drained: defer.Deferred | None = None
        self._sweeper: task.LoopingCall | None = None

    def buildProtocol(self, addr: Any) -> C2SProtocol:
        """A new connection's protocol."""
        return C2SProtocol(self)

    def startFactory(self) -> None:
        """Refuse to start with unusable TLS options (one line naming the option)."""
        error = self.context.settings.tls_error
        if error is not None:
            raise TLSConfigError(error)
        idle = self.context.settings.hibernate_after
        if idle is not None and self._sweeper is None:
            self._sweeper = task.LoopingCall(self.hibernate_idle)
            self._sweeper.clock = self.context.reactor
            self._sweeper.start(max(idle, MIN_HIBERNATE_PERIOD), now=False)

    def stopFactory(self) -> None:
        """Stop the idle-parser sweep."""
        sweeper, self._sweeper = self._sweeper, None
        if sweeper is not None and sweeper.running:
            sweeper.stop()

    def hibernate_idle(self) -> int:
        """Free the XML parser of every connection that read nothing since the last sweep.

        Called every ``hibernate_after`` (at least :data:`MIN_HIBERNATE_PERIOD`
        seconds); a parser is freed once its connection read nothing for
        :data:`IDLE_SWEEPS` whole periods, so a connection that talks now
        and then does not pay for rebuilding its parser at every stanza (a
        rebuild costs tens of microseconds).  Returns how many were freed.
        """
        freed = 0
        for protocol in self.connections:
            parser = protocol.parser
            if parser is None or parser.hibernating:
                continue
            if parser.active:
                parser.active = False
                parser.idle_sweeps = 0
                continue
            parser.idle_sweeps += 1
            if parser.idle_sweeps >= IDLE_SWEEPS and parser.hibernate():
                freed += 1
        return freed

    def connection_gone(self, protocol: C2SProtocol) -> None:
        """Forget a closed connection."""
        self.connections.discard(protocol)
        if not self.connections and self._drained is not None:
            drained, self._drained = self._drained, None
            drained.callback(None)

    def shutdown(self, *args: Any) -> defer.Deferred:
        """Close every connection with ``system-shutdown`` (the ``node_stopping`` hook).

        Fires once they are all gone; stragglers are aborted after
        :data:`SHUTDOWN_GRACE` seconds.
        """
        for protocol in list(self.connections):
            if protocol.session is not None:
                protocol.session.close("system-shutdown", "the server is stopping")
            else:
                protocol.transport.abortConnection()
        if not self.connections:
            return defer.succeed(None)
        drained: defer.Deferred = defer.Deferred()
        self._drained = drained
        reactor = self.context.reactor
        timer = reactor.callLater(SHUTDOWN_GRACE, self._abort_all)

        def stop_timer(result: Any) -> Any:
            if timer.active():
                timer.cancel()
            return result

        return drained.addBoth(stop_timer)

    def _abort_all(self) -> None:
        for protocol in list(self.connections):
            if protocol.connected:
                protocol.transport.abortConnection()
