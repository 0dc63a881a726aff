"""Legacy flat ``mongooseimctl`` commands of MongooseIM's ``service_admin_extra``.

MongooseIM users script commands such as ``mongooseimctl change_password
alice localhost newpw``.  Each definition here keeps that name and the order
of its positional arguments, and runs the modern registry command that does
the work (``account/changeUserPassword`` ...) as the global admin, so
validation, permissions and errors stay those of the modern command.  The
category of a legacy command is its ``service_admin_extra`` submod.
"""

from __future__ import annotations

import os
import time
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from mongoose.commands.caller import Caller
from mongoose.commands.defs.session import SESSION, USER_STATUS
from mongoose.commands.errors import CommandError
from mongoose.commands.registry import Arg, Command, CommandRegistry
from mongoose.commands.types import INT, STRING, Enum, Int, ListOf
from mongoose.xmpp.framing import parse_element

__all__ = ["SUBMODS", "admin_extra_commands"]

#: The submods of ``service_admin_extra`` this server provides.
SUBMODS = ("accounts", "last", "private", "roster", "sessions", "stanza", "stats", "vcard")

#: MongooseIM vCard field names -> keys of the ``vcard`` commands' JSON.
_VCARD_KEYS = {
    "FN": "formattedName", "NICKNAME": "nickname", "BDAY": "birthday", "URL": "url",
    "TITLE": "title", "ROLE": "role", "DESC": "description", "JABBERID": "jabberId",
    "MAILER": "mailer", "TZ": "timeZone", "NOTE": "note", "UID": "uid", "REV": "revision",
    "SORT-STRING": "sortString",
}

Call = Callable[[str, str, dict[str, Any]], Awaitable[Any]]


def _arg(name: str, description: str, kind=STRING, **kw: Any) -> Arg:
    return Arg(name, kind, description, **kw)


_USER = _arg("user", "The user name (local part)", example="alice")
_HOST = _arg("host", "The XMPP domain", example="localhost")


def _jid(user: str, host: str, resource: str | None = None) -> str:
    return f"{user}@{host}" + (f"/{resource}" if resource else "")


def _since(days: int) -> str:
    moment = datetime.now(UTC) - timedelta(days=days)
    return moment.isoformat().replace("+00:00", "Z")


def admin_extra_commands(registry: CommandRegistry, submods: Iterable[str],
                         started: float | None = None) -> list[Command]:
    """The legacy commands of the given submods.

    Args:
        registry: the registry whose modern commands the legacy ones run.
        submods: the submods to build (names of :data:`SUBMODS`).
        started: the node's start time (``time.time()``) for ``stats uptimeseconds``.
    """
    started = time.time() if started is None else started

    async def call(category: str, name: str, args: dict[str, Any]) -> Any:
        clean = {k: v for k, v in args.items() if v is not None}
        return await registry.execute(Caller.admin(), category, name, clean)

    builders = {
        "accounts": _accounts, "last": _last, "private": _private, "roster": _roster,
        "sessions": _sessions, "stanza": _stanza, "stats": lambda c: _stats(c, started),
        "vcard": _vcard,
    }
    commands: list[Command] = []
    for submod in submods:
        commands.extend(builders[submod](call))
    return commands


def _command(category: str, name: str, description: str, args: tuple[Arg, ...],
             handler: Callable[..., Awaitable[Any]], result=STRING,
             action: str = "update") -> Command:
    return Command(category=category, name=name, description=description, action=action,
                   security_policy="admin", args=args, result=result, handler=handler)


def _accounts(call: Call) -> list[Command]:
    cat = "accounts"

    async def register_user(user, host, password):
        return (await call("account", "registerUser",
                           {"domain": host, "username": user, "password": password}))["message"]

    async def unregister_user(user, host):
        return (await call("account", "removeUser", {"user": _jid(user, host)}))["message"]

    async def registered_users(host):
        return await call("account", "listUsers", {"domain": host})

    async def change_password(user, host, newpass):
        return (await call("account", "changeUserPassword",
                           {"user": _jid(user, host), "newPassword": newpass}))["message"]

    async def check_account(user, host):
        result = await call("account", "checkUser", {"user": _jid(user, host)})
        if not result["exist"]:
            raise CommandError("not_found", f"user {_jid(user, host)} does not exist")
        return result["message"]

    async def check_password(user, host, password):
        result = await call("account", "checkPassword",
                            {"user": _jid(user, host), "password": password})
        if not result["correct"]:
            raise CommandError("forbidden", "the password is not correct")
        return result["message"]

    async def ban_account(user, host, reason):
        jid = _jid(user, host)
        await call("account", "checkUser", {"user": jid})
        await call("account", "changeUserPassword",
                   {"user": jid, "newPassword": os.urandom(24).hex()})
        try:
            await call("session", "kickUser", {"user": jid, "reason": reason})
        except CommandError as error:
            if error.code != "not_found":
                raise
        return f"User {jid} banned: its password was replaced and its sessions closed"

    async def num_active_users(host, days):
        return await call("last", "countActiveUsers", {"domain": host, "timestamp": _since(days)})

    async def delete_old_users(days):
        removed = await call("last", "removeOldUsers", {"timestamp": _since(days)})
        return [row["jid"] for row in removed]

    async def delete_old_users_vhost(host, days):
        removed = await call("last", "removeOldUsers",
                             {"domain": host, "timestamp": _since(days)})
        return [row["jid"] for row in removed]

    days = _arg("days", "Inactive for at least this many days", Int(min=0), example=30)
    return [
        _command(cat, "register_user", "Register a user", (_USER, _HOST,
                 _arg("password", "The password")), register_user, action="create"),
        _command(cat, "unregister_user", "Remove a user and their data", (_USER, _HOST),
                 unregister_user, action="delete"),
        _command(cat, "registered_users", "List the users of a domain", (_HOST,),
                 registered_users, result=ListOf(STRING), action="read"),
        _command(cat, "change_password", "Change the password of a user",
                 (_USER, _HOST, _arg("newpass", "The new password")), change_password),
        _command(cat, "check_account", "Check that a user exists", (_USER, _HOST),
                 check_account, action="read"),
        _command(cat, "check_password", "Check the password of a user",
                 (_USER, _HOST, _arg("password", "The password to check")), check_password,
                 action="read"),
        _command(cat, "ban_account", "Ban an account: new random password, sessions closed",
                 (_USER, _HOST, _arg("reason", "Why, sent to the user's sessions")),
                 ban_account),
        _command(cat, "num_active_users", "Count the users active in the last days",
                 (_HOST, days), num_active_users, result=INT, action="read"),
        _command(cat, "delete_old_users", "Remove users inactive for days (every domain)",
                 (days,), delete_old_users, result=ListOf(STRING), action="delete"),
        _command(cat, "delete_old_users_vhost", "Remove users of a domain inactive for days",
                 (_HOST, days), delete_old_users_vhost, result=ListOf(STRING), action="delete"),
    ]


def _last(call: Call) -> list[Command]:
    async def set_last(user, host, timestamp, status):
        stamp = datetime.fromtimestamp(timestamp, UTC).isoformat()
        await call("last", "setLast", {"user": _jid(user, host), "timestamp": stamp,
                                       "status": status})
        return f"Last activity of {_jid(user, host)} set"

    return [_command("last", "set_last", "Set the last activity of a user", (
        _USER, _HOST, _arg("timestamp", "Unix time in seconds", Int(min=0), example=1700000000),
        _arg("status", "The status text"),
    ), set_last)]


def _private(call: Call) -> list[Command]:
    async def private_get(user, host, element, ns):
        return await call("private", "getPrivate",
                          {"user": _jid(user, host), "element": element, "nameSpace": ns})

    async def private_set(user, host, element):
        return await call("private", "setPrivate",
                          {"user": _jid(user, host), "elementString": element})

    return [
        _command("private", "private_get", "Get a private XML element of a user",
                 (_USER, _HOST, _arg("element", "The element name"),
                  _arg("ns", "The element's namespace")), private_get, action="read"),
        _command("private", "private_set", "Store a private XML element of a user",
                 (_USER, _HOST, _arg("element", "The XML element")), private_set),
    ]


def _roster(call: Call) -> list[Command]:
    cat = "roster"

    async def add_rosteritem(localuser, localserver, user, server, nick, group, subs):
        owner, contact = _jid(localuser, localserver), _jid(user, server)
        groups = [g for g in group.split(";") if g]
        await call("roster", "addContact",
                   {"user": owner, "contact": contact, "name": nick, "groups": groups})
        if subs in ("to", "both"):
            await call("roster", "subscription",
                       {"user": owner, "contact": contact, "action": "subscribe"})
        return f"{contact} added to the roster of {owner}"

    async def delete_rosteritem(localuser, localserver, user, server):
        return await call("roster", "deleteContact",
                          {"user": _jid(localuser, localserver), "contact": _jid(user, server)})

    async def get_roster(user, host):
        contacts = await call("roster", "listContacts", {"user": _jid(user, host)})
        return [f"{c['jid']} {c.get('name') or ''} {c.get('subscription')}".replace("  ", " ")
                for c in contacts]

    local = (_arg("localuser", "The roster owner's user name"),
             _arg("localserver", "The roster owner's domain"),
             _arg("user", "The contact's user name"), _arg("server", "The contact's domain"))
    return [
        _command(cat, "add_rosteritem", "Add a contact to a user's roster", local + (
            _arg("nick", "The contact's name"), _arg("group", "Groups separated by ';'"),
            _arg("subs", "Subscription: none, to, from or both"),
        ), add_rosteritem, action="create"),
        _command(cat, "delete_rosteritem", "Remove a contact from a user's roster", local,
                 delete_rosteritem, action="delete"),
        _command(cat, "get_roster", "List a user's contacts (jid name subscription)",
                 (_USER, _HOST), get_roster, result=ListOf(STRING), action="read"),
    ]


def _sessions(call: Call) -> list[Command]:
    cat = "sessions"
    status = _arg("status", "available, away, chat, dnd or xa", example="away")
    resource = _arg("resource", "The session's resource", example="phone")

    async def num_resources(user, host):
        return await call("session", "countUserResources", {"user": _jid(user, host)})

    async def resource_num(user, host, num):
        return await call("session", "getUserResource", {"user": _jid(user, host), "number": num})

    async def kick_session(user, host, resource, reason):
        result = await call("session", "kickUserSession",
                            {"user": _jid(user, host, resource), "reason": reason})
        return result["message"]

    async def status_num_host(host, status):
        return await call("session", "countUsersWithStatus", {"domain": host, "status": status})

    async def status_num(status):
        return await call("session", "countUsersWithStatus", {"status": status})

    async def status_list_host(host, status):
        return await call("session", "listUsersWithStatus", {"domain": host, "status": status})

    async def status_list(status):
        return await call("session", "listUsersWithStatus", {"status": status})

    async def connected_users_info():
        return await call("session", "listSessions", {})

    async def connected_users():
        return [s["user"] for s in await call("session", "listSessions", {})]

    async def connected_users_vhost(host):
        return [s["user"] for s in await call("session", "listSessions", {"domain": host})]

    async def user_sessions_info(user, host):
        return await call("session", "listUserSessions", {"user": _jid(user, host)})

    async def set_presence(user, host, resource, type, show, status, priority):
        await call("session", "setPresence", {
            "user": _jid(user, host, resource), "type": type, "show": show or None,
            "status": status or None, "priority": priority,
        })
        return f"Presence of {_jid(user, host, resource)} set"

    return [
        _command(cat, "num_resources", "Count a user's sessions", (_USER, _HOST),
                 num_resources, result=INT, action="read"),
        _command(cat, "resource_num", "The resource of a user's n-th session",
                 (_USER, _HOST, _arg("num", "Which session, from 1", Int(min=1))),
                 resource_num, action="read"),
        _command(cat, "kick_session", "Close one session of a user",
                 (_USER, _HOST, resource, _arg("reason", "Why")), kick_session,
                 action="delete"),
        _command(cat, "status_num_host", "Count a domain's users with a status",
                 (_HOST, status), status_num_host, result=INT, action="read"),
        _command(cat, "status_num", "Count users with a status", (status,), status_num,
                 result=INT, action="read"),
        _command(cat, "status_list_host", "List a domain's users with a status",
                 (_HOST, status), status_list_host, result=ListOf(USER_STATUS), action="read"),
        _command(cat, "status_list", "List users with a status", (status,), status_list,
                 result=ListOf(USER_STATUS), action="read"),
        _command(cat, "connected_users", "List the full JIDs of every session", (),
                 connected_users, result=ListOf(STRING), action="read"),
        _command(cat, "connected_users_info", "List every session", (),
                 connected_users_info, result=ListOf(SESSION), action="read"),
        _command(cat, "connected_users_vhost", "List the full JIDs of a domain's sessions",
                 (_HOST,), connected_users_vhost, result=ListOf(STRING), action="read"),
        _command(cat, "user_sessions_info", "List a user's sessions", (_USER, _HOST),
                 user_sessions_info, result=ListOf(SESSION), action="read"),
        _command(cat, "set_presence", "Set the presence of a session", (
            _USER, _HOST, resource, _arg("type", "available or unavailable"),
            _arg("show", "online, away, chat, dnd or xa"), _arg("status", "The status text"),
            _arg("priority", "The priority", Int(min=-128, max=127)),
        ), set_presence),
    ]


def _stanza(call: Call) -> list[Command]:
    cat = "stanza"

    async def send_message_chat(from_, to, body):
        return (await call("stanza", "sendMessage", {"from": from_, "to": to, "body": body}))["id"]

    async def send_message_headline(from_, to, subject, body):
        return (await call("stanza", "sendMessageHeadLine",
                           {"from": from_, "to": to, "subject": subject, "body": body}))["id"]

    async def send_stanza_c2s(user, host, resource, stanza):
        try:
            element = parse_element(stanza, default_namespace="jabber:client")
        except Exception:
            raise CommandError("bad_request", "stanza: is not a well-formed XML element",
                               arg="stanza") from None
        element["from"] = _jid(user, host, resource)
        element.attributes.setdefault("to", _jid(user, host))
        return (await call("stanza", "sendStanza", {"stanza": element.toXml()}))["id"]

    def wrap(handler):
        async def run(**kw):
            kw["from_"] = kw.pop("from")
            return await handler(**kw)
        return run

    sender = _arg("from", "The sender's JID", example="alice@localhost")
    recipient = _arg("to", "The recipient's JID", example="bob@localhost")
    return [
        _command(cat, "send_message_chat", "Send a chat message", (
            sender, recipient, _arg("body", "The text")), wrap(send_message_chat),
            action="create"),
        _command(cat, "send_message_headline", "Send a headline message", (
            sender, recipient, _arg("subject", "The subject"), _arg("body", "The text")),
            wrap(send_message_headline), action="create"),
        _command(cat, "send_stanza_c2s", "Send a stanza as if a session sent it", (
            _USER, _HOST, _arg("resource", "The session's resource"),
            _arg("stanza", "The stanza as XML")), send_stanza_c2s, action="create"),
    ]


def _stats(call: Call, started: float) -> list[Command]:
    names = ("registeredusers", "onlineusers", "onlineusersnode", "uptimeseconds")

    async def stat(name: str, host: str | None) -> int:
        if name == "uptimeseconds":
            return int(time.time() - started)
        if name == "registeredusers":
            if host is None:
                raise CommandError("bad_request", "name: registeredusers needs stats_host",
                                   arg="name")
            return await call("account", "countUsers", {"domain": host})
        return await call("session", "countSessions", {"domain": host})

    async def stats(name):
        return await stat(name, None)

    async def stats_host(name, host):
        return await stat(name, host)

    name_arg = Arg("name", Enum(*names), "The statistic", example="onlineusers")
    return [
        _command("stats", "stats", "A node statistic", (name_arg,), stats, result=INT,
                 action="read"),
        _command("stats", "stats_host", "A domain statistic", (name_arg, _HOST), stats_host,
                 result=INT, action="read"),
    ]


def _vcard(call: Call) -> list[Command]:
    cat = "vcard"
    field = _arg("name", "The vCard field (FN, NICKNAME, URL ...)", example="FN")

    def key(name: str) -> str:
        try:
            return _VCARD_KEYS[name.upper()]
        except KeyError:
            allowed = ", ".join(sorted(_VCARD_KEYS))
            raise CommandError("bad_request", f"name: unknown vCard field (use {allowed})",
                               arg="name") from None

    async def current(user, host) -> dict[str, Any]:
        try:
            card = await call("vcard", "getVcard", {"user": _jid(user, host)})
        except CommandError as error:
            if error.code != "not_found":
                raise
            return {}
        return {k: v for k, v in card.items() if v not in (None, [], {})}

    async def get_vcard(user, host, name):
        value = (await current(user, host)).get(key(name))
        if isinstance(value, list):
            value = value[0] if value else None
        if value in (None, ""):
            raise CommandError("not_found", f"{_jid(user, host)} has no {name.upper()}")
        return str(value)

    async def set_vcard(user, host, name, content):
        card = await current(user, host)
        field_key = key(name)
        card[field_key] = content if field_key == "formattedName" else [content]
        card.setdefault("formattedName", "")
        card.setdefault("nameComponents", {})
        await call("vcard", "setVcard", {"user": _jid(user, host), "vcard": card})
        return f"{name.upper()} of {_jid(user, host)} set"

    return [
        _command(cat, "get_vcard", "Get one field of a user's vCard", (_USER, _HOST, field),
                 get_vcard, action="read"),
        _command(cat, "set_vcard", "Set one field of a user's vCard",
                 (_USER, _HOST, field, _arg("content", "The value")), set_vcard),
    ]

