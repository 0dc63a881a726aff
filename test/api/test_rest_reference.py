"""Our admin and client REST APIs against MongooseIM 6.5's own Swagger specs (issue 5).

MongooseIM documents its REST APIs in ``Administration-backend_swagger.yml``
and ``Client-frontend_swagger.yml`` (tag 6.5.0, kept in the shared reference
folder, not in this repository).  Clients written against those documents
must work unchanged here, so:

* :class:`AdminDocumentTests` and :class:`ClientDocumentTests` start a node,
  read the OpenAPI documents it serves over a real socket, and compare every
  operation of the reference spec that belongs to a handler we implement:
  path (with its parameter names), method, path and query parameters, JSON
  body fields (names, JSON types, required-ness where the spec states it),
  success statuses, documented error statuses and the JSON type of the success
  body.  All differences are reported together in one failure message.
  Deliberate differences sit in the commented allow-lists below; an entry
  that no longer matches anything fails the test too, so the lists stay true.
* :class:`AdminResponseTests` and :class:`ClientResponseTests` call the key
  routes exactly as the specs document them and validate the JSON answers
  against the specs' response schemas (``jsonschema_rs``, which comes with
  schemathesis in the ``test`` extra).
"""

from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass, field
from typing import Any

import treq
from twisted.internet import reactor
from twisted.trial.unittest import SkipTest, SynchronousTestCase, TestCase

from mongoose.config.loader import parse_config
from mongoose.extensions import ExtensionRegistry
from mongoose.node import Node
from test.modules.nodes import RecordingSession
from test.support.processes import free_port

try:
    import yaml
except ImportError:  # pragma: no cover - PyYAML comes with schemathesis (test extra)
    yaml = None
try:
    import jsonschema_rs
except ImportError:  # pragma: no cover - comes with schemathesis (test extra)
    jsonschema_rs = None


def _reference_dir() -> str:
    """The folder of MongooseIM's REST specs in the shared reference material."""
    here = os.path.dirname(os.path.abspath(__file__))
    candidate = os.path.join(here, *[os.pardir] * 3, "shared", "reference", "mongooseim",
                             "rest-api")
    if os.path.isdir(candidate):
        return os.path.normpath(candidate)
    return "/work/shared/reference/mongooseim/rest-api"


REFERENCE = _reference_dir()
ADMIN_SPEC = os.path.join(REFERENCE, "Administration-backend_swagger.yml")
CLIENT_SPEC = os.path.join(REFERENCE, "Client-frontend_swagger.yml")

# -- scope and deliberate differences -----------------------------------------------------

#: Admin spec operations we do not serve, by path prefix or (METHOD, path), with the reason.
ADMIN_NOT_SERVED: dict[Any, str] = {
    "/muc-lights": "MUC Light is not implemented (the muc_light handler serves nothing)",
    "/mucs": "MUC is not implemented (the muc handler serves nothing)",
    "/inbox": "inbox is not implemented (the inbox handler serves nothing)",
    ("GET", "/messages/{owner}"): "the message archive (mod_mam) is not implemented",
    ("GET", "/messages/{owner}/{with}"): "the message archive (mod_mam) is not implemented",
}

#: Client spec operations we do not serve, with the reason.
CLIENT_NOT_SERVED: dict[Any, str] = {
    "/rooms": "MUC Light is not implemented (the rooms* handlers serve nothing)",
    ("GET", "/messages"): "the message archive (mod_mam) is not implemented",
    ("GET", "/messages/{with}"): "the message archive (mod_mam) is not implemented",
}

#: (METHOD, path, kind, detail) -> why we differ on purpose.
ADMIN_ALLOWED: dict[tuple[str, str, str, str], str] = {
    ("GET", "/users/{XMPPHost}", "extra query parameter", "limit"):
        "optional paging, as GraphQL listUsers has it; without it the whole list is sent",
    ("GET", "/users/{XMPPHost}", "extra query parameter", "index"):
        "optional paging, as GraphQL listUsers has it; without it the whole list is sent",
}

#: Same for the client API.
CLIENT_ALLOWED: dict[tuple[str, str, str, str], str] = {
    ("GET", "/sse", "undocumented error status", "403"):
        "every authenticated user may open the stream here, so 403 is never sent",
}

#: Behaviour (not document) differences, checked in the response tests below:
#: * POST /users/{XMPPHost} for an existing user answers 409 ``conflict`` (issue 5 asks
#:   for it); MongooseIM 6.5 answers 403.
#: * Errors are JSON ``{"error", "message"}``; MongooseIM 6.5 sends the message as text.


# -- the two documents, reduced to what a client depends on ------------------------------

@dataclass
class Operation:
    """What a client relies on in one operation, from either kind of document."""

    path_params: set[str] = field(default_factory=set)
    #: query parameter -> required
    query: dict[str, bool] = field(default_factory=dict)
    #: JSON body field -> JSON type ("" when not stated); None when there is no body
    body: dict[str, str] | None = None
    #: required body fields, or None when the document does not say
    required: set[str] | None = None
    success: set[int] = field(default_factory=set)
    errors: set[int] = field(default_factory=set)
    #: JSON type of the success body ("" when not stated)
    success_type: str = ""
    default_response: bool = False


def _deref(spec: dict[str, Any], node: Any) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        _, section, name = node["$ref"].split("/")
        node = spec[section][name]
    return node


def _json_type(spec: dict[str, Any], schema: Any) -> str:
    schema = _deref(spec, schema) or {}
    if "type" in schema:
        return str(schema["type"])
    return "object" if "properties" in schema else ""


def swagger_operations(spec: dict[str, Any]) -> dict[tuple[str, str], Operation]:
    """The operations of a Swagger 2.0 document.

    A body parameter whose schema is not an object (``PUT /contacts/...``:
    ``name: action, schema: {type: string, enum: [...]}``) stands for a JSON
    object with one field of that name: MongooseIM reads ``{"action": "invite"}``.
    """
    found: dict[tuple[str, str], Operation] = {}
    for path, item in spec["paths"].items():
        shared = [_deref(spec, p) for p in item.get("parameters", ())]
        for method, raw in item.items():
            if method == "parameters":
                continue
            op = Operation()
            for param in shared + [_deref(spec, p) for p in raw.get("parameters", ())]:
                where = param["in"]
                if where == "path":
                    op.path_params.add(param["name"])
                elif where == "query":
                    op.query[param["name"]] = bool(param.get("required", False))
                elif where == "body":
                    schema = _deref(spec, param.get("schema", {}))
                    op.body = op.body or {}
                    if "properties" in schema or schema.get("type") == "object":
                        for name, prop in schema.get("properties", {}).items():
                            op.body[name] = _json_type(spec, prop)
                        if "required" in schema:
                            op.required = (op.required or set()) | set(schema["required"])
                    else:
                        op.body[param["name"]] = _json_type(spec, schema)
            for code, response in raw.get("responses", {}).items():
                if code == "default":
                    op.default_response = True
                elif 200 <= int(code) < 300:
                    op.success.add(int(code))
                    if int(code) != 204 and "schema" in response:
                        op.success_type = _json_type(spec, response["schema"])
                elif 400 <= int(code) < 500:
                    op.errors.add(int(code))
            found[(method.upper(), path)] = op
    return found


def openapi_operations(document: dict[str, Any]) -> dict[tuple[str, str], Operation]:
    """The operations of an OpenAPI 3.0 document we serve."""
    found: dict[tuple[str, str], Operation] = {}
    for path, item in document["paths"].items():
        for method, raw in item.items():
            op = Operation()
            for param in raw.get("parameters", ()):
                if param["in"] == "path":
                    op.path_params.add(param["name"])
                elif param["in"] == "query":
                    op.query[param["name"]] = bool(param.get("required", False))
            body = raw.get("requestBody")
            if body is not None:
                schema = body["content"]["application/json"]["schema"]
                op.body = {name: prop.get("type", "")
                           for name, prop in schema.get("properties", {}).items()}
                op.required = set(schema.get("required", ()))
            for code, response in raw["responses"].items():
                status = int(code)
                if 200 <= status < 300:
                    op.success.add(status)
                    content = response.get("content", {}).get("application/json")
                    if content is not None and status != 204:
                        op.success_type = content["schema"].get("type", "")
                elif 400 <= status < 500:
                    op.errors.add(status)
            found[(method.upper(), path)] = op
    return found


def _not_served(key: tuple[str, str], not_served: dict[Any, str]) -> bool:
    if key in not_served:
        return True
    return any(isinstance(k, str) and (key[1] == k or key[1].startswith(k + "/"))
               for k in not_served)


def compare(spec: dict[tuple[str, str], Operation], ours: dict[tuple[str, str], Operation],
            not_served: dict[Any, str]) -> list[tuple[str, str, str, str, str]]:
    """Every difference, as (METHOD, path, kind, detail, explanation)."""
    diffs: list[tuple[str, str, str, str, str]] = []
    for key, want in sorted(spec.items()):
        if _not_served(key, not_served):
            continue
        method, path = key
        got = ours.get(key)

        def diff(kind: str, detail: Any, text: str) -> None:
            diffs.append((method, path, kind, str(detail), text))  # noqa: B023

        if got is None:
            diff("missing operation", "", "not in our document")
            continue
        if got.path_params != want.path_params:
            diff("path parameters", "", f"spec {sorted(want.path_params)}, "
                 f"ours {sorted(got.path_params)}")
        for name, required in want.query.items():
            if name not in got.query:
                diff("missing query parameter", name, "")
            elif got.query[name] != required:
                diff("query parameter required", name, f"spec {required}, ours {got.query[name]}")
        for name, required in got.query.items():
            if name not in want.query:
                diff("extra query parameter", name, "required" if required else "optional")
        if (want.body is None) != (got.body is None):
            diff("request body", "", f"spec {want.body}, ours {got.body}")
        elif want.body is not None and got.body is not None:
            for name, kind in want.body.items():
                if name not in got.body:
                    diff("missing body field", name, "")
                elif kind and got.body[name] != kind:
                    diff("body field type", name, f"spec {kind}, ours {got.body[name]}")
            for name in got.body:
                if name not in want.body:
                    diff("extra body field", name, "")
            if want.required is not None and want.required != (got.required or set()):
                diff("required body fields", "", f"spec {sorted(want.required)}, "
                     f"ours {sorted(got.required or ())}")
        if want.success or not want.default_response:
            if want.success != got.success:
                diff("success statuses", "", f"spec {sorted(want.success)}, "
                     f"ours {sorted(got.success)}")
        for status in sorted(want.errors - got.errors):
            diff("undocumented error status", status, "documented by the spec, not by us")
        if want.success_type and got.success_type != want.success_type:
            diff("success body type", "", f"spec {want.success_type}, "
                 f"ours {got.success_type or 'none'}")
    return diffs


def _load_yaml(path: str) -> dict[str, Any]:
    if yaml is None:
        raise SkipTest("PyYAML is not installed (pip install -e '.[test]')")
    if not os.path.exists(path):
        raise SkipTest(f"the MongooseIM reference spec {path} is not available")
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


# -- a node serving both APIs on real sockets ---------------------------------------------

CONFIG = """
[general]
  hosts = ["localhost"]
  host_types = ["type1"]
  default_server_domain = "localhost"
  data_dir = "{data}"

[auth.internal]

[[listen.http]]
  ip_address = "127.0.0.1"
  port = {admin_port}
  [[listen.http.handlers.mongoose_admin_api]]
    host = "_"
    path = "/api"
    username = "admin"
    password = "secret"

[[listen.http]]
  ip_address = "127.0.0.1"
  port = {client_port}
  [[listen.http.handlers.mongoose_client_api]]
    host = "_"
    path = "/api"

[modules.mod_presence]
[modules.mod_roster]
[modules.mod_offline]
"""


def _basic(user: str, password: str) -> dict[str, list[str]]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": [f"Basic {token}"]}


class NodeTestCase(TestCase):
    """A started node with the admin API (``admin:secret``) and the client API."""

    async def start(self) -> None:
        """Start the node with both listeners and register alice, bob and carol."""
        admin_port, client_port = free_port(), free_port()
        data = os.path.abspath(self.mktemp())
        config = parse_config(CONFIG.format(data=data, admin_port=admin_port,
                                            client_port=client_port))
        self.node = Node(config, reactor=reactor, extensions=ExtensionRegistry())
        self.node.startService()
        await self.node.ready
        self.addCleanup(self.node.stopService)
        for user in ("alice", "bob", "carol"):
            await self.node.auth.register(user, "localhost", "secret")
        self.admin = f"http://127.0.0.1:{admin_port}/api"
        self.client = f"http://127.0.0.1:{client_port}/api"

    async def request(self, method: str, url: str, body: Any = None,
                      auth: tuple[str, str] = ("admin", "secret")):
        """One request; return (status, decoded JSON or None, response)."""
        kwargs: dict[str, Any] = {"headers": {"Content-Type": ["application/json"],
                                              **_basic(*auth)}}
        if body is not None:
            kwargs["data"] = json.dumps(body).encode()
        response = await treq.request(method, url, persistent=False, **kwargs)
        content = await treq.content(response)
        return response.code, (json.loads(content) if content else None), response


class _DocumentComparison:
    """Mixin: compare one reference spec with the document one of our APIs serves."""

    spec_path = ""
    not_served: dict[Any, str] = {}
    allowed: dict[tuple[str, str, str, str], str] = {}
    #: the (METHOD, path) operations of the spec we serve and compare
    compared: list[tuple[str, str]] = []

    async def served_document(self) -> dict[str, Any]:
        """The OpenAPI document as served over the socket."""
        raise NotImplementedError

    async def test_matches_reference(self):
        """Every served operation of the reference spec has the same shape in our document."""
        spec = _load_yaml(self.spec_path)
        await self.start()
        ours = openapi_operations(await self.served_document())
        diffs = compare(swagger_operations(spec), ours, self.not_served)
        unexpected = [d for d in diffs if d[:4] not in self.allowed]
        used = {d[:4] for d in diffs}
        stale = [key for key in self.allowed if key not in used]
        lines = [f"{m} {p}: {kind} {detail} {text}".rstrip() for m, p, kind, detail, text
                 in unexpected]
        lines += [f"allow-list entry no longer needed: {key}" for key in stale]
        self.assertEqual(lines, [], "\n" + "\n".join(lines))

    async def test_every_spec_operation_accounted_for(self):
        """Every reference operation is compared or listed as not served (with a reason)."""
        spec = _load_yaml(self.spec_path)
        operations = swagger_operations(spec)
        for key in self.not_served:
            matched = [op for op in operations
                       if (op == key if isinstance(key, tuple) else
                           op[1] == key or op[1].startswith(key + "/"))]
            self.assertTrue(matched, f"not-served entry {key} matches no spec operation")
        compared = [op for op in operations if not _not_served(op, self.not_served)]
        self.assertEqual(sorted(compared), sorted(self.compared))


class AdminDocumentTests(_DocumentComparison, NodeTestCase):
    """The admin document against ``Administration-backend_swagger.yml``."""

    spec_path = ADMIN_SPEC
    not_served = ADMIN_NOT_SERVED
    allowed = ADMIN_ALLOWED
    compared = [
        ("GET", "/users/{XMPPHost}"), ("POST", "/users/{XMPPHost}"),
        ("PUT", "/users/{XMPPHost}/{username}"), ("DELETE", "/users/{XMPPHost}/{username}"),
        ("GET", "/sessions/{XMPPHost}"), ("DELETE", "/sessions/{XMPPHost}/{username}/{resource}"),
        ("POST", "/messages"), ("POST", "/stanzas"),
        ("GET", "/contacts/{user}"), ("POST", "/contacts/{user}"),
        ("PUT", "/contacts/{user}/{contact}"), ("DELETE", "/contacts/{user}/{contact}"),
        ("PUT", "/contacts/{user}/{contact}/manage"),
        ("GET", "/domains/{domain}"), ("PUT", "/domains/{domain}"),
        ("PATCH", "/domains/{domain}"), ("DELETE", "/domains/{domain}"),
        ("GET", "/metrics/"), ("GET", "/metrics/all"), ("GET", "/metrics/all/{metric}"),
        ("GET", "/metrics/host_type/{hostType}"), ("GET", "/metrics/host_type/{hostType}/{metric}"),
        ("GET", "/metrics/global"), ("GET", "/metrics/global/{metric}"),
    ]

    async def served_document(self) -> dict[str, Any]:
        """GET /api/openapi.json of the admin listener."""
        status, document, _ = await self.request("GET", self.admin + "/openapi.json")
        self.assertEqual(status, 200)
        return document


class ClientDocumentTests(_DocumentComparison, NodeTestCase):
    """The client document against ``Client-frontend_swagger.yml``."""

    spec_path = CLIENT_SPEC
    not_served = CLIENT_NOT_SERVED
    allowed = CLIENT_ALLOWED
    compared = [
        ("POST", "/messages"), ("GET", "/contacts"), ("POST", "/contacts"),
        ("DELETE", "/contacts"), ("PUT", "/contacts/{contact}"),
        ("DELETE", "/contacts/{contact}"), ("GET", "/sse"),
    ]

    async def served_document(self) -> dict[str, Any]:
        """GET /api/openapi.json of the client listener."""
        status, document, _ = await self.request("GET", self.client + "/openapi.json")
        self.assertEqual(status, 200)
        return document



class CompareTests(SynchronousTestCase):
    """The comparison itself notices each kind of difference (so the tests above can fail)."""

    def test_differences_found(self):
        """A renamed path variable, a missing field, a wrong type and status are all reported."""
        spec = {"/things/{XMPPHost}": {"put": {
            "parameters": [{"name": "XMPPHost", "in": "path", "required": True},
                           {"name": "x", "in": "body", "schema": {"properties": {
                               "a": {"type": "string"}, "b": {"type": "boolean"}}}}],
            "responses": {"204": {"description": ""}, "404": {"description": ""}}}}}
        ours = {"paths": {"/things/{XMPPHost}": {"put": {
            "parameters": [{"name": "domain", "in": "path", "required": True}],
            "requestBody": {"content": {"application/json": {"schema": {"properties": {
                "a": {"type": "integer"}, "c": {"type": "string"}}}}}},
            "responses": {"200": {"description": ""}}}}}}
        diffs = compare(swagger_operations({"paths": spec}), openapi_operations(ours), {})
        self.assertEqual([d[2:4] for d in diffs], [
            ("path parameters", ""), ("body field type", "a"), ("missing body field", "b"),
            ("extra body field", "c"), ("success statuses", ""),
            ("undocumented error status", "404")])


# -- response bodies over the socket, validated against the specs' schemas ----------------

class _SchemaCheck:
    """Mixin: validate a decoded JSON body against a schema of a reference spec."""

    spec_path = ""

    def load_spec(self) -> None:
        """Read the reference spec (skip when it or the validator is missing)."""
        if jsonschema_rs is None:
            raise SkipTest("jsonschema_rs is not installed (pip install -e '.[test]')")
        self.spec = _load_yaml(self.spec_path)

    def assertMatchesSpec(self, data: Any, method: str, path: str, status: int) -> None:
        """``data`` is valid under the spec's response schema of (method, path, status)."""
        response = self.spec["paths"][path][method.lower()]["responses"][status]
        schema = {**response["schema"], "definitions": self.spec.get("definitions", {})}
        errors = [str(e) for e in jsonschema_rs.Draft4Validator(schema).iter_errors(data)]
        self.assertEqual(errors, [], f"{method} {path} -> {data!r}")


class AdminResponseTests(_SchemaCheck, NodeTestCase):
    """Admin routes called as the spec documents them; bodies match its schemas."""

    spec_path = ADMIN_SPEC

    async def test_users(self):
        """POST, GET, PUT and DELETE /users/{XMPPHost} with the spec's bodies."""
        self.load_spec()
        await self.start()
        status, data, response = await self.request(
            "POST", self.admin + "/users/localhost", {"username": "dave", "password": "makota"})
        self.assertEqual(status, 201)
        self.assertMatchesSpec(data, "POST", "/users/{XMPPHost}", 201)
        self.assertEqual(data, "User dave@localhost successfully registered")
        self.assertEqual(response.headers.getRawHeaders("location"),
                         ["/api/users/localhost/dave"])
        # Deliberate difference (issue 5): an existing user is 409, MongooseIM 6.5 said 403.
        status, data, _ = await self.request(
            "POST", self.admin + "/users/localhost", {"username": "dave", "password": "x"})
        self.assertEqual((status, data["error"]), (409, "conflict"))
        status, data, _ = await self.request("GET", self.admin + "/users/localhost")
        self.assertEqual(status, 200)
        self.assertMatchesSpec(data, "GET", "/users/{XMPPHost}", 200)
        self.assertEqual(data, ["alice@localhost", "bob@localhost", "carol@localhost",
                                "dave@localhost"])
        status, _, _ = await self.request("PUT", self.admin + "/users/localhost/dave",
                                          {"newpass": "kot"})
        self.assertEqual(status, 204)
        self.assertTrue(await self.node.auth.check_password("dave", "localhost", "kot"))
        self.assertEqual((await self.request("DELETE", self.admin + "/users/localhost/dave"))[0],
                         204)

    async def test_sessions(self):
        """GET /sessions/{XMPPHost} lists full JIDs; DELETE .../{username}/{resource} kicks."""
        self.load_spec()
        await self.start()
        session = RecordingSession()
        self.node.sessions.bind(session, "alice", "localhost", "phone")
        status, data, _ = await self.request("GET", self.admin + "/sessions/localhost")
        self.assertEqual(status, 200)
        self.assertMatchesSpec(data, "GET", "/sessions/{XMPPHost}", 200)
        self.assertEqual(data, ["alice@localhost/phone"])
        status, data, _ = await self.request("DELETE",
                                             self.admin + "/sessions/localhost/alice/phone")
        self.assertEqual((status, data), (204, None))
        self.assertIsNotNone(session.closed)

    async def test_contacts(self):
        """The /contacts/{user} routes with the spec's bodies; GET lists ContactDetails."""
        self.load_spec()
        await self.start()
        base = self.admin + "/contacts/alice@localhost"
        self.assertEqual((await self.request("POST", base, {"jid": "bob@localhost"}))[0], 204)
        self.assertEqual((await self.request("PUT", base + "/bob@localhost",
                                             {"action": "invite"}))[0], 204)
        status, data, _ = await self.request("GET", base)
        self.assertEqual(status, 200)
        self.assertMatchesSpec(data, "GET", "/contacts/{user}", 200)
        self.assertEqual(data, [{"jid": "bob@localhost", "subscription": "none",
                                 "ask": "out"}])
        self.assertEqual((await self.request("PUT", base + "/carol@localhost/manage",
                                             {"action": "connect"}))[0], 204)
        _, data, _ = await self.request("GET", base)
        self.assertIn({"jid": "carol@localhost", "subscription": "both", "ask": "none"}, data)
        self.assertEqual((await self.request("DELETE", base + "/bob@localhost"))[0], 204)
        status, data, _ = await self.request("DELETE", base + "/bob@localhost")
        self.assertEqual((status, data["error"]), (404, "not_found"))

    async def test_messages_and_stanzas(self):
        """POST /messages and POST /stanzas deliver and answer 204."""
        self.load_spec()
        await self.start()
        session = RecordingSession()
        self.node.sessions.bind(session, "bob", "localhost", "phone")
        session.priority = 0
        status, _, _ = await self.request("POST", self.admin + "/messages", {
            "caller": "alice@localhost", "to": "bob@localhost", "body": "Hi Rabbit!"})
        self.assertEqual(status, 204)
        status, _, _ = await self.request("POST", self.admin + "/stanzas", {
            "stanza": "<message from='alice@localhost' to='bob@localhost/phone'>"
                      "<body>whatever</body></message>"})
        self.assertEqual(status, 204)
        bodies = [str(child) for stanza in session.received if stanza.name == "message"
                  for child in stanza.elements() if child.name == "body"]
        self.assertEqual(bodies, ["Hi Rabbit!", "whatever"])

    async def test_domains(self):
        """GET answers {"host_type", "status"}; DELETE with "request": true answers 202."""
        self.load_spec()
        await self.start()
        url = self.admin + "/domains/dyn.example"
        self.assertEqual((await self.request("PUT", url, {"host_type": "type1"}))[0], 204)
        self.assertEqual((await self.request("GET", url))[:2],
                         (200, {"host_type": "type1", "status": "enabled"}))
        self.assertEqual((await self.request("PATCH", url, {"enabled": False}))[0], 204)
        self.assertEqual((await self.request("GET", url))[1]["status"], "disabled")
        status, data, _ = await self.request("DELETE", url, {"host_type": "type1",
                                                             "request": "yes"})
        self.assertEqual((status, data["error"]), (400, "bad_request"))
        self.assertEqual((await self.request("DELETE", url, {"host_type": "type1",
                                                             "request": True}))[:2],
                         (202, None))
        status, data, _ = await self.request("GET", url)
        self.assertEqual((status, data["error"]), (404, "not_found"))
        self.assertEqual((await self.request("PUT", url, {"host_type": "type1"}))[0], 204)
        self.assertEqual((await self.request("DELETE", url, {"host_type": "type1",
                                                             "request": False}))[0], 204)

    async def test_metrics(self):
        """GET /metrics/ (also without the slash), /metrics/all and /metrics/global."""
        self.load_spec()
        await self.start()
        for path in ("/metrics/", "/metrics"):
            status, data, _ = await self.request("GET", self.admin + path)
            self.assertEqual(status, 200, path)
            self.assertMatchesSpec(data, "GET", "/metrics/", 200)
            self.assertEqual(sorted(data), ["global", "host_types", "metrics"])
        for path in ("/metrics/all", "/metrics/global"):
            status, data, _ = await self.request("GET", self.admin + path)
            self.assertEqual(status, 200, path)
            # The spec's schema of /metrics/global is malformed (its "properties" hold
            # "type" and "example"); MongooseIM answers {"metrics": {...}} there too.
            self.assertMatchesSpec(data, "GET", "/metrics/all", 200)
            self.assertIsInstance(data["metrics"], dict)
        status, data, _ = await self.request("GET", self.admin + "/metrics/global/nope")
        self.assertEqual((status, data["error"]), (404, "not_found"))


class ClientResponseTests(_SchemaCheck, NodeTestCase):
    """Client routes called as the spec documents them; bodies match its schemas."""

    spec_path = CLIENT_SPEC
    alice = ("alice@localhost", "secret")

    async def test_send_message(self):
        """POST /messages answers 200 with a ResourceID."""
        self.load_spec()
        await self.start()
        status, data, _ = await self.request("POST", self.client + "/messages",
                                             {"to": "bob@localhost", "body": "Hello Bob!"},
                                             auth=self.alice)
        self.assertEqual(status, 200)
        self.assertMatchesSpec(data, "POST", "/messages", 200)
        self.assertTrue(data["id"])

    async def test_contacts(self):
        """POST, GET, PUT and both DELETE forms of /contacts with the spec's bodies."""
        self.load_spec()
        await self.start()
        url = self.client + "/contacts"
        for jid in ("bob@localhost", "carol@localhost"):
            status, _, _ = await self.request("POST", url, {"jid": jid}, auth=self.alice)
            self.assertEqual(status, 204)
        status, data, _ = await self.request("GET", url, auth=self.alice)
        self.assertEqual(status, 200)
        self.assertMatchesSpec(data, "GET", "/contacts", 200)
        self.assertEqual(data, [
            {"jid": "bob@localhost", "subscription": "none", "ask": "none"},
            {"jid": "carol@localhost", "subscription": "none", "ask": "none"}])
        status, _, _ = await self.request("PUT", url + "/bob@localhost", {"action": "invite"},
                                          auth=self.alice)
        self.assertEqual(status, 204)
        # Documented: 404 when the contact is not in the user's roster.
        status, data, _ = await self.request("PUT", url + "/dave@localhost",
                                             {"action": "invite"}, auth=self.alice)
        self.assertEqual((status, data["error"]), (404, "not_found"))
        status, data, _ = await self.request(
            "DELETE", url, {"to_delete": ["bob@localhost", "dave@localhost"]}, auth=self.alice)
        self.assertEqual(status, 200)
        self.assertMatchesSpec(data, "DELETE", "/contacts", 200)
        self.assertEqual(data, {"not_deleted": ["dave@localhost"]})
        status, data, _ = await self.request("DELETE", url, {"to_delete": ["@@"]},
                                             auth=self.alice)
        self.assertEqual((status, data["error"]), (400, "bad_request"))
        self.assertEqual((await self.request("DELETE", url + "/carol@localhost",
                                             auth=self.alice))[0], 204)
        status, data, _ = await self.request("DELETE", url + "/carol@localhost",
                                             auth=self.alice)
        self.assertEqual((status, data["error"]), (404, "not_found"))
        self.assertEqual((await self.request("GET", url, auth=self.alice))[1], [])
