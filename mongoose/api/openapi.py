"""OpenAPI 3.0 document of the admin REST API, generated from the command registry.

MongooseIM publishes its REST API as a Swagger document
(``Administration-backend_swagger.yml``); this module builds the equivalent
document for the routes this node actually serves, from the
:class:`mongoose.commands.registry.RestBinding` data and argument types of
the registered commands.  Nothing here is written per command.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from mongoose.commands.errors import ERRORS
from mongoose.commands.registry import Command
from mongoose.commands.types import (
    ArgType,
    Bool,
    DateTime,
    Domain,
    Enum,
    Int,
    Jid,
    ListOf,
    Object,
    String,
    Username,
)

__all__ = ["OPENAPI_VERSION", "schema_of", "result_schema", "build_openapi"]

OPENAPI_VERSION = "3.0.3"

_ERROR_REF = {"$ref": "#/components/schemas/Error"}
_ERROR_SCHEMA = {
    "type": "object",
    "required": ["error", "message"],
    "properties": {
        "error": {"type": "string", "enum": sorted(ERRORS)},
        "message": {"type": "string"},
    },
}


def schema_of(arg_type: ArgType) -> dict[str, Any]:
    """The JSON Schema (OpenAPI 3.0 dialect) of values of ``arg_type``.

    Args:
        arg_type: one type of the closed command type set.
    """
    if isinstance(arg_type, Bool):
        return {"type": "boolean"}
    if isinstance(arg_type, Int):
        schema: dict[str, Any] = {"type": "integer"}
        if arg_type.min is not None:
            schema["minimum"] = arg_type.min
        if arg_type.max is not None:
            schema["maximum"] = arg_type.max
        return schema
    if isinstance(arg_type, Enum):
        return {"type": "string", "enum": list(arg_type.values)}
    if isinstance(arg_type, Jid):
        return {"type": "string", "format": "jid"}
    if isinstance(arg_type, Domain):
        return {"type": "string", "format": "hostname"}
    if isinstance(arg_type, Username):
        return {"type": "string", "minLength": 1}
    if isinstance(arg_type, DateTime):
        return {"type": "string", "format": "date-time"}
    if isinstance(arg_type, ListOf):
        return {"type": "array", "items": schema_of(arg_type.item)}
    if isinstance(arg_type, Object):
        properties = {}
        required = []
        for item in arg_type.fields:
            field_schema = schema_of(item.type)
            if item.description:
                field_schema["description"] = item.description
            if item.optional:
                field_schema["nullable"] = True
            else:
                required.append(item.name)
            properties[item.name] = field_schema
        schema = {"type": "object", "title": arg_type.type_name, "properties": properties}
        if required:
            schema["required"] = required
        return schema
    if isinstance(arg_type, String):
        return {"type": "string"}
    return {}


def result_schema(command: Command) -> dict[str, Any] | None:
    """The schema of the REST response body of ``command``, or None for no body.

    Follows the ``result`` rule of the binding: the whole result, one field
    of an object result, or that field of each item of a list result.
    """
    rest = command.rest
    if rest is None or rest.result is None or rest.status == 204:
        return None
    if rest.shape_schema is not None:
        return dict(rest.shape_schema)
    result = command.result
    if result is None:
        return {}
    if not rest.result:
        return schema_of(result)
    if isinstance(result, Object):
        for item in result.fields:
            if item.name == rest.result:
                return schema_of(item.type)
    if isinstance(result, ListOf) and isinstance(result.item, Object):
        for item in result.item.fields:
            if item.name == rest.result:
                return {"type": "array", "items": schema_of(item.type)}
    return {}


def _parameters(command: Command) -> list[dict[str, Any]]:
    rest = command.rest
    assert rest is not None
    by_name = {arg.name: arg for arg in command.args}
    composed = rest.composed_vars()
    params: list[dict[str, Any]] = []
    for var in rest.path_vars:
        arg = by_name.get(var)
        schema = schema_of(arg.type) if arg is not None and var not in composed else {}
        schema = {**schema, "type": "string"} if schema.get("type") != "string" else schema
        params.append({"name": var, "in": "path", "required": True, "schema": schema})
    for key, arg_name in rest.query:
        arg = by_name[arg_name]
        param = {"name": key, "in": "query", "required": arg.required,
                 "schema": schema_of(arg.type)}
        if arg.description:
            param["description"] = arg.description
        params.append(param)
    return params


def _request_body(command: Command) -> dict[str, Any] | None:
    rest = command.rest
    assert rest is not None
    if not rest.body:
        return None
    by_name = {arg.name: arg for arg in command.args}
    properties: dict[str, Any] = {}
    required: list[str] = []
    for key, arg_name in rest.body:
        arg = by_name[arg_name]
        prop = schema_of(arg.type)
        if arg.description:
            prop["description"] = arg.description
        if arg.example is not None:
            prop["example"] = arg.example
        properties[key] = prop
        if arg.required:
            required.append(key)
    for key, value, name, status in rest.switch:
        properties[key] = {**_value_schema(value),
                           "description": f"{json.dumps(value)} runs {command.category}/{name} "
                                          f"(answers {status})"}
    schema: dict[str, Any] = {"type": "object", "properties": properties,
                              "additionalProperties": False}
    if required:
        schema["required"] = required
    return {"required": bool(required),
            "content": {"application/json": {"schema": schema}}}


def _value_schema(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"type": "boolean"}
    if isinstance(value, int):
        return {"type": "integer"}
    return {"type": "string"}


def _error_responses(command: Command, auth: bool) -> dict[str, Any]:
    statuses = {400: "Bad arguments", 404: "Unknown user, domain or item",
                413: "Request body too large"}
    if auth:
        statuses[401] = "Missing or wrong credentials"
    if command.action == "create":
        statuses[409] = "The item exists already"
    statuses[403] = "Not allowed"
    return {
        str(status): {"description": text,
                      "content": {"application/json": {"schema": _ERROR_REF}}}
        for status, text in sorted(statuses.items())
    }


def _operation(command: Command, auth: bool) -> dict[str, Any]:
    rest = command.rest
    assert rest is not None
    ok: dict[str, Any] = {"description": command.description}
    body_schema = result_schema(command)
    if body_schema is not None:
        ok["content"] = {"application/json": {"schema": body_schema}}
    responses = {str(rest.status): ok}
    for key, value, name, status in rest.switch:
        responses[str(status)] = {"description": f"With {key} = {json.dumps(value)}: "
                                                 f"{command.category}/{name}"}
    operation: dict[str, Any] = {
        "operationId": f"{command.category}.{command.name}",
        "summary": command.description,
        "tags": [rest.group or command.category],
        "parameters": _parameters(command),
        "responses": {**dict(sorted(responses.items())), **_error_responses(command, auth)},
    }
    body = _request_body(command)
    if body is not None:
        operation["requestBody"] = body
    return operation


def _generic_paths(auth: bool) -> dict[str, Any]:
    errors = {str(s): {"description": d, "content": {"application/json": {"schema": _ERROR_REF}}}
              for s, d in ((400, "Bad arguments"), (404, "Unknown command or item"))}
    if auth:
        errors["401"] = {"description": "Missing or wrong credentials",
                         "content": {"application/json": {"schema": _ERROR_REF}}}
    name_params = [
        {"name": "category", "in": "path", "required": True, "schema": {"type": "string"}},
        {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}},
    ]
    return {
        "/commands": {"get": {
            "operationId": "commands.list", "summary": "List the commands with signatures",
            "tags": ["commands"],
            "responses": {"200": {"description": "Command signatures", "content": {
                "application/json": {"schema": {"type": "array",
                                                "items": {"type": "object"}}}}}, **errors},
        }},
        "/commands/{category}/{name}": {"get": {
            "operationId": "commands.describe", "summary": "Describe one command",
            "tags": ["commands"], "parameters": name_params,
            "responses": {"200": {"description": "The command's signature", "content": {
                "application/json": {"schema": {"type": "object"}}}}, **errors},
        }},
    }


def build_openapi(commands: Iterable[Command], *, groups: Iterable[str] | None = None,
                  base_path: str = "/api", auth: bool = False,
                  title: str = "MongooseIM admin REST API",
                  version: str = "6.5") -> dict[str, Any]:
    """Build the OpenAPI 3.0 document for the REST bindings of ``commands``.

    Args:
        commands: the registered commands; those without a binding are skipped.
        groups: route groups served (the ``handlers`` option); None for all.
            ``commands`` adds the generic ``/commands`` routes.
        base_path: the handler's mount point, used as the server URL.
        auth: whether HTTP Basic authentication is required.
        title: the document title.
        version: the API version string.

    Returns:
        A JSON-able OpenAPI document.
    """
    allowed = None if groups is None else frozenset(groups)
    paths: dict[str, dict[str, Any]] = {}
    seen: set[tuple[str, str]] = set()
    for command in commands:
        rest = command.rest
        if rest is None or (allowed is not None and rest.group and rest.group not in allowed):
            continue
        if rest.route_key in seen:
            continue
        seen.add(rest.route_key)
        paths.setdefault(rest.path, {})[rest.method.lower()] = _operation(command, auth)
    if allowed is None or "commands" in allowed:
        paths.update(_generic_paths(auth))
    document: dict[str, Any] = {
        "openapi": OPENAPI_VERSION,
        "info": {"title": title, "version": version},
        "servers": [{"url": base_path.rstrip("/") or "/"}],
        "paths": dict(sorted(paths.items())),
        "components": {"schemas": {"Error": _ERROR_SCHEMA}},
    }
    if auth:
        document["components"]["securitySchemes"] = {
            "basicAuth": {"type": "http", "scheme": "basic"}}
        document["security"] = [{"basicAuth": []}]
    return document
