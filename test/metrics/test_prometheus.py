"""mongoose_prometheus_handler scraped over a real socket and parsed with prometheus-client."""

from __future__ import annotations

import json

from prometheus_client import REGISTRY
from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as openmetrics_families,
)
from prometheus_client.parser import text_string_to_metric_families
from twisted.internet import defer, reactor, task
from twisted.trial.unittest import TestCase

from test.metrics.httpnode import http, start_http_node
from test.modules.nodes import RecordingSession, login, xml


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of an exposition: (name, sorted labels) -> value."""
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def value(scraped, name: str, **labels: str) -> float | None:
    """One sample's value, or None when the series is absent."""
    return scraped.get((name, tuple(sorted(labels.items()))))


class ScrapeTests(TestCase):
    """A node's /metrics endpoint, scraped like Prometheus does."""

    async def setUp(self):
        self.http = await start_http_node(self)

    async def scrape(self):
        """GET /metrics and parse it."""
        response = await http(self.http.port, "GET", "/metrics")
        self.assertEqual(response.status, 200)
        self.assertTrue(response.headers["content-type"].startswith("text/plain; version=0.0.4"))
        return samples(response.body.decode("utf-8"))

    async def test_exposition_parses_and_describes_the_node(self):
        """The endpoint serves the text format with the node's own series."""
        scraped = await self.scrape()
        self.assertEqual(value(scraped, "mongoose_info", version="0.1.0"), 1.0)
        self.assertEqual(value(scraped, "mongoose_sessions", host="localhost"), 0.0)
        self.assertEqual(value(scraped, "mongoose_sessions_by_transport", transport="bosh"), 0.0)
        self.assertEqual(value(scraped, "mongoose_stanzas_in_total", type="message"), 0.0)

    async def test_session_moves_gauges_and_counters(self):
        """Binding a session shows in the session gauges; unbinding in the closed counter."""
        session = await login(self.http.node, "alice")
        session.info["transport"] = "websocket"
        scraped = await self.scrape()
        self.assertEqual(value(scraped, "mongoose_sessions", host="localhost"), 1.0)
        self.assertEqual(value(scraped, "mongoose_users_online", host="localhost"), 1.0)
        self.assertEqual(
            value(scraped, "mongoose_sessions_by_transport", transport="websocket"), 1.0
        )
        self.assertEqual(
            value(scraped, "mongoose_sessions_opened_total", host="localhost", transport="other"),
            1.0,
        )
        self.http.node.sessions.unbind(session)
        scraped = await self.scrape()
        self.assertEqual(value(scraped, "mongoose_sessions", host="localhost"), 0.0)
        self.assertEqual(
            value(
                scraped, "mongoose_sessions_closed_total", host="localhost", transport="websocket"
            ),
            1.0,
        )

    async def test_login_hooks_move_login_counters(self):
        """auth_succeeded and auth_failed count by host, mechanism and bounded reason."""
        hooks = self.http.node.hooks
        await hooks.run("auth_succeeded", "localhost", "localhost", "alice", "SCRAM-SHA-256")
        await hooks.run("auth_failed", "localhost", "localhost", "bob", "PLAIN", "not-authorized")
        await hooks.run("auth_failed", "localhost", "evil.example", "x", "X-MADE-UP", "lol")
        scraped = await self.scrape()
        self.assertEqual(
            value(scraped, "mongoose_logins_total", host="localhost", mechanism="SCRAM-SHA-256"),
            1.0,
        )
        self.assertEqual(
            value(
                scraped, "mongoose_login_failures_total",
                host="localhost", mechanism="PLAIN", reason="not-authorized",
            ),
            1.0,
        )
        self.assertEqual(
            value(
                scraped, "mongoose_login_failures_total",
                host="other", mechanism="other", reason="other",
            ),
            1.0,
        )

    async def test_admin_call_counts_http_request(self):
        """An admin REST call and an unmatched path are counted by handler and status."""
        response = await http(self.http.port, "GET", "/api/commands")
        self.assertEqual(response.status, 200)
        response = await http(self.http.port, "GET", "/nowhere")
        self.assertEqual(response.status, 404)
        scraped = await self.scrape()
        labels = {"listener": "listen.http[0]", "method": "GET"}
        self.assertEqual(
            value(
                scraped, "mongoose_http_requests_total",
                handler="mongoose_admin_api", status="200", **labels,
            ),
            1.0,
        )
        self.assertEqual(
            value(scraped, "mongoose_http_requests_total", handler="none", status="404", **labels),
            1.0,
        )
        self.assertEqual(
            value(
                scraped, "mongoose_http_request_duration_seconds_count",
                listener="listen.http[0]", handler="mongoose_admin_api",
            ),
            1.0,
        )

    async def test_stanzas_and_routing_errors(self):
        """Routed and delivered stanzas count by type; bounces by condition."""
        node = self.http.node
        alice = await login(node, "alice")
        bob = await login(node, "bob")
        bob.priority = 0
        node.router.route(xml("<message from='alice@localhost/res' to='bob@localhost/res'/>"))
        node.router.route(xml("<message from='alice@localhost/res' to='x@nowhere.example'/>"))
        await self._drain()
        self.assertEqual(len(bob.received), 1)
        scraped = await self.scrape()
        # Both messages and the error reply went through the router; bob's
        # message and the error reached a session.
        self.assertEqual(value(scraped, "mongoose_stanzas_in_total", type="message"), 3.0)
        self.assertEqual(value(scraped, "mongoose_stanzas_out_total", type="message"), 2.0)
        self.assertEqual(
            value(scraped, "mongoose_routing_errors_total", condition="remote-server-not-found"),
            1.0,
        )
        self.assertEqual(len(alice.received), 1, "the bounce reached alice")

    async def _drain(self):
        await task.deferLater(reactor, 0.05, lambda: None)

    async def test_offline_messages_counted(self):
        """A message for a user without sessions counts as an offline message."""
        node = self.http.node
        await node.auth.register("carol", "localhost", "pw")
        sender = RecordingSession()
        node.sessions.bind(sender, "dave", "localhost", "r")
        node.router.route(xml("<message from='dave@localhost/r' to='carol@localhost' type='chat'/>"))
        await self._drain()
        scraped = await self.scrape()
        self.assertEqual(value(scraped, "mongoose_offline_messages_total", host="localhost"), 1.0)

    async def test_storage_query_times(self):
        """Database interactions show up in the query time histogram."""
        await self.http.node.auth.register("erin", "localhost", "pw")
        scraped = await self.scrape()
        count = value(scraped, "mongoose_storage_query_duration_seconds_count", query="add_user")
        self.assertEqual(count, 1.0)
        self.assertEqual(
            value(
                scraped, "mongoose_storage_query_duration_seconds_bucket",
                query="add_user", le="+Inf",
            ),
            1.0,
        )
        self.assertEqual(value(scraped, "mongoose_storage_query_failures_total", query="add_user"),
                         0.0)

    async def test_probe_values_are_read_at_scrape(self):
        """An async probe is awaited per scrape; a failing one is left out."""
        calls = []

        async def queue_sizes():
            calls.append(1)
            return {("localhost",): 7}

        def broken():
            raise RuntimeError("database down")

        metrics = self.http.node.metrics
        registration = metrics.add_probe(
            "mongoose_offline_queue_size", "Messages waiting.", ["host"], queue_sizes
        )
        metrics.add_probe("mongoose_broken", "Never works.", [], broken)
        scraped = await self.scrape()
        self.assertEqual(value(scraped, "mongoose_offline_queue_size", host="localhost"), 7.0)
        self.assertNotIn(("mongoose_broken", ()), scraped)
        self.assertEqual(len(calls), 1)
        registration.remove()
        scraped = await self.scrape()
        self.assertIsNone(value(scraped, "mongoose_offline_queue_size", host="localhost"))

    async def test_openmetrics_negotiation(self):
        """A scraper asking for OpenMetrics gets it."""
        response = await http(
            self.http.port, "GET", "/metrics",
            {"Accept": "application/openmetrics-text; version=1.0.0"},
        )
        self.assertTrue(response.headers["content-type"].startswith("application/openmetrics-text"))
        names = {f.name for f in openmetrics_families(response.body.decode())}
        self.assertIn("mongoose_sessions", names)

    async def test_other_methods_and_paths(self):
        """POST gets a JSON 405, a path below the mount a JSON 404."""
        response = await http(self.http.port, "POST", "/metrics", body=b"{}")
        self.assertEqual(response.status, 405)
        self.assertEqual(json.loads(response.body)["error"], "method_not_allowed")
        response = await http(self.http.port, "GET", "/metrics/extra")
        self.assertEqual(response.status, 404)
        self.assertEqual(json.loads(response.body)["error"], "not_found")


class IsolationTests(TestCase):
    """Metrics belong to a node, not to the process."""

    async def test_two_nodes_count_separately(self):
        """A login on one node does not show on another, nor in the global registry."""
        first = await start_http_node(self)
        second = await start_http_node(self)
        await defer.ensureDeferred(
            first.node.hooks.run("auth_succeeded", "localhost", "localhost", "a", "PLAIN")
        )
        one = samples((await http(first.port, "GET", "/metrics")).body.decode())
        two = samples((await http(second.port, "GET", "/metrics")).body.decode())
        key = ("mongoose_logins_total", (("host", "localhost"), ("mechanism", "PLAIN")))
        self.assertEqual(one.get(key), 1.0)
        self.assertIsNone(two.get(key))
        self.assertIsNone(REGISTRY.get_sample_value("mongoose_logins_total",
                                                    {"host": "localhost", "mechanism": "PLAIN"}))
