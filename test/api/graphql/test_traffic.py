"""``stanza.subscribeForTraffic`` over real sockets: c2s clients, GraphQL over SSE.

A node with a c2s listener and ``service_traffic``; two raw XMPP clients log
in over TCP; the admin subscribes over HTTP and reads the Server-Sent Events.
"""

from __future__ import annotations

import base64
import json

import treq
from twisted.internet import defer, reactor
from twisted.trial.unittest import TestCase
from twisted.web.client import HTTPConnectionPool
from twisted.web.server import Site

from mongoose.api.graphql.handler import GraphQLHandler
from mongoose.services.service_traffic import TrafficFilter, find_tap
from test.c2s.support import logged_in, start_node

TRAFFIC = ("subscription { stanza { subscribeForTraffic%s "
           "{ pid jid timestamp dir stanza } } }")


def basic(user: str, password: str) -> dict[str, list[str]]:
    """An Authorization header for HTTP Basic."""
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": [f"Basic {token}"]}


def sse_events(chunks: list[bytes]) -> list[tuple[str, str]]:
    """The (event, data) pairs of an SSE body."""
    found = []
    for block in b"".join(chunks).decode().split("\n\n"):
        fields = dict(line.split(": ", 1) if ": " in line else (line.rstrip(":"), "")
                      for line in block.splitlines() if not line.startswith(":"))
        if "event" in fields:
            found.append((fields["event"], fields.get("data", "")))
    return found


def traces(chunks: list[bytes]) -> list[dict]:
    """The TraceMap payloads of the ``next`` events."""
    return [json.loads(data)["data"]["stanza"]["subscribeForTraffic"]
            for event, data in sse_events(chunks) if event == "next"]


class TrafficTestCase(TestCase):
    """A node with c2s on TCP and an admin GraphQL endpoint on HTTP."""

    services = "[services.service_traffic]\n"
    idle_timeout = 3000

    async def _setup(self):
        self.node = await start_node(self, extra=self.services)
        self.pool = HTTPConnectionPool(reactor, persistent=False)
        options = {"schema_endpoint": "admin", "username": "admin", "password": "secret",
                   "sse_idle_timeout": self.idle_timeout}
        port = reactor.listenTCP(0, Site(GraphQLHandler(options, self.node)),
                                 interface="127.0.0.1")
        self.addCleanup(port.stopListening)
        self.url = f"http://127.0.0.1:{port.getHost().port}/api/graphql"

    def setUp(self):
        return defer.ensureDeferred(self._setup())

    async def post(self, query: str):
        """POST a GraphQL request as the admin; return the response."""
        return await treq.post(
            self.url, json.dumps({"query": query}).encode(),
            headers={"Content-Type": ["application/json"], "Accept": ["text/event-stream"],
                     **basic("admin", "secret")}, pool=self.pool)

    async def subscribe(self, query: str):
        """Open a subscription; return (chunks, Deferred firing at the stream's end)."""
        response = await self.post(query)
        self.assertEqual(response.code, 200)
        self.assertEqual(response.headers.getRawHeaders(b"content-type")[0],
                         b"text/event-stream; charset=utf-8")
        chunks: list[bytes] = []
        subscribed: defer.Deferred = defer.Deferred()

        def collect(data: bytes) -> None:
            chunks.append(data)
            if not subscribed.called:
                subscribed.callback(None)

        done = treq.collect(response, collect)
        await subscribed
        return chunks, done

    def c2s_sessions(self) -> list:
        """The node's bound client sessions."""
        return [s for s in self.node.sessions.all_sessions() if hasattr(s, "filters")]


class TrafficTests(TrafficTestCase):
    """The admin watches the stanzas of c2s sessions."""

    async def _in_and_out(self):
        alice, alice_jid = await logged_in(self, self.node.c2s_port, "alice", "phone")
        bob, bob_jid = await logged_in(self, self.node.c2s_port, "bob", "pc")
        # Nobody watches yet: no session carries the tap.
        self.assertEqual([f for s in self.c2s_sessions() for f in s.filters], [])
        chunks, done = await self.subscribe(TRAFFIC % "(limit: 2)")
        self.assertTrue(all(isinstance(s.filters[-1], TrafficFilter)
                            for s in self.c2s_sessions()))
        alice.send(f"<message to='{bob_jid}' id='t1' type='chat'><body>Hi Bob</body></message>")
        received = await bob.element()
        self.assertEqual(received.getAttribute("id"), "t1")
        await done
        events = sse_events(chunks)
        self.assertEqual([e for e, _ in events], ["next", "next", "complete"])
        sent, delivered = traces(chunks)
        self.assertEqual((sent["dir"], sent["jid"]), ("in", alice_jid))
        self.assertEqual((delivered["dir"], delivered["jid"]), ("out", bob_jid))
        for trace in (sent, delivered):
            self.assertIn("Hi Bob", trace["stanza"])
            self.assertIn("id=\"t1\"", trace["stanza"].replace("'", '"'))
            self.assertTrue(trace["timestamp"].endswith("Z"))
        self.assertNotEqual(sent["pid"], delivered["pid"])
        self.assertIn(f"from=\"{alice_jid}\"", delivered["stanza"].replace("'", '"'))
        # The limit ended the stream; the tap is gone from every session.
        self.assertEqual([f for s in self.c2s_sessions() for f in s.filters], [])
        self.assertEqual(find_tap(self.node.modules.service).subscriber_count(), 0)

    def test_message_in_and_out_then_limit(self):
        """Alice's message shows as 'in' on her session and 'out' on Bob's; limit 2 ends it."""
        return defer.ensureDeferred(self._in_and_out())

    async def _two_subscribers(self):
        alice, _ = await logged_in(self, self.node.c2s_port, "alice", "phone")
        short, short_done = await self.subscribe(TRAFFIC % "(limit: 1)")
        long, long_done = await self.subscribe(TRAFFIC % "(limit: 3)")
        for n in range(3):
            alice.send(f"<presence id='p{n}'><status>{n}</status></presence>")
        await short_done
        await long_done
        self.assertEqual([t["dir"] for t in traces(short)], ["in"])
        ins = [t for t in traces(long) if t["dir"] == "in"]
        self.assertGreaterEqual(len(ins), 1)
        self.assertEqual(len(traces(long)), 3)

    def test_each_subscriber_has_its_own_limit(self):
        """Two admins watch at once; each stream ends after its own limit."""
        return defer.ensureDeferred(self._two_subscribers())

    async def _errors(self):
        response = await self.post(TRAFFIC % "(limit: -1)")
        body = json.loads(await response.content())
        self.assertEqual(body["errors"][0]["extensions"]["code"], "bad_request")
        response = await treq.post(
            self.url, json.dumps({"query": TRAFFIC % ""}).encode(),
            headers={"Content-Type": ["application/json"], **basic("admin", "wrong")},
            pool=self.pool)
        self.assertEqual(response.code, 401)
        await response.content()

    def test_errors(self):
        """A bad limit and wrong credentials answer errors, not a stream."""
        return defer.ensureDeferred(self._errors())


class IdleTrafficTests(TrafficTestCase):
    """A quiet subscription ends with the idle timeout and untaps the sessions."""

    idle_timeout = 300

    async def _idle(self):
        await logged_in(self, self.node.c2s_port, "alice", "phone")
        chunks, done = await self.subscribe(TRAFFIC % "")
        self.assertEqual(len(self.c2s_sessions()[0].filters), 1)
        await done
        self.assertEqual(sse_events(chunks), [("complete", "")])
        self.assertEqual(self.c2s_sessions()[0].filters, ())

    def test_idle_timeout_ends_and_untaps(self):
        """No traffic for sse_idle_timeout: 'complete', and no filter stays behind."""
        return defer.ensureDeferred(self._idle())


class WithoutServiceTests(TrafficTestCase):
    """Without [services.service_traffic] the field answers a clear error."""

    services = ""

    async def _missing(self):
        response = await self.post(TRAFFIC % "")
        self.assertEqual(response.code, 200)
        body = json.loads(await response.content())
        [error] = body["errors"]
        self.assertEqual(error["extensions"]["code"], "service_unavailable")
        self.assertIn("service_traffic is not enabled", error["message"])
        self.assertEqual(error["path"], ["stanza", "subscribeForTraffic"])

    def test_service_not_configured(self):
        """The error names the missing service."""
        return defer.ensureDeferred(self._missing())
