"""Tests for mongoose.api.rest: the admin REST API generated from the command registry."""

from __future__ import annotations

import base64
import json

from treq.testing import StubTreq
from twisted.internet import reactor
from twisted.trial.unittest import SynchronousTestCase, TestCase
from twisted.web.client import Agent, readBody
from twisted.web.http_headers import Headers
from twisted.web.iweb import IBodyProducer
from twisted.web.resource import IResource, Resource
from twisted.web.server import Site
from zope.interface import implementer
from zope.interface.verify import verifyObject

from mongoose.api.rest import ADMIN_API_OPTIONS, MAX_BODY_BYTES, AdminAPI, AdminAPIHandler
from mongoose.commands.defs.account import account_commands
from mongoose.commands.registry import Arg, Command, CommandRegistry, RestBinding
from mongoose.commands.types import DOMAIN, INT, STRING, ListOf
from mongoose.interfaces import IHTTPHandlerFactory
from test.support.fakeauth import FakeAuth


def basic(user: str, password: str) -> dict[str, list[str]]:
    """An Authorization header for HTTP Basic."""
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": [f"Basic {token}"]}


def echo_command(**changes) -> Command:
    """A command defined only in this test."""

    async def echo(text, times):
        return [text] * times

    fields = dict(category="test", name="echo", action="read", description="Repeat a text",
                  security_policy="admin", handler=echo, result=ListOf(STRING),
                  args=(Arg("text", STRING), Arg("times", INT, default=1)))
    fields.update(changes)
    return Command(**fields)


class RestTestCase(SynchronousTestCase):
    """An admin API mounted at /api over account commands and an in-memory backend."""

    options: dict = {}

    def setUp(self):
        self.auth = FakeAuth()
        self.registry = CommandRegistry()
        for command in account_commands(self.auth):
            self.registry.register(command)
        self.api = AdminAPI(self.registry, self.options)
        root = Resource()
        root.putChild(b"api", self.api.resource())
        self.client = StubTreq(root)

    def call(self, method, path, body=None, raw=None, headers=None):
        """Make a request; return (response, decoded JSON body or None, raw body)."""
        kwargs = {"headers": headers or {}}
        if body is not None:
            kwargs["data"] = json.dumps(body).encode()
            kwargs["headers"].setdefault("Content-Type", ["application/json"])
        elif raw is not None:
            kwargs["data"] = raw
        d = self.client.request(method, "http://localhost" + path, **kwargs)
        self.client.flush()
        response = self.successResultOf(d)
        content = self.successResultOf(self.client.content(response))
        try:
            decoded = json.loads(content) if content else None
        except ValueError:
            decoded = None
        return response, decoded, content

    def assertJSONError(self, response, data, status, code):
        """Assert a JSON error body with the status and code."""
        self.assertEqual(response.code, status, data)
        self.assertEqual(response.headers.getRawHeaders("content-type"), ["application/json"])
        self.assertEqual(data["error"], code)
        self.assertIsInstance(data["message"], str)
        self.assertNotIn("Traceback", data["message"])


class UsersRouteTests(RestTestCase):
    """The MongooseIM 6.5 /users routes."""

    def test_register_201(self):
        """POST /api/users/{XMPPHost} creates the user: 201, message and Location."""
        response, data, _ = self.call("POST", "/api/users/localhost",
                                      {"username": "alice", "password": "makota"})
        self.assertEqual(response.code, 201)
        self.assertEqual(data, "User alice@localhost successfully registered")
        self.assertEqual(response.headers.getRawHeaders("location"),
                         ["/api/users/localhost/alice"])
        self.assertEqual(self.auth.users, {("alice", "localhost"): "makota"})

    def test_register_existing_409(self):
        """Registering an existing user answers 409 with a JSON message."""
        self.call("POST", "/api/users/localhost", {"username": "alice", "password": "a"})
        response, data, _ = self.call("POST", "/api/users/localhost",
                                      {"username": "alice", "password": "b"})
        self.assertJSONError(response, data, 409, "conflict")
        self.assertIn("alice@localhost", data["message"])

    def test_bad_json_400(self):
        """A body that is not JSON answers 400 with a JSON message."""
        response, data, _ = self.call("POST", "/api/users/localhost", raw=b"{username: 1",
                                      headers={"Content-Type": ["application/json"]})
        self.assertJSONError(response, data, 400, "bad_request")
        self.assertIn("not valid JSON", data["message"])
        response, data, _ = self.call("POST", "/api/users/localhost", raw=b"[1, 2]")
        self.assertJSONError(response, data, 400, "bad_request")

    def test_wrong_content_type_tolerated(self):
        """A JSON body sent as text/plain is still accepted."""
        response, _, _ = self.call(
            "POST", "/api/users/localhost", raw=b'{"username": "bob", "password": "x"}',
            headers={"Content-Type": ["text/plain"]})
        self.assertEqual(response.code, 201)

    def test_missing_and_unknown_fields_400(self):
        """Missing or unknown body fields are named in the 400 message."""
        response, data, _ = self.call("POST", "/api/users/localhost", {"username": "a"})
        self.assertJSONError(response, data, 400, "bad_request")
        self.assertEqual(data["message"], "password: missing required argument")
        response, data, _ = self.call("POST", "/api/users/localhost",
                                      {"username": "a", "password": "p", "admin": True})
        self.assertJSONError(response, data, 400, "bad_request")
        self.assertTrue(data["message"].startswith("admin:"))

    def test_invalid_domain_400(self):
        """A malformed domain in the path is a 400."""
        response, data, _ = self.call("GET", "/api/users/bad%20domain")
        self.assertJSONError(response, data, 400, "bad_request")

    def test_list_200(self):
        """GET /api/users/{XMPPHost} answers a JSON array of JIDs; limit/index as query."""
        for name in ("bob", "alice"):
            self.call("POST", "/api/users/localhost", {"username": name, "password": "p"})
        response, data, _ = self.call("GET", "/api/users/localhost")
        self.assertEqual(response.code, 200)
        self.assertEqual(data, ["alice@localhost", "bob@localhost"])
        _, data, _ = self.call("GET", "/api/users/localhost?limit=1&index=1")
        self.assertEqual(data, ["bob@localhost"])
        response, data, _ = self.call("GET", "/api/users/localhost?limit=zero")
        self.assertJSONError(response, data, 400, "bad_request")

    def test_change_password_204(self):
        """PUT /api/users/{XMPPHost}/{username} with newpass answers 204 and no body."""
        self.call("POST", "/api/users/localhost", {"username": "alice", "password": "p"})
        response, _, content = self.call("PUT", "/api/users/localhost/alice", {"newpass": "n"})
        self.assertEqual(response.code, 204)
        self.assertEqual(content, b"")
        self.assertEqual(self.auth.users[("alice", "localhost")], "n")

    def test_change_password_errors(self):
        """A missing newpass is named as the REST field; an unknown user is 404."""
        self.call("POST", "/api/users/localhost", {"username": "alice", "password": "p"})
        response, data, _ = self.call("PUT", "/api/users/localhost/alice", {})
        self.assertJSONError(response, data, 400, "bad_request")
        self.assertTrue(data["message"].startswith("newpass:"), data["message"])
        response, data, _ = self.call("PUT", "/api/users/localhost/bob", {"newpass": "n"})
        self.assertJSONError(response, data, 404, "not_found")

    def test_delete_204_then_404(self):
        """DELETE removes the user (204); a second DELETE is 404."""
        self.call("POST", "/api/users/localhost", {"username": "alice", "password": "p"})
        response, _, content = self.call("DELETE", "/api/users/localhost/alice")
        self.assertEqual((response.code, content), (204, b""))
        response, data, _ = self.call("DELETE", "/api/users/localhost/alice")
        self.assertJSONError(response, data, 404, "not_found")

    def test_unknown_path_and_method(self):
        """Unknown paths are JSON 404s; a wrong method is a JSON 405."""
        response, data, _ = self.call("GET", "/api/nothing/here")
        self.assertJSONError(response, data, 404, "not_found")
        response, data, _ = self.call("PATCH", "/api/users/localhost")
        self.assertJSONError(response, data, 405, "method_not_allowed")

    def test_body_too_large_413(self):
        """A body over the limit is refused without parsing it."""
        response, data, _ = self.call("POST", "/api/users/localhost",
                                      raw=b" " * (MAX_BODY_BYTES + 1))
        self.assertJSONError(response, data, 413, "too_large")

    def test_cors_preflight(self):
        """OPTIONS answers 204 with the CORS headers."""
        response, _, _ = self.call("OPTIONS", "/api/users/localhost")
        self.assertEqual(response.code, 204)
        self.assertEqual(response.headers.getRawHeaders("access-control-allow-origin"), ["*"])


class GenericRouteTests(RestTestCase):
    """GET /api/commands and POST /api/commands/{category}/{name}."""

    def test_list_commands(self):
        """The list has every command with signature and the 5.x desc field."""
        response, data, _ = self.call("GET", "/api/commands")
        self.assertEqual(response.code, 200)
        by_name = {c["name"]: c for c in data}
        self.assertIn("registerUser", by_name)
        entry = by_name["registerUser"]
        self.assertEqual(entry["category"], "account")
        self.assertEqual(entry["action"], "create")
        self.assertEqual(entry["desc"], entry["description"])
        self.assertEqual([a["name"] for a in entry["args"]], ["domain", "username", "password"])
        self.assertEqual(entry["rest"], {"method": "POST", "path": "/users/{XMPPHost}",
                                         "status": 201})

    def test_new_command_appears_and_runs(self):
        """A command registered later is listed and executable with no other code."""
        self.registry.register(echo_command())
        _, data, _ = self.call("GET", "/api/commands")
        self.assertIn(("test", "echo"), [(c["category"], c["name"]) for c in data])
        response, data, _ = self.call("POST", "/api/commands/test/echo",
                                      {"text": "hi", "times": 2})
        self.assertEqual((response.code, data), (200, ["hi", "hi"]))
        response, data, _ = self.call("GET", "/api/commands/test/echo")
        self.assertEqual(data["args"][1]["default"], 1)

    def test_cli_source(self):
        """?source=cli parses text values with the command's types."""
        self.registry.register(echo_command())
        response, data, _ = self.call("POST", "/api/commands/test/echo?source=cli",
                                      {"text": "x", "times": "3"})
        self.assertEqual((response.code, data), (200, ["x", "x", "x"]))
        response, data, _ = self.call("POST", "/api/commands/test/echo",
                                      {"text": "x", "times": "3"})
        self.assertJSONError(response, data, 400, "bad_request")
        self.assertTrue(data["message"].startswith("times:"))

    def test_errors(self):
        """Unknown commands are 404 unknown_command; bad JSON 400; handler crashes 500."""
        response, data, _ = self.call("POST", "/api/commands/account/nope", {})
        self.assertJSONError(response, data, 404, "unknown_command")
        response, data, _ = self.call("POST", "/api/commands/account/countUsers", raw=b"{")
        self.assertJSONError(response, data, 400, "bad_request")

        async def crash():
            raise RuntimeError("secret detail")

        self.registry.register(Command(category="test", name="crash", action="read",
                                       description="d", security_policy="admin",
                                       handler=crash))
        response, data, _ = self.call("POST", "/api/commands/test/crash")
        self.assertJSONError(response, data, 500, "internal")
        self.assertNotIn("secret detail", data["message"])
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)

    def test_rest_binding_registered_later(self):
        """A command with a REST binding registered after start-up gets its route."""
        self.registry.register(echo_command(
            name="shout", args=(Arg("domain", DOMAIN), Arg("text", STRING)),
            handler=lambda domain, text: [f"{text.upper()} {domain}"],
            rest=RestBinding(method="POST", path="/shout/{domain}", body={"what": "text"}),
        ))
        response, data, _ = self.call("POST", "/api/shout/LocalHost", {"what": "hi"})
        self.assertEqual((response.code, data), (200, ["HI localhost"]))
        self.registry.unregister("test", "shout")
        response, data, _ = self.call("POST", "/api/shout/localhost", {"what": "hi"})
        self.assertJSONError(response, data, 404, "not_found")


class AuthTests(RestTestCase):
    """HTTP Basic authentication when username and password are configured."""

    options = {"username": "admin", "password": "secret"}

    def test_no_credentials_401(self):
        """Without credentials: 401, WWW-Authenticate and a JSON message."""
        response, data, _ = self.call("GET", "/api/users/localhost")
        self.assertJSONError(response, data, 401, "unauthorized")
        self.assertEqual(response.headers.getRawHeaders("www-authenticate"),
                         ['Basic realm="mongooseim"'])

    def test_wrong_credentials_401(self):
        """Wrong password, wrong user or a non-Basic scheme are 401."""
        for headers in (basic("admin", "nope"), basic("root", "secret"),
                        {"Authorization": ["Bearer secret"]},
                        {"Authorization": ["Basic !!!"]}):
            response, data, _ = self.call("GET", "/api/commands", headers=headers)
            self.assertJSONError(response, data, 401, "unauthorized")

    def test_unknown_path_needs_auth_too(self):
        """Without credentials even unknown paths answer 401."""
        response, data, _ = self.call("GET", "/api/nothing")
        self.assertJSONError(response, data, 401, "unauthorized")

    def test_right_credentials(self):
        """The configured credentials are accepted."""
        response, data, _ = self.call("GET", "/api/users/localhost",
                                      headers=basic("admin", "secret"))
        self.assertEqual((response.code, data), (200, []))


class HandlerGroupTests(RestTestCase):
    """The handlers option limits the route groups."""

    options = {"handlers": ["commands"]}

    def test_only_generic_routes(self):
        """With handlers = ["commands"], /users is not served but /commands is."""
        response, data, _ = self.call("GET", "/api/users/localhost")
        self.assertJSONError(response, data, 404, "not_found")
        response, _, _ = self.call("GET", "/api/commands")
        self.assertEqual(response.code, 200)

    def test_only_users(self):
        """With handlers = ["users"], /commands is not served."""
        api = AdminAPI(self.registry, {"handlers": ["users"]})
        client = StubTreq(api.resource())
        d = client.get("http://localhost/commands")
        client.flush()
        self.assertEqual(self.successResultOf(d).code, 404)
        d = client.get("http://localhost/users/localhost")
        client.flush()
        self.assertEqual(self.successResultOf(d).code, 200)


class FakeNode:
    """The part of mongoose.node.Node the handler uses."""

    def __init__(self, commands):
        self.commands = commands


class HandlerFactoryTests(SynchronousTestCase):
    """AdminAPIHandler as the mongoose_admin_api HTTP handler kind."""

    def test_provides_factory_interface(self):
        """The class provides IHTTPHandlerFactory and builds an IResource."""
        self.assertTrue(verifyObject(IHTTPHandlerFactory, AdminAPIHandler))
        self.assertEqual(AdminAPIHandler.name, "mongoose_admin_api")
        resource = AdminAPIHandler(ADMIN_API_OPTIONS.defaults(), FakeNode(CommandRegistry()))
        self.assertTrue(IResource.providedBy(resource))

    def test_options(self):
        """username and password go together; handlers defaults to every group."""
        errors = []
        ADMIN_API_OPTIONS.parse({"username": "admin"}, "handler", errors)
        self.assertEqual(len(errors), 1)
        self.assertIn("both", errors[0].message)
        errors = []
        ADMIN_API_OPTIONS.parse({"handlers": ["nope"]}, "handler", errors)
        self.assertEqual(len(errors), 1)
        self.assertIn("users", ADMIN_API_OPTIONS.defaults()["handlers"])


@implementer(IBodyProducer)
class _Bytes:
    """A minimal body producer for Agent."""

    def __init__(self, data: bytes):
        self.data = data
        self.length = len(data)

    def startProducing(self, consumer):
        """Write everything at once."""
        consumer.write(self.data)
        from twisted.internet import defer

        return defer.succeed(None)

    def pauseProducing(self):
        """Nothing to pause."""

    def stopProducing(self):
        """Nothing to stop."""


class LoopbackTests(TestCase):
    """The API over a real TCP socket on 127.0.0.1."""

    def setUp(self):
        self.auth = FakeAuth()
        registry = CommandRegistry()
        for command in account_commands(self.auth):
            registry.register(command)
        root = Resource()
        root.putChild(b"api", AdminAPI(registry, {"username": "admin",
                                                  "password": "secret"}).resource())
        self.port = reactor.listenTCP(0, Site(root), interface="127.0.0.1")
        self.addCleanup(self.port.stopListening)
        self.base = f"http://127.0.0.1:{self.port.getHost().port}/api"

    async def request(self, method, path, body=None, auth=True):
        """Send one request with Agent; return (code, body bytes)."""
        headers = Headers(basic("admin", "secret") if auth else {})
        producer = _Bytes(json.dumps(body).encode()) if body is not None else None
        response = await Agent(reactor).request(
            method.encode(), (self.base + path).encode(), headers, producer)
        return response.code, await readBody(response)

    async def test_register_list_delete(self):
        """Register, list and delete a user over the network."""
        code, _ = await self.request("POST", "/users/localhost", {"username": "alice",
                                                                  "password": "p"})
        self.assertEqual(code, 201)
        code, body = await self.request("GET", "/users/localhost")
        self.assertEqual((code, json.loads(body)), (200, ["alice@localhost"]))
        code, body = await self.request("GET", "/users/localhost", auth=False)
        self.assertEqual((code, json.loads(body)["error"]), (401, "unauthorized"))
        code, _ = await self.request("DELETE", "/users/localhost/alice")
        self.assertEqual(code, 204)
        self.assertEqual(self.auth.users, {})
