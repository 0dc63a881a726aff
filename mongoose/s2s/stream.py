"""What incoming and outgoing server streams share (RFC 6120 sections 4 and 5).

:class:`ServerStream` frames bytes with the limit-enforcing parser in the
``jabber:server`` namespace, writes stanzas, dialback elements and stream
errors, starts TLS (STARTTLS, RFC 6120 section 5), arms the per-step
``state_timeout`` timer, closes streams without traffic for their idle
timeout (``s2s.outgoing.stream_timeout``) and applies a shaper to incoming
bytes.  The
subclasses in :mod:`.incoming` and :mod:`.outgoing` hold the negotiation.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from twisted.internet import defer
from twisted.internet.protocol import Protocol
from twisted.logger import Logger
from twisted.words.xish.domish import Element

from mongoose.listeners.shaper import Shaper
from mongoose.s2s.stanzas import to_server
from mongoose.xmpp.errors import StreamError, stream_error_element
from mongoose.xmpp.framing import XMLStreamParser
from mongoose.xmpp.namespaces import NS_DIALBACK, NS_SERVER
from mongoose.xmpp.serialize import (
    STREAM_FOOTER,
    element_to_bytes,
    escape_attribute,
    escape_text,
    stream_header,
)

__all__ = ["CLOSE_GRACE", "NS_DIALBACK_FEATURE", "ServerStream", "dialback_element"]

#: Seconds a closing stream waits for the peer before the socket is aborted.
CLOSE_GRACE = 5.0

#: The stream feature announcing dialback (XEP-0220 section 2.5).
NS_DIALBACK_FEATURE = "urn:xmpp:features:dialback"


def dialback_element(
    name: str, from_: str, to: str, *, type_: str | None = None,
    id_: str | None = None, key: str | None = None,
) -> bytes:
    """Serialise ``<db:result/>`` or ``<db:verify/>``.

    Args:
        name: ``result`` or ``verify``.
        from_: the 'from' domain.
        to: the 'to' domain.
        type_: ``valid``, ``invalid`` or ``error``; None for a request.
        id_: the stream id (``verify`` only).
        key: the dialback key (requests only).

    Returns:
        The element as bytes, using the ``db`` prefix of the stream header.
    """
    attrs = f" from='{escape_attribute(from_)}' to='{escape_attribute(to)}'"
    if id_ is not None:
        attrs += f" id='{escape_attribute(id_)}'"
    if type_ is not None:
        attrs += f" type='{type_}'"
    if key is None:
        return f"<db:{name}{attrs}/>".encode()
    return f"<db:{name}{attrs}>{escape_text(key)}</db:{name}>".encode()


class ServerStream(Protocol):
    """A ``jabber:server`` stream, either direction.

    Args:
        clock: the reactor (or ``task.Clock``).
        max_stanza_size: largest first-level element read, in bytes.
        shaper: limits the incoming byte rate, or None.
        state_timeout: seconds for each negotiation step, or None.

    Attributes:
        state: negotiation state, ``closed`` at the end.
        secure: True once TLS is on.
        info: facts for commands (address, connected).
        idle_timeout: seconds without traffic before :meth:`idle` is called,
            or None (set by :meth:`start_idle_timer`).
    """

    log = Logger()

    def __init__(
        self, clock: Any, max_stanza_size: int, shaper: Shaper | None = None,
        state_timeout: float | None = None,
    ):
        self.clock = clock
        self.max_stanza_size = max_stanza_size
        self.shaper = shaper
        self.state_timeout = state_timeout
        self.state = "connecting"
        self.secure = False
        self.info: dict[str, Any] = {}
        self.parser: XMLStreamParser | None = None
        self._header_sent = False
        self._timer = None
        self.idle_timeout: float | None = None
        self._idle = None
        self._read_pause = None
        self._abort = None
        self._closed_notified = False
        self._lost = False
        self._lost_waiters: list[defer.Deferred] = []

    # -- connection --------------------------------------------------------------

    def connectionMade(self) -> None:
        """Start parsing; record the peer address."""
        peer = self.transport.getPeer()
        host, port = getattr(peer, "host", None), getattr(peer, "port", None)
        self.info["address"] = f"{host}:{port}" if host is not None else str(peer)
        self.info["connected"] = datetime.fromtimestamp(self.clock.seconds(), UTC)
        self.parser = XMLStreamParser(
            self._on_start,
            self._on_element,
            self._on_end,
            self._on_error,
            max_stanza_size=self.max_stanza_size,
            content_namespaces=(NS_SERVER,),
        )

    def dataReceived(self, data: bytes) -> None:
        """Parse bytes from the peer, then apply the shaper."""
        if self.state == "closed" or self.parser is None:
            return
        try:
            self.parser.feed(data)
        except Exception:
            self.log.failure("s2s stream {address} failed", address=self.info.get("address"))
            self.close("internal-server-error")
            return
        self._touch()
        if self.shaper is not None and self.state != "closed":
            pause = self.shaper.update(len(data))
            if pause > 0 and self._read_pause is None:
                self.transport.pauseProducing()
                self._read_pause = self.clock.callLater(pause, self._resume_reading)

    def _resume_reading(self) -> None:
        self._read_pause = None
        if self.state != "closed":
            self.transport.resumeProducing()

    def connectionLost(self, reason: Any = None) -> None:
        """Stop timers and tell the subclass."""
        self.state = "closed"
        self.disarm()
        self._stop_idle_timer()
        for call in (self._abort, self._read_pause):
            if call is not None and call.active():
                call.cancel()
        self._abort = self._read_pause = None
        if self.parser is not None:
            self.parser.close()
        self._notify_closed()
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

    # -- subclass hooks -------------------------------------------------------------

    def _on_start(self, header: dict[str, str]) -> None:
        raise NotImplementedError

    def _on_element(self, el: Element) -> None:
        raise NotImplementedError

    def _on_end(self) -> None:
        self.close()

    def _on_error(self, error: StreamError) -> None:
        self.close(error.condition, error.text)

    def stream_closed(self) -> None:
        """Called once, when the stream is closed by either side."""

    def _notify_closed(self) -> None:
        if not self._closed_notified:
            self._closed_notified = True
            self.stream_closed()

    def timed_out(self) -> None:
        """Called when a negotiation step took longer than ``state_timeout``."""
        self.close("connection-timeout", "negotiation step timed out")

    # -- timers --------------------------------------------------------------------

    def arm(self, timeout: float | None = None) -> None:
        """(Re)start the step timer (``state_timeout`` unless given)."""
        self.disarm()
        timeout = self.state_timeout if timeout is None else timeout
        if timeout is not None:
            self._timer = self.clock.callLater(timeout, self._fire_timer)

    def disarm(self) -> None:
        """Stop the step timer."""
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None

    def _fire_timer(self) -> None:
        self._timer = None
        if self.state != "closed":
            self.timed_out()

    def start_idle_timer(self, timeout: float | None) -> None:
        """Call :meth:`idle` once the stream had no traffic for ``timeout`` seconds.

        Bytes read and written both count as traffic.  None disables the timer.
        """
        self.idle_timeout = timeout
        self._stop_idle_timer()
        self._touch()

    def _touch(self) -> None:
        timeout = self.idle_timeout
        if timeout is None or self.state == "closed":
            return
        if self._idle is not None and self._idle.active():
            self._idle.reset(timeout)
        else:
            self._idle = self.clock.callLater(timeout, self._fire_idle)

    def _stop_idle_timer(self) -> None:
        if self._idle is not None and self._idle.active():
            self._idle.cancel()
        self._idle = None

    def _fire_idle(self) -> None:
        self._idle = None
        if self.state != "closed":
            self.idle()

    def idle(self) -> None:
        """Called when the stream was idle for ``idle_timeout``; closes it."""
        self.close()

    # -- output --------------------------------------------------------------------

    def write(self, data: bytes) -> None:
        """Write raw bytes (a no-op once closed)."""
        if self.state != "closed" and self.transport is not None:
            self.transport.write(data)
            self._touch()

    def send_header(self, from_: str | None, to: str | None, id_: str | None,
                    version: str | None = "1.0") -> None:
        """Write the opening stream tag with the dialback prefix declared."""
        self._header_sent = True
        self.write(
            stream_header(
                from_=from_, to=to, id=id_, version=version, xmlns=NS_SERVER,
                extra_prefixes={"db": NS_DIALBACK},
            )
        )

    def write_stanza(self, stanza: Element) -> None:
        """Write an internal (``jabber:client``) stanza in ``jabber:server``."""
        self.write(element_to_bytes(to_server(stanza), default_uri=NS_SERVER))

    def restart(self, *, discard: bool = False) -> None:
        """Expect a new stream header (after TLS or authentication)."""
        if self.parser is not None:
            self.parser.reset(discard_pending=discard)

    def start_tls(self, creator: Any) -> None:
        """Start the TLS handshake now; bytes read after ``<proceed/>`` are dropped."""
        self.transport.startTLS(creator)
        self.secure = True
        self.restart(discard=True)

    def close(self, condition: str | None = None, text: str | None = None) -> None:
        """End the stream, with a stream error when ``condition`` is given."""
        if self.state == "closed":
            return
        if condition is not None:
            if not self._header_sent:
                self.send_header(None, None, None)
            self.log.info(
                "closing s2s stream {address}: {condition} {text}",
                address=self.info.get("address"), condition=condition, text=text or "",
            )
            self.write(element_to_bytes(stream_error_element(condition, text),
                                        default_uri=NS_SERVER))
        if self._header_sent:
            self.write(STREAM_FOOTER)
        self.state = "closed"
        self.disarm()
        self._stop_idle_timer()
        if self.parser is not None:
            self.parser.close()
        self._abort = self.clock.callLater(CLOSE_GRACE, self._abort_now)
        self._notify_closed()
        if self.transport is not None:
            self.transport.loseConnection()

    def _abort_now(self) -> None:
        self._abort = None
        abort = getattr(self.transport, "abortConnection", None)
        if abort is not None:
            abort()
