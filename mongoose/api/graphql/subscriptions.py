"""GraphQL subscriptions over Server-Sent Events (GraphQL over SSE, "distinct connections").

``stanza.subscribeForMessages`` (MongooseIM ``user/stanza.gql`` and
``admin/stanza.gql``) binds a :class:`MessageSubscriber` for the user in
the session manager, like one more resource of the account with priority
0, so messages to the bare JID and to that resource reach it.  Each
message becomes one ``next`` event; the stream ends with a ``complete``
event after ``sse_idle_timeout`` milliseconds without a message, or when the
session manager closes the subscriber; the subscriber is unbound when the
client goes away (:class:`SSEStream`).

``stanza.subscribeForTraffic(limit)`` (``admin/stanza.gql``) subscribes to
``service_traffic`` (:mod:`mongoose.services.service_traffic`): each stanza
a client session sends or is sent becomes one ``next`` event, until
``limit`` events were sent, the idle timeout, or the client goes away
(:class:`TrafficStream`).  While the client reads slower than the traffic
flows (the connection's send buffer is full), traces are dropped rather
than queued, so a slow reader costs bounded memory.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from twisted.internet.interfaces import IPushProducer
from twisted.logger import Logger
from twisted.words.xish.domish import Element
from zope.interface import implementer

from mongoose.router.interfaces import ISession

__all__ = ["MessageSubscriber", "SSEStream", "TrafficStream", "stanza_payload", "RESOURCE_PREFIX"]

log = Logger()

#: Resources of subscriber sessions start with this.
RESOURCE_PREFIX = "graphql-sse-"


def stanza_payload(stanza: Element, now: float | None = None) -> dict[str, Any]:
    """The ``StanzaMap`` fields of a received message."""
    stamp = datetime.fromtimestamp(time.time() if now is None else now, tz=UTC)
    return {
        "sender": stanza.getAttribute("from"),
        "timestamp": stamp.isoformat(timespec="seconds").replace("+00:00", "Z"),
        "stanza_id": stanza.getAttribute("id"),
        "stanza": stanza.toXml(),
    }


@implementer(ISession)
class MessageSubscriber:
    """A session that hands the messages it is routed to a callback.

    Args:
        on_message: called with each ``<message/>`` element.
        on_close: called when the session manager closes the session.
    """

    def __init__(self, on_message: Callable[[Element], None],
                 on_close: Callable[[str, str | None], None]):
        self.jid = None
        self.priority = 0
        self.presence = None
        self.roster_requested = False
        self.info: dict[str, Any] = {"transport": "graphql-sse"}
        self._on_message = on_message
        self._on_close = on_close

    def deliver(self, stanza: Element) -> None:
        """Pass messages on; other stanzas are not part of the subscription."""
        if stanza.name == "message":
            self._on_message(stanza)

    def close(self, condition: str, text: str | None = None) -> None:
        """The session manager ends the session (e.g. a conflict)."""
        self._on_close(condition, text)


class _EventStream:
    """One open SSE response: headers, ``next`` events, the idle timer, the end.

    Args:
        request: the twisted.web request (headers not yet written).
        clock: an IReactorTime for the idle timer.
        idle_timeout: milliseconds without an event before the stream
            ends; None for never.
    """

    def __init__(self, request: Any, clock: Any, idle_timeout: int | None):
        self.request = request
        self.clock = clock
        self.idle_timeout = idle_timeout
        self._timer: Any = None
        self._done = False

    def start(self) -> None:
        """Write the SSE headers, open the source and arm the idle timer."""
        request = self.request
        request.setResponseCode(200)
        request.setHeader(b"content-type", b"text/event-stream; charset=utf-8")
        request.setHeader(b"cache-control", b"no-cache")
        request.setHeader(b"access-control-allow-origin", b"*")
        request.notifyFinish().addBoth(self._gone)
        self._open()
        request.write(b": subscribed\n\n")
        self._arm()

    def _open(self) -> None:
        """Start receiving events (subclasses)."""

    def _close(self) -> None:
        """Stop receiving events (subclasses); called once."""

    def _arm(self) -> None:
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        if self.idle_timeout is not None:
            self._timer = self.clock.callLater(self.idle_timeout / 1000.0, self.finish)

    def _send(self, body: dict[str, Any]) -> None:
        data = json.dumps(body, ensure_ascii=False)
        self.request.write(f"event: next\ndata: {data}\n\n".encode())
        self._arm()

    def finish(self) -> None:
        """Send ``complete``, end the response and stop receiving events."""
        if self._done:
            return
        self._done = True
        self._stop()
        self.request.write(b"event: complete\ndata:\n\n")
        self.request.finish()

    def _gone(self, _result: Any) -> None:
        if self._done:
            return
        self._done = True
        self._stop()

    def _stop(self) -> None:
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None
        self._close()


class SSEStream(_EventStream):
    """One open SSE response carrying a message subscription.

    Args:
        request: the twisted.web request (headers not yet written).
        subscription: the validated :class:`MessageSubscription`.
        sessions: the session manager (``bind``/``unbind``).
        clock: an IReactorTime for the idle timer.
        idle_timeout: milliseconds without a message before the stream
            ends; None for never.
    """

    def __init__(self, request: Any, subscription: Any, sessions: Any, clock: Any,
                 idle_timeout: int | None):
        super().__init__(request, clock, idle_timeout)
        self.subscription = subscription
        self.sessions = sessions
        self.subscriber = MessageSubscriber(self._message, self._closed)

    def _open(self) -> None:
        target = self.subscription.target
        resource = RESOURCE_PREFIX + secrets.token_hex(6)
        self.sessions.bind(self.subscriber, target.user, target.host, resource)

    def _close(self) -> None:
        self.sessions.unbind(self.subscriber)

    def _message(self, stanza: Element) -> None:
        if self._done:
            return
        try:
            body = self.subscription.render(stanza_payload(stanza, self.clock.seconds()))
        except Exception:
            log.failure("GraphQL subscription event failed")
            return
        self._send(body)

    def _closed(self, _condition: str, _text: str | None) -> None:
        self.finish()


@implementer(IPushProducer)
class TrafficStream(_EventStream):
    """One open SSE response carrying ``subscribeForTraffic``.

    It is the response's streaming producer: while the connection's send
    buffer is full (``pauseProducing``) traces are dropped, not queued, and
    do not count towards the limit; :attr:`dropped` counts them.

    Args:
        request: the twisted.web request (headers not yet written).
        subscription: the validated :class:`TrafficSubscription`
            (``tap``, ``limit``, ``render``).
        clock: an IReactorTime for the idle timer.
        idle_timeout: milliseconds without a trace before the stream ends;
            None for never.
    """

    def __init__(self, request: Any, subscription: Any, clock: Any, idle_timeout: int | None):
        super().__init__(request, clock, idle_timeout)
        self.subscription = subscription
        self.subscriber: Any = None
        self.paused = False
        self.dropped = 0

    def _open(self) -> None:
        self.request.registerProducer(self, True)
        self.subscriber = self.subscription.tap.subscribe(
            self._trace, self._ended, self.subscription.limit)

    def _close(self) -> None:
        if self.subscriber is not None:
            self.subscriber.cancel()
        if getattr(self.request, "producer", None) is self:
            try:
                self.request.unregisterProducer()
            except Exception:  # the connection is already gone
                pass

    def _trace(self, trace: Any) -> bool:
        if self._done:
            return False
        if self.paused:
            self.dropped += 1
            return False
        try:
            body = self.subscription.render(trace.to_json())
        except Exception:
            log.failure("GraphQL traffic event failed")
            return False
        self._send(body)
        return True

    def _ended(self, _reason: str) -> None:
        self.finish()

    def pauseProducing(self) -> None:
        """The client reads slower than we write: drop traces until resumed."""
        self.paused = True

    def resumeProducing(self) -> None:
        """The send buffer drained: send traces again."""
        self.paused = False

    def stopProducing(self) -> None:
        """The connection is going away."""
        self._gone(None)
