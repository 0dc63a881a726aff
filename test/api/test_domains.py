"""Dynamic domains: the ``domain`` commands, REST ``/domains/{domain}`` and logins.

MongooseIM 6.5 REST ``Dynamic domains`` routes and GraphQL ``domain.gql``
names; a disabled domain refuses new c2s streams (host-unknown).
"""

from __future__ import annotations

import json
import os

import treq
from twisted.internet import reactor
from twisted.trial.unittest import TestCase
from twisted.web.resource import Resource
from twisted.web.server import Site

from mongoose.api.rest import AdminAPI
from mongoose.commands.caller import Caller
from mongoose.commands.errors import CommandError
from mongoose.config.loader import parse_config
from mongoose.extensions import ExtensionRegistry
from mongoose.node import Node
from test.c2s.support import connect
from test.modules.nodes import RecordingSession
from test.support.processes import free_port

CONFIG = """
[general]
  hosts = ["localhost"]
  host_types = ["type1", "type2"]
  default_server_domain = "localhost"
  data_dir = "{data}"

[[listen.c2s]]
  ip_address = "127.0.0.1"
  port = {port}

[auth.internal]
"""


class NodeAPITestCase(TestCase):
    """A node with host types, its admin REST API on a loopback port and a c2s listener."""

    async def start(self, data: str | None = None) -> Node:
        """Start (or restart on ``data``) the node and the API client."""
        self.data = data or os.path.abspath(self.mktemp())
        self.port = free_port()
        config = parse_config(CONFIG.format(data=self.data, port=self.port))
        node = Node(config, reactor=reactor, extensions=ExtensionRegistry())
        node.startService()
        await node.ready
        self.addCleanup(node.stopService)
        root = Resource()
        root.putChild(b"api", AdminAPI(node.commands).resource())
        listening = reactor.listenTCP(0, Site(root), interface="127.0.0.1")
        self.addCleanup(listening.stopListening)
        self.base = f"http://127.0.0.1:{listening.getHost().port}/api"
        self.node = node
        return node

    async def call(self, method: str, path: str, body=None):
        """Make an API request; return (status, decoded JSON or None)."""
        kwargs = {}
        if body is not None:
            kwargs["data"] = json.dumps(body).encode()
            kwargs["headers"] = {"Content-Type": ["application/json"]}
        response = await treq.request(method, self.base + path, persistent=False, **kwargs)
        content = await treq.content(response)
        return response.code, (json.loads(content) if content else None)



class DomainTests(NodeAPITestCase):
    """Dynamic domains through REST, commands and c2s."""

    async def test_rest_lifecycle(self):
        """Add, read, disable, enable and remove a domain with MongooseIM's statuses."""
        await self.start()
        self.assertEqual(await self.call("PUT", "/domains/dyn.example", {"host_type": "type1"}),
                         (204, None))
        self.assertEqual(await self.call("PUT", "/domains/dyn.example", {"host_type": "type1"}),
                         (204, None))
        status, data = await self.call("GET", "/domains/dyn.example")
        self.assertEqual((status, data), (200, {"domain": "dyn.example", "hostType": "type1",
                                                "status": "ENABLED", "type": "DYNAMIC"}))
        self.assertEqual(await self.call("PATCH", "/domains/dyn.example", {"enabled": False}),
                         (204, None))
        self.assertEqual((await self.call("GET", "/domains/dyn.example"))[1]["status"],
                         "DISABLED")
        self.assertFalse(self.node.serves_domain("dyn.example"))
        self.assertEqual(await self.call("PATCH", "/domains/dyn.example", {"enabled": True}),
                         (204, None))
        self.assertTrue(self.node.serves_domain("dyn.example"))
        self.assertEqual(await self.call("DELETE", "/domains/dyn.example", {"host_type": "type1"}),
                         (204, None))
        status, data = await self.call("GET", "/domains/dyn.example")
        self.assertEqual((status, data["error"]), (404, "not_found"))
        self.assertFalse(self.node.serves_domain("dyn.example"))

    async def test_rest_errors(self):
        """Conflicts, unknown host types, static domains and bad bodies get their statuses."""
        await self.start()
        await self.call("PUT", "/domains/dyn.example", {"host_type": "type1"})
        cases = [
            ("PUT", "/domains/dyn.example", {"host_type": "type2"}, 409, "conflict"),
            ("PUT", "/domains/other.example", {"host_type": "nope"}, 403, "not_allowed"),
            ("PUT", "/domains/localhost", {"host_type": "type1"}, 403, "not_allowed"),
            ("PATCH", "/domains/localhost", {"enabled": False}, 403, "not_allowed"),
            ("PATCH", "/domains/missing.example", {"enabled": False}, 404, "not_found"),
            ("PATCH", "/domains/dyn.example", {"enabled": "no"}, 400, "bad_request"),
            ("PUT", "/domains/dyn.example", {}, 400, "bad_request"),
            ("DELETE", "/domains/dyn.example", {"host_type": "type2"}, 403, "not_allowed"),
            ("PUT", "/domains/a@b", {"host_type": "type1"}, 400, "bad_request"),
        ]
        for method, path, body, status, code in cases:
            got_status, data = await self.call(method, path, body)
            self.assertEqual((got_status, data["error"]), (status, code), (method, path, body))
        status, data = await self.call("GET", "/domains/localhost")
        self.assertEqual(data["type"], "STATIC")

    async def test_persisted_across_restart(self):
        """Domains and their enabled flag are read back from the store at start-up."""
        node = await self.start()
        await self.call("PUT", "/domains/a.example", {"host_type": "type1"})
        await self.call("PUT", "/domains/b.example", {"host_type": "type2"})
        await self.call("PATCH", "/domains/b.example", {"enabled": False})
        await node.stopService()
        node = await self.start(self.data)
        self.assertTrue(node.serves_domain("a.example"))
        self.assertFalse(node.serves_domain("b.example"))
        admin = Caller.admin()
        self.assertEqual(await node.commands.execute(
            admin, "domain", "domainsByHostType", {"hostType": "type1"}), ["a.example"])
        listed = await node.commands.execute(admin, "domain", "allDomains", {})
        self.assertEqual([(d["domain"], d["status"], d["type"]) for d in listed], [
            ("a.example", "ENABLED", "DYNAMIC"), ("b.example", "DISABLED", "DYNAMIC"),
            ("localhost", "ENABLED", "STATIC")])

    async def test_disabled_domain_refuses_logins(self):
        """A user of an enabled dynamic domain logs in; once disabled, the stream is refused."""
        node = await self.start()
        await self.call("PUT", "/domains/dyn.example", {"host_type": "type1"})
        await node.auth.register("carol", "dyn.example", "secret")
        client = await connect(self.port)
        self.addCleanup(client.transport.loseConnection)
        await client.open("dyn.example")
        self.assertEqual((await client.auth_plain("carol", "secret")).name, "success")
        await self.call("PATCH", "/domains/dyn.example", {"enabled": False})
        refused = await connect(self.port)
        self.addCleanup(refused.transport.loseConnection)
        refused.send("<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
                     "xmlns:stream='http://etherx.jabber.org/streams' to='dyn.example' "
                     "version='1.0'>")
        error = await refused.closed_with()
        self.assertEqual(error.condition, "host-unknown")

    async def test_admin_password(self):
        """The domain admin password is stored hashed and checked; deleting it works once."""
        node = await self.start()
        admin = Caller.admin()
        await self.call("PUT", "/domains/dyn.example", {"host_type": "type1"})
        await node.commands.execute(admin, "domain", "setDomainPassword",
                                    {"domain": "dyn.example", "password": "s3cret-pw"})
        stored = await node.stores.domains.get_admin_secret("dyn.example")
        self.assertNotIn("s3cret-pw", stored)
        self.assertTrue(await node.domains.check_password("dyn.example", "s3cret-pw"))
        self.assertFalse(await node.domains.check_password("dyn.example", "wrong"))
        await node.commands.execute(admin, "domain", "deleteDomainPassword",
                                    {"domain": "dyn.example"})
        self.assertFalse(await node.domains.check_password("dyn.example", "s3cret-pw"))
        with self.assertRaises(CommandError) as raised:
            await node.commands.execute(admin, "domain", "deleteDomainPassword",
                                        {"domain": "dyn.example"})
        self.assertEqual(raised.exception.code, "not_found")
        with self.assertRaises(CommandError) as raised:
            await node.commands.execute(admin, "domain", "setDomainPassword",
                                        {"domain": "missing.example", "password": "x"})
        self.assertEqual(raised.exception.code, "not_found")


class SessionsRouteTests(NodeAPITestCase):
    """``GET /sessions/{XMPPHost}`` of MongooseIM 6.5 through the generated route."""

    async def test_sessions_are_full_jids(self):
        """The route lists the domain's sessions as full JID strings."""
        node = await self.start()
        node.sessions.bind(RecordingSession(), "alice", "localhost", "phone")
        self.assertEqual(await self.call("GET", "/sessions/localhost"),
                         (200, ["alice@localhost/phone"]))
        status, data = await self.call("GET", "/sessions/a%20b")
        self.assertEqual((status, data["error"]), (400, "bad_request"))
