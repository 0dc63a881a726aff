"""The ``mongoose_graphql_handler`` HTTP handler kind (MongooseIM GraphQL API).

``[[listen.http.handlers.mongoose_graphql_handler]]`` options (declared in
:mod:`mongoose.config.sections.http_handlers`): ``schema_endpoint``
(``admin`` | ``domain_admin`` | ``user``), ``username``/``password``
(admin only), ``allowed_categories`` and ``sse_idle_timeout``.

* ``POST`` with a JSON body ``{"query", "variables", "operationName"}``
  runs a query or mutation (GraphQL over HTTP);
* ``GET`` with a ``query`` parameter runs a query (no mutations);
* ``GET`` without one, from a browser, serves GraphiQL, whose files are
  served under ``<endpoint>/graphiql/`` (:mod:`mongoose.api.graphql.graphiql`);
* a ``subscription`` operation (``stanza.subscribeForMessages``,
  ``stanza.subscribeForTraffic``) answers a Server-Sent Events stream
  (:mod:`mongoose.api.graphql.subscriptions`).

Responses are ``application/json``; wrong credentials answer 401 with a
GraphQL ``errors`` array whose ``extensions.code`` is ``unauthorized``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from twisted.internet import defer
from twisted.logger import Logger
from twisted.web import http
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET
from zope.interface import provider

from mongoose.api.graphql import graphiql
from mongoose.api.graphql.auth import Authenticator
from mongoose.api.graphql.executor import (
    GraphQLAPI,
    GraphQLResponse,
    MessageSubscription,
    TrafficSubscription,
)
from mongoose.api.graphql.subscriptions import SSEStream, TrafficStream
from mongoose.commands.errors import CommandError
from mongoose.interfaces import IHTTPHandlerFactory
from mongoose.services.service_traffic import find_tap

__all__ = ["GraphQLResource", "GraphQLHandler", "MAX_BODY_BYTES"]

log = Logger()

#: Request bodies larger than this are refused with 413.
MAX_BODY_BYTES = 1024 * 1024

_REALM = b'Basic realm="mongooseim"'


def _error(status: int, code: str, message: str) -> GraphQLResponse:
    return GraphQLResponse(status, {"errors": [{"message": message,
                                                "extensions": {"code": code}}]})


def _read_body(request) -> dict[str, Any]:
    content = request.content
    data = b""
    if content is not None:
        content.seek(0)
        data = content.read(MAX_BODY_BYTES + 1)
    if len(data) > MAX_BODY_BYTES:
        raise CommandError("too_large", f"request body is larger than {MAX_BODY_BYTES} bytes")
    try:
        decoded = json.loads(data.decode("utf-8")) if data.strip() else None
    except (UnicodeDecodeError, ValueError):
        raise CommandError("bad_request", "request body is not valid JSON") from None
    if not isinstance(decoded, dict):
        raise CommandError("bad_request", "request body must be a JSON object with a 'query'")
    return decoded


def _arg(request, key: str) -> str | None:
    values = (request.args or {}).get(key.encode())
    return values[-1].decode("utf-8", "replace") if values else None


class GraphQLResource(Resource):
    """Serves one GraphQL endpoint.

    Args:
        api: the endpoint's :class:`GraphQLAPI`.
        authenticator: turns the ``Authorization`` header into a caller.
        sessions: the session manager subscriptions bind to; None: no
            subscriptions.
        clock: IReactorTime for the subscriptions' idle timer (default:
            the global reactor).
        sse_idle_timeout: milliseconds an idle subscription stays open;
            None or ``"infinity"`` for ever.
    """

    isLeaf = True
    max_body_bytes = MAX_BODY_BYTES

    def __init__(self, api: GraphQLAPI, authenticator: Authenticator, sessions: Any = None,
                 clock: Any = None, sse_idle_timeout: Any = 3600000):
        super().__init__()
        self.api = api
        self.authenticator = authenticator
        self.sessions = sessions
        if clock is None:
            from twisted.internet import reactor as clock
        self.clock = clock
        self.sse_idle_timeout = None if sse_idle_timeout in (None, "infinity") \
            else int(sse_idle_timeout)

    def render_OPTIONS(self, request) -> bytes:
        """CORS pre-flight."""
        self._cors(request)
        request.setResponseCode(204)
        return b""

    def render_GET(self, request):
        """Run a query from the ``query`` parameter, or serve GraphiQL (page and files)."""
        postpath = [p for p in (request.postpath or []) if p]
        if len(postpath) >= 2 and postpath[-2] == graphiql.ASSET_DIR.encode():
            return self._asset(request, postpath[-1].decode("utf-8", "replace"))
        query = _arg(request, "query")
        if query is None:
            if not graphiql.wants_page(request.getHeader(b"accept")):
                return self._write(request, _error(
                    400, "bad_request", "a GET request needs a 'query' parameter"))
            return self._page(request)
        variables: Any = None
        text = _arg(request, "variables")
        if text:
            try:
                variables = json.loads(text)
            except ValueError:
                return self._write(request, _error(400, "bad_request",
                                                   "'variables' is not valid JSON"))
        return self._start(request, query, variables, _arg(request, "operationName"), False)

    def _page(self, request):
        """The GraphiQL page; on a protected endpoint only with valid credentials.

        Without them the answer is a 401 Basic challenge, so the browser asks
        for credentials once and sends them with the page's API requests.
        """

        gone = {"gone": False}
        request.notifyFinish().addErrback(lambda _: gone.update(gone=True))

        async def serve() -> None:
            caller = None
            if self.authenticator.protected:
                try:
                    caller = await self.authenticator.caller(
                        request.getHeader(b"authorization"))
                except CommandError:
                    caller = None
            if gone["gone"]:
                return
            request.setHeader(b"content-type", b"text/html; charset=utf-8")
            request.setHeader(b"cache-control", b"no-cache")
            if self.authenticator.protected and caller is None:
                request.setResponseCode(401)
                request.setHeader(b"www-authenticate", _REALM)
                request.write(graphiql.login_page(self.api.endpoint))
            else:
                path = request.path.decode("utf-8", "replace")
                request.write(graphiql.page(self.api.endpoint, path))
            request.finish()

        def failed(failure) -> None:
            log.failure("GraphiQL page failed", failure)
            if not gone["gone"]:
                request.setResponseCode(500)
                request.finish()

        defer.ensureDeferred(serve()).addErrback(failed)
        return NOT_DONE_YET

    def _asset(self, request, name: str) -> bytes:
        """One GraphiQL file, with cache headers (304 when the ETag matches)."""
        try:
            found = graphiql.asset(name)
        except graphiql.AssetsMissing as exc:
            log.error("{message}", message=str(exc))
            return self._write(request, _error(500, "internal_server_error", str(exc)))
        if found is None:
            return self._write(request, _error(404, "not_found", f"no GraphiQL file {name!r}"))
        request.setHeader(b"cache-control", graphiql.CACHE_CONTROL)
        if request.setETag(found.etag.encode()) == http.CACHED:
            return b""
        request.setHeader(b"content-type", found.content_type.encode())
        return found.body

    def render_POST(self, request):
        """Run the request in the JSON body."""
        try:
            body = _read_body(request)
        except CommandError as error:
            return self._write(request, _error(error.kind.http_status, error.kind.graphql_code,
                                               error.message))
        return self._start(request, body.get("query"), body.get("variables"),
                           body.get("operationName"), True)

    def _start(self, request, query: Any, variables: Any, operation: Any, mutations: bool):
        finished = {"gone": False}
        request.notifyFinish().addErrback(lambda _: finished.update(gone=True))

        async def serve() -> None:
            try:
                response = await self._serve(request, query, variables, operation, mutations)
                if isinstance(response, MessageSubscription):
                    if self.sessions is None:
                        response = _error(400, "bad_request",
                                          "subscriptions are not available on this endpoint")
                    elif not finished["gone"]:
                        SSEStream(request, response, self.sessions, self.clock,
                                  self.sse_idle_timeout).start()
                        return
                elif isinstance(response, TrafficSubscription):
                    if not finished["gone"]:
                        TrafficStream(request, response, self.clock,
                                      self.sse_idle_timeout).start()
                    return
            except Exception:
                log.failure("GraphQL request failed")
                response = _error(500, "internal_server_error",
                                  "internal error; see the server log")
            if finished["gone"]:
                return
            if isinstance(response, GraphQLResponse):
                request.write(self._write(request, response))
                request.finish()

        defer.ensureDeferred(serve())
        return NOT_DONE_YET

    async def _serve(self, request, query: Any, variables: Any, operation: Any,
                     mutations: bool
                     ) -> GraphQLResponse | MessageSubscription | TrafficSubscription:
        try:
            caller = await self.authenticator.caller(request.getHeader(b"authorization"))
        except CommandError as error:
            request.setHeader(b"www-authenticate", _REALM)
            return _error(401, error.kind.graphql_code, error.message)
        return await self.api.execute(caller, query, variables, operation,
                                      allow_mutations=mutations)

    @staticmethod
    def _cors(request) -> None:
        request.setHeader(b"access-control-allow-origin", b"*")
        request.setHeader(b"access-control-allow-methods", b"GET, POST, OPTIONS")
        request.setHeader(b"access-control-allow-headers", b"Content-Type, Authorization")

    def _write(self, request, response: GraphQLResponse) -> bytes:
        self._cors(request)
        request.setResponseCode(response.status)
        request.setHeader(b"content-type", b"application/json")
        return json.dumps(response.body, ensure_ascii=False).encode("utf-8")


class _NodeAuth:
    """The node's auth backend, looked up when a user logs in (it may be set late)."""

    def __init__(self, node: Any):
        self._node = node

    def check_password(self, username: str, domain: str, password: str) -> Any:
        """See IAuthBackend.check_password; False when the node has no backend."""
        backend = getattr(self._node, "auth", None)
        if backend is None:
            return False
        return backend.check_password(username, domain, password)


@provider(IHTTPHandlerFactory)
class GraphQLHandler(GraphQLResource):
    """The ``mongoose_graphql_handler`` HTTP handler kind.

    ``GraphQLHandler(options, node)`` serves ``node.commands`` on the
    endpoint named by ``options["schema_endpoint"]``.  Users are checked
    with ``node.auth``; domain admins with ``node.check_domain_password``
    when the node has one (there is no domain password store yet, so
    without it no domain admin can log in).
    """

    name = "mongoose_graphql_handler"
    #: None: the options are declared in mongoose.config.sections.http_handlers.
    options_spec = None

    def __init__(self, options: Mapping[str, Any], node: Any):
        endpoint = options.get("schema_endpoint", "admin")

        def traffic() -> Any:
            runner = getattr(node, "modules", None)
            return find_tap(None if runner is None else runner.service)

        api = GraphQLAPI(node.commands, endpoint, options.get("allowed_categories"),
                         traffic=traffic)
        authenticator = Authenticator(
            endpoint,
            username=options.get("username") if endpoint == "admin" else None,
            password=options.get("password") if endpoint == "admin" else None,
            auth_backend=_NodeAuth(node),
            domain_password_check=getattr(node, "check_domain_password", None),
        )
        super().__init__(api, authenticator, sessions=getattr(node, "sessions", None),
                         clock=getattr(node, "reactor", None),
                         sse_idle_timeout=options.get("sse_idle_timeout", 3600000))
