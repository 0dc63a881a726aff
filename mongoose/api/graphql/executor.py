"""Run GraphQL requests against the command registry for one caller.

graphql-core awaits asynchronous resolvers with asyncio, which the node's
Twisted reactor does not run.  So a request is executed in two synchronous
passes: the first validates variables and records which commands the
operation selects (in execution order, so mutations keep their order); the
commands then run on the registry (``registry.execute``, the only way any
front end runs a command); the second pass builds the response from their
results.  Errors follow the GraphQL spec (``errors`` array) with
``extensions.code`` from the error table in
:mod:`mongoose.commands.errors`; no traceback ever reaches the client.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    DocumentNode,
    Executor,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    execute_subscription_event,
    execute_sync,
    parse,
    validate,
)
from twisted.logger import Logger

from mongoose.api.graphql.schema import ADMIN_SCHEMA, USER_SCHEMA, build_schema
from mongoose.commands.caller import ADMIN, DOMAIN_ADMIN, Caller
from mongoose.commands.errors import CommandError
from mongoose.commands.registry import Command, CommandRegistry
from mongoose.commands.types import Jid

__all__ = [
    "CATEGORY_DISABLED",
    "MAX_COMMANDS",
    "ENDPOINTS",
    "GraphQLAPI",
    "GraphQLResponse",
    "MessageSubscription",
    "TrafficSubscription",
]

log = Logger()

#: The ``schema_endpoint`` values and the schema each one serves.
ENDPOINTS = {"admin": ADMIN_SCHEMA, "domain_admin": ADMIN_SCHEMA, "user": USER_SCHEMA}

#: Most commands one request may run (aliases could otherwise repeat a command
#: without bound).
MAX_COMMANDS = 200

#: ``extensions.code`` of a field whose category is not in ``allowed_categories``.
CATEGORY_DISABLED = "category_disabled"


class _Disabled(Exception):
    """The category is not in ``allowed_categories``."""


@dataclass
class GraphQLResponse:
    """The result of one GraphQL request.

    Attributes:
        status: the HTTP status to answer with (200 unless the request could
            not be executed at all).
        body: the JSON-able response (``data`` and/or ``errors``).
    """

    status: int
    body: dict[str, Any]


@dataclass
class MessageSubscription:
    """A validated ``stanza.subscribeForMessages`` request, ready to stream.

    Attributes:
        target: the bare JID whose incoming messages are wanted.
    """

    target: Any
    _executor: Executor

    def render(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        """The GraphQL response for one event (``sender``, ``stanza`` ... of a message)."""
        event = {"stanza": {"subscribeForMessages": dict(payload)}}
        result = execute_subscription_event(self._executor.build_per_event_executor(event))
        return _body(result)


@dataclass
class TrafficSubscription:
    """A validated ``stanza.subscribeForTraffic`` request, ready to stream.

    Attributes:
        tap: the running ``service_traffic`` (an ``ITrafficTap``).
        limit: the most events to send, or None for no bound.
    """

    tap: Any
    limit: int | None
    _executor: Executor

    def render(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        """The GraphQL response for one trace (``pid``, ``jid``, ``dir`` ... of a stanza)."""
        event = {"stanza": {"subscribeForTraffic": dict(payload)}}
        result = execute_subscription_event(self._executor.build_per_event_executor(event))
        return _body(result)


#: The service ``subscribeForTraffic`` needs (MongooseIM's ``@use(services: [...])``).
TRAFFIC_SERVICE = "service_traffic"

_SUBSCRIBER = Jid(require_user=True)


@dataclass
class _Request:
    """The request context seen by resolvers (``info.context``)."""

    api: GraphQLAPI
    caller: Caller | None
    collecting: bool = True
    calls: list[tuple[tuple[Any, ...], str, str, dict[str, Any]]] = field(default_factory=list)
    outcomes: dict[tuple[Any, ...], Any] = field(default_factory=dict)
    target: Any = None
    traffic: Any = None

    def open_category(self, category: str) -> dict[str, Any]:
        """Resolve a category field: check it is enabled and the caller is known."""
        if not self.api.category_allowed(category):
            raise _Disabled("Category disabled")
        if self.caller is None:
            raise CommandError("unauthorized", "this endpoint requires authentication")
        return {}

    def run_command(self, category: str, name: str, args: dict[str, Any],
                    path: tuple[Any, ...]) -> Any:
        """Resolve a command field: record it (first pass) or give its outcome."""
        if self.collecting:
            self.calls.append((path, category, name, dict(args)))
            return None
        outcome = self.outcomes.get(path)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    def subscribe_messages(self, args: dict[str, Any]) -> None:
        """Resolve ``subscribeForMessages`` while setting up: check and record the target."""
        caller = self.caller
        assert caller is not None  # open_category ran first
        if "caller" not in args:
            self.target = caller.jid
            return None
        target = _SUBSCRIBER.from_json(args["caller"], "caller").userhostJID()
        if caller.kind == DOMAIN_ADMIN and not caller.may_act_on(target.host):
            raise CommandError("forbidden", f"caller: the admin of {caller.domain} may not "
                               f"act on {target.host}")
        if caller.kind not in (ADMIN, DOMAIN_ADMIN):
            raise CommandError("forbidden", "only admins may subscribe for another user")
        self.target = target
        return None

    def subscribe_traffic(self, args: dict[str, Any]) -> None:
        """Resolve ``subscribeForTraffic`` while setting up: check and record the request."""
        caller = self.caller
        assert caller is not None  # open_category ran first
        if caller.kind != ADMIN:
            raise CommandError("forbidden", "subscribeForTraffic is for the global admin only")
        tap = self.api.traffic_tap()
        if tap is None:
            raise CommandError("unavailable", f"{TRAFFIC_SERVICE} is not enabled "
                               f"(add [services.{TRAFFIC_SERVICE}] to the configuration)")
        limit = args.get("limit")
        if limit is not None and limit < 1:
            raise CommandError("bad_request", f"limit: {limit} is not a positive integer",
                               arg="limit")
        self.traffic = (tap, limit)
        return None

    def check_auth(self) -> dict[str, Any]:
        """Resolve ``checkAuth``."""
        if not self.api.category_allowed("checkAuth"):
            raise _Disabled("Category disabled")
        return self.api.auth_info(self.caller)


class GraphQLAPI:
    """The GraphQL API of one endpoint over a command registry.

    The schema follows the registry: it is rebuilt after any command is
    registered or unregistered.

    Args:
        registry: the node's command registry.
        endpoint: ``admin``, ``domain_admin`` or ``user``.
        allowed_categories: categories served (``checkAuth`` counts as
            one); None serves all.
        traffic: returns the running ``service_traffic`` (an
            ``ITrafficTap``) or None; asked at each ``subscribeForTraffic``.
    """

    def __init__(self, registry: CommandRegistry, endpoint: str = "admin",
                 allowed_categories: Iterable[str] | None = None,
                 traffic: Callable[[], Any] | None = None):
        if endpoint not in ENDPOINTS:
            raise ValueError(f"schema_endpoint must be one of {sorted(ENDPOINTS)}")
        self.registry = registry
        self.endpoint = endpoint
        self.allowed = None if allowed_categories is None else frozenset(allowed_categories)
        self._traffic = traffic
        self._schema: GraphQLSchema | None = None
        registry.add_observer(self._registry_changed)

    def _registry_changed(self, _event: str, _command: Command) -> None:
        self._schema = None

    @property
    def schema(self) -> GraphQLSchema:
        """The current schema (generated from the registry on demand)."""
        if self._schema is None:
            self._schema = build_schema(self.registry, ENDPOINTS[self.endpoint])
        return self._schema

    def traffic_tap(self) -> Any:
        """The running ``service_traffic``, or None."""
        return None if self._traffic is None else self._traffic()

    def category_allowed(self, category: str) -> bool:
        """Whether ``allowed_categories`` lets ``category`` through."""
        return self.allowed is None or category in self.allowed

    def auth_info(self, caller: Caller | None) -> dict[str, Any]:
        """The ``checkAuth`` answer for ``caller``."""
        if self.endpoint == "user":
            if caller is None or caller.jid is None:
                return {"username": None, "authStatus": "UNAUTHORIZED"}
            return {"username": caller.jid.userhost(), "authStatus": "AUTHORIZED"}
        if caller is None:
            return {"domain": None, "authStatus": "UNAUTHORIZED", "authType": "UNAUTHORIZED"}
        if caller.kind == DOMAIN_ADMIN:
            return {"domain": caller.domain, "authStatus": "AUTHORIZED",
                    "authType": "DOMAIN_ADMIN"}
        if caller.kind == ADMIN:
            return {"domain": None, "authStatus": "AUTHORIZED", "authType": "ADMIN"}
        return {"domain": None, "authStatus": "UNAUTHORIZED", "authType": "UNAUTHORIZED"}

    async def execute(
        self,
        caller: Caller | None,
        query: Any,
        variables: Any = None,
        operation_name: Any = None,
        allow_mutations: bool = True,
    ) -> GraphQLResponse | MessageSubscription | TrafficSubscription:
        """Run one GraphQL request.

        Args:
            caller: who runs it; None for an unauthenticated request (only
                ``checkAuth`` then answers without an error).
            query: the GraphQL document text.
            variables: the variables object, or None.
            operation_name: which operation of the document, or None.
            allow_mutations: False for GET requests (GraphQL over HTTP).

        Returns:
            The status and JSON body to send, or for a subscription the
            :class:`MessageSubscription` or :class:`TrafficSubscription` to
            stream.
        """
        if not isinstance(query, str) or not query.strip():
            return _failure(400, "bad_request", "the request needs a 'query' string")
        if variables is not None and not isinstance(variables, Mapping):
            return _failure(400, "bad_request", "'variables' must be an object")
        if operation_name is not None and not isinstance(operation_name, str):
            return _failure(400, "bad_request", "'operationName' must be a string")
        schema = self.schema
        try:
            document = parse(query)
        except GraphQLError as error:
            return GraphQLResponse(400, {"errors": [_format(error, "bad_request")]})
        problems = validate(schema, document)
        if problems:
            return GraphQLResponse(400, {"errors": [_format(e, "bad_request") for e in problems]})
        operation = _operation(document, operation_name)
        if not allow_mutations and operation == OperationType.MUTATION:
            return _failure(405, "bad_request", "mutations must be sent with POST")
        request = _Request(self, caller)
        if operation == OperationType.SUBSCRIPTION:
            return self._subscribe(schema, document, request, variables, operation_name)
        first = self._run(schema, document, request, variables, operation_name)
        if first.data is None:
            return GraphQLResponse(400 if first.errors else 200, _body(first))
        if len(request.calls) > MAX_COMMANDS:
            return _failure(400, "bad_request",
                            f"the request selects {len(request.calls)} commands; "
                            f"at most {MAX_COMMANDS} are allowed")
        request.collecting = False
        for path, category, name, args in request.calls:
            request.outcomes[path] = await self._call(caller, category, name, args)
        return GraphQLResponse(200, _body(self._run(schema, document, request, variables,
                                                    operation_name)))

    @staticmethod
    def _subscribe(schema: GraphQLSchema, document: DocumentNode, request: _Request,
                   variables: Any, operation_name: Any
                   ) -> GraphQLResponse | MessageSubscription | TrafficSubscription:
        executor = Executor.build(schema, document, context_value=request,
                                  raw_variable_values=dict(variables) if variables else None,
                                  operation_name=operation_name)
        if isinstance(executor, list):
            return GraphQLResponse(400, {"errors": [_format(e) for e in executor]})
        result = execute_subscription_event(executor.build_per_event_executor(None))
        if result.errors:
            return GraphQLResponse(200, _body(result))
        if request.target is not None and request.traffic is not None:
            return _failure(400, "bad_request", "a subscription selects one field: "
                            "subscribeForMessages or subscribeForTraffic")
        if request.traffic is not None:
            tap, limit = request.traffic
            return TrafficSubscription(tap, limit, executor)
        if request.target is None:
            return GraphQLResponse(200, _body(result))
        return MessageSubscription(request.target, executor)

    @staticmethod
    def _run(schema: GraphQLSchema, document: DocumentNode, request: _Request,
             variables: Any, operation_name: Any):
        return execute_sync(schema, document, context_value=request,
                            variable_values=dict(variables) if variables else None,
                            operation_name=operation_name, check_sync=True)

    async def _call(self, caller: Caller | None, category: str, name: str,
                    args: dict[str, Any]) -> Any:
        assert caller is not None
        try:
            return await self.registry.execute(caller, category, name, args)
        except CommandError as error:
            return error
        except Exception:
            log.failure("GraphQL command {category}/{name} failed", category=category,
                        name=name)
            return CommandError("internal", f"{category}/{name} failed; see the server log")


def _operation(document: DocumentNode, operation_name: str | None) -> OperationType | None:
    for node in document.definitions:
        if isinstance(node, OperationDefinitionNode):
            if operation_name is None or (node.name and node.name.value == operation_name):
                return node.operation
    return None


def _code(error: GraphQLError, default: str) -> tuple[str, str]:
    """(extensions.code, message) of an error."""
    original = error.original_error
    if isinstance(original, CommandError):
        return original.kind.graphql_code, original.message
    if isinstance(original, _Disabled):
        return CATEGORY_DISABLED, "Category disabled"
    if original is not None and not isinstance(original, GraphQLError):
        log.error("GraphQL resolver failed: {error!r}", error=original)
        return "internal_server_error", "internal error; see the server log"
    return default, error.message


def _format(error: GraphQLError, default: str = "bad_request") -> dict[str, Any]:
    formatted = dict(error.formatted)
    code, message = _code(error, default)
    formatted["message"] = message
    formatted["extensions"] = {**(formatted.get("extensions") or {}), "code": code}
    return formatted


def _body(result: Any) -> dict[str, Any]:
    body: dict[str, Any] = {}
    if result.errors:
        body["errors"] = [_format(e) for e in result.errors]
    body["data"] = result.data
    return body


def _failure(status: int, code: str, message: str) -> GraphQLResponse:
    return GraphQLResponse(status, {"errors": [{"message": message,
                                                "extensions": {"code": code}}]})
