"""``service_traffic``: watch the stanzas of every client session as they pass.

While at least one subscriber is open, every bound c2s session (TCP, BOSH
or WebSocket) carries a :class:`TrafficFilter` stream filter that reports
each stanza the client sends (direction ``in``) and each stanza written to
it (``out``) as a :class:`Trace`.  The GraphQL subscription
``stanza.subscribeForTraffic(limit)`` (MongooseIM ``admin/stanza.gql``) is
the subscriber of the admin API.

The tap costs nothing while nobody watches: no filter sits on any session,
and the only work left is one check when a session is bound.  The filters
are put on every bound session when the first subscriber arrives and taken
off when the last one leaves.

How a consumer finds the tap: the service provides :class:`ITrafficTap`::

    tap = find_tap(ctx.service)
    if tap is not None:
        subscriber = tap.subscribe(on_trace, on_end, limit=100)
        ...
        subscriber.cancel()
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from twisted.logger import Logger
from twisted.words.xish.domish import Element
from zope.interface import Attribute, Interface, implementer, provider

from mongoose.c2s.interfaces import IStreamFilter
from mongoose.commands.errors import CommandError
from mongoose.config.schema import Field, Int, Section
from mongoose.interfaces import IGlobalService, IServiceFactory
from mongoose.services import find_running

__all__ = [
    "IN",
    "OUT",
    "SERVICE_NAME",
    "ITrafficTap",
    "Trace",
    "Subscriber",
    "TrafficFilter",
    "TrafficTap",
    "TrafficService",
    "find_tap",
]

SERVICE_NAME = "service_traffic"

#: A stanza the client sent.
IN = "in"
#: A stanza written to the client.
OUT = "out"

#: Why a subscription ended (the ``reason`` given to ``on_end``).
LIMIT_REACHED = "limit"
SERVICE_STOPPED = "stopped"

log = Logger()


@dataclass(frozen=True)
class Trace:
    """One stanza seen on a client session.

    Attributes:
        pid: an identifier of the session, the same for all its traces.
        jid: the session's full JID.
        timestamp: when it passed (seconds since the epoch).
        dir: ``in`` (from the client) or ``out`` (to the client).
        stanza: the stanza as XML text.
    """

    pid: str
    jid: str | None
    timestamp: float
    dir: str
    stanza: str

    def to_json(self) -> dict[str, Any]:
        """The ``TraceMap`` fields (``timestamp`` in ISO 8601, UTC)."""
        stamp = datetime.fromtimestamp(self.timestamp, tz=UTC)
        return {
            "pid": self.pid,
            "jid": self.jid,
            "timestamp": stamp.isoformat(timespec="seconds").replace("+00:00", "Z"),
            "dir": self.dir,
            "stanza": self.stanza,
        }


class ITrafficTap(Interface):
    """Hands the c2s stanza traffic to subscribers."""

    max_subscribers = Attribute("How many subscribers may be open at once.")

    def subscribe(on_trace, on_end, limit=None):
        """Open a subscriber.

        Args:
            on_trace: called with each :class:`Trace`; returning False means
                the trace was dropped (it does not count towards ``limit``).
            on_end: called once with a reason (``limit``, ``stopped``) when
                the tap ends the subscription; not called after ``cancel``.
            limit: the most traces delivered; None for no bound.

        Returns:
            A :class:`Subscriber` (``cancel()`` ends it).

        Raises:
            CommandError: ``bad_request`` for a limit below 1,
                ``not_allowed`` when ``max_subscribers`` are open.
        """

    def subscriber_count():
        """How many subscribers are open."""


class Subscriber:
    """One open subscription to the traffic.

    Attributes:
        remaining: traces still to deliver, or None for no bound.
    """

    def __init__(self, tap: TrafficTap, on_trace: Callable[[Trace], Any],
                 on_end: Callable[[str], Any], limit: int | None):
        self._tap = tap
        self._on_trace = on_trace
        self._on_end = on_end
        self.remaining = limit
        self.open = True

    def cancel(self) -> None:
        """Stop receiving traces (idempotent; ``on_end`` is not called)."""
        if self.open:
            self.open = False
            self._tap._remove(self)

    def _deliver(self, trace: Trace) -> None:
        try:
            taken = self._on_trace(trace)
        except Exception:
            log.failure("traffic subscriber failed; ending it")
            self.cancel()
            return
        if taken is False or self.remaining is None:
            return
        self.remaining -= 1
        if self.remaining <= 0:
            self._end(LIMIT_REACHED)

    def _end(self, reason: str) -> None:
        if not self.open:
            return
        self.cancel()
        try:
            self._on_end(reason)
        except Exception:
            log.failure("traffic subscriber failed to end")


def session_pid(session: Any) -> str:
    """A short identifier of a session for its traces (stable while it lives)."""
    return f"c2s-{id(session):x}"


@implementer(IStreamFilter)
class TrafficFilter:
    """The stream filter the tap puts on one session while someone watches.

    It sits nearest to the client (highest ``order``), so ``out`` traces are
    the stanzas actually written, after stream management and CSI.
    """

    order = 1000
    owns_undelivered = False

    def __init__(self, tap: TrafficTap, session: Any):
        self.tap = tap
        self.session = session
        self.pid = session_pid(session)

    def outgoing(self, stanza: Element) -> None:
        """Trace, then pass the stanza on to the client."""
        self.tap.trace(self, OUT, stanza)
        self.session.forward(self, stanza)

    def incoming(self, stanza: Element) -> None:
        """Trace a stanza the client sent."""
        self.tap.trace(self, IN, stanza)

    def connection_lost(self) -> bool:
        """Never keeps the session."""
        return False

    def session_ended(self) -> None:
        """Forget the session."""
        self.tap.forget(self.session)


@implementer(ITrafficTap)
class TrafficTap:
    """The subscribers and the filters of tapped sessions.

    Args:
        sessions: the session manager (``all_sessions()``).
        clock: an ``IReactorTime`` for the traces' timestamps.
        max_subscribers: how many subscribers may be open at once.
    """

    def __init__(self, sessions: Any, clock: Any, max_subscribers: int = 10):
        self.sessions = sessions
        self.clock = clock
        self.max_subscribers = max_subscribers
        self._subscribers: list[Subscriber] = []
        self._tapped: dict[int, TrafficFilter] = {}

    # -- subscribers ----------------------------------------------------------

    def subscribe(self, on_trace: Callable[[Trace], Any], on_end: Callable[[str], Any],
                  limit: int | None = None) -> Subscriber:
        """See :meth:`ITrafficTap.subscribe`."""
        if limit is not None and limit < 1:
            raise CommandError("bad_request", f"limit: {limit} is not a positive integer",
                               arg="limit")
        if len(self._subscribers) >= self.max_subscribers:
            raise CommandError("not_allowed", f"{SERVICE_NAME}: {self.max_subscribers} "
                               "traffic subscriptions are open already (max_subscribers)")
        subscriber = Subscriber(self, on_trace, on_end, limit)
        self._subscribers.append(subscriber)
        if len(self._subscribers) == 1:
            self._attach_all()
        return subscriber

    def subscriber_count(self) -> int:
        """See :meth:`ITrafficTap.subscriber_count`."""
        return len(self._subscribers)

    def _remove(self, subscriber: Subscriber) -> None:
        if subscriber in self._subscribers:
            self._subscribers.remove(subscriber)
            if not self._subscribers:
                self._detach_all()

    def end_all(self, reason: str = SERVICE_STOPPED) -> None:
        """End every subscription (telling each subscriber) and untap the sessions."""
        for subscriber in list(self._subscribers):
            subscriber._end(reason)
        self._detach_all()

    # -- sessions ----------------------------------------------------------------

    def tapped_count(self) -> int:
        """How many sessions carry a filter now."""
        return len(self._tapped)

    def session_bound(self, session: Any) -> None:
        """``sm_register_connection`` handler: tap the new session if someone watches."""
        if self._subscribers:
            self._attach(session)

    def forget(self, session: Any) -> None:
        """The session is gone (``sm_remove_connection`` or its end): untap it.

        A session bound again later (e.g. resumed) is tapped afresh then.
        """
        stream_filter = self._tapped.pop(id(session), None)
        if stream_filter is not None:
            session.remove_filter(stream_filter)

    def _attach(self, session: Any) -> None:
        if id(session) in self._tapped or not hasattr(session, "add_filter"):
            return  # already tapped, or not a client stream (e.g. a GraphQL subscriber)
        stream_filter = TrafficFilter(self, session)
        self._tapped[id(session)] = stream_filter
        session.add_filter(stream_filter)

    def _attach_all(self) -> None:
        for session in self.sessions.all_sessions():
            self._attach(session)

    def _detach_all(self) -> None:
        tapped, self._tapped = self._tapped, {}
        for stream_filter in tapped.values():
            stream_filter.session.remove_filter(stream_filter)

    # -- traces -------------------------------------------------------------------

    def trace(self, stream_filter: TrafficFilter, direction: str, stanza: Element) -> None:
        """Hand one stanza to every subscriber (serialised once)."""
        subscribers = list(self._subscribers)
        if not subscribers:
            return
        jid = stream_filter.session.jid
        trace = Trace(
            pid=stream_filter.pid,
            jid=jid.full() if jid is not None else None,
            timestamp=self.clock.seconds(),
            dir=direction,
            stanza=stanza.toXml(),
        )
        for subscriber in subscribers:
            if subscriber.open:
                subscriber._deliver(trace)


@provider(IServiceFactory)
@implementer(IGlobalService, ITrafficTap)
class TrafficService:
    """The ``service_traffic`` global service: one :class:`TrafficTap` for the node."""

    name = SERVICE_NAME
    options_spec = Section(
        {
            "max_subscribers": Field(Int(min=1), default=10,
                                     doc="How many traffic subscriptions may be open at "
                                         "once; each one costs work on every stanza."),
        },
        doc="Streams the stanzas of every c2s session to admin subscribers "
            "(GraphQL stanza.subscribeForTraffic). See doc/services.md.",
    )

    def __init__(self) -> None:
        self.tap: TrafficTap | None = None

    def start(self, ctx: Any) -> None:
        """Create the tap and follow session binding and removal."""
        tap = self.tap = TrafficTap(ctx.sessions, ctx.clock,
                                    max_subscribers=ctx.options["max_subscribers"])
        ctx.hook("sm_register_connection", tap.session_bound, host=None)
        ctx.hook("sm_remove_connection", tap.forget, host=None)

    def stop(self) -> None:
        """End every subscription and untap the sessions."""
        if self.tap is not None:
            self.tap.end_all(SERVICE_STOPPED)
            self.tap = None

    def _running(self) -> TrafficTap:
        if self.tap is None:
            raise CommandError("unavailable", f"{SERVICE_NAME} is not running")
        return self.tap

    @property
    def max_subscribers(self) -> int:
        """See :attr:`ITrafficTap.max_subscribers`."""
        return self._running().max_subscribers

    def subscribe(self, on_trace: Callable[[Trace], Any], on_end: Callable[[str], Any],
                  limit: int | None = None) -> Subscriber:
        """See :meth:`ITrafficTap.subscribe`."""
        return self._running().subscribe(on_trace, on_end, limit)

    def subscriber_count(self) -> int:
        """See :meth:`ITrafficTap.subscriber_count`."""
        return 0 if self.tap is None else self.tap.subscriber_count()


def find_tap(service: Callable[[str], Any] | None) -> ITrafficTap | None:
    """The running ``service_traffic`` as an :class:`ITrafficTap`, or None.

    Args:
        service: a ``service(name)`` lookup (a context's or the node's
            module runner's), or None.
    """
    return find_running(service, SERVICE_NAME, ITrafficTap, "tap")
