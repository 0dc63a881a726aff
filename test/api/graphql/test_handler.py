"""Tests for mongoose.api.graphql.handler: the mongoose_graphql_handler over HTTP."""

from __future__ import annotations

import base64
import json
from types import SimpleNamespace
from urllib.parse import urlencode

from treq.testing import StubTreq
from twisted.trial.unittest import SynchronousTestCase
from twisted.web.resource import Resource
from zope.interface.verify import verifyObject

from mongoose.api.graphql.handler import GraphQLHandler
from mongoose.commands.defs.account import account_commands
from mongoose.commands.registry import CommandRegistry
from mongoose.extensions import ExtensionRegistry
from mongoose.interfaces import IHTTPHandlerFactory
from test.support.fakeauth import FakeAuth

COUNT = 'query { account { countUsers(domain: "localhost") } }'


def basic(user: str, password: str) -> dict[str, list[str]]:
    """An Authorization header for HTTP Basic."""
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": [f"Basic {token}"]}


class HandlerTestCase(SynchronousTestCase):
    """One node-like object with account commands; handlers mounted per endpoint."""

    def setUp(self):
        self.auth = FakeAuth()
        self.auth.users[("bob", "localhost")] = "pw"
        self.auth.users[("carol", "other.test")] = "pw"
        registry = CommandRegistry()
        for command in account_commands(self.auth):
            registry.register(command)
        domain_passwords = {"localhost": "dpw"}
        self.node = SimpleNamespace(
            commands=registry, auth=self.auth,
            check_domain_password=lambda domain, pw: domain_passwords.get(domain) == pw)

    def client(self, **options) -> StubTreq:
        """A stub client for a handler with ``options`` mounted at /api/graphql."""
        root = Resource()
        api = Resource()
        root.putChild(b"api", api)
        api.putChild(b"graphql", GraphQLHandler(options, self.node))
        return StubTreq(root)

    def post(self, client, query, headers=None, raw=None):
        """POST a query; return (status, decoded body)."""
        data = raw if raw is not None else json.dumps({"query": query}).encode()
        d = client.post("http://localhost/api/graphql", data=data,
                        headers={"Content-Type": ["application/json"], **(headers or {})})
        client.flush()
        response = self.successResultOf(d)
        content = self.successResultOf(client.content(response))
        return response.code, json.loads(content)

    def get(self, client, params=None, headers=None):
        """GET the endpoint; return (response, body bytes)."""
        url = "http://localhost/api/graphql"
        if params:
            url += "?" + urlencode(params)
        d = client.get(url, headers=headers or {})
        client.flush()
        response = self.successResultOf(d)
        return response, self.successResultOf(client.content(response))


class FactoryTests(HandlerTestCase):
    """The handler is found by its MongooseIM name."""

    def test_registered_builtin(self):
        """mongoose_graphql_handler resolves to an IHTTPHandlerFactory."""
        factory = ExtensionRegistry().http_handler("mongoose_graphql_handler")
        self.assertIs(factory, GraphQLHandler)
        self.assertTrue(verifyObject(IHTTPHandlerFactory, factory))


class AdminEndpointTests(HandlerTestCase):
    """schema_endpoint = "admin"."""

    def test_open_without_credentials_configured(self):
        """Without username/password every request runs as the global admin."""
        status, body = self.post(self.client(schema_endpoint="admin"), COUNT)
        self.assertEqual((status, body), (200, {"data": {"account": {"countUsers": 1}}}))

    def test_wrong_password_is_401(self):
        """Wrong credentials answer 401 with code unauthorized."""
        client = self.client(schema_endpoint="admin", username="admin", password="secret")
        status, body = self.post(client, COUNT, basic("admin", "nope"))
        self.assertEqual(status, 401)
        self.assertEqual(body["errors"][0]["extensions"]["code"], "unauthorized")
        status, body = self.post(client, COUNT, basic("admin", "secret"))
        self.assertEqual(body["data"]["account"]["countUsers"], 1)

    def test_missing_credentials_only_check_auth(self):
        """Without credentials checkAuth says UNAUTHORIZED and commands are refused."""
        client = self.client(schema_endpoint="admin", username="admin", password="secret")
        status, body = self.post(client, "{ checkAuth { authStatus } } ")
        self.assertEqual(body["data"]["checkAuth"]["authStatus"], "UNAUTHORIZED")
        status, body = self.post(client, COUNT)
        self.assertEqual(body["errors"][0]["extensions"]["code"], "unauthorized")

    def test_bad_body(self):
        """A body that is not a JSON object with a query answers 400 bad_request."""
        client = self.client(schema_endpoint="admin")
        status, body = self.post(client, None, raw=b"{not json")
        self.assertEqual((status, body["errors"][0]["extensions"]["code"]),
                         (400, "bad_request"))
        status, body = self.post(client, None, raw=b"[]")
        self.assertEqual(status, 400)

    def test_allowed_categories(self):
        """allowed_categories from the handler options is honoured."""
        client = self.client(schema_endpoint="admin", allowed_categories=["checkAuth"])
        status, body = self.post(client, COUNT)
        self.assertEqual(body["errors"][0]["message"], "Category disabled")

    def test_get_serves_page_and_queries(self):
        """GET without a query serves the GraphiQL page; with one it runs the query."""
        client = self.client(schema_endpoint="admin")
        response, content = self.get(client, headers={"Accept": ["text/html"]})
        self.assertEqual(response.code, 200)
        self.assertIn(b"text/html", response.headers.getRawHeaders(b"content-type")[0])
        self.assertIn(b"<title>mongoose GraphiQL (admin)</title>", content)
        self.assertIn(b'<script src="/api/graphql/graphiql/graphiql.min.js">', content)
        self.assertNotIn(b"http://", content)
        self.assertNotIn(b"https://", content)
        response, content = self.get(client, {"query": COUNT})
        self.assertEqual(json.loads(content), {"data": {"account": {"countUsers": 1}}})
        response, content = self.get(client, {"query": "mutation { account { removeUser("
                                                        'user: "bob@localhost") { jid } } }'})
        self.assertEqual(response.code, 405)
        self.assertIn(("bob", "localhost"), self.auth.users)


    def test_page_on_protected_endpoints_needs_credentials(self):
        """A browser without valid credentials gets a 401 Basic challenge, then the page."""
        html = {"Accept": ["text/html"]}
        for options, good, bad in [
            ({"schema_endpoint": "admin", "username": "admin", "password": "secret"},
             ("admin", "secret"), ("admin", "wrong")),
            ({"schema_endpoint": "domain_admin"}, ("admin@localhost", "dpw"),
             ("admin@localhost", "nope")),
            ({"schema_endpoint": "user"}, ("bob@localhost", "pw"), ("bob@localhost", "x")),
        ]:
            client = self.client(**options)
            for headers in (html, {**html, **basic(*bad)}):
                response, content = self.get(client, headers=headers)
                self.assertEqual(response.code, 401, options)
                self.assertEqual(response.headers.getRawHeaders(b"www-authenticate"),
                                 [b'Basic realm="mongooseim"'])
                self.assertIn(b"Log in to use GraphiQL", content)
                self.assertNotIn(b"graphiql.min.js", content)
            response, content = self.get(client, headers={**html, **basic(*good)})
            self.assertEqual(response.code, 200, options)
            self.assertIn(b"graphiql.min.js", content)

    def test_get_asking_for_json_without_query(self):
        """A JSON client that GETs without a query gets a JSON error, not the page."""
        response, content = self.get(self.client(schema_endpoint="admin"),
                                     headers={"Accept": ["application/json"]})
        self.assertEqual(response.code, 400)
        self.assertEqual(json.loads(content)["errors"][0]["message"],
                         "a GET request needs a 'query' parameter")

    def test_graphiql_files_from_the_package(self):
        """The page's files come from the packaged GraphiQL, with types and cache headers."""
        client = self.client(schema_endpoint="admin", username="admin", password="secret")
        expected = {"graphiql.min.js": b"text/javascript", "graphiql.min.css": b"text/css",
                    "react.production.min.js": b"text/javascript",
                    "react-dom.production.min.js": b"text/javascript"}
        for name, content_type in expected.items():
            d = client.get(f"http://localhost/api/graphql/graphiql/{name}")
            client.flush()
            response = self.successResultOf(d)
            body = self.successResultOf(client.content(response))
            self.assertEqual(response.code, 200, name)
            self.assertTrue(response.headers.getRawHeaders(b"content-type")[0]
                            .startswith(content_type), name)
            self.assertIn(b"max-age", response.headers.getRawHeaders(b"cache-control")[0])
            self.assertGreater(len(body), 10000, name)
            if name == "graphiql.min.js":
                self.assertTrue(b"GraphiQL" in body, "not the GraphiQL bundle")
        etag = response.headers.getRawHeaders(b"etag")[0]
        d = client.get("http://localhost/api/graphql/graphiql/react-dom.production.min.js",
                       headers={"If-None-Match": [etag]})
        client.flush()
        response = self.successResultOf(d)
        self.assertEqual(response.code, 304)
        self.assertEqual(self.successResultOf(client.content(response)), b"")
        d = client.get("http://localhost/api/graphql/graphiql/secrets.py")
        client.flush()
        response = self.successResultOf(d)
        self.assertEqual(response.code, 404)
        body = json.loads(self.successResultOf(client.content(response)))
        self.assertEqual(body["errors"][0]["extensions"]["code"], "not_found")

    def test_subscription_without_session_manager(self):
        """Without a session manager a subscription answers a clear error."""
        status, body = self.post(self.client(schema_endpoint="admin"),
                                 'subscription { stanza { subscribeForMessages('
                                 'caller: "bob@localhost") { sender } } }')
        self.assertEqual(status, 400)
        self.assertEqual(body["errors"][0]["message"],
                         "subscriptions are not available on this endpoint")


class DomainAdminEndpointTests(HandlerTestCase):
    """schema_endpoint = "domain_admin"."""

    def test_wrong_credentials_are_401(self):
        """Wrong password, a login that is not admin@DOMAIN, or no store answer 401."""
        client = self.client(schema_endpoint="domain_admin")
        for user, password in [("admin@localhost", "bad"), ("bob@localhost", "dpw"),
                               ("admin@other.test", "dpw"), ("localhost", "dpw")]:
            status, body = self.post(client, COUNT, basic(user, password))
            self.assertEqual(status, 401, user)
            self.assertEqual(body["errors"][0]["extensions"]["code"], "unauthorized")
        del self.node.check_domain_password
        status, _ = self.post(self.client(schema_endpoint="domain_admin"), COUNT,
                              basic("admin@localhost", "dpw"))
        self.assertEqual(status, 401)

    def test_own_domain_allowed_other_denied(self):
        """The admin of localhost acts on localhost and is denied other.test."""
        client = self.client(schema_endpoint="domain_admin")
        headers = basic("admin@localhost", "dpw")
        status, body = self.post(client, COUNT, headers)
        self.assertEqual(body, {"data": {"account": {"countUsers": 1}}})
        status, body = self.post(
            client, 'query { account { listUsers(domain: "other.test") } }', headers)
        self.assertEqual(body["errors"][0]["extensions"]["code"], "no_permissions")
        self.assertIn("other.test", body["errors"][0]["message"])
        status, body = self.post(client, "{ checkAuth { domain authType } }", headers)
        self.assertEqual(body["data"]["checkAuth"],
                         {"domain": "localhost", "authType": "DOMAIN_ADMIN"})


class UserEndpointTests(HandlerTestCase):
    """schema_endpoint = "user"."""

    def test_wrong_password_is_401(self):
        """A wrong password or a malformed JID answers 401."""
        client = self.client(schema_endpoint="user")
        for user, password in [("bob@localhost", "bad"), ("bob", "pw"), ("@@", "pw"),
                               ("bob@localhost/res", "pw")]:
            status, body = self.post(client, "{ checkAuth { authStatus } }",
                                     basic(user, password))
            self.assertEqual(status, 401, user)

    def test_user_acts_only_as_itself(self):
        """The user schema has no admin commands and checkAuth names the user."""
        client = self.client(schema_endpoint="user")
        headers = basic("bob@localhost", "pw")
        status, body = self.post(client, "{ checkAuth { username authStatus } }", headers)
        self.assertEqual(body["data"]["checkAuth"],
                         {"username": "bob@localhost", "authStatus": "AUTHORIZED"})
        status, body = self.post(client, COUNT, headers)
        self.assertEqual(status, 400)
        status, body = self.post(
            client, 'mutation { account { changePassword(newPassword: "new") } }', headers)
        self.assertNotIn("errors", body)
        self.assertEqual(self.auth.users[("bob", "localhost")], "new")
        self.assertEqual(self.auth.users[("carol", "other.test")], "pw")
