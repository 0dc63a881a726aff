"""WebSocket connections and BOSH sessions in the Prometheus exposition, over real sockets."""

from __future__ import annotations

from twisted.internet import defer
from twisted.trial.unittest import TestCase

from mongoose.xmpp.namespaces import NS_FRAMING
from test.component.support import SECRET
from test.http.support import BoshClient, start_node, ws_component_connect, ws_login
from test.metrics.httpnode import http, wait_until
from test.metrics.test_prometheus import samples, value

PROMETHEUS = (
    "  [[listen.http.handlers.mongoose_prometheus_handler]]\n"
    '    host = "_"\n'
    '    path = "/metrics"\n'
)
SERVICE = (
    "  [listen.http.handlers.mongoose_websocket_handler.service]\n"
    f'    password = "{SECRET}"\n'
)


class HTTPTransportMetricsTests(TestCase):
    """The gauges follow clients logging in and out; the counters count them."""

    async def setUp(self):
        self.node = await start_node(self, ws=SERVICE, listener=PROMETHEUS)

    async def scrape(self):
        """GET /metrics and parse it with prometheus-client's parser."""
        response = await http(self.node.http_port, "GET", "/metrics")
        self.assertEqual(response.status, 200)
        return samples(response.body.decode("utf-8"))

    async def test_series_exist_before_any_client(self):
        """Every served host has its series at 0 from the start."""
        scraped = await self.scrape()
        for kind in ("client", "component"):
            self.assertEqual(
                value(scraped, "mongoose_websocket_connections", host="localhost", type=kind), 0.0
            )
        self.assertEqual(value(scraped, "mongoose_bosh_sessions", host="localhost"), 0.0)
        self.assertEqual(value(scraped, "mongoose_websocket_connections_opened_total"), 0.0)
        self.assertEqual(value(scraped, "mongoose_websocket_connections_closed_total"), 0.0)

    async def test_websocket_client_in_and_out(self):
        """A WebSocket login moves the gauge up; <close/> moves it down and counts the close."""
        ws = await ws_login(self, self.node.http_port)
        scraped = await self.scrape()
        self.assertEqual(
            value(scraped, "mongoose_websocket_connections", host="localhost", type="client"), 1.0
        )
        self.assertEqual(value(scraped, "mongoose_websocket_connections_opened_total"), 1.0)
        self.assertEqual(
            value(scraped, "mongoose_sessions_by_transport", transport="websocket"), 1.0
        )
        ws.send(f"<close xmlns='{NS_FRAMING}'/>")
        await ws.closed
        await wait_until(lambda: not self.node.sessions.sessions_of("alice", "localhost"))
        scraped = await self.scrape()
        self.assertEqual(
            value(scraped, "mongoose_websocket_connections", host="localhost", type="client"), 0.0
        )
        self.assertEqual(value(scraped, "mongoose_websocket_connections_closed_total"), 1.0)

    async def test_websocket_component(self):
        """A component over WebSocket counts as type="component" (its domain is not served)."""
        ws = await ws_component_connect(self, self.node.http_port)
        await ws.component.authenticate("echo.localhost")
        scraped = await self.scrape()
        self.assertEqual(
            value(scraped, "mongoose_websocket_connections", host="other", type="component"), 1.0
        )
        ws.dropConnection(abort=True)
        await ws.closed
        await wait_until(lambda: self.node.components.get("echo.localhost") is None)
        scraped = await self.scrape()
        self.assertEqual(
            value(scraped, "mongoose_websocket_connections", host="other", type="component"), 0.0
        )
        self.assertEqual(value(scraped, "mongoose_websocket_connections_closed_total"), 1.0)

    async def test_bosh_session_created_and_terminated(self):
        """A BOSH login shows in mongoose_bosh_sessions; type="terminate" ends and counts it."""
        client = BoshClient(self.node.http_port)
        await client.login("bob")
        scraped = await self.scrape()
        self.assertEqual(value(scraped, "mongoose_bosh_sessions", host="localhost"), 1.0)
        self.assertEqual(
            value(scraped, "mongoose_bosh_sessions_created_total", host="localhost"), 1.0
        )
        self.assertEqual(value(scraped, "mongoose_sessions_by_transport", transport="bosh"), 1.0)
        answer = await client.send(type="terminate")
        self.assertEqual(answer.getAttribute("type"), "terminate")
        scraped = await self.scrape()
        self.assertEqual(value(scraped, "mongoose_bosh_sessions", host="localhost"), 0.0)
        self.assertEqual(
            value(scraped, "mongoose_bosh_sessions_closed_total", host="localhost"), 1.0
        )

    async def test_bosh_unknown_host_is_bounded(self):
        """A session asked for a domain the node does not serve is labelled "other"."""
        client = BoshClient(self.node.http_port)
        await client.create(to="nowhere.example")
        scraped = await self.scrape()
        self.assertEqual(
            value(scraped, "mongoose_bosh_sessions_created_total", host="other"), 1.0
        )
        self.assertIsNone(
            value(scraped, "mongoose_bosh_sessions_created_total", host="nowhere.example")
        )


class NoLeakTests(TestCase):
    """The counters belong to the node (no process-wide registry)."""

    @defer.inlineCallbacks
    def test_two_nodes_count_separately(self):
        """A WebSocket login on one node leaves the other node's counter at 0."""
        first = yield defer.ensureDeferred(start_node(self, listener=PROMETHEUS))
        second = yield defer.ensureDeferred(start_node(self, listener=PROMETHEUS))
        yield defer.ensureDeferred(ws_login(self, first.http_port))
        response = yield defer.ensureDeferred(http(second.http_port, "GET", "/metrics"))
        scraped = samples(response.body.decode("utf-8"))
        self.assertEqual(value(scraped, "mongoose_websocket_connections_opened_total"), 0.0)
