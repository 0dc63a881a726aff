"""Prometheus collectors that read a node's state when scraped.

The hot paths only bump plain integers (the router's ``stats`` counters, the
database's ``query_times``) or keep the state they need anyway (the session
table); these collectors turn that state into metric families at scrape time,
so routing a stanza pays nothing for metrics.  See doc/metrics.md for every
name.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)

from mongoose.metrics.labels import OTHER, TRANSPORTS, host_label, transport_label
from mongoose.storage.sql.database import QUERY_TIME_BUCKETS

__all__ = [
    "HTTPTransportCollector",
    "SessionCollector",
    "RouterCollector",
    "StorageCollector",
    "ProbeCollector",
    "Probe",
    "STANZA_TYPES",
]

#: Stanza element names counted separately (anything else is "other").
STANZA_TYPES = ("message", "presence", "iq")


class SessionCollector:
    """``mongoose_sessions``, ``mongoose_sessions_by_transport`` and ``mongoose_users_online``.

    Args:
        sessions: the node's SessionManager.
        hosts: callable returning the served domains (each gets a series,
            0 when empty).
    """

    def __init__(self, sessions: Any, hosts: Callable[[], Sequence[str]]):
        self.sessions = sessions
        self.hosts = hosts

    def describe(self) -> Iterable[Metric]:
        """The families this collector yields, without samples."""
        return self._families()

    def _families(self) -> list[Metric]:
        return [
            GaugeMetricFamily(
                "mongoose_sessions", "Client sessions bound on this node.", labels=["host"]
            ),
            GaugeMetricFamily(
                "mongoose_sessions_by_transport",
                "Client sessions bound on this node, by transport.",
                labels=["transport"],
            ),
            GaugeMetricFamily(
                "mongoose_users_online",
                "Users with at least one session on this node.",
                labels=["host"],
            ),
        ]

    def collect(self) -> Iterator[Metric]:
        """Count the sessions now."""
        sessions, by_transport, users = self._families()
        transports = dict.fromkeys((*TRANSPORTS, OTHER), 0)
        for session in self.sessions.all_sessions():
            info = getattr(session, "info", None) or {}
            transports[transport_label(info.get("transport"))] += 1
        for host in self.hosts():
            sessions.add_metric([host], self.sessions.count(host))
            users.add_metric([host], len(self.sessions.users(host)))
        for transport, count in transports.items():
            by_transport.add_metric([transport], count)
        yield sessions
        yield by_transport
        yield users


#: Values of the ``type`` label of ``mongoose_websocket_connections``.
WEBSOCKET_TYPES = ("client", "component")


class HTTPTransportCollector:
    """``mongoose_websocket_connections`` and ``mongoose_bosh_sessions``, read when scraped.

    Each WebSocket or BOSH handler registers a reader with :meth:`add_websocket`
    or :meth:`add_bosh`; the gauges add up what the readers report, with the
    host bounded to the served domains (``other`` for anything else, e.g. a
    stream not opened yet or a component's domain).

    Args:
        hosts: callable returning the served domains (each gets a series,
            0 when empty).
    """

    def __init__(self, hosts: Callable[[], Sequence[str]]):
        self.hosts = hosts
        self.websocket_readers: list[Callable[[], Iterable[tuple[Any, str]]]] = []
        self.bosh_readers: list[Callable[[], Iterable[Any]]] = []

    def add_websocket(self, read: Callable[[], Iterable[tuple[Any, str]]]) -> None:
        """Count what ``read()`` returns: one ``(host, type)`` per open connection."""
        self.websocket_readers.append(read)

    def add_bosh(self, read: Callable[[], Iterable[Any]]) -> None:
        """Count what ``read()`` returns: one host per open BOSH session."""
        self.bosh_readers.append(read)

    def describe(self) -> Iterable[Metric]:
        """The families this collector yields, without samples."""
        return self._families()

    def _families(self) -> list[Metric]:
        return [
            GaugeMetricFamily(
                "mongoose_websocket_connections",
                "Open XMPP WebSocket connections, by the stream's host and by peer type.",
                labels=["host", "type"],
            ),
            GaugeMetricFamily(
                "mongoose_bosh_sessions",
                "Open BOSH sessions, by the host they were created for.",
                labels=["host"],
            ),
        ]

    def collect(self) -> Iterator[Metric]:
        """Count the connections and sessions now."""
        websocket, bosh = self._families()
        served = list(self.hosts())
        allowed = frozenset(served)
        ws_counts = {(h, t): 0 for h in (*served, OTHER) for t in WEBSOCKET_TYPES}
        for read in self.websocket_readers:
            for host, kind in read():
                key = (host_label(host, allowed), kind if kind in WEBSOCKET_TYPES else "client")
                ws_counts[key] = ws_counts.get(key, 0) + 1
        bosh_counts = dict.fromkeys((*served, OTHER), 0)
        for read in self.bosh_readers:
            for host in read():
                label = host_label(host, allowed)
                bosh_counts[label] = bosh_counts.get(label, 0) + 1
        for (host, kind), count in ws_counts.items():
            websocket.add_metric([host, kind], count)
        for host, count in bosh_counts.items():
            bosh.add_metric([host], count)
        yield websocket
        yield bosh


class RouterCollector:
    """Stanza counters kept by :class:`mongoose.router.router.Router` in ``stats``.

    Args:
        router: the node's router.
    """

    def __init__(self, router: Any):
        self.router = router

    def describe(self) -> Iterable[Metric]:
        """The families this collector yields, without samples."""
        return self._families()

    def _families(self) -> list[Metric]:
        return [
            CounterMetricFamily(
                "mongoose_stanzas_in",
                "Stanzas handed to the router, by element name.",
                labels=["type"],
            ),
            CounterMetricFamily(
                "mongoose_stanzas_out",
                "Stanzas the router delivered to local client sessions, by element name.",
                labels=["type"],
            ),
            CounterMetricFamily(
                "mongoose_routing_errors",
                "Stanzas the router answered with a stanza error (by condition), "
                'and routing failures (condition "internal").',
                labels=["condition"],
            ),
        ]

    def collect(self) -> Iterator[Metric]:
        """Read the router's counters now."""
        stanzas_in, stanzas_out, errors = self._families()
        stats: Mapping[str, Any] = getattr(self.router, "stats", {}) or {}
        for family, key in ((stanzas_in, "in"), (stanzas_out, "out")):
            counts = stats.get(key) or {}
            for name in (*STANZA_TYPES, OTHER):
                family.add_metric([name], counts.get(name, 0))
        bounced = dict(stats.get("bounced") or {})
        bounced["internal"] = bounced.get("internal", 0) + stats.get("errors", 0)
        for condition, count in sorted(bounced.items()):
            errors.add_metric([condition], count)
        yield stanzas_in
        yield stanzas_out
        yield errors


class StorageCollector:
    """Query time histograms from the node's SQL database.

    Args:
        database: callable returning the node's Database (None before
            storage is open); its ``query_times`` maps an interaction's
            ``desc`` to a :class:`mongoose.storage.sql.database.QueryTimes`.
    """

    def __init__(self, database: Callable[[], Any]):
        self.database = database

    def describe(self) -> Iterable[Metric]:
        """The families this collector yields, without samples."""
        return self._families()

    def _families(self) -> list[Metric]:
        return [
            HistogramMetricFamily(
                "mongoose_storage_query_duration_seconds",
                "Time from submitting a database interaction to its result, by interaction.",
                labels=["query"],
            ),
            CounterMetricFamily(
                "mongoose_storage_query_failures",
                "Database interactions that failed, by interaction.",
                labels=["query"],
            ),
        ]

    def collect(self) -> Iterator[Metric]:
        """Read the database's timings now."""
        histogram, failures = self._families()
        database = self.database()
        times = dict(getattr(database, "query_times", None) or {})
        for desc, stat in sorted(times.items()):
            cumulative = 0
            buckets = []
            for bound, count in zip((*QUERY_TIME_BUCKETS, float("inf")), stat.buckets):
                cumulative += count
                buckets.append((_bucket_bound(bound), cumulative))
            histogram.add_metric([desc], buckets, stat.total)
            failures.add_metric([desc], stat.failures)
        yield histogram
        yield failures


def _bucket_bound(bound: float) -> str:
    return "+Inf" if bound == float("inf") else repr(bound)


class Probe:
    """A gauge whose values a callable reports when the node is scraped.

    Args:
        name: metric name.
        documentation: help text.
        labels: label names.
        read: callable returning {label values tuple: number}, or a
            Deferred/coroutine firing with one.
    """

    def __init__(
        self,
        name: str,
        documentation: str,
        labels: Sequence[str],
        read: Callable[[], Any],
    ):
        self.name = name
        self.documentation = documentation
        self.labels = tuple(labels)
        self.read = read
        #: The last values read, or None when the last read failed.
        self.values: dict[tuple[str, ...], float] | None = None


class ProbeCollector:
    """Yields the last values of every :class:`Probe` (refreshed by Metrics.refresh)."""

    def __init__(self) -> None:
        self.probes: dict[str, Probe] = {}

    def describe(self) -> Iterable[Metric]:
        """No fixed families: probes come and go with modules."""
        return []

    def collect(self) -> Iterator[Metric]:
        """One gauge family per probe with values."""
        for probe in list(self.probes.values()):
            if probe.values is None:
                continue
            family = GaugeMetricFamily(probe.name, probe.documentation, labels=list(probe.labels))
            for key, value in sorted(probe.values.items()):
                family.add_metric(list(key), value)
            yield family
