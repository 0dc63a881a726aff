"""The client REST API (MongooseIM ``mongoose_client_api``), over the command registry.

MongooseIM's ``Client-frontend_swagger.yml`` routes for a logged-in user,
relative to the handler's mount point:

* ``POST /messages`` (``{"to", "body"}``): send a chat message as the user;
* ``GET /contacts`` (``[{"jid", "subscription", "ask"}]``),
  ``POST /contacts`` (``{"jid"}``),
  ``DELETE /contacts`` (``{"to_delete": [jid]}`` -> ``{"not_deleted": [jid]}``),
  ``PUT /contacts/{contact}`` (``{"action": "invite"|"accept"}``; 404 when
  the contact is not in the roster), ``DELETE /contacts/{contact}``: the
  user's roster;
* ``GET /sse``: a Server-Sent Events stream (W3C EventSource) of the user's
  incoming chat messages, one ``event: message`` per message;
* ``GET /openapi.json``: the document of these routes, and with
  ``docs = true`` Swagger UI at ``/api-docs/`` from the ``swagger-ui-bundle``
  package.

Every route but the docs needs HTTP Basic authentication with the user's
bare JID and password, checked by the node's auth backend (constant time).
Each route runs a registry command (``stanza``/``roster``), so the same
validation and errors apply as on the admin API.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import secrets
import time
from collections.abc import Mapping
from typing import Any

from klein import Klein
from twisted.internet import defer
from twisted.logger import Logger
from twisted.web.resource import Resource
from twisted.web.static import File
from werkzeug.exceptions import HTTPException
from zope.interface import implementer, provider

from mongoose.api.rest import _HTTPError, _read_json_object, _write_error, _write_json
from mongoose.commands.caller import Caller
from mongoose.commands.defs.roster import REST_CONTACTS_SCHEMA, rest_contacts
from mongoose.commands.errors import CommandError
from mongoose.config.schema import Bool, Field, ListOf, Section
from mongoose.config.schema import Enum as EnumSpec
from mongoose.config.sections.http_handlers import CLIENT_API_HANDLERS
from mongoose.interfaces import IHTTPHandlerFactory
from mongoose.router.interfaces import ISession
from mongoose.xmpp.jid import JID, InvalidJID

__all__ = ["CLIENT_API_OPTIONS", "CLIENT_GROUPS", "ClientAPI", "ClientAPIHandler", "SSESession"]

log = Logger()

#: Route groups of the ``handlers`` option.
CLIENT_GROUPS = ("messages", "contacts", "sse")

CLIENT_API_OPTIONS = Section(
    {
        "handlers": Field(
            ListOf(EnumSpec(*CLIENT_API_HANDLERS), unique=True),
            default=list(CLIENT_API_HANDLERS),
            doc="route groups to serve (default: all; ``rooms*`` wait for MUC Light)",
        ),
        "docs": Field(Bool(), default=True, doc="serve Swagger UI at /api-docs"),
    },
    doc="MongooseIM client REST API",
)

_REALM = b'Basic realm="mongooseim client"'

_ERROR = {"$ref": "#/components/schemas/Error"}
_JID_LIST = {"type": "array", "items": {"type": "string"}}


def _json_body(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": {
        "type": "object", "properties": properties, "required": required}}}}


def _responses(status: int, schema: dict[str, Any] | None = None,
               errors: tuple[tuple[int, str], ...] = ((400, "Bad arguments"),
                                                      (404, "Unknown contact"))
               ) -> dict[str, Any]:
    ok: dict[str, Any] = {"description": "Success"}
    if schema is not None:
        ok["content"] = {"application/json": {"schema": schema}}
    answers = {str(code): {"description": text,
                           "content": {"application/json": {"schema": _ERROR}}}
               for code, text in ((401, "Missing or wrong credentials"), *errors)}
    return {str(status): ok, **dict(sorted(answers.items()))}


_CONTACT_PARAM = [{"name": "contact", "in": "path", "required": True,
                   "schema": {"type": "string"}}]

#: group -> path -> method -> OpenAPI operation.
_OPERATIONS: dict[str, dict[str, dict[str, Any]]] = {
    "messages": {"/messages": {"post": {
        "summary": "Send a chat message as the user",
        "requestBody": _json_body({"to": {"type": "string"}, "body": {"type": "string"}},
                                  ["to", "body"]),
        "responses": _responses(200, {"type": "object",
                                      "properties": {"id": {"type": "string"}}}),
    }}},
    "contacts": {
        "/contacts": {
            "get": {"summary": "The user's contacts",
                    "responses": _responses(200, REST_CONTACTS_SCHEMA, errors=())},
            "post": {"summary": "Add a contact",
                     "requestBody": _json_body({"jid": {"type": "string"}}, ["jid"]),
                     "responses": _responses(204)},
            "delete": {"summary": "Remove several contacts",
                       "requestBody": _json_body({"to_delete": _JID_LIST}, ["to_delete"]),
                       "responses": _responses(200, {
                           "type": "object", "required": ["not_deleted"],
                           "properties": {"not_deleted": _JID_LIST}},
                           errors=((400, "Bad arguments"),))},
        },
        "/contacts/{contact}": {
            "put": {"summary": "Manage the subscription", "parameters": _CONTACT_PARAM,
                    "requestBody": _json_body(
                        {"action": {"type": "string", "enum": ["invite", "accept"]}},
                        ["action"]),
                    "responses": _responses(204)},
            "delete": {"summary": "Remove a contact", "parameters": _CONTACT_PARAM,
                       "responses": _responses(204)},
        },
    },
    "sse": {"/sse": {"get": {
        "summary": "Server-Sent Events of incoming messages",
        "responses": {"200": {"description": "An event stream",
                              "content": {"text/event-stream": {"schema": {"type": "string"}}}},
                      "401": {"description": "Missing or wrong credentials",
                              "content": {"application/json": {"schema": _ERROR}}}},
    }}},
}


def _jid_list(value: Any, key: str) -> list[str]:
    """A JSON list of JID strings, each normalised (bare or full as given)."""
    if not isinstance(value, list):
        raise CommandError("bad_request", f"{key}: expected a list of JIDs", arg=key)
    jids: list[str] = []
    for index, item in enumerate(value):
        parsed = None
        if isinstance(item, str):
            try:
                parsed = JID.parse(item).full()
            except InvalidJID:
                pass
        if parsed is None:
            raise CommandError("bad_request", f"{key}[{index}]: not a valid JID", arg=key)
        jids.append(parsed)
    return jids


def _text_of(stanza: Any, name: str) -> str | None:
    for child in stanza.elements():
        if child.name == name:
            return str(child)
    return None


@implementer(ISession)
class SSESession:
    """A session bound for one ``GET /sse`` request; writes incoming messages as events.

    Args:
        request: the open HTTP request the events are written to.
        ended: fired with ``b""`` when the server ends the stream.
    """

    def __init__(self, request: Any, ended: defer.Deferred):
        self.request = request
        self.ended = ended
        self.jid = None
        self.priority = 0
        self.presence = None
        self.roster_requested = False
        self.info: dict[str, Any] = {"transport": "sse"}
        self.closed = False

    def deliver(self, stanza: Any) -> None:
        """Write a chat/normal message with a body as one ``message`` event."""
        if self.closed or stanza.name != "message":
            return
        body = _text_of(stanza, "body")
        if body is None or stanza.getAttribute("type") in ("error", "groupchat"):
            return
        event = {"from": stanza.getAttribute("from"), "to": stanza.getAttribute("to"),
                 "id": stanza.getAttribute("id"), "body": body,
                 "timestamp": int(time.time() * 1000)}
        data = json.dumps(event, ensure_ascii=False)
        self.request.write(f"event: message\ndata: {data}\n\n".encode())

    def close(self, condition: str, text: str | None = None) -> None:
        """End the event stream (account removed, replaced, shutdown)."""
        if not self.closed:
            self.closed = True
            if not self.ended.called:
                self.ended.callback(b"")


class ClientAPI:
    """The client REST API of one node, as an instance-scoped Klein app.

    Args:
        node: the node (``auth``, ``commands``, ``sessions``).
        options: handler options (``handlers``, ``docs``, ``path``).
    """

    def __init__(self, node: Any, options: Mapping[str, Any] | None = None):
        options = options or {}
        self.node = node
        groups = options.get("handlers")
        self.groups = tuple(g for g in (CLIENT_GROUPS if groups is None else groups)
                            if g in CLIENT_GROUPS)
        self.docs = bool(options.get("docs", True))
        self.base_path = str(options.get("path") or "/api")
        self.app = Klein()
        self.app.handle_errors(HTTPException)(self._routing_error)
        route = self.app.route
        route("/openapi.json", methods=["GET"])(self._openapi)
        if "messages" in self.groups:
            route("/messages", methods=["POST"])(self._send_message)
        if "contacts" in self.groups:
            route("/contacts", methods=["GET"], endpoint="contacts_list")(self._list_contacts)
            route("/contacts", methods=["POST"], endpoint="contacts_add")(self._add_contact)
            route("/contacts", methods=["DELETE"], endpoint="contacts_delete_many")(
                self._delete_contacts)
            route("/contacts/<contact>", methods=["PUT"], endpoint="contacts_manage")(
                self._manage_contact)
            route("/contacts/<contact>", methods=["DELETE"], endpoint="contacts_delete")(
                self._delete_contact)
        if "sse" in self.groups:
            route("/sse", methods=["GET"])(self._sse)
        if self.docs:
            route("/api-docs/", methods=["GET"], branch=True)(self._docs)

    def resource(self) -> Resource:
        """The twisted.web resource serving this API."""
        return self.app.resource()

    def openapi(self) -> dict[str, Any]:
        """The OpenAPI 3.0 document of the served routes."""
        paths: dict[str, Any] = {}
        for group in self.groups:
            for path, methods in _OPERATIONS[group].items():
                paths.setdefault(path, {}).update(methods)
        return {
            "openapi": "3.0.3",
            "info": {"title": "MongooseIM client REST API", "version": "6.5"},
            "servers": [{"url": self.base_path.rstrip("/") or "/"}],
            "paths": paths,
            "security": [{"basicAuth": []}],
            "components": {
                "securitySchemes": {"basicAuth": {"type": "http", "scheme": "basic"}},
                "schemas": {"Error": {"type": "object", "properties": {
                    "error": {"type": "string"}, "message": {"type": "string"}}}},
            },
        }

    # -- auth ---------------------------------------------------------------

    async def authenticate(self, request: Any) -> JID | None:
        """The user's bare JID from valid Basic credentials, else None."""
        header = request.getHeader(b"authorization") or b""
        scheme, _, token = header.partition(b" ")
        if scheme.lower() != b"basic":
            return None
        try:
            decoded = base64.b64decode(token.strip(), validate=True).decode("utf-8")
        except (binascii.Error, ValueError):
            return None
        name, sep, password = decoded.partition(":")
        if not sep or not password:
            return None
        try:
            jid = JID.parse(name)
        except InvalidJID:
            return None
        if not jid.user or jid.resource is not None or not self.node.serves_domain(jid.host):
            return None
        if not await self.node.auth.check_password(jid.user, jid.host, password):
            return None
        return jid

    async def _run(self, request: Any, call) -> bytes:
        """Authenticate, then run ``call(jid)``; errors become JSON."""
        jid = await self.authenticate(request)
        if jid is None:
            request.setHeader(b"www-authenticate", _REALM)
            return _write_error(request, CommandError(
                "unauthorized", "this API requires HTTP Basic authentication with your JID "
                "and password"))
        try:
            return await call(jid)
        except _HTTPError as exc:
            return _write_error(request, exc.error)
        except CommandError as error:
            return _write_error(request, error)

    # -- routes -------------------------------------------------------------

    def _openapi(self, request):
        return _write_json(request, 200, self.openapi())

    async def _execute(self, caller: Caller, category: str, name: str, args: dict[str, Any]):
        return await self.node.commands.execute(caller, category, name, args)

    def _body(self, request: Any, allowed: tuple[str, ...]) -> dict[str, Any]:
        body = _read_json_object(request)
        for key in body:
            if key not in allowed:
                raise CommandError("bad_request", f"{key}: unknown field (allowed: "
                                   f"{', '.join(allowed)})", arg=key)
        return body

    async def _send_message(self, request):
        async def call(jid: JID) -> bytes:
            body = self._body(request, ("to", "body"))
            for key in ("to", "body"):
                if key not in body:
                    raise CommandError("bad_request", f"{key}: missing", arg=key)
            # The sender is the authenticated user, so running as admin widens nothing.
            result = await self._execute(Caller.admin(), "stanza", "sendMessage", {
                "from": jid.full(), "to": body["to"], "body": body["body"]})
            return _write_json(request, 200, {"id": (result or {}).get("id")})
        return await self._run(request, call)

    async def _list_contacts(self, request):
        async def call(jid: JID) -> bytes:
            contacts = await self._execute(Caller.user(jid.full()), "roster", "listContacts",
                                           {"user": jid.full()})
            return _write_json(request, 200, rest_contacts(contacts))
        return await self._run(request, call)

    async def _add_contact(self, request):
        async def call(jid: JID) -> bytes:
            body = self._body(request, ("jid",))
            if "jid" not in body:
                raise CommandError("bad_request", "jid: missing", arg="jid")
            await self._execute(Caller.user(jid.full()), "roster", "addContact",
                                {"user": jid.full(), "contact": body["jid"]})
            request.setResponseCode(204)
            return b""
        return await self._run(request, call)

    async def _manage_contact(self, request, contact):
        async def call(jid: JID) -> bytes:
            body = self._body(request, ("action",))
            if body.get("action") not in ("invite", "accept"):
                raise CommandError("bad_request", "action: expected invite or accept",
                                   arg="action")
            # MongooseIM answers 404 for a contact that is not in the roster.
            await self._execute(Caller.user(jid.full()), "roster", "getContact",
                                {"user": jid.full(), "contact": contact})
            await self._execute(Caller.user(jid.full()), "roster", "subscription",
                                {"user": jid.full(), "contact": contact,
                                 "action": body["action"]})
            request.setResponseCode(204)
            return b""
        return await self._run(request, call)

    async def _delete_contact(self, request, contact):
        async def call(jid: JID) -> bytes:
            await self._execute(Caller.user(jid.full()), "roster", "deleteContact",
                                {"user": jid.full(), "contact": contact})
            request.setResponseCode(204)
            return b""
        return await self._run(request, call)

    async def _delete_contacts(self, request):
        async def call(jid: JID) -> bytes:
            body = self._body(request, ("to_delete",))
            contacts = _jid_list(body.get("to_delete"), "to_delete")
            caller = Caller.user(jid.full())
            not_deleted = []
            for contact in contacts:
                try:
                    await self._execute(caller, "roster", "deleteContact",
                                        {"user": jid.full(), "contact": contact})
                except CommandError as error:
                    if error.code != "not_found":
                        raise
                    not_deleted.append(contact)
            return _write_json(request, 200, {"not_deleted": not_deleted})
        return await self._run(request, call)

    async def _sse(self, request):
        jid = await self.authenticate(request)
        if jid is None:
            request.setHeader(b"www-authenticate", _REALM)
            return _write_error(request, CommandError(
                "unauthorized", "this API requires HTTP Basic authentication with your JID "
                "and password"))
        request.setResponseCode(200)
        request.setHeader(b"content-type", b"text/event-stream")
        request.setHeader(b"cache-control", b"no-cache")
        ended: defer.Deferred = defer.Deferred()
        session = SSESession(request, ended)
        resource = f"sse-{secrets.token_hex(6)}"
        self.node.sessions.bind(session, jid.user, jid.host, resource)
        request.write(b": connected\n\n")

        def gone(_: Any) -> None:
            session.closed = True
            self.node.sessions.unbind(session)

        request.notifyFinish().addBoth(gone)
        try:
            return await ended
        finally:
            gone(None)

    def _docs(self, request):
        import swagger_ui_bundle

        rest = [p for p in request.postpath if p]
        if not rest or rest == [b"index.html"]:
            request.setHeader(b"content-type", b"text/html; charset=utf-8")
            return _INDEX.encode("utf-8")
        return File(os.fspath(swagger_ui_bundle.swagger_ui_path))

    def _routing_error(self, request, failure):
        status = getattr(failure.value, "code", 404) or 404
        code = "method_not_allowed" if status == 405 else "not_found"
        body = _write_error(request, CommandError(code, "no such API path or method"))
        request.setResponseCode(status)
        return body


_INDEX = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>MongooseIM client REST API</title>
<link rel="stylesheet" href="swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="swagger-ui-bundle.js"></script>
<script>window.ui = SwaggerUIBundle({url: "../openapi.json", dom_id: "#swagger-ui"});</script>
</body></html>
"""


@provider(IHTTPHandlerFactory)
class ClientAPIHandler(Resource):
    """The ``mongoose_client_api`` HTTP handler kind: ``ClientAPIHandler(options, node)``."""

    name = "mongoose_client_api"
    options_spec = CLIENT_API_OPTIONS
    isLeaf = True

    def __init__(self, options: Mapping[str, Any], node: Any):
        super().__init__()
        self.api = ClientAPI(node, options)
        self._routes = self.api.resource()

    def render(self, request):
        """Hand the request to the routes."""
        return self._routes.render(request)
