"""The ``metric`` commands: MongooseIM's ``MetricAdminQuery`` and REST ``/metrics`` routes.

The values come from the node's own Prometheus registry
(:mod:`mongoose.metrics`), read when a command runs, and are shown the way
MongooseIM shows its exometer metrics:

* a metric's **name** is a list of segments: the ``host`` label's value (a
  host type, e.g. ``localhost``, or ``other`` for events of domains not
  served) or ``global`` for metrics without one,
  then the Prometheus family name, then the values of the other labels in
  order, e.g. ``["localhost", "mongoose_sessions"]`` or ``["global",
  "mongoose_http_requests", "listen.http[0]", "mongoose_graphql_handler",
  "POST", "200"]``;
* Prometheus counters are ``counter`` metrics (``value`` and
  ``ms_since_reset``), gauges (and info families) ``gauge`` metrics
  (``value``), histograms ``histogram`` metrics (``n``, ``mean``,
  ``median`` and percentiles estimated from the buckets, in microseconds for
  ``*_seconds`` families as MongooseIM's time histograms are; ``min`` and
  ``max`` are not kept by Prometheus histograms and are null).

GraphQL (``admin/metric.gql``): ``getMetrics(name)`` (a union of the four
metric types), ``getMetricsAsDicts(name, keys)`` and
``getClusterMetricsAsDicts(name, keys, nodes)``; a ``name`` filter is a
prefix of segments where ``_`` matches any segment.  GraphQL integers are
32-bit, so these answers are clamped to that range.

REST (``Administration-backend_swagger.yml``, group ``metrics``): ``GET
/metrics/`` (names), ``/metrics/all[/{metric}]`` (host-type metrics summed
over host types), ``/metrics/host_type/{hostType}[/{metric}]`` and
``/metrics/global[/{metric}]``, keyed by the dotted name without the host
(``mongoose_sessions``, ``mongoose_http_requests.listen.http[0]....``).
"""

from __future__ import annotations

import inspect
import math
import socket
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from mongoose.commands.caller import ADMIN
from mongoose.commands.errors import CommandError
from mongoose.commands.registry import Arg, Command, RestBinding
from mongoose.commands.types import (
    INT,
    STRING,
    Enum,
    Field,
    ListOf,
    MapOf,
    Object,
    OneOf,
)

__all__ = [
    "METRIC_RESULT",
    "METRIC_DICT_RESULT",
    "METRIC_NODE_RESULT",
    "MetricValue",
    "read_metrics",
    "metric_commands",
    "node_metric_commands",
]

CATEGORY = "metric"

#: Segment of metrics without a ``host`` label.
GLOBAL = "global"

#: A name segment matching any segment.
ANY = "_"

#: GraphQL ``Int`` is a signed 32-bit integer.
GRAPHQL_INT_MAX = 2**31 - 1
GRAPHQL_INT_MIN = -(2**31)

METRIC_TYPE = Enum("histogram", "counter", "spiral", "gauge")

_NAME = Field("name", ListOf(STRING), "Metric name")
_TYPE = Field("type", METRIC_TYPE, "Metric type")

#: Fields of a histogram, in MongooseIM's order.
HISTOGRAM_KEYS = ("n", "mean", "min", "max", "median", "p50", "p75", "p90", "p95", "p99",
                  "p999")
_PERCENTILES = {"median": 0.5, "p50": 0.5, "p75": 0.75, "p90": 0.9, "p95": 0.95, "p99": 0.99,
                "p999": 0.999}

HISTOGRAM_METRIC = Object("HistogramMetric", [
    _NAME, _TYPE,
    Field("n", INT, "The number of values used in the calculation", optional=True),
    Field("mean", INT, "Mean value", optional=True),
    Field("min", INT, "Min value", optional=True),
    Field("max", INT, "Max value", optional=True),
    Field("median", INT, "Median value", optional=True),
    Field("p50", INT, "50th percentile", optional=True),
    Field("p75", INT, "75th percentile", optional=True),
    Field("p90", INT, "90th percentile", optional=True),
    Field("p95", INT, "95th percentile", optional=True),
    Field("p99", INT, "99th percentile", optional=True),
    Field("p999", INT, "99.9th percentile", optional=True),
])
COUNTER_METRIC = Object("CounterMetric", [
    _NAME, _TYPE,
    Field("value", INT, "The metric value", optional=True),
    Field("ms_since_reset", INT, "Time since last reset", optional=True),
])
GAUGE_METRIC = Object("GaugeMetric", [
    _NAME, _TYPE, Field("value", INT, "The metric value", optional=True),
])
SPIRAL_METRIC = Object("SpiralMetric", [
    _NAME, _TYPE,
    Field("one", INT, "One minute value", optional=True),
    Field("count", INT, "Total value", optional=True),
])

#: ``MetricResult`` of the GraphQL schema (a union told apart by ``type``).
METRIC_RESULT = OneOf("MetricResult", "type", {
    "histogram": HISTOGRAM_METRIC, "counter": COUNTER_METRIC,
    "spiral": SPIRAL_METRIC, "gauge": GAUGE_METRIC,
})

METRIC_DICT_ENTRY = Object("MetricDictEntry", [
    Field("key", STRING, "The name of the metric key (i.e. one, count, value)"),
    Field("value", INT, "Metric value", optional=True),
])
#: ``MetricDictResult`` of the GraphQL schema.
METRIC_DICT_RESULT = Object("MetricDictResult", [
    _NAME, Field("dict", ListOf(METRIC_DICT_ENTRY), "A list of keys and values"),
])
#: ``MetricNodeResult`` of the GraphQL schema.
METRIC_NODE_RESULT = Object("MetricNodeResult", [
    Field("node", STRING, "Node name"),
    Field("result", ListOf(METRIC_DICT_RESULT), "The node's metrics"),
])

_VALUES = MapOf(INT)
METRIC_NAMES = Object("MetricNames", [
    Field("host_types", ListOf(STRING), "Host types with metrics"),
    Field("metrics", ListOf(STRING), "Names of the host-type metrics"),
    Field("global", ListOf(STRING), "Names of the global metrics"),
])
METRICS = Object("MetricValues", [
    Field("metrics", MapOf(_VALUES), "Metric name -> its values"),
])
ONE_METRIC = Object("MetricValue", [Field("metric", _VALUES, "The metric's values")])


# -- reading the Prometheus registry ------------------------------------------------------

@dataclass
class _Series:
    """One labelled series of a Prometheus family, before conversion."""

    family: str
    type: str
    host: str | None
    labels: tuple[str, ...]
    value: float = 0.0
    created: float | None = None
    count: float = 0.0
    total: float = 0.0
    buckets: dict[float, float] = field(default_factory=dict)

    @property
    def key(self) -> str:
        """The REST name: family and other label values, dotted."""
        return ".".join((self.family, *self.labels))


@dataclass(frozen=True)
class MetricValue:
    """One metric as MongooseIM shows it.

    Attributes:
        name: the name segments (host or ``global`` first).
        type: ``counter``, ``gauge`` or ``histogram``.
        values: the metric's keys and values (None: unknown).
        host: the host type, or None for a global metric.
        key: the REST name (without the host).
    """

    name: tuple[str, ...]
    type: str
    values: dict[str, int | None]
    host: str | None
    key: str


_KINDS = {"counter": "counter", "gauge": "gauge", "info": "gauge", "unknown": "gauge",
          "stateset": "gauge", "histogram": "histogram", "gaugehistogram": "histogram",
          "summary": "histogram"}


def _collect(registry: Any) -> list[_Series]:
    found: dict[tuple[str, tuple[tuple[str, str], ...]], _Series] = {}
    for family in registry.collect():
        kind = _KINDS.get(family.type, "gauge")
        for sample in family.samples:
            labels = dict(sample.labels)
            bound = labels.pop("le", None)
            host = labels.pop("host", None)
            if family.type == "stateset":
                labels.pop(family.name, None)
            ident = (family.name, tuple(sorted({**labels, "host": host or ""}.items())))
            series = found.get(ident)
            if series is None:
                series = _Series(family.name, kind, host, tuple(str(v) for v in labels.values()))
                found[ident] = series
            suffix = sample.name[len(family.name):]
            if suffix == "_created":
                series.created = sample.value
            elif suffix in ("_bucket", "_gbucket") and bound is not None:
                series.buckets[float(bound)] = sample.value
            elif suffix in ("_count", "_gcount"):
                series.count = sample.value
            elif suffix in ("_sum", "_gsum"):
                series.total = sample.value
            else:
                series.value = sample.value
    return list(found.values())


def _merge(series: Sequence[_Series]) -> _Series:
    """Sum series of one family that differ only in their host."""
    first = series[0]
    merged = _Series(first.family, first.type, None, first.labels)
    for item in series:
        merged.value += item.value
        merged.count += item.count
        merged.total += item.total
        for bound, count in item.buckets.items():
            merged.buckets[bound] = merged.buckets.get(bound, 0.0) + count
        if item.created is not None:
            merged.created = item.created if merged.created is None \
                else min(merged.created, item.created)
    return merged


def _quantile(q: float, buckets: dict[float, float]) -> float:
    """Estimate a quantile from cumulative buckets (linear inside a bucket)."""
    bounds = sorted(buckets)
    if not bounds:
        return 0.0
    total = buckets[bounds[-1]]
    if total <= 0:
        return 0.0
    rank = q * total
    lower, below = 0.0, 0.0
    for bound in bounds:
        count = buckets[bound]
        if count >= rank:
            if math.isinf(bound):
                return lower
            if count == below:
                return bound
            return lower + (bound - lower) * (rank - below) / (count - below)
        lower, below = bound, count
    return lower


def _number(value: float) -> int | None:
    if value is None or math.isnan(value) or math.isinf(value):
        return None
    return int(round(value))


def _values(series: _Series, now: float, started: float) -> dict[str, int | None]:
    if series.type == "counter":
        since = series.created if series.created is not None else started
        return {"value": _number(series.value),
                "ms_since_reset": _number(max(0.0, now - since) * 1000)}
    if series.type == "gauge":
        return {"value": _number(series.value)}
    scale = 1_000_000 if series.family.endswith("_seconds") else 1
    n = series.count
    values: dict[str, int | None] = dict.fromkeys(HISTOGRAM_KEYS)
    values["n"] = _number(n)
    values["mean"] = _number(series.total / n * scale) if n else 0
    for key, q in _PERCENTILES.items():
        values[key] = _number(_quantile(q, series.buckets) * scale) if n else 0
    return values


def _convert(series: _Series, now: float, started: float) -> MetricValue:
    name = (series.host or GLOBAL, series.family, *series.labels)
    return MetricValue(name, series.type, _values(series, now, started), series.host,
                       series.key)


def read_metrics(registry: Any, now: float, started: float) -> list[MetricValue]:
    """Every metric of a Prometheus registry, MongooseIM-style, sorted by name.

    Args:
        registry: a ``prometheus_client`` CollectorRegistry.
        now: the current time (seconds since the epoch).
        started: when the node started (counters without ``_created``).
    """
    return sorted((_convert(s, now, started) for s in _collect(registry)),
                  key=lambda m: m.name)


def aggregate(registry: Any, now: float, started: float) -> dict[str, MetricValue]:
    """Host-type metrics summed over host types, by REST name."""
    groups: dict[str, list[_Series]] = {}
    for series in _collect(registry):
        if series.host is not None:
            groups.setdefault(series.key, []).append(series)
    return {key: _convert(_merge(items), now, started) for key, items in sorted(groups.items())}


# -- filters --------------------------------------------------------------------------------

def matches(name: Sequence[str], pattern: Sequence[str] | None) -> bool:
    """Whether a metric name starts with ``pattern`` (``_`` matches any segment)."""
    if not pattern:
        return True
    if len(pattern) > len(name):
        return False
    return all(p in (ANY, segment) for p, segment in zip(pattern, name, strict=False))


def _clamp(value: int | None) -> int | None:
    if value is None:
        return None
    return max(GRAPHQL_INT_MIN, min(GRAPHQL_INT_MAX, value))


def _present(values: dict[str, int | None]) -> dict[str, int]:
    return {k: v for k, v in values.items() if v is not None}


# -- commands -------------------------------------------------------------------------------

def metric_commands(
    registry: Callable[[], Any],
    now: Callable[[], float],
    started: float,
    host_types: Callable[[], Iterable[str]],
    refresh: Callable[[], Any] | None = None,
    node_name: Callable[[], str] | None = None,
) -> list[Command]:
    """Build the ``metric`` commands.

    Args:
        registry: returns the node's Prometheus CollectorRegistry.
        now: the current time in seconds since the epoch.
        started: when the node started (seconds since the epoch).
        host_types: the configured host types (listed even without metrics).
        refresh: called (and awaited) before reading, to update probes.
        node_name: this node's name for the cluster query (default:
            ``mongooseim@<host name>``).

    Returns:
        The commands, ready for :meth:`CommandRegistry.register`.
    """
    name_of_node = node_name or (lambda: f"mongooseim@{socket.gethostname()}")

    async def snapshot() -> list[MetricValue]:
        if refresh is not None:
            result = refresh()
            if inspect.isawaitable(result):
                await result
        return read_metrics(registry(), now(), started)

    def result_of(metric: MetricValue) -> dict[str, Any]:
        data: dict[str, Any] = {"name": list(metric.name), "type": metric.type}
        data.update({k: _clamp(v) for k, v in metric.values.items()})
        return data

    def dict_of(metric: MetricValue, keys: Sequence[str] | None) -> dict[str, Any]:
        entries = [{"key": k, "value": _clamp(v)} for k, v in metric.values.items()
                   if not keys or k in keys]
        return {"name": list(metric.name), "dict": entries}

    async def get_metrics(name: list[str] | None = None) -> list[dict]:
        return [result_of(m) for m in await snapshot() if matches(m.name, name)]

    async def get_metrics_as_dicts(name: list[str] | None = None,
                                   keys: list[str] | None = None) -> list[dict]:
        return [dict_of(m, keys) for m in await snapshot() if matches(m.name, name)]

    async def get_cluster_metrics_as_dicts(name: list[str] | None = None,
                                           keys: list[str] | None = None,
                                           nodes: list[str] | None = None) -> list[dict]:
        me = name_of_node()
        if nodes and me not in nodes:
            return []
        return [{"node": me, "result": await get_metrics_as_dicts(name, keys)}]

    async def names() -> dict[str, Any]:
        metrics = await snapshot()
        hosts = set(host_types()) | {m.host for m in metrics if m.host is not None}
        return {
            "host_types": sorted(hosts),
            "metrics": sorted({m.key for m in metrics if m.host is not None}),
            "global": sorted({m.key for m in metrics if m.host is None}),
        }

    async def all_metrics() -> dict[str, Any]:
        await snapshot()
        merged = aggregate(registry(), now(), started)
        return {"metrics": {k: _present(m.values) for k, m in merged.items()}}

    async def all_metric(metric: str) -> dict[str, Any]:
        found = (await all_metrics())["metrics"].get(metric)
        if found is None:
            raise CommandError("not_found", f"there is no host-type metric {metric!r}")
        return {"metric": found}

    async def host_type_metrics(hostType: str) -> dict[str, Any]:
        metrics = await snapshot()
        known = set(host_types()) | {m.host for m in metrics if m.host is not None}
        if hostType not in known:
            raise CommandError("not_found", f"there is no host type {hostType!r}")
        return {"metrics": {m.key: _present(m.values) for m in metrics if m.host == hostType}}

    async def host_type_metric(hostType: str, metric: str) -> dict[str, Any]:
        found = (await host_type_metrics(hostType))["metrics"].get(metric)
        if found is None:
            raise CommandError("not_found",
                               f"there is no metric {metric!r} for host type {hostType!r}")
        return {"metric": found}

    async def global_metrics() -> dict[str, Any]:
        return {"metrics": {m.key: _present(m.values) for m in await snapshot()
                            if m.host is None}}

    async def global_metric(metric: str) -> dict[str, Any]:
        found = (await global_metrics())["metrics"].get(metric)
        if found is None:
            raise CommandError("not_found", f"there is no global metric {metric!r}")
        return {"metric": found}

    name_arg = Arg("name", ListOf(STRING), "Name segments to match (a prefix; _ matches any "
                   "segment); all metrics when absent", default=None, example=["global"])
    keys_arg = Arg("keys", ListOf(STRING), "Only these keys (e.g. value, n, p99); all when "
                   "absent", default=None, example=["value"])
    nodes_arg = Arg("nodes", ListOf(STRING), "Only these nodes; all when absent",
                    default=None)
    host_type_arg = Arg("hostType", STRING, "Host type configured on the server",
                        example="localhost")
    metric_arg = Arg("metric", STRING, "Metric name", example="mongoose_sessions")

    def command(name: str, description: str, handler: Any, result: Any,
                args: tuple[Arg, ...] = (), rest: RestBinding | None = None) -> Command:
        return Command(category=CATEGORY, name=name, action="read", security_policy=ADMIN,
                       description=description, handler=handler, result=result, args=args,
                       rest=rest)

    def get(path: str) -> RestBinding:
        return RestBinding("GET", path, group="metrics")

    return [
        command("getMetrics", "Match metrics using a name pattern and return the metric "
                "values. Return all metrics if the name is not provided", get_metrics,
                ListOf(METRIC_RESULT), (name_arg,)),
        command("getMetricsAsDicts", "Get metrics without using graphql unions. Optionally "
                "returns only specified keys", get_metrics_as_dicts,
                ListOf(METRIC_DICT_RESULT), (name_arg, keys_arg)),
        command("getClusterMetricsAsDicts", "Gather metrics from multiple nodes. Optionally "
                "returns only from specified nodes", get_cluster_metrics_as_dicts,
                ListOf(METRIC_NODE_RESULT), (name_arg, keys_arg, nodes_arg)),
        command("listMetricNames", "Host type names and metric names", names, METRIC_NAMES,
                rest=get("/metrics/")),
        command("getAggregatedMetrics", "Metrics summed over all host types", all_metrics,
                METRICS, rest=get("/metrics/all")),
        command("getAggregatedMetric", "One metric summed over all host types", all_metric,
                ONE_METRIC, (metric_arg,), rest=get("/metrics/all/{metric}")),
        command("getHostTypeMetrics", "The values of all metrics of a host type",
                host_type_metrics, METRICS, (host_type_arg,),
                rest=get("/metrics/host_type/{hostType}")),
        command("getHostTypeMetric", "The value of one metric of a host type",
                host_type_metric, ONE_METRIC, (host_type_arg, metric_arg),
                rest=get("/metrics/host_type/{hostType}/{metric}")),
        command("getGlobalMetrics", "The values of all global metrics", global_metrics,
                METRICS, rest=get("/metrics/global")),
        command("getGlobalMetric", "The value of one global metric", global_metric,
                ONE_METRIC, (metric_arg,), rest=get("/metrics/global/{metric}")),
    ]


def node_metric_commands(node: Any) -> list[Command]:
    """The ``metric`` commands over a running :class:`mongoose.node.Node`.

    Reads ``node.metrics`` (its registry and probes), ``node.reactor`` (the
    clock) and ``node.config`` (host types).
    """
    clock = node.reactor
    config = node.config

    def host_types() -> list[str]:
        return sorted(set(config.hosts) | set(getattr(config, "host_types", ()) or ()))

    return metric_commands(
        registry=lambda: node.metrics.registry,
        now=clock.seconds,
        started=clock.seconds(),
        host_types=host_types,
        refresh=node.metrics.refresh,
    )
