"""Federation commands: list the incoming and outgoing s2s connections.

MongooseIM exposes only counts (GraphQL ``stat.globalStats``
``incomingS2SNumber``/``outgoingS2SNumber``; admin_extra
``incoming_s2s_number``/``outgoing_s2s_number``); these list the
connections themselves, in category ``s2s`` (``listIncoming``,
``listOutgoing``), through every front end of the registry.
"""

from __future__ import annotations

from typing import Any

from mongoose.commands.caller import ADMIN
from mongoose.commands.registry import Command
from mongoose.commands.types import BOOL, DATETIME, INT, STRING, Field, ListOf, Object

__all__ = ["INCOMING", "OUTGOING", "s2s_commands"]

CATEGORY = "s2s"

#: One row of ``listIncoming``.
INCOMING = Object(
    "IncomingS2S",
    [
        Field("address", STRING, "IP address and port of the remote server"),
        Field("listener", STRING, "Listener it connected to, e.g. listen.s2s[0]"),
        Field("localDomain", STRING, "Our domain named in the stream header"),
        Field("remoteDomains", ListOf(STRING), "Remote domains authenticated by dialback"),
        Field("secure", BOOL, "Whether the stream uses TLS"),
        Field("connectedSince", DATETIME, "When the connection was opened", optional=True),
    ],
)

#: One row of ``listOutgoing``.
OUTGOING = Object(
    "OutgoingS2S",
    [
        Field("localDomain", STRING, "Our domain (the stream's 'from')"),
        Field("remoteDomain", STRING, "The remote domain"),
        Field("state", STRING, "connecting or established"),
        Field("address", STRING, "IP address and port connected to (empty while connecting)"),
        Field("secure", BOOL, "Whether the stream uses TLS"),
        Field("queued", INT, "Stanzas waiting for the stream"),
        Field("connectedSince", DATETIME, "When the connection was started", optional=True),
    ],
)


def s2s_commands(manager: Any) -> list[Command]:
    """Build the ``s2s`` commands over a node's federation manager.

    Args:
        manager: the node's :class:`mongoose.s2s.manager.S2SManager`.

    Returns:
        The commands, ready for :meth:`CommandRegistry.register`.
    """

    async def list_incoming() -> list[dict]:
        return manager.incoming_rows()

    async def list_outgoing() -> list[dict]:
        return manager.outgoing_rows()

    return [
        Command(
            category=CATEGORY,
            name="listIncoming",
            description="List the incoming server-to-server connections",
            action="read",
            security_policy=ADMIN,
            handler=list_incoming,
            result=ListOf(INCOMING),
        ),
        Command(
            category=CATEGORY,
            name="listOutgoing",
            description="List the outgoing server-to-server connections",
            action="read",
            security_policy=ADMIN,
            handler=list_outgoing,
            result=ListOf(OUTGOING),
        ),
    ]
