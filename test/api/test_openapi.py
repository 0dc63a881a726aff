"""The OpenAPI document generated from REST bindings (mongoose.api.openapi) and its route."""

from __future__ import annotations

import json

from treq.testing import StubTreq
from twisted.trial.unittest import SynchronousTestCase
from twisted.web.resource import Resource

from mongoose.api.openapi import build_openapi, schema_of
from mongoose.api.rest import AdminAPI
from mongoose.commands.registry import Arg, Command, CommandRegistry, RestBinding
from mongoose.commands.types import BOOL, DOMAIN, STRING, Enum, Field, Int, Jid, ListOf, Object

ITEM = Object("Item", [Field("jid", Jid(), "The JID"), Field("note", STRING, optional=True)])


def widget_command(**changes) -> Command:
    """A command defined only in this test, bound to ``PUT /widgets/{domain}``."""

    async def handler(domain, size, colour="red", verbose=False):
        return [{"jid": f"w{size}@{domain}", "note": colour}]

    fields = dict(
        category="widget", name="makeWidget", action="create", description="Make a widget",
        security_policy="admin", handler=handler, result=ListOf(ITEM),
        args=(Arg("domain", DOMAIN), Arg("size", Int(min=1, max=9), "How big"),
              Arg("colour", Enum("red", "blue"), default="red"),
              Arg("verbose", BOOL, default=False)),
        rest=RestBinding(method="PUT", path="/widgets/{domain}", body={"size": "size",
                         "colour": "colour"}, query={"verbose": "verbose"}, result="jid",
                         status=201, group="users"),
    )
    fields.update(changes)
    return Command(**fields)


class SchemaTests(SynchronousTestCase):
    """Command types map to JSON Schema."""

    def test_types(self):
        """Bounded ints, enums, lists and objects keep their constraints."""
        self.assertEqual(schema_of(Int(min=1, max=9)),
                         {"type": "integer", "minimum": 1, "maximum": 9})
        self.assertEqual(schema_of(Enum("a", "b")), {"type": "string", "enum": ["a", "b"]})
        self.assertEqual(schema_of(ListOf(BOOL)), {"type": "array", "items": {"type": "boolean"}})
        item = schema_of(ITEM)
        self.assertEqual(item["required"], ["jid"])
        self.assertTrue(item["properties"]["note"]["nullable"])


class DocumentTests(SynchronousTestCase):
    """A command added in a test appears in the document with no other code."""

    def setUp(self):
        self.registry = CommandRegistry()
        self.registry.register(widget_command())
        self.api = AdminAPI(self.registry, {"path": "/api"})
        root = Resource()
        root.putChild(b"api", self.api.resource())
        self.client = StubTreq(root)

    def get(self, method, path, body=None):
        """Make a request; return (status, decoded JSON or None)."""
        kwargs = {"data": json.dumps(body).encode()} if body is not None else {}
        d = self.client.request(method, "http://localhost/api" + path, **kwargs)
        self.client.flush()
        response = self.successResultOf(d)
        content = self.successResultOf(self.client.content(response))
        return response.code, (json.loads(content) if content else None)

    def test_operation(self):
        """Path, query and body parameters, result and errors come from the binding."""
        status, document = self.get("GET", "/openapi.json")
        self.assertEqual(status, 200)
        self.assertEqual(document["servers"], [{"url": "/api"}])
        operation = document["paths"]["/widgets/{domain}"]["put"]
        self.assertEqual(operation["operationId"], "widget.makeWidget")
        params = {(p["in"], p["name"]): p for p in operation["parameters"]}
        self.assertTrue(params[("path", "domain")]["required"])
        self.assertEqual(params[("query", "verbose")]["schema"], {"type": "boolean"})
        body = operation["requestBody"]["content"]["application/json"]["schema"]
        self.assertEqual(body["required"], ["size"])
        self.assertEqual(body["properties"]["colour"]["enum"], ["red", "blue"])
        self.assertFalse(body["additionalProperties"])
        created = operation["responses"]["201"]["content"]["application/json"]["schema"]
        self.assertEqual(created, {"type": "array", "items": {"type": "string", "format": "jid"}})
        self.assertIn("400", operation["responses"])
        self.assertIn("/commands", document["paths"])

    def test_list_result_field(self):
        """``result`` naming a field of list items sends that field of each item."""
        status, data = self.get("PUT", "/widgets/localhost", {"size": 3})
        self.assertEqual((status, data), (201, ["w3@localhost"]))

    def test_handlers_and_auth(self):
        """Route groups left out of ``handlers`` are left out; auth adds a security scheme."""
        document = build_openapi(self.registry.list(), groups=["sessions"], auth=True)
        self.assertNotIn("/widgets/{domain}", document["paths"])
        self.assertNotIn("/commands", document["paths"])
        self.assertEqual(document["security"], [{"basicAuth": []}])
        api = AdminAPI(self.registry, {"handlers": ["sessions"]})
        self.assertEqual(api.openapi()["paths"], {})
