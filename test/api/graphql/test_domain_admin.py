"""The domain admin end to end, over the node's own HTTP listener.

The global admin adds a dynamic domain and sets its admin password through
the ``admin`` GraphQL endpoint; ``admin@<that domain>`` then logs in to the
``domain_admin`` endpoint with that password, registers a user there and is
refused on every other domain with a clear error.
"""

from __future__ import annotations

import base64
import json
import os

import treq
from twisted.internet import reactor
from twisted.trial.unittest import TestCase
from twisted.web.client import HTTPConnectionPool

from mongoose.config.loader import parse_config
from mongoose.extensions import ExtensionRegistry
from mongoose.node import Node
from test.support.processes import free_port

CONFIG = """
[general]
  hosts = ["localhost"]
  host_types = ["tenants"]
  default_server_domain = "localhost"
  data_dir = "{data}"

[auth.internal]

[[listen.http]]
  ip_address = "127.0.0.1"
  port = {port}
  [[listen.http.handlers.mongoose_graphql_handler]]
    host = "_"
    path = "/api/graphql"
    schema_endpoint = "admin"
    username = "admin"
    password = "global-secret"
  [[listen.http.handlers.mongoose_graphql_handler]]
    host = "_"
    path = "/api/graphql-domain"
    schema_endpoint = "domain_admin"
"""


def basic(user: str, password: str) -> dict[str, list[str]]:
    """An Authorization header for HTTP Basic."""
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": [f"Basic {token}"]}


class DomainAdminEndToEndTests(TestCase):
    """Add a domain, set its password, act as its admin."""

    async def post(self, path, query, auth):
        """POST a GraphQL query; return (status, decoded body)."""
        response = await treq.post(
            f"{self.base}{path}", json.dumps({"query": query}).encode(),
            headers={"Content-Type": ["application/json"], **basic(*auth)}, pool=self.pool)
        return response.code, json.loads(await response.content())

    async def test_domain_admin_of_a_dynamic_domain(self):
        """The new domain's admin registers a user there and is refused elsewhere."""
        port = free_port()
        data = os.path.abspath(self.mktemp())
        node = Node(parse_config(CONFIG.format(data=data, port=port)), reactor=reactor,
                    extensions=ExtensionRegistry())
        node.startService()
        await node.ready
        self.addCleanup(node.stopService)
        self.base = f"http://127.0.0.1:{port}"
        self.pool = HTTPConnectionPool(reactor, persistent=False)
        admin = ("admin", "global-secret")
        tenant = ("admin@tenant.test", "tenant-pw")

        # Before the domain exists, nobody can log in as its admin.
        status, body = await self.post("/api/graphql-domain", "{ checkAuth { authStatus } }",
                                       tenant)
        self.assertEqual((status, body["errors"][0]["extensions"]["code"]),
                         (401, "unauthorized"))

        status, body = await self.post("/api/graphql", 'mutation { domain { '
                                       'addDomain(domain: "tenant.test", hostType: "tenants") '
                                       "{ domain hostType status } } }", admin)
        self.assertEqual(body, {"data": {"domain": {"addDomain": {
            "domain": "tenant.test", "hostType": "tenants", "status": "ENABLED"}}}})
        status, body = await self.post("/api/graphql", 'mutation { domain { setDomainPassword('
                                       'domain: "tenant.test", password: "tenant-pw") } }',
                                       admin)
        self.assertNotIn("errors", body, body)

        status, body = await self.post("/api/graphql-domain",
                                       "{ checkAuth { domain authStatus authType } }", tenant)
        self.assertEqual(body["data"]["checkAuth"], {
            "domain": "tenant.test", "authStatus": "AUTHORIZED", "authType": "DOMAIN_ADMIN"})

        status, body = await self.post(
            "/api/graphql-domain", 'mutation { account { registerUser(domain: "tenant.test", '
            'username: "eve", password: "evepw") { jid } } }', tenant)
        self.assertEqual(body, {"data": {"account": {"registerUser": {"jid": "eve@tenant.test"}}}})
        self.assertTrue(await node.auth.check_password("eve", "tenant.test", "evepw"))
        status, body = await self.post(
            "/api/graphql-domain", 'query { account { listUsers(domain: "tenant.test") } '
            'stat { domainStats(domain: "tenant.test") { registeredUsers } } }', tenant)
        self.assertEqual(body["data"], {"account": {"listUsers": ["eve@tenant.test"]},
                                        "stat": {"domainStats": {"registeredUsers": 1}}})

        # Another domain: refused with a clear error, nothing done.
        status, body = await self.post(
            "/api/graphql-domain", 'mutation { account { registerUser(domain: "localhost", '
            'username: "mallory", password: "pw") { jid } } }', tenant)
        self.assertEqual(status, 200)
        error = body["errors"][0]
        self.assertEqual(error["extensions"]["code"], "no_permissions")
        self.assertEqual(error["message"],
                         "domain: the admin of tenant.test may not act on localhost")
        self.assertEqual(error["path"], ["account", "registerUser"])
        self.assertFalse(await node.auth.user_exists("mallory", "localhost"))
        # Global-admin-only commands are refused too.
        status, body = await self.post("/api/graphql-domain",
                                       "{ domain { allDomains { domain } } }", tenant)
        self.assertEqual(body["errors"][0]["extensions"]["code"], "no_permissions")

        # A wrong password is refused at the door.
        status, body = await self.post("/api/graphql-domain", "{ checkAuth { authStatus } }",
                                       ("admin@tenant.test", "guess"))
        self.assertEqual(status, 401)
