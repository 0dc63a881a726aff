"""The metrics of one node: a Prometheus registry of its own and the counters it feeds.

What an operator of a MongooseIM node watches (MongooseIM "Logging &
monitoring" and its Prometheus instrumentation), in Prometheus form:
sessions, logins and their failures, stanzas, routing errors, offline
messages, HTTP traffic and storage query times.  Each :class:`Metrics` owns a
``prometheus_client.CollectorRegistry``; there is no process-wide registry, so
two nodes in one process keep separate numbers (DESIGN.md anti-patterns).

Counters that need an event (a login, an HTTP request) are updated by hook
handlers and by the HTTP listener; everything else is read from the node when
scraped (:mod:`mongoose.metrics.collectors`).  doc/metrics.md lists every name.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import choose_encoder
from twisted.internet import defer
from twisted.logger import Logger

from mongoose import __version__
from mongoose.metrics.collectors import (
    HTTPTransportCollector,
    Probe,
    ProbeCollector,
    RouterCollector,
    SessionCollector,
    StorageCollector,
)
from mongoose.metrics.labels import (
    host_label,
    mechanism_label,
    method_label,
    reason_label,
    transport_label,
)

__all__ = ["Metrics", "ProbeRegistration", "PROBE_TIMEOUT", "HTTP_DURATION_BUCKETS"]

#: Seconds a probe may take during a scrape before its values are left out.
PROBE_TIMEOUT = 5.0

#: Bucket bounds (seconds) of ``mongoose_http_request_duration_seconds``.
HTTP_DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)

#: Priority of the counting hook handlers: first, so a handler that stops the
#: chain cannot hide an event from the counters.
_HOOK_PRIORITY = 0


class ProbeRegistration:
    """What :meth:`Metrics.add_probe` returns; :meth:`remove` takes the probe away."""

    def __init__(self, collector: ProbeCollector, probe: Probe):
        self._collector = collector
        self._probe = probe

    def remove(self) -> None:
        """Stop reporting the probe (idempotent)."""
        if self._collector.probes.get(self._probe.name) is self._probe:
            del self._collector.probes[self._probe.name]


class Metrics:
    """Every metric of one node.

    Args:
        node: the :class:`mongoose.node.Node`; its ``hooks``, ``sessions``,
            ``router``, ``config`` and (once open) ``stores`` are read.
        reactor: for probe time-outs (default: the node's reactor).

    Attributes:
        registry: the node's own CollectorRegistry.
    """

    log = Logger()

    def __init__(self, node: Any, reactor: Any = None):
        self.node = node
        self.reactor = reactor if reactor is not None else getattr(node, "reactor", None)
        self.registry = CollectorRegistry()
        registry = self.registry
        self._hosts = frozenset(node.config.hosts)
        Gauge(
            "mongoose_info", "Always 1; the labels describe this node.", ["version"],
            registry=registry,
        ).labels(__version__).set(1)
        self.logins = Counter(
            "mongoose_logins", "Successful client authentications.", ["host", "mechanism"],
            registry=registry,
        )
        self.login_failures = Counter(
            "mongoose_login_failures",
            "Failed client authentications, by RFC 6120 SASL condition.",
            ["host", "mechanism", "reason"],
            registry=registry,
        )
        self.sessions_opened = Counter(
            "mongoose_sessions_opened", "Client sessions bound (resource binding).",
            ["host", "transport"], registry=registry,
        )
        self.sessions_closed = Counter(
            "mongoose_sessions_closed", "Client sessions that ended.",
            ["host", "transport"], registry=registry,
        )
        self.offline_messages = Counter(
            "mongoose_offline_messages",
            "Messages for a user without an available session (the offline_message hook).",
            ["host"], registry=registry,
        )
        self.http_requests = Counter(
            "mongoose_http_requests",
            'HTTP requests answered, by listener, handler ("none": no handler matched), '
            "method and status.",
            ["listener", "handler", "method", "status"], registry=registry,
        )
        self.http_duration = Histogram(
            "mongoose_http_request_duration_seconds",
            "Time from a request's headers to the end of its response.",
            ["listener", "handler"], buckets=HTTP_DURATION_BUCKETS, registry=registry,
        )
        self.http_connections = Gauge(
            "mongoose_http_connections", "Open HTTP connections.", ["listener"],
            registry=registry,
        )
        self.http_refused = Counter(
            "mongoose_http_connections_refused",
            "HTTP connections closed at once because transport.max_connections were open.",
            ["listener"], registry=registry,
        )
        self.websocket_opened_total = Counter(
            "mongoose_websocket_connections_opened",
            "XMPP WebSocket connections accepted (clients and components).",
            registry=registry,
        )
        self.websocket_closed_total = Counter(
            "mongoose_websocket_connections_closed",
            "XMPP WebSocket connections that closed.",
            registry=registry,
        )
        self.bosh_created = Counter(
            "mongoose_bosh_sessions_created", "BOSH sessions created, by host.", ["host"],
            registry=registry,
        )
        self.bosh_closed = Counter(
            "mongoose_bosh_sessions_closed", "BOSH sessions that ended, by host.", ["host"],
            registry=registry,
        )
        #: Open WebSocket connections and BOSH sessions (gauges read when scraped).
        self.http_transports = HTTPTransportCollector(lambda: node.config.hosts)
        registry.register(self.http_transports)
        self._probes = ProbeCollector()
        registry.register(SessionCollector(node.sessions, lambda: node.config.hosts))
        registry.register(RouterCollector(node.router))
        registry.register(StorageCollector(self._database))
        registry.register(self._probes)
        hooks = node.hooks
        for name, handler in (
            ("auth_succeeded", self._auth_succeeded),
            ("auth_failed", self._auth_failed),
            ("sm_register_connection", self._session_opened),
            ("sm_remove_connection", self._session_closed),
            ("offline_message", self._offline_message),
        ):
            hooks.add(name, handler, priority=_HOOK_PRIORITY)

    def _database(self) -> Any:
        stores = getattr(self.node, "stores", None)
        return getattr(stores, "database", None)

    def _host(self, host: object) -> str:
        return host_label(host, self._hosts)

    # -- hook handlers (they never stop a chain) ----------------------------

    def _auth_succeeded(self, host: object = None, username: object = None,
                        mechanism: object = None, *_: Any) -> None:
        self.logins.labels(self._host(host), mechanism_label(mechanism)).inc()

    def _auth_failed(self, host: object = None, username: object = None,
                     mechanism: object = None, reason: object = None, *_: Any) -> None:
        self.login_failures.labels(
            self._host(host), mechanism_label(mechanism), reason_label(reason)
        ).inc()

    def _session_labels(self, session: Any) -> tuple[str, str]:
        jid = getattr(session, "jid", None)
        info = getattr(session, "info", None) or {}
        return self._host(getattr(jid, "host", None)), transport_label(info.get("transport"))

    def _session_opened(self, session: Any, *_: Any) -> None:
        self.sessions_opened.labels(*self._session_labels(session)).inc()

    def _session_closed(self, session: Any, *_: Any) -> None:
        self.sessions_closed.labels(*self._session_labels(session)).inc()

    def _offline_message(self, from_jid: Any = None, to_jid: Any = None, *_: Any) -> None:
        self.offline_messages.labels(self._host(getattr(to_jid, "host", None))).inc()

    # -- HTTP listener --------------------------------------------------------

    def http_request(
        self,
        listener: str,
        handler: str,
        method: bytes | str | None,
        status: int | str,
        seconds: float | None = None,
    ) -> None:
        """Count one answered HTTP request.

        Args:
            listener: the listener's name (``listen.http[0]``).
            handler: the handler kind that served it, ``"none"`` if none matched.
            method: the request method (unknown ones count as ``other``).
            status: the response status (499: the client went away first).
            seconds: how long it took, when known.
        """
        self.http_requests.labels(listener, handler, method_label(method), str(status)).inc()
        if seconds is not None:
            self.http_duration.labels(listener, handler).observe(seconds)

    def http_connection_opened(self, listener: str) -> None:
        """One more open connection on ``listener``."""
        self.http_connections.labels(listener).inc()

    def http_connection_closed(self, listener: str) -> None:
        """One connection of ``listener`` closed."""
        self.http_connections.labels(listener).dec()

    def http_connection_refused(self, listener: str) -> None:
        """``listener`` turned a connection away (max_connections)."""
        self.http_refused.labels(listener).inc()

    # -- WebSocket and BOSH -------------------------------------------------------

    def websocket_opened(self) -> None:
        """One more XMPP WebSocket connection."""
        self.websocket_opened_total.inc()

    def websocket_closed(self) -> None:
        """An XMPP WebSocket connection closed."""
        self.websocket_closed_total.inc()

    def bosh_session_created(self, host: object) -> None:
        """A BOSH session was created for ``host`` (its ``to``)."""
        self.bosh_created.labels(self._host(host)).inc()

    def bosh_session_closed(self, host: object) -> None:
        """A BOSH session created for ``host`` ended."""
        self.bosh_closed.labels(self._host(host)).inc()

    # -- probes and exposition ----------------------------------------------

    def add_probe(
        self,
        name: str,
        documentation: str,
        labels: Sequence[str],
        read: Callable[[], Any],
    ) -> ProbeRegistration:
        """Report a gauge whose values are read at each scrape.

        Meant for numbers that live in storage, e.g. a module reporting
        ``mongoose_offline_queue_size{host}``.

        Args:
            name: metric name (``mongoose_`` prefix by convention).
            documentation: help text.
            labels: label names.
            read: callable returning ``{(label values...): number}``, or a
                Deferred/coroutine firing with one; it has
                :data:`PROBE_TIMEOUT` seconds.

        Returns:
            A registration whose ``remove()`` ends the probe.

        Raises:
            ValueError: a probe with this name exists.
        """
        if name in self._probes.probes:
            raise ValueError(f"a metrics probe named {name} exists already")
        probe = Probe(name, documentation, labels, read)
        self._probes.probes[name] = probe
        return ProbeRegistration(self._probes, probe)

    async def refresh(self, timeout: float = PROBE_TIMEOUT) -> None:
        """Read every probe (concurrently); a failing or slow probe is left out."""
        probes = list(self._probes.probes.values())
        if probes:
            await defer.DeferredList(
                [defer.ensureDeferred(self._read_probe(p, timeout)) for p in probes],
                consumeErrors=True,
            )

    async def _read_probe(self, probe: Probe, timeout: float) -> None:
        try:
            result = defer.maybeDeferred(probe.read)
            if self.reactor is not None:
                result.addTimeout(timeout, self.reactor)
            values = await result
            probe.values = {
                tuple(str(v) for v in key): float(value) for key, value in dict(values).items()
            }
        except Exception as exc:
            probe.values = None
            self.log.warn(
                "metrics probe {name} failed: {error}", name=probe.name, error=str(exc) or repr(exc)
            )

    def exposition(self, accept: str | None = None) -> tuple[bytes, str]:
        """The registry in the text format the client accepts.

        Args:
            accept: the request's Accept header (OpenMetrics when asked for).

        Returns:
            (body, content type).
        """
        encoder, content_type = choose_encoder(accept or "")
        return encoder(self.registry), content_type
