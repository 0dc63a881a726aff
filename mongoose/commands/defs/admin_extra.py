"""Legacy flat ``mongooseimctl`` commands of MongooseIM's ``service_admin_extra``.

MongooseIM users script commands such as ``mongooseimctl change_password
alice localhost newpw``.  Each definition here keeps that name and the order
of its positional arguments, and runs the modern registry command that does
the work (``account/changeUserPassword`` ...) as the global admin, so
validation, permissions and errors stay those of the modern command.  The
category of a legacy command is its ``service_admin_extra`` submod.
"""

from __future__ import annotations

import csv
import fnmatch
import hashlib
import hmac
import io
import os
import re
import time
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from twisted.internet import threads

from mongoose.commands.caller import Caller
from mongoose.commands.defs.session import SESSION, USER_STATUS
from mongoose.commands.defs.vcard import _NAME as VCARD_NAME  # XML <-> JSON tables
from mongoose.commands.defs.vcard import _STRUCTS as VCARD_STRUCTS
from mongoose.commands.errors import CommandError
from mongoose.commands.registry import Arg, Command, CommandRegistry
from mongoose.commands.types import INT, STRING, USERNAME, Enum, Int, ListOf
from mongoose.xmpp.framing import parse_element

__all__ = ["SUBMODS", "admin_extra_commands"]

#: The submods of ``service_admin_extra`` this server provides.
SUBMODS = ("accounts", "gdpr", "last", "node", "private", "roster", "sessions", "stanza",
           "stats", "vcard")

#: MongooseIM vCard field names -> keys of the ``vcard`` commands' JSON.
_VCARD_KEYS = {
    "FN": "formattedName", "NICKNAME": "nickname", "BDAY": "birthday", "URL": "url",
    "TITLE": "title", "ROLE": "role", "DESC": "description", "JABBERID": "jabberId",
    "MAILER": "mailer", "TZ": "timeZone", "NOTE": "note", "UID": "uid", "REV": "revision",
    "SORT-STRING": "sortString",
}

Call = Callable[[str, str, dict[str, Any]], Awaitable[Any]]
GetSecret = Callable[[str, str], Awaitable[Any]]


def _arg(name: str, description: str, kind=STRING, **kw: Any) -> Arg:
    return Arg(name, kind, description, **kw)


_USER = _arg("user", "The user name (local part)", example="alice")
#: check_password_hash methods -> hashlib names.
_HASHES = {"md5": "md5", "sha": "sha1"}
_HOST = _arg("host", "The XMPP domain", example="localhost")


def _jid(user: str, host: str, resource: str | None = None) -> str:
    return f"{user}@{host}" + (f"/{resource}" if resource else "")


def _since(days: int) -> str:
    moment = datetime.now(UTC) - timedelta(days=days)
    return moment.isoformat().replace("+00:00", "Z")


def admin_extra_commands(registry: CommandRegistry, submods: Iterable[str],
                         started: float | None = None,
                         get_secret: GetSecret | None = None,
                         hosts: Callable[[], Iterable[str]] = tuple) -> list[Command]:
    """The legacy commands of the given submods.

    Args:
        registry: the registry whose modern commands the legacy ones run.
        submods: the submods to build (names of :data:`SUBMODS`).
        started: the node's start time (``time.time()``) for ``stats uptimeseconds``.
        get_secret: ``(domain, username) -> Deferred`` of the stored
            :class:`~mongoose.auth.password.PasswordSecret` (for
            ``check_password_hash``), or None when unavailable.
        hosts: the static domains ``process_rosteritems`` walks and
            ``push_roster_alltoall`` accepts; the enabled dynamic domains
            (``domain allDomains``) are added to them.
    """
    started = time.time() if started is None else started

    async def call(category: str, name: str, args: dict[str, Any]) -> Any:
        clean = {k: v for k, v in args.items() if v is not None}
        return await registry.execute(Caller.admin(), category, name, clean)

    builders = {
        "accounts": lambda c: _accounts(c, get_secret), "gdpr": _gdpr, "last": _last,
        "node": _node, "private": _private, "roster": lambda c: _roster(c, hosts),
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


def _accounts(call: Call, get_secret: GetSecret | None = None) -> list[Command]:
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

    async def check_password_hash(user, host, passwordhash, hashmethod):
        jid = _jid(user, host)
        found = await call("account", "checkUser", {"user": jid})
        if not found["exist"]:
            raise CommandError("not_found", f"user {jid} does not exist")
        if get_secret is None:
            raise CommandError("not_allowed", "the stored passwords cannot be read here")
        username = USERNAME.from_text(user, "user")
        secret = await get_secret(host.lower(), username)
        if secret is None or secret.plain is None:
            raise CommandError(
                "not_allowed",
                f"the password of {jid} is stored as SCRAM keys only "
                '(auth.password.format = "scram"), from which no md5/sha hash can be '
                "computed; use check_password",
            )
        digest = hashlib.new(_HASHES[hashmethod], secret.plain.encode("utf-8")).hexdigest()
        if not hmac.compare_digest(digest, passwordhash.strip().lower()):
            raise CommandError("forbidden", "the password hash is not correct")
        return "Password hash is correct"

    days = _arg("days", "Inactive for at least this many days", Int(min=0), example=30)
    return [
        _command(cat, "check_password_hash", "Check a hex md5 or sha hash of a user's password "
                 "(plain password storage only)",
                 (_USER, _HOST, _arg("passwordhash", "The hash as hex digits"),
                  Arg("hashmethod", Enum(*_HASHES), "md5 or sha (SHA-1)", example="md5")),
                 check_password_hash, action="read"),
        _command(cat, "register_user", "Register a user", (_USER, _HOST,
                 _arg("password", "The password")), register_user, action="create"),
        _command(cat, "unregister_user", "Remove a user and their data", (_USER, _HOST),
                 unregister_user, action="delete"),
        # The names MongooseIM 3-5 (and ejabberd) scripts use for the same two.
        _command(cat, "register", "Register a user (same as register_user)", (_USER, _HOST,
                 _arg("password", "The password")), register_user, action="create"),
        _command(cat, "unregister", "Remove a user and their data (same as unregister_user)",
                 (_USER, _HOST), unregister_user, action="delete"),
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


def _gdpr(call: Call) -> list[Command]:
    async def retrieve_personal_data(username, domain, filepath):
        return await call("gdpr", "retrievePersonalData",
                          {"username": username, "domain": domain, "resultFilepath": filepath})

    return [_command("gdpr", "retrieve_personal_data",
                     "Write all personal data of a user to a zip of CSV files on the node",
                     (_arg("username", "The user name (local part)", example="alice"),
                      _arg("domain", "The XMPP domain", example="localhost"),
                      _arg("filepath", "Where the node writes the zip archive",
                           example="/tmp/alice.zip")),
                     retrieve_personal_data, action="read")]


def _node(call: Call) -> list[Command]:
    async def get_cookie():
        return await call("server", "getCookie", {})

    async def load_config(path):
        return await call("server", "loadConfig", {"path": path})

    async def remove_node(node):
        return await call("server", "removeNode", {"node": node})

    return [
        _command("node", "get_cookie", "The node identifier (there is no Erlang cookie)", (),
                 get_cookie, action="read"),
        _command("node", "load_config", "Re-read and validate the config file; apply the "
                 "log level and list what needs a restart",
                 (_arg("path", "The config file", example="/etc/mongooseim/mongooseim.toml"),),
                 load_config),
        _command("node", "remove_node", "Remove a node from the cluster (not available)",
                 (_arg("node", "The node name"),), remove_node),
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


def _filter_words(value: str, allowed: tuple[str, ...], arg: str) -> set[str] | None:
    """``any`` -> None; else the ``:``-separated words, each one of ``allowed``."""
    if value.strip() == "any":
        return None
    words = {w.strip() for w in value.split(":") if w.strip()}
    bad = sorted(words - set(allowed))
    if not words or bad:
        raise CommandError("bad_request", f"{arg}: use any or {':'.join(allowed)} separated "
                           f"by ':' (not {', '.join(bad) or 'nothing'})", arg=arg)
    return words


def _globs(value: str) -> list[str] | None:
    """``any`` -> None; else the ``:``-separated glob patterns."""
    if value.strip() == "any":
        return None
    return [p.strip() for p in value.split(":") if p.strip()]


def _matches(text: str, patterns: list[str] | None) -> bool:
    return patterns is None or any(fnmatch.fnmatchcase(text, p) for p in patterns)


_ROSTER_TERM = re.compile(
    r'\{\s*' + r'\s*,\s*'.join([r'(?:<<)?"((?:[^"\\]|\\.)*)"(?:>>)?'] * 4) + r'\s*\}')


def parse_roster_file(text: str) -> list[dict[str, Any]]:
    """Contacts of a ``push_roster`` file (format in doc/ctl.md).

    Two formats: MongooseIM's Erlang terms, ``[{"user", "host", "Group",
    "Nick"}, ...]`` (``<<"..">>`` binaries allowed), or CSV lines
    ``jid,name,groups`` with groups separated by ``;`` (a first line
    ``jid,name,groups`` and lines starting with ``#`` are skipped).

    Raises:
        ValueError: a line or term cannot be read (the message says which).
    """
    stripped = text.strip()
    contacts: list[dict[str, Any]] = []
    if stripped.startswith(("[", "{")):
        for match in _ROSTER_TERM.finditer(stripped):
            user, host, group, nick = (g.replace('\\"', '"') for g in match.groups())
            contacts.append({"jid": f"{user}@{host}", "name": nick,
                             "groups": [group] if group else []})
        if not contacts and stripped not in ("[]", "[]."):
            raise ValueError('no {"user", "host", "group", "nick"} terms found')
        return contacts
    for number, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        if not row or not "".join(row).strip() or row[0].lstrip().startswith("#"):
            continue
        if number == 1 and [c.strip().lower() for c in row[:1]] == ["jid"]:
            continue
        jid = row[0].strip()
        if "@" not in jid:
            raise ValueError(f"line {number}: {jid!r} is not a user JID")
        name = row[1].strip() if len(row) > 1 else ""
        groups = [g.strip() for g in row[2].split(";") if g.strip()] if len(row) > 2 else []
        contacts.append({"jid": jid, "name": name or jid.split("@", 1)[0], "groups": groups})
    return contacts


def _read_text(path: str) -> str:
    with open(path, encoding="utf-8") as handle:
        return handle.read()


async def _roster_file(path: str) -> list[dict[str, Any]]:
    try:
        text = await threads.deferToThread(_read_text, path)
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise CommandError("bad_request", f"file: cannot read {path}: {reason}",
                           arg="file") from None
    try:
        return parse_roster_file(text)
    except ValueError as exc:
        raise CommandError("bad_request", f"file: {path}: {exc}", arg="file") from None


async def _served_domains(call: Call, hosts: Callable[[], Iterable[str]]) -> list[str]:
    """The static ``hosts``, then every enabled dynamic domain (sorted)."""
    static = list(hosts())
    listed = await call("domain", "allDomains", {})
    dynamic = sorted(d["domain"] for d in listed
                     if d.get("type") == "DYNAMIC" and d.get("status") == "ENABLED")
    return static + [d for d in dynamic if d not in static]


def _roster(call: Call, hosts: Callable[[], Iterable[str]] = tuple) -> list[Command]:
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

    async def process_rosteritems(action, subs, asks, users, contacts):
        sub_filter = _filter_words(subs, ("none", "from", "to", "both"), "subs")
        ask_filter = _filter_words(asks, ("none", "out", "in"), "asks")
        user_globs, contact_globs = _globs(users), _globs(contacts)
        matched = []
        for host in await _served_domains(call, hosts):
            for owner in await call("account", "listUsers", {"domain": host}):
                if not _matches(owner, user_globs):
                    continue
                for item in await call("roster", "listContacts", {"user": owner}):
                    ask = item.get("ask") or "none"
                    asks_of_item = {"out", "in"} if ask == "both" else {ask}
                    if sub_filter is not None and item["subscription"] not in sub_filter:
                        continue
                    if ask_filter is not None and not asks_of_item & ask_filter:
                        continue
                    if not _matches(item["jid"], contact_globs):
                        continue
                    if action == "delete":
                        await call("roster", "deleteContact",
                                   {"user": owner, "contact": item["jid"]})
                    matched.append(f"{owner} {item['jid']}")
        return matched

    async def push_roster(file, user, host):
        entries = await _roster_file(file)
        me = {"jid": _jid(user, host), "name": user}
        return await call("roster", "subscribeToAll", {"user": me, "contacts": entries})

    async def push_roster_all(file):
        entries = await _roster_file(file)
        return await call("roster", "subscribeAllToAll", {"contacts": entries})

    async def push_roster_alltoall(host, group):
        if host not in await _served_domains(call, hosts):
            raise CommandError("not_found", f"domain {host} is not served here", arg="host")
        entries = [{"jid": jid, "name": jid.split("@", 1)[0], "groups": [group]}
                   for jid in await call("account", "listUsers", {"domain": host})]
        return await call("roster", "subscribeAllToAll", {"contacts": entries})

    file_arg = _arg("file", "A roster file on the node (format: doc/ctl.md)",
                    example="/tmp/roster.csv")
    pattern = "any, or ':'-separated glob patterns of bare JIDs"
    extra = [
        _command(cat, "process_rosteritems", "List or delete roster items matching filters", (
            Arg("action", Enum("list", "delete"), "list or delete", example="list"),
            _arg("subs", "any, or ':'-separated none, from, to, both", example="any"),
            _arg("asks", "any, or ':'-separated none, out, in", example="any"),
            _arg("users", "Roster owners: " + pattern, example="*@localhost"),
            _arg("contacts", "Contacts: " + pattern, example="any"),
        ), process_rosteritems, result=ListOf(STRING)),
        _command(cat, "push_roster", "Subscribe a user and the contacts of a file to each "
                 "other", (file_arg, _USER, _HOST), push_roster, result=ListOf(STRING)),
        _command(cat, "push_roster_all", "Subscribe all users of a file to each other",
                 (file_arg,), push_roster_all, result=ListOf(STRING)),
        _command(cat, "push_roster_alltoall", "Subscribe all users of a domain to each other "
                 "in a group", (_HOST, _arg("group", "The roster group", example="Everyone")),
                 push_roster_alltoall, result=ListOf(STRING)),
    ]

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
        *extra,
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

    def structure(name: str) -> tuple[str, Any]:
        upper = name.upper()
        if upper == "N":
            return "nameComponents", VCARD_NAME
        for json_key, (xml, struct) in VCARD_STRUCTS.items():
            if xml == upper and struct.parts:
                return json_key, struct
        allowed = ", ".join(["N", *sorted(x for x, s in VCARD_STRUCTS.values() if s.parts)])
        raise CommandError("bad_request", f"name: not a vCard element with subfields "
                           f"(use {allowed})", arg="name")

    def subfield(struct: Any, subname: str) -> Any:
        for part in struct.parts:
            if part.xml == subname.upper():
                return part
        allowed = ", ".join(p.xml for p in struct.parts)
        raise CommandError("bad_request", f"subname: use one of {allowed}", arg="subname")

    def values(card: dict[str, Any], json_key: str, part: Any) -> list[str]:
        raw = card.get(json_key)
        found: list[str] = []
        for item in [raw] if isinstance(raw, dict) else list(raw or []):
            value = (item or {}).get(part.key)
            if isinstance(value, list):
                found.extend(str(v) for v in value)
            elif value not in (None, ""):
                found.append(str(value))
        return found

    async def get_vcard2_multi(user, host, name, subname):
        json_key, struct = structure(name)
        return values(await current(user, host), json_key, subfield(struct, subname))

    async def get_vcard2(user, host, name, subname):
        found = await get_vcard2_multi(user, host, name, subname)
        if not found:
            raise CommandError("not_found",
                               f"{_jid(user, host)} has no {name.upper()} {subname.upper()}")
        return found[0]

    async def store(user, host, card):
        card.setdefault("formattedName", "")
        card.setdefault("nameComponents", {})
        await call("vcard", "setVcard", {"user": _jid(user, host), "vcard": card})

    async def set_vcard2(user, host, name, subname, content):
        json_key, struct = structure(name)
        part = subfield(struct, subname)
        card = await current(user, host)
        value = [content] if part.repeated else content
        if json_key == "nameComponents":
            card[json_key] = {**(card.get(json_key) or {}), part.key: value}
        else:
            items = list(card.get(json_key) or [])
            first = dict(items[0]) if items else {}
            first[part.key] = value
            card[json_key] = [first, *items[1:]]
        await store(user, host, card)
        return f"{name.upper()} {subname.upper()} of {_jid(user, host)} set"

    async def set_vcard2_multi(user, host, name, subname, contents):
        json_key, struct = structure(name)
        part = subfield(struct, subname)
        card = await current(user, host)
        if part.repeated:
            items = list(card.get(json_key) or [])
            first = dict(items[0]) if items else {}
            first[part.key] = list(contents)
            card[json_key] = [first, *items[1:]]
        elif json_key == "nameComponents":
            raise CommandError("bad_request", "name: N holds one value per subfield; "
                               "use set_vcard2", arg="name")
        else:
            card[json_key] = [{part.key: value} for value in contents]
        await store(user, host, card)
        return f"{name.upper()} {subname.upper()} of {_jid(user, host)} set"

    sub = _arg("subname", "The subfield (FAMILY, LOCALITY, USERID ...)", example="FAMILY")
    element = _arg("name", "The vCard element with subfields (N, ADR, EMAIL, ORG ...)",
                   example="N")
    return [
        _command(cat, "get_vcard", "Get one field of a user's vCard", (_USER, _HOST, field),
                 get_vcard, action="read"),
        _command(cat, "set_vcard", "Set one field of a user's vCard",
                 (_USER, _HOST, field, _arg("content", "The value")), set_vcard),
        _command(cat, "get_vcard2", "Get a subfield of a user's vCard (first value)",
                 (_USER, _HOST, element, sub), get_vcard2, action="read"),
        _command(cat, "get_vcard2_multi", "Get every value of a vCard subfield",
                 (_USER, _HOST, element, sub), get_vcard2_multi, result=ListOf(STRING),
                 action="read"),
        _command(cat, "set_vcard2", "Set a subfield of a user's vCard",
                 (_USER, _HOST, element, sub, _arg("content", "The value")), set_vcard2),
        _command(cat, "set_vcard2_multi", "Set every value of a vCard subfield",
                 (_USER, _HOST, element, sub,
                  Arg("contents", ListOf(STRING), "The values", example=["a", "b"])),
                 set_vcard2_multi),
    ]

