"""Tests for mongoose.commands.defs.metric: MongooseIM-shaped metrics, REST ``/metrics`` routes."""

from __future__ import annotations

import json

import treq
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from twisted.internet import defer, reactor
from twisted.trial.unittest import SynchronousTestCase, TestCase
from twisted.web.client import HTTPConnectionPool
from twisted.web.resource import Resource
from twisted.web.server import Site

from mongoose.api.rest import AdminAPI
from mongoose.commands.caller import Caller
from mongoose.commands.defs.metric import aggregate, matches, metric_commands, read_metrics
from mongoose.commands.registry import CommandRegistry
from test.support.sessions import connect, start_im_node


def sample_registry() -> CollectorRegistry:
    """A registry with a host counter, a global gauge and a seconds histogram."""
    registry = CollectorRegistry()
    logins = Counter("mongoose_logins", "Logins.", ["host", "mechanism"], registry=registry)
    logins.labels("localhost", "PLAIN").inc(3)
    logins.labels("other.test", "PLAIN").inc(2)
    Gauge("mongoose_things", "Things.", registry=registry).set(7)
    latency = Histogram("mongoose_query_seconds", "Times.", ["host"],
                        buckets=(0.001, 0.01, 0.1), registry=registry)
    for value in (0.0005, 0.005, 0.005, 0.05):
        latency.labels("localhost").observe(value)
    return registry


class ReadMetricsTests(SynchronousTestCase):
    """Prometheus families become MongooseIM-style named metrics."""

    def test_names_types_and_values(self):
        """Host label first (or global), family, other labels; counter/gauge/histogram values."""
        metrics = {m.name: m for m in read_metrics(sample_registry(), now=1e10, started=0)}
        self.assertEqual(sorted(metrics), [
            ("global", "mongoose_things"),
            ("localhost", "mongoose_logins", "PLAIN"),
            ("localhost", "mongoose_query_seconds"),
            ("other.test", "mongoose_logins", "PLAIN"),
        ])
        logins = metrics[("localhost", "mongoose_logins", "PLAIN")]
        self.assertEqual((logins.type, logins.values["value"], logins.key),
                         ("counter", 3, "mongoose_logins.PLAIN"))
        self.assertGreater(logins.values["ms_since_reset"], 0)
        self.assertEqual(metrics[("global", "mongoose_things")].values, {"value": 7})
        latency = metrics[("localhost", "mongoose_query_seconds")].values
        self.assertEqual(latency["n"], 4)
        # Seconds are shown in microseconds, as MongooseIM's time histograms.
        self.assertEqual(latency["mean"], round((0.0005 + 0.005 + 0.005 + 0.05) / 4 * 1e6))
        # The median falls in the (0.001, 0.01] bucket, the 99th percentile in (0.01, 0.1].
        self.assertTrue(1000 <= latency["median"] <= 10000, latency)
        self.assertTrue(10000 <= latency["p99"] <= 100000, latency)
        self.assertIsNone(latency["min"])

    def test_aggregate_sums_host_types(self):
        """/metrics/all adds up the same metric of every host type."""
        merged = aggregate(sample_registry(), now=1e10, started=0)
        self.assertEqual(merged["mongoose_logins.PLAIN"].values["value"], 5)
        self.assertNotIn("mongoose_things", merged)

    def test_name_patterns(self):
        """A pattern is a prefix of segments; _ matches any segment; none matches all."""
        name = ("localhost", "mongoose_logins", "PLAIN")
        self.assertTrue(matches(name, None))
        self.assertTrue(matches(name, ["localhost"]))
        self.assertTrue(matches(name, ["_", "mongoose_logins"]))
        self.assertFalse(matches(name, ["global"]))
        self.assertFalse(matches(name, [*name, "more"]))


class CommandTests(SynchronousTestCase):
    """The GraphQL-shaped commands through the registry."""

    def setUp(self):
        self.registry = CommandRegistry()
        for command in metric_commands(sample_registry, lambda: 1e10, 0,
                                       lambda: ["localhost", "other.test"],
                                       node_name=lambda: "mongooseim@test"):
            self.registry.register(command)

    def run_command(self, name, args, caller=None):
        """Execute a metric command and return its result."""
        return self.successResultOf(defer.ensureDeferred(self.registry.execute(
            caller or Caller.admin(), "metric", name, args)))

    def test_get_metrics_and_dicts(self):
        """getMetrics filters by name; getMetricsAsDicts keeps only the asked keys."""
        found = self.run_command("getMetrics", {"name": ["global"]})
        self.assertEqual(found, [{"name": ["global", "mongoose_things"], "type": "gauge",
                                  "value": 7}])
        dicts = self.run_command("getMetricsAsDicts", {"name": ["localhost", "mongoose_logins"],
                                                       "keys": ["value"]})
        self.assertEqual(dicts, [{"name": ["localhost", "mongoose_logins", "PLAIN"],
                                  "dict": [{"key": "value", "value": 3}]}])
        cluster = self.run_command("getClusterMetricsAsDicts",
                                   {"name": ["global"], "nodes": ["elsewhere@x"]})
        self.assertEqual(cluster, [])
        cluster = self.run_command("getClusterMetricsAsDicts", {"name": ["global"]})
        self.assertEqual(cluster[0]["node"], "mongooseim@test")

    def test_graphql_ints_are_clamped(self):
        """GraphQL Int is 32-bit: a huge counter is clamped there, not in REST."""
        registry = CollectorRegistry()
        Gauge("mongoose_big", "Big.", registry=registry).set(2**40)
        commands = {c.name: c for c in metric_commands(lambda: registry, lambda: 1e10, 0,
                                                       lambda: [])}
        self.registry = CommandRegistry()
        for command in commands.values():
            self.registry.register(command)
        self.assertEqual(self.run_command("getMetrics", {})[0]["value"], 2**31 - 1)
        self.assertEqual(self.run_command("getGlobalMetric", {"metric": "mongoose_big"}),
                         {"metric": {"value": 2**40}})

    def test_only_the_global_admin(self):
        """A domain admin may not read metrics."""
        error = self.failureResultOf(defer.ensureDeferred(self.registry.execute(
            Caller.domain_admin("localhost"), "metric", "getMetrics", {})))
        self.assertEqual(error.value.code, "forbidden")


class RestRoutesTests(TestCase):
    """``/api/metrics/...`` of the admin REST API on a started node, over a socket."""

    async def _setup(self):
        self.node = await start_im_node(self)
        root = Resource()
        root.putChild(b"api", AdminAPI(self.node.commands).resource())
        port = reactor.listenTCP(0, Site(root), interface="127.0.0.1")
        self.addCleanup(port.stopListening)
        self.base = f"http://127.0.0.1:{port.getHost().port}/api"
        self.pool = HTTPConnectionPool(reactor, persistent=False)

    def setUp(self):
        return defer.ensureDeferred(self._setup())

    async def get(self, path):
        """GET a path under /api; return (status, decoded JSON)."""
        response = await treq.get(self.base + path, pool=self.pool)
        return response.code, json.loads(await response.content())

    async def _routes(self):
        await self.node.auth.register("alice", "localhost", "pw")
        await connect(self.node, "alice")
        status, names = await self.get("/metrics/")
        self.assertEqual(status, 200)
        # "other" is the host label of events whose domain is not served.
        self.assertEqual(names["host_types"], ["localhost", "other", "other.test"])
        self.assertIn("mongoose_sessions", names["metrics"])
        self.assertTrue(any(n.startswith("mongoose_info") for n in names["global"]))
        status, body = await self.get("/metrics/host_type/localhost/mongoose_sessions")
        self.assertEqual((status, body), (200, {"metric": {"value": 1}}))
        status, body = await self.get("/metrics/host_type/other.test")
        self.assertEqual(status, 200)
        self.assertEqual(body["metrics"]["mongoose_sessions"], {"value": 0})
        status, body = await self.get("/metrics/all/mongoose_sessions")
        self.assertEqual((status, body), (200, {"metric": {"value": 1}}))
        status, body = await self.get("/metrics/all")
        self.assertEqual(body["metrics"]["mongoose_users_online"], {"value": 1})
        status, body = await self.get("/metrics/global")
        self.assertEqual(status, 200)
        info = [k for k in body["metrics"] if k.startswith("mongoose_info")][0]
        status, body = await self.get(f"/metrics/global/{info}")
        self.assertEqual((status, body), (200, {"metric": {"value": 1}}))
        for path, message in [("/metrics/host_type/nowhere", "there is no host type 'nowhere'"),
                              ("/metrics/global/nothing", "there is no global metric 'nothing'"),
                              ("/metrics/all/nothing", "there is no host-type metric 'nothing'")]:
            status, body = await self.get(path)
            self.assertEqual((status, body["error"]), (404, "not_found"), path)
            self.assertEqual(body["message"], message)

    def test_routes(self):
        """Names, per host type, aggregated and global metrics; unknown ones answer 404."""
        return defer.ensureDeferred(self._routes())
