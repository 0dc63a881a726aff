"""The client REST API (``mongoose_client_api``): auth, messages, contacts, SSE, docs."""

from __future__ import annotations

import base64
import json
import os

import treq
from twisted.internet import defer, reactor
from twisted.trial.unittest import TestCase
from twisted.web.resource import Resource
from twisted.web.server import Site

from mongoose.api.client import ClientAPIHandler
from mongoose.config.loader import parse_config
from mongoose.extensions import ExtensionRegistry
from mongoose.node import Node
from test.modules.nodes import RecordingSession

CONFIG = """
[general]
  hosts = ["localhost"]
  default_server_domain = "localhost"
  data_dir = "{data}"

[auth.internal]

[modules.mod_presence]
[modules.mod_roster]
"""


def basic(user: str, password: str) -> dict[str, list[str]]:
    """An Authorization header for HTTP Basic."""
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": [f"Basic {token}"]}


class ClientAPITests(TestCase):
    """A started node with the client API on a loopback port."""

    async def start(self, options=None) -> None:
        """Start the node, register alice and bob, serve the API at /api."""
        data = os.path.abspath(self.mktemp())
        node = Node(parse_config(CONFIG.format(data=data)), reactor=reactor,
                    extensions=ExtensionRegistry())
        node.startService()
        await node.ready
        self.addCleanup(node.stopService)
        for user in ("alice", "bob"):
            await node.auth.register(user, "localhost", "secret")
        root = Resource()
        root.putChild(b"api", ClientAPIHandler(options or {}, node))
        listening = reactor.listenTCP(0, Site(root), interface="127.0.0.1")
        self.addCleanup(listening.stopListening)
        self.base = f"http://127.0.0.1:{listening.getHost().port}/api"
        self.node = node

    async def call(self, method, path, body=None, auth=("alice@localhost", "secret")):
        """Make a request; return (status, decoded JSON or raw bytes or None)."""
        headers = basic(*auth) if auth else {}
        kwargs = {"headers": headers}
        if body is not None:
            kwargs["data"] = json.dumps(body).encode()
        response = await treq.request(method, self.base + path, persistent=False, **kwargs)
        content = await treq.content(response)
        self.last = response
        try:
            return response.code, (json.loads(content) if content else None)
        except ValueError:
            return response.code, content

    async def test_auth_required(self):
        """Missing or wrong credentials get 401 with WWW-Authenticate."""
        await self.start()
        for auth in (None, ("alice@localhost", "wrong"), ("nobody@localhost", "secret"),
                     ("alice", "secret")):
            status, data = await self.call("GET", "/contacts", auth=auth)
            self.assertEqual((status, data["error"]), (401, "unauthorized"), auth)
            self.assertTrue(self.last.headers.hasHeader(b"www-authenticate"))

    async def test_contacts(self):
        """Add, list, invite and delete a contact as the authenticated user."""
        await self.start()
        self.assertEqual(await self.call("POST", "/contacts", {"jid": "bob@localhost"}),
                         (204, None))
        status, contacts = await self.call("GET", "/contacts")
        self.assertEqual(status, 200)
        self.assertEqual([c["jid"] for c in contacts], ["bob@localhost"])
        self.assertEqual(await self.call("PUT", "/contacts/bob@localhost", {"action": "invite"}),
                         (204, None))
        status, data = await self.call("PUT", "/contacts/bob@localhost", {"action": "nope"})
        self.assertEqual((status, data["error"]), (400, "bad_request"))
        self.assertEqual(await self.call("DELETE", "/contacts/bob@localhost"), (204, None))
        self.assertEqual(await self.call("GET", "/contacts"), (200, []))
        status, data = await self.call("POST", "/contacts", {"who": "x"})
        self.assertEqual((status, data["error"]), (400, "bad_request"))

    async def test_send_message(self):
        """A message sent through the API reaches the recipient's session from the user."""
        await self.start()
        session = RecordingSession()
        self.node.sessions.bind(session, "bob", "localhost", "phone")
        session.priority = 0
        status, data = await self.call("POST", "/messages",
                                       {"to": "bob@localhost/phone", "body": "hello"})
        self.assertEqual(status, 200)
        self.assertTrue(data["id"])
        self.assertEqual(len(session.received), 1)
        self.assertEqual(session.received[0]["from"], "alice@localhost")
        status, data = await self.call("POST", "/messages", {"to": "bob@localhost"})
        self.assertEqual((status, data["error"]), (400, "bad_request"))

    async def test_sse_stream(self):
        """GET /sse streams an event for a message sent to the user."""
        await self.start()
        received = []
        got = defer.Deferred()

        def collect(chunk):
            received.append(chunk)
            if b"event: message" in b"".join(received) and not got.called:
                got.callback(None)

        response = await treq.get(self.base + "/sse", headers=basic("bob@localhost", "secret"),
                                  persistent=False)
        self.assertEqual(response.code, 200)
        self.assertEqual(response.headers.getRawHeaders(b"content-type"), [b"text/event-stream"])
        finished = treq.collect(response, collect)
        finished.addErrback(lambda _: None)
        await self.call("POST", "/messages", {"to": "bob@localhost", "body": "ping"})
        got.addTimeout(5, reactor)
        await got
        text = b"".join(received).decode()
        data = json.loads(text.split("data: ", 1)[1].split("\n", 1)[0])
        self.assertEqual((data["from"], data["body"]), ("alice@localhost", "ping"))
        sessions = list(self.node.sessions.all_sessions("localhost"))
        self.assertEqual(len(sessions), 1)
        sessions[0].close("system-shutdown")
        await finished
        self.assertEqual(list(self.node.sessions.all_sessions("localhost")), [])

    async def test_handlers_and_docs(self):
        """Groups left out are 404; docs serve Swagger UI and the OpenAPI document."""
        await self.start({"handlers": ["messages"], "docs": True})
        status, data = await self.call("GET", "/contacts")
        self.assertEqual(status, 404)
        status, document = await self.call("GET", "/openapi.json", auth=None)
        self.assertEqual(status, 200)
        self.assertEqual(list(document["paths"]), ["/messages"])
        status, page = await self.call("GET", "/api-docs/", auth=None)
        self.assertEqual(status, 200)
        self.assertIn(b"swagger-ui-bundle.js", page)
        status, script = await self.call("GET", "/api-docs/swagger-ui-bundle.js", auth=None)
        self.assertEqual(status, 200)
        self.assertGreater(len(script), 1000)
