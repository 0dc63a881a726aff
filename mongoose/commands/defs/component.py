"""Component commands: list the connected external components, disconnect one.

MongooseIM has no GraphQL category for XEP-0114 components, so the names
follow its conventions (``session``/``listSessions``, ``kickUser``): category
``component`` with ``listComponents`` (a query) and ``disconnectComponent``
(a mutation, global admin only).  They reach every front end through the
registry (``POST /api/commands/component/listComponents``,
``mongooseimctl component listComponents`` ...); there is no MongooseIM REST
path to copy, so no REST binding is declared.
"""

from __future__ import annotations

from typing import Any

from mongoose.commands.caller import ADMIN
from mongoose.commands.errors import CommandError
from mongoose.commands.registry import Arg, Command
from mongoose.commands.types import BOOL, DATETIME, DOMAIN, STRING, Field, ListOf, Object

__all__ = ["COMPONENT", "component_commands"]

CATEGORY = "component"

#: One row of ``listComponents``: a domain and the connection serving it.
COMPONENT = Object(
    "Component",
    [
        Field("domain", DOMAIN, "Domain routed to the component"),
        Field("hidden", BOOL, "Whether disco leaves the component out of the server's items"),
        Field("listener", STRING, "Listener the component connected to, e.g. listen.service[0]"),
        Field("address", STRING, "IP address and port of the component's connection"),
        Field("connectedSince", DATETIME, "When the connection was opened", optional=True),
    ],
)


def component_commands(registry: Any) -> list[Command]:
    """Build the ``component`` commands over a node's component table.

    Args:
        registry: the node's :class:`mongoose.component.registry.ComponentRegistry`.

    Returns:
        The commands, ready for :meth:`CommandRegistry.register`.
    """

    async def list_components() -> list[dict]:
        rows = []
        for domain, connection in registry.entries():
            info = getattr(connection, "info", {}) or {}
            rows.append(
                {
                    "domain": domain,
                    "hidden": bool(getattr(connection, "hidden", False)),
                    "listener": str(info.get("listener", "")),
                    "address": str(info.get("address", "")),
                    "connectedSince": info.get("connected"),
                }
            )
        return rows

    async def disconnect_component(domain: str) -> str:
        connection = registry.get(domain)
        if connection is None:
            raise CommandError("not_found", f"No component is connected for {domain}")
        domains = tuple(getattr(connection, "domains", ()) or (domain,))
        connection.close("policy-violation", "disconnected by the server administrator")
        served = ", ".join(domains)
        return f"Component {served} disconnected"

    return [
        Command(
            category=CATEGORY,
            name="listComponents",
            description="List the connected external components (XEP-0114) and their domains",
            action="read",
            security_policy=ADMIN,
            handler=list_components,
            result=ListOf(COMPONENT),
        ),
        Command(
            category=CATEGORY,
            name="disconnectComponent",
            description="Close the connection of the external component serving a domain",
            action="delete",
            security_policy=ADMIN,
            handler=disconnect_component,
            args=(
                Arg(
                    "domain",
                    DOMAIN,
                    "A domain served by the component",
                    example="muc.localhost",
                ),
            ),
            result=STRING,
        ),
    ]
