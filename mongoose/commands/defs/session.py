"""The ``session`` commands (MongooseIM GraphQL ``SessionAdminQuery``/``SessionAdminMutation``).

They read and act on the node's session manager: list and count sessions per
domain or per user, list users by presence status, kick one session or all
sessions of a user (the stream ends with ``policy-violation`` and the
reason), and set a session's presence as if its client had sent it.  The
MongooseIM 6.5 REST route ``DELETE /sessions/{domain}/{username}/{resource}``
is bound to ``kickUserSession``.  (``GET /sessions/{domain}`` answered a list
of JID strings, which no GraphQL command returns; use ``listSessions``.)
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from twisted.words.xish.domish import Element

from mongoose.commands.defs.addresses import bare_jid, full_jid
from mongoose.commands.errors import CommandError
from mongoose.commands.registry import Arg, Command, RestBinding
from mongoose.commands.types import (
    BOOL,
    DOMAIN,
    INT,
    STRING,
    Enum,
    Field,
    Int,
    Jid,
    ListOf,
    Object,
    Resource,
    String,
)
from mongoose.xmpp.namespaces import NS_CLIENT

__all__ = [
    "session_commands",
    "SESSION",
    "KICK_RESULT",
    "SESSION_PAYLOAD",
    "USER_STATUS",
    "PRESENCE_TYPES",
    "PRESENCE_SHOWS",
    "KICK_REASON",
    "end_user_sessions",
]

CATEGORY = "session"
USER_JID = Jid(require_user=True)
#: The stream error text when no reason is given.
KICK_REASON = "Kicked by administrator"

PRESENCE_TYPES = (
    "available", "error", "probe", "subscribe", "subscribed", "unavailable", "unsubscribe",
    "unsubscribed",
)
PRESENCE_SHOWS = ("online", "away", "chat", "dnd", "xa")

SESSION = Object(
    "Session",
    [
        Field("user", Jid(), "The full JID"),
        Field("connection", STRING, "The connection type (e.g. c2s)", optional=True),
        Field("ip", STRING, "The session IP address", optional=True),
        Field("port", INT, "The session port", optional=True),
        Field("priority", INT, "The priority level of the resource", optional=True),
        Field("node", STRING, "The node that the session belongs to", optional=True),
        Field("uptime", INT, "The uptime of the session in seconds", optional=True),
    ],
)
KICK_RESULT = Object(
    "KickUserResult",
    [
        Field("jid", Jid(), "Full JID with username, server and resource"),
        Field("kicked", BOOL, "Result status"),
        Field("code", STRING, "Result code (if failed)", optional=True),
        Field("message", STRING, "Result message"),
    ],
)
SESSION_PAYLOAD = Object(
    "SessionPayload",
    [
        Field("jid", Jid(), "Full JID with username, server and resource"),
        Field("message", STRING, "Result message"),
    ],
)
USER_STATUS = Object(
    "UserStatus",
    [
        Field("user", Jid(), "User JID"),
        Field("priority", INT, "Status priority", optional=True),
        Field("text", STRING, "Status text", optional=True),
    ],
)


def _child_text(stanza: Element | None, name: str) -> str | None:
    if stanza is None:
        return None
    for child in stanza.elements():
        if child.name == name:
            return str(child)
    return None


def end_user_sessions(sessions: Any, username: str, domain: str, reason: str | None) -> int:
    """End every session of a user (stream error ``policy-violation`` with ``reason``).

    Args:
        sessions: the node's SessionManager.

    Returns:
        How many sessions ended.
    """
    found = list(sessions.sessions_of(username, domain))
    for session in found:
        session.close("policy-violation", reason or KICK_REASON)
        sessions.unbind(session)
    return len(found)


def presence_status(session: Any) -> str | None:
    """``available`` or the ``<show/>`` value of an available session, else None."""
    if session.priority is None:
        return None
    return _child_text(session.presence, "show") or "available"


def session_commands(
    sessions: Any, hooks: Any, clock: Any, node_name: str = "mongooseim@localhost"
) -> list[Command]:
    """Build the ``session`` commands.

    Args:
        sessions: the node's SessionManager.
        hooks: the node's HookRegistry (``setPresence`` runs
            ``user_presence_broadcast`` as the client stream does).
        clock: an IReactorTime, for uptimes.
        node_name: the name reported in each session's ``node`` field.

    Returns:
        The commands, ready for :meth:`CommandRegistry.register`.
    """

    def session_json(session: Any) -> dict[str, Any]:
        info = session.info or {}
        started = info.get("started")
        uptime = None if started is None else max(int(clock.seconds() - started), 0)
        port = info.get("port")
        return {
            "user": session.jid.full(),
            "connection": info.get("transport"),
            "ip": None if info.get("ip") is None else str(info.get("ip")),
            "port": port if isinstance(port, int) else None,
            "priority": session.priority,
            "node": node_name,
            "uptime": uptime,
        }

    def scope(domain: str | None) -> Iterable[Any]:
        return sessions.all_sessions(domain)

    async def list_sessions(domain: str | None) -> list[dict]:
        return [session_json(s) for s in scope(domain)]

    async def count_sessions(domain: str | None) -> int:
        return sessions.count(domain)

    def user_sessions(user: Any) -> list[Any]:
        jid = bare_jid(user, "user")
        return sessions.sessions_of(jid.user, jid.host)

    async def list_user_sessions(user: Any) -> list[dict]:
        return [session_json(s) for s in user_sessions(user)]

    async def list_user_resources(user: Any) -> list[str]:
        return [s.jid.resource for s in user_sessions(user)]

    async def count_user_resources(user: Any) -> int:
        return len(user_sessions(user))

    async def get_user_resource(user: Any, number: int) -> str:
        found = user_sessions(user)
        if number > len(found):
            raise CommandError(
                "not_found", f"number: the user has {len(found)} sessions", arg="number"
            )
        return found[number - 1].jid.resource

    def with_status(domain: str | None, status: str) -> list[Any]:
        return [s for s in scope(domain) if presence_status(s) == status]

    async def list_users_with_status(domain: str | None, status: str) -> list[dict]:
        return [
            {
                "user": s.jid.full(),
                "priority": s.priority,
                "text": _child_text(s.presence, "status"),
            }
            for s in with_status(domain, status)
        ]

    async def count_users_with_status(domain: str | None, status: str) -> int:
        return len(with_status(domain, status))

    def kick(session: Any, reason: str | None) -> dict:
        session.close("policy-violation", reason or KICK_REASON)
        sessions.unbind(session)
        return {"jid": session.jid.full(), "kicked": True, "code": None,
                "message": "Session kicked"}

    async def kick_user_session(user: Any, reason: str | None) -> dict:
        jid = full_jid(user, "user")
        session = sessions.get(jid)
        if session is None:
            raise CommandError("not_found", f"no session {jid.full()}")
        return kick(session, reason)

    async def kick_user(user: Any, reason: str | None) -> list[dict]:
        return [kick(session, reason) for session in list(user_sessions(user))]

    async def set_presence(
        user: Any, type: str, show: str | None, status: str | None, priority: int | None
    ) -> dict:
        jid = full_jid(user, "user")
        session = sessions.get(jid)
        if session is None:
            raise CommandError("not_found", f"no session {jid.full()}")
        if type not in ("available", "unavailable"):
            raise CommandError(
                "bad_request", "type: a session's own presence is available or unavailable",
                arg="type",
            )
        presence = Element((NS_CLIENT, "presence"))
        presence["from"] = jid.full()
        if type == "unavailable":
            presence["type"] = "unavailable"
        if show not in (None, "online"):
            presence.addElement((NS_CLIENT, "show"), content=show)
        if status:
            presence.addElement((NS_CLIENT, "status"), content=status)
        if priority is not None:
            presence.addElement((NS_CLIENT, "priority"), content=str(priority))
        was_available = session.priority is not None
        if type == "available":
            session.priority = priority or 0
            session.presence = presence
        else:
            session.priority = None
            session.presence = None
        await hooks.run("user_presence_broadcast", jid.host, session, presence, was_available)
        return {"jid": jid.full(), "message": "Presence set successfully"}

    domain_opt = Arg("domain", DOMAIN, "The XMPP domain; all domains when omitted",
                     default=None, example="localhost")
    bare_user = Arg("user", USER_JID, "The user's bare JID", example="alice@localhost")
    account = Arg("user", Jid(bare=True), "The user's bare JID", example="alice@localhost")
    full_user = Arg("user", USER_JID, "The session's full JID", example="alice@localhost/phone")
    session_jid = Arg("user", Jid(full=True), "The session's full JID",
                      example="alice@localhost/phone")
    reason = Arg("reason", STRING, "Why, sent to the client in the stream error",
                 default=None, example="maintenance")
    status_arg = Arg("status", String(non_empty=True), "available, away, chat, dnd or xa", example="away")
    return [
        Command(
            category=CATEGORY, name="listSessions", action="read",
            description="Get the list of established sessions for a specified domain or globally",
            security_policy="domain_admin", domain_arg="domain",
            args=(domain_opt,), result=ListOf(SESSION), handler=list_sessions,
            rest=RestBinding(method="GET", path="/sessions/{XMPPHost}", result="user",
                             compose={"domain": "{XMPPHost}"}, group="sessions"),
        ),
        Command(
            category=CATEGORY, name="countSessions", action="read",
            description="Get the number of established sessions for a specified domain or "
            "globally",
            security_policy="domain_admin", domain_arg="domain",
            args=(domain_opt,), result=INT, handler=count_sessions,
        ),
        Command(
            category=CATEGORY, name="listUserSessions", action="read",
            description="Get information about all sessions of a user",
            security_policy="user", args=(bare_user,), result=ListOf(SESSION),
            handler=list_user_sessions,
        ),
        Command(
            category=CATEGORY, name="listUserResources", action="read",
            description="Get the resources of a user's sessions",
            security_policy="user", args=(bare_user,), result=ListOf(Resource()),
            handler=list_user_resources,
        ),
        Command(
            category=CATEGORY, name="countUserResources", action="read",
            description="Get the number of resources of a user",
            security_policy="user", args=(bare_user,), result=INT,
            handler=count_user_resources,
        ),
        Command(
            category=CATEGORY, name="getUserResource", action="read",
            description="Get the resource string of the n-th session of a user",
            security_policy="user",
            args=(bare_user, Arg("number", Int(min=1), "Which session, from 1", example=1)),
            result=Resource(), handler=get_user_resource,
        ),
        Command(
            category=CATEGORY, name="listUsersWithStatus", action="read",
            description="Get the list of logged users with this status for a specified domain "
            "or globally",
            security_policy="domain_admin", domain_arg="domain",
            args=(domain_opt, status_arg), result=ListOf(USER_STATUS),
            handler=list_users_with_status,
        ),
        Command(
            category=CATEGORY, name="countUsersWithStatus", action="read",
            description="Get the number of logged users with this status for a specified domain "
            "or globally",
            security_policy="domain_admin", domain_arg="domain",
            args=(domain_opt, status_arg), result=INT, handler=count_users_with_status,
        ),
        Command(
            category=CATEGORY, name="kickUserSession", action="delete",
            description="Kick a user session. User JID must contain resource",
            security_policy="domain_admin", domain_arg="user",
            args=(session_jid, reason), result=KICK_RESULT, handler=kick_user_session,
            rest=RestBinding(
                method="DELETE", path="/sessions/{XMPPHost}/{username}/{resource}",
                compose={"user": "{username}@{XMPPHost}/{resource}"}, status=204, result=None,
                group="sessions",
            ),
        ),
        Command(
            category=CATEGORY, name="kickUser", action="delete",
            description="Kick all sessions of a user",
            security_policy="domain_admin", domain_arg="user",
            args=(account, reason), result=ListOf(KICK_RESULT), handler=kick_user,
        ),
        Command(
            category=CATEGORY, name="setPresence", action="update",
            description="Set presence of a session. User JID should contain resource",
            security_policy="domain_admin", domain_arg="user",
            args=(
                full_user,
                Arg("type", Enum(*PRESENCE_TYPES), "available or unavailable",
                    example="available"),
                Arg("show", Enum(*PRESENCE_SHOWS), "The <show/> value (online: none)",
                    default=None, example="away"),
                Arg("status", STRING, "The <status/> text", default=None, example="Out to lunch"),
                Arg("priority", Int(min=-128, max=127), "The <priority/>", default=None,
                    example=5),
            ),
            result=SESSION_PAYLOAD, handler=set_presence,
        ),
    ]
