"""The custom scalars of MongooseIM's GraphQL schemas (``global/scalar_types.gql``).

The scalars only carry values: a literal or variable reaches the command
registry unchanged, and the registry's argument types parse and validate
it (so a bad JID gets the same ``bad_request`` message on every surface).
"""

from __future__ import annotations

from typing import Any

from graphql import (
    GraphQLError,
    GraphQLScalarType,
    IntValueNode,
    StringValueNode,
    ValueNode,
)

__all__ = ["text_scalar", "int_scalar", "SCALARS"]


def _text_literal(name: str):
    def parse(node: ValueNode, _variables: Any = None) -> str:
        if not isinstance(node, StringValueNode):
            raise GraphQLError(f"{name} must be a string")
        return node.value

    return parse


def _int_literal(name: str):
    def parse(node: ValueNode, _variables: Any = None) -> int:
        if not isinstance(node, IntValueNode):
            raise GraphQLError(f"{name} must be an integer")
        return int(node.value)

    return parse


def _pass(value: Any) -> Any:
    return value


def text_scalar(name: str, description: str) -> GraphQLScalarType:
    """A scalar written as a string (JID, DomainName ...).

    Args:
        name: the GraphQL type name.
        description: shown by introspection.
    """
    return GraphQLScalarType(
        name,
        serialize=lambda value: None if value is None else str(value),
        parse_value=_pass,
        parse_literal=_text_literal(name),
        description=description,
    )


def int_scalar(name: str, description: str) -> GraphQLScalarType:
    """A scalar written as an integer (PosInt, NonNegInt).

    Args:
        name: the GraphQL type name.
        description: shown by introspection.
    """
    return GraphQLScalarType(
        name,
        serialize=lambda value: None if value is None else int(value),
        parse_value=_pass,
        parse_literal=_int_literal(name),
        description=description,
    )


def _build() -> dict[str, GraphQLScalarType]:
    texts = {
        "JID": "Unique XMPP identifier in the form of node@domain or node@domain/resource",
        "DomainName": "XMPP domain name (domain part of a JID)",
        "UserName": "XMPP user name (local part of a JID)",
        "DateTime": "Date and time represented using YYYY-MM-DDTHH:mm:ssZ format",
        "XmlElement": "String containing the XML document",
        "BareJID": "JID without a resource",
        "FullJID": "JID with a resource",
        "ResourceName": "XMPP resource name (resource part of a JID)",
        "NonEmptyString": "String that contains at least one character",
    }
    ints = {
        "PosInt": "Integer that has a value above zero",
        "NonNegInt": "Integer that has a value above or equal to zero",
    }
    scalars = {name: text_scalar(name, doc) for name, doc in texts.items()}
    scalars.update({name: int_scalar(name, doc) for name, doc in ints.items()})
    return scalars


#: Name -> scalar type, shared by every schema (scalars hold no state).
SCALARS: dict[str, GraphQLScalarType] = _build()
