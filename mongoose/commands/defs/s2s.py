"""Federation commands: list the incoming and outgoing s2s connections.

MongooseIM exposes only counts (GraphQL ``stat.globalStats``
``incomingS2SNumber``/``outgoingS2SNumber``; admin_extra
``incoming_s2s_number``/``outgoing_s2s_number``); these list the
connections themselves, in category ``s2s`` (``listIncoming``,
``listOutgoing``), through every front end of the registry.

Each row says how the stream was authenticated (:data:`EXTERNAL`,
:data:`DIALBACK`, both, or :data:`NONE` yet), whether it uses TLS, and the
peer's address, read from the streams of
:class:`mongoose.s2s.manager.S2SManager`.
"""

from __future__ import annotations

from typing import Any

from mongoose.commands.caller import ADMIN
from mongoose.commands.registry import Command
from mongoose.commands.types import BOOL, DATETIME, INT, STRING, Field, ListOf, Object

__all__ = [
    "DIALBACK",
    "EXTERNAL",
    "INCOMING",
    "NONE",
    "OUTGOING",
    "incoming_authentication",
    "incoming_row",
    "outgoing_row",
    "s2s_commands",
]

CATEGORY = "s2s"

#: ``authentication`` values: SASL EXTERNAL (XEP-0178), server dialback
#: (XEP-0220), and not authenticated (yet).  An incoming stream on which one
#: domain used SASL EXTERNAL and further domains dialback says
#: ``"external+dialback"``.
EXTERNAL = "external"
DIALBACK = "dialback"
NONE = "none"

#: One row of ``listIncoming``.
INCOMING = Object(
    "IncomingS2S",
    [
        Field("address", STRING, "IP address and port of the remote server"),
        Field("listener", STRING, "Listener it connected to, e.g. listen.s2s[0]"),
        Field("localDomain", STRING, "Our domain named in the stream header"),
        Field(
            "remoteDomains", ListOf(STRING),
            "Remote domains authenticated on the stream (dialback or SASL EXTERNAL)",
        ),
        Field(
            "authentication", STRING,
            "How the remote server authenticated: external (SASL EXTERNAL), dialback, "
            "external+dialback, or none (not yet)",
        ),
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
        Field(
            "authentication", STRING,
            "How we authenticated to the remote server: external (SASL EXTERNAL), dialback, "
            "or none (not yet)",
        ),
        Field("secure", BOOL, "Whether the stream uses TLS"),
        Field("queued", INT, "Stanzas waiting for the stream"),
        Field("connectedSince", DATETIME, "When the connection was started", optional=True),
    ],
)


def incoming_authentication(stream: Any) -> str:
    """How the remote server of an incoming stream authenticated (see :data:`EXTERNAL`)."""
    dialback_pairs = len(stream.pairs) - (1 if stream.external is not None else 0)
    methods = [EXTERNAL] if stream.external is not None else []
    if dialback_pairs > 0:
        methods.append(DIALBACK)
    return "+".join(methods) or NONE


def incoming_row(stream: Any) -> dict[str, Any]:
    """One ``listIncoming`` row for an incoming stream.

    Args:
        stream: a :class:`mongoose.s2s.incoming.IncomingStream`.
    """
    return {
        "address": str(stream.info.get("address", "")),
        "listener": str(stream.info.get("listener", "")),
        "localDomain": stream.local or "",
        "remoteDomains": sorted({remote for remote, _ in stream.pairs}),
        "authentication": incoming_authentication(stream),
        "secure": bool(stream.secure),
        "connectedSince": stream.info.get("connected"),
    }


def outgoing_row(local: str, remote: str, connection: Any) -> dict[str, Any]:
    """One ``listOutgoing`` row for the outgoing connection from ``local`` to ``remote``.

    Args:
        local: our domain.
        remote: the remote domain.
        connection: a :class:`mongoose.s2s.manager.OutgoingConnection`.
    """
    stream = connection.stream
    info = stream.info if stream is not None else {}
    return {
        "localDomain": local,
        "remoteDomain": remote,
        "state": connection.state,
        "address": str(info.get("address", "")),
        "authentication": (stream.authenticated_by if stream is not None else None) or NONE,
        "secure": bool(stream is not None and stream.secure),
        "queued": len(connection.queue),
        "connectedSince": connection.started,
    }


def s2s_commands(manager: Any) -> list[Command]:
    """Build the ``s2s`` commands over a node's federation manager.

    Args:
        manager: the node's :class:`mongoose.s2s.manager.S2SManager`.

    Returns:
        The commands, ready for :meth:`CommandRegistry.register`.
    """

    async def list_incoming() -> list[dict]:
        rows = [incoming_row(stream) for stream in list(manager.incoming)]
        return sorted(rows, key=lambda row: row["address"])

    async def list_outgoing() -> list[dict]:
        return [
            outgoing_row(local, remote, connection)
            for (local, remote), connection in sorted(manager.outgoing.items())
        ]

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
