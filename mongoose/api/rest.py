"""The admin REST API (MongooseIM 6.5 ``mongoose_admin_api``), generated from the registry.

Two kinds of routes, both built from command definitions:

* the MongooseIM 6.5 paths (``GET/POST /users/{XMPPHost}``,
  ``PUT/DELETE /users/{XMPPHost}/{username}`` ...): one route per command
  that carries a :class:`mongoose.commands.registry.RestBinding`;
* generic routes for every command, used by ``mongooseimctl``:
  ``GET /commands`` (the list with signatures, as the 5.x API had it),
  ``GET /commands/{category}/{name}`` (one signature) and
  ``POST /commands/{category}/{name}`` (run it with a JSON object of
  arguments; ``?source=cli`` when the values are command line text).

Paths are relative to the handler's mount point (``path = "/api"``).  The
OpenAPI 3.0 document of the served routes is at ``GET /openapi.json``
(:mod:`mongoose.api.openapi`).
Errors are JSON ``{"error": code, "message": text}`` with the HTTP status of
the error table (MongooseIM 6.5 sent the message as plain text).  HTTP Basic
authentication is required when ``username`` and ``password`` are set; the
credentials are compared in constant time.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import re
from collections.abc import Mapping
from typing import Any

from klein import Klein
from twisted.logger import Logger
from twisted.web.resource import Resource
from werkzeug.exceptions import HTTPException
from zope.interface import provider

from mongoose.api.openapi import build_openapi
from mongoose.commands.caller import Caller
from mongoose.commands.errors import CommandError
from mongoose.commands.registry import Command, CommandRegistry
from mongoose.config.schema import ConfigError, Field, ListOf, Section, Str
from mongoose.config.schema import Enum as EnumSpec
from mongoose.interfaces import IHTTPHandlerFactory

__all__ = [
    "AdminAPI",
    "AdminAPIResource",
    "AdminAPIHandler",
    "ADMIN_API_OPTIONS",
    "ROUTE_GROUPS",
    "MAX_BODY_BYTES",
    "OPENAPI_PATH",
]

log = Logger()

#: Route groups for the ``handlers`` option: MongooseIM 6.5's, plus ``commands``
#: for the generic routes.
ROUTE_GROUPS = (
    "contacts", "users", "sessions", "messages", "stanzas", "muc_light", "muc",
    "inbox", "domain", "metrics", "commands",
)

#: Request bodies larger than this are refused with 413.
MAX_BODY_BYTES = 1024 * 1024

#: Where the generated OpenAPI document is served, under the handler's mount point.
OPENAPI_PATH = "/openapi.json"

_REALM = b'Basic realm="mongooseim"'
_PATH_VAR = re.compile(r"\{([A-Za-z][A-Za-z0-9_]*)\}")


def _both_or_neither(options, path: str, errors: list[ConfigError]):
    if ("username" in options) != ("password" in options):
        errors.append(ConfigError(path, "set both username and password, or neither"))
    return None


ADMIN_API_OPTIONS = Section(
    {
        "username": Field(Str(nonempty=True), doc="HTTP Basic user name required by the API"),
        "password": Field(Str(nonempty=True), doc="HTTP Basic password required by the API"),
        "handlers": Field(
            ListOf(EnumSpec(*ROUTE_GROUPS), unique=True),
            default=list(ROUTE_GROUPS),
            doc="route groups to serve (default: all)",
        ),
    },
    doc="MongooseIM admin REST API",
    validate=_both_or_neither,
)


class _HTTPError(Exception):
    """A request problem found before a command runs (bad JSON, size)."""

    def __init__(self, error: CommandError):
        super().__init__(error.message)
        self.error = error


def _json_bytes(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False).encode("utf-8")


def _write_json(request, status: int, data: Any) -> bytes:
    request.setResponseCode(status)
    request.setHeader(b"content-type", b"application/json")
    return _json_bytes(data)


def _write_error(request, error: CommandError) -> bytes:
    if error.code == "unauthorized":
        request.setHeader(b"www-authenticate", _REALM)
    return _write_json(request, error.kind.http_status, error.to_json())


def _read_json_object(request) -> dict[str, Any]:
    """The request body as a JSON object; empty body -> {}.  Content-Type is not checked."""
    content = request.content
    if content is None:
        return {}
    content.seek(0)
    data = content.read(MAX_BODY_BYTES + 1)
    if len(data) > MAX_BODY_BYTES:
        raise _HTTPError(CommandError(
            "too_large", f"request body is larger than {MAX_BODY_BYTES} bytes"))
    if not data.strip():
        return {}
    try:
        decoded = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise _HTTPError(CommandError("bad_request", "request body is not UTF-8")) from None
    except ValueError as exc:
        raise _HTTPError(CommandError(
            "bad_request", f"request body is not valid JSON: {exc}")) from None
    if not isinstance(decoded, dict):
        raise _HTTPError(CommandError("bad_request", "request body must be a JSON object"))
    return decoded


def _query_value(request, key: str) -> str | None:
    values = (request.args or {}).get(key.encode("utf-8"))
    if not values:
        return None
    return values[-1].decode("utf-8", "replace")


def _rename(error: CommandError, names: Mapping[str, str]) -> CommandError:
    """Name the REST field (``newpass``) instead of the argument (``newPassword``)."""
    if error.arg and error.arg in names and names[error.arg] != error.arg:
        if error.message.startswith(error.arg):
            external = names[error.arg]
            return CommandError(error.code, external + error.message[len(error.arg):], external)
    return error


def _json_type(value: Any) -> str:
    """The JSON type name of a Python value (for error messages)."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _legacy_description(command: Command) -> dict[str, Any]:
    info = command.signature()
    info["desc"] = command.description  # field name of the 5.x GET /api/commands
    return info


class AdminAPI:
    """The admin REST API of one node, as an instance-scoped Klein app.

    Args:
        registry: the node's command registry; routes follow its changes.
        options: handler options (``username``, ``password``, ``handlers``);
            other keys (``host``, ``path``) are ignored here.
    """

    def __init__(self, registry: CommandRegistry, options: Mapping[str, Any] | None = None):
        options = options or {}
        self.registry = registry
        self.app = Klein()
        self._username = options.get("username")
        self._password = options.get("password")
        groups = options.get("handlers")
        self._groups = frozenset(ROUTE_GROUPS if groups is None else groups)
        self._caller = Caller.admin()
        self._base_path = str(options.get("path") or "/api")
        #: route key (method, path shape) -> (category, name) of its current command
        self._route_owner: dict[tuple[str, str], tuple[str, str]] = {}
        self._routes_added: set[tuple[str, str]] = set()
        self.app.handle_errors(HTTPException)(self._routing_error)
        self._add_openapi_route()
        if "commands" in self._groups:
            self._add_generic_routes()
        for command in registry.list():
            self._bind(command)
        registry.add_observer(self._registry_changed)

    # -- auth ---------------------------------------------------------------

    @property
    def requires_auth(self) -> bool:
        """True when Basic credentials are configured."""
        return self._username is not None

    def authorized(self, request) -> bool:
        """Check the request's Basic credentials (constant-time comparison)."""
        if self._username is None:
            return True
        header = request.getHeader(b"authorization") or b""
        scheme, _, token = header.partition(b" ")
        if scheme.lower() != b"basic":
            return False
        try:
            decoded = base64.b64decode(token.strip(), validate=True)
        except (binascii.Error, ValueError):
            return False
        user, sep, password = decoded.partition(b":")
        if not sep:
            return False
        user_ok = hmac.compare_digest(user, str(self._username).encode("utf-8"))
        password_ok = hmac.compare_digest(password, str(self._password).encode("utf-8"))
        return user_ok and password_ok

    def resource(self) -> AdminAPIResource:
        """The twisted.web resource serving this API (auth gate + routes)."""
        return AdminAPIResource(self)

    def openapi(self) -> dict[str, Any]:
        """The OpenAPI 3.0 document of the routes this API serves now."""
        return build_openapi(self.registry.list(), groups=self._groups,
                             base_path=self._base_path, auth=self.requires_auth)

    def _add_openapi_route(self) -> None:
        @self.app.route(OPENAPI_PATH, methods=["GET"], endpoint="openapi",
                        strict_slashes=False)
        def serve_openapi(request):
            return _write_json(request, 200, self.openapi())

    # -- generic routes -----------------------------------------------------

    def _add_generic_routes(self) -> None:
        route = self.app.route

        @route("/commands", methods=["GET"], endpoint="commands_list", strict_slashes=False)
        def list_commands(request):
            data = [_legacy_description(c) for c in self.registry.list(self._caller)]
            return _write_json(request, 200, data)

        @route("/commands/<category>/<name>", methods=["GET"], endpoint="commands_describe",
               strict_slashes=False)
        def describe_command(request, category, name):
            try:
                return _write_json(request, 200, _legacy_description(
                    self.registry.get(category, name)))
            except CommandError as error:
                return _write_error(request, error)

        @route("/commands/<category>/<name>", methods=["POST"], endpoint="commands_execute",
               strict_slashes=False)
        async def execute_command(request, category, name):
            try:
                raw = _read_json_object(request)
                source = "cli" if _query_value(request, "source") == "cli" else "json"
                result = await self.registry.execute(
                    self._caller, category, name, raw, source=source)
            except _HTTPError as exc:
                return _write_error(request, exc.error)
            except CommandError as error:
                return _write_error(request, error)
            return _write_json(request, 200, result)

    # -- per-command routes -------------------------------------------------

    def _registry_changed(self, event: str, command: Command) -> None:
        if event == "register":
            self._bind(command)
        elif command.rest is not None:
            key = command.rest.route_key
            if self._route_owner.get(key) == command.key:
                del self._route_owner[key]

    def _bind(self, command: Command) -> None:
        rest = command.rest
        if rest is None or (rest.group and rest.group not in self._groups):
            return
        key = rest.route_key
        self._route_owner[key] = command.key
        if key in self._routes_added:
            return
        self._routes_added.add(key)
        url = _PATH_VAR.sub(r"<\1>", rest.path)

        async def serve(request, **path_vars: str):
            return await self._serve_bound(request, key, path_vars)

        self.app.route(url, methods=[rest.method], endpoint=f"{rest.method} {rest.path}",
                       strict_slashes=False)(serve)

    async def _serve_bound(self, request, key: tuple[str, str], path_vars: dict[str, str]):
        owner = self._route_owner.get(key)
        if owner is None:
            return _write_error(request, CommandError("not_found", "no such route"))
        command = self.registry.get(*owner)
        rest = command.rest
        assert rest is not None
        names = rest.external_names()
        status = rest.status
        try:
            raw, source, body = self._collect_args(request, command, path_vars)
            target = owner
            for key, value, name, switched_status in rest.switch:
                if key in body and body[key] == value:
                    target, status = (owner[0], name), switched_status
                    break
            result = await self.registry.execute(self._caller, *target, raw, source=source)
        except _HTTPError as exc:
            return _write_error(request, exc.error)
        except CommandError as error:
            return _write_error(request, _rename(error, names))
        if rest.location:
            values = {**path_vars, **{k: v for k, v in body.items() if isinstance(v, str)}}
            try:
                tail = rest.location.format(**values)
            except (KeyError, IndexError, ValueError):
                tail = None
            if tail is not None:
                base = request.path.decode("utf-8", "replace").rstrip("/")
                request.setHeader(b"location", (base + "/" + tail.lstrip("/")).encode("utf-8"))
        request.setResponseCode(status)
        if rest.result is None or status in (202, 204):
            return b""
        if rest.shape is not None:
            return _write_json(request, status, rest.shape(result))
        if rest.result and isinstance(result, Mapping):
            result = result.get(rest.result)
        elif rest.result and isinstance(result, list):
            result = [item.get(rest.result) if isinstance(item, Mapping) else item
                      for item in result]
        return _write_json(request, status, result)

    def _collect_args(self, request, command: Command, path_vars: Mapping[str, str]):
        """Raw arguments and their sources from path, query and body."""
        rest = command.rest
        assert rest is not None
        raw: dict[str, Any] = {}
        source: dict[str, str] = {}
        body: dict[str, Any] = {}
        if rest.body:
            body = _read_json_object(request)
            allowed = dict(rest.body)
            allowed.update((entry[0], "") for entry in rest.switch)
            for key in body:
                if key not in allowed:
                    names = ", ".join(allowed)
                    raise CommandError(
                        "bad_request", f"{key}: unknown field (allowed: {names})", arg=key)
            for key, value, _, _ in rest.switch:
                if key in body and type(body[key]) is not type(value):
                    raise CommandError("bad_request", f"{key}: expected a JSON "
                                       f"{_json_type(value)}", arg=key)
            for key, arg in rest.body:
                if key in body:
                    raw[arg] = body[key]
                    source[arg] = "json"
        for key, arg in rest.query:
            value = _query_value(request, key)
            if value is not None:
                raw[arg] = value
                source[arg] = "cli"
        composed = rest.composed_vars()
        for var in rest.path_vars:
            if var not in composed:
                raw[var] = path_vars[var]
                source[var] = "cli"
        for arg, template in rest.compose:
            raw[arg] = template.format(**path_vars)
            source[arg] = "cli"
        return raw, source, body

    # -- errors -------------------------------------------------------------

    def _routing_error(self, request, failure):
        exc = failure.value
        status = getattr(exc, "code", 500) or 500
        if status == 405:
            error = CommandError("method_not_allowed", f"{request.method.decode()} is not "
                                 "allowed on this path")
        elif status == 404:
            error = CommandError("not_found", "no such API path")
        else:
            error = CommandError("bad_request", exc.description or "bad request")
        body = _write_error(request, error)
        request.setResponseCode(status)
        return body


class AdminAPIResource(Resource):
    """Gate in front of the Klein routes: CORS headers, OPTIONS and Basic auth.

    Args:
        api: the :class:`AdminAPI` to serve.
    """

    isLeaf = True

    def __init__(self, api: AdminAPI):
        super().__init__()
        self.api = api
        self._routes = api.app.resource()

    def render(self, request):
        """Check credentials, then hand the request to the routes."""
        request.setHeader(b"access-control-allow-origin", b"*")
        request.setHeader(b"access-control-allow-methods",
                          b"GET, OPTIONS, PUT, POST, DELETE, PATCH")
        request.setHeader(b"access-control-allow-headers", b"Content-Type, Authorization")
        if request.method == b"OPTIONS":
            request.setResponseCode(204)
            return b""
        if not self.api.authorized(request):
            message = "this API requires HTTP Basic authentication with the configured " \
                "username and password"
            if request.getHeader(b"authorization"):
                message = "wrong username or password"
            return _write_error(request, CommandError("unauthorized", message))
        return self._routes.render(request)


@provider(IHTTPHandlerFactory)
class AdminAPIHandler(AdminAPIResource):
    """The ``mongoose_admin_api`` HTTP handler kind.

    ``AdminAPIHandler(options, node)`` is the resource serving the API of
    ``node.commands``, configured by the handler's ``options``.
    """

    name = "mongoose_admin_api"
    options_spec = ADMIN_API_OPTIONS

    def __init__(self, options: Mapping[str, Any], node: Any):
        super().__init__(AdminAPI(node.commands, options))
