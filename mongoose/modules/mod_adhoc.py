"""``mod_adhoc``: Ad-Hoc Commands (XEP-0050) generated from the command registry.

Every registry command the requester may run is one command node on the
server's ``http://jabber.org/protocol/commands`` disco node; its XEP-0004
form is built from the command's arguments and its result is shown as a
result form (a ``reported``/``item`` table for lists of records).  JIDs the
module's ``access`` rule allows run commands as the global admin; everybody
else sees and runs only the user commands, acting on their own account.
XEP-0133 (Service Administration) node names are used where they exist.

Other modules add their own commands through the ``adhoc_local_commands``
fold hook: ``handler(acc, from_jid, to_jid)`` returns ``acc`` plus
:class:`AdhocItem` values (this module's own ``ping`` command, as in
MongooseIM's mod_adhoc, is added that way).
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from twisted.words.xish.domish import Element
from zope.interface import implementer, provider

from mongoose.commands.caller import ADMIN, USER, Caller
from mongoose.commands.errors import CommandError
from mongoose.commands.registry import Command, CommandRegistry
from mongoose.commands.types import Bool, Enum, ListOf, Object
from mongoose.config.schema import Bool as BoolOption
from mongoose.config.schema import Field as OptionField
from mongoose.config.schema import Int, Section, Str
from mongoose.interfaces import IModule, IModuleFactory
from mongoose.modules.options import iqdisc_field
from mongoose.router.router import iq_result
from mongoose.xmpp.errors import StanzaError

__all__ = ["AdhocModule", "AdhocItem", "NS_COMMANDS", "XEP0133_NODES", "command_node"]

NS_COMMANDS = "http://jabber.org/protocol/commands"
NS_DATA = "jabber:x:data"
NS_ADMIN = "http://jabber.org/protocol/admin"

#: XEP-0133 node -> the registry command (category, name) it runs.
XEP0133_NODES: dict[str, tuple[str, str]] = {
    f"{NS_ADMIN}#add-user": ("account", "registerUser"),
    f"{NS_ADMIN}#delete-user": ("account", "removeUser"),
    f"{NS_ADMIN}#change-user-password": ("account", "changeUserPassword"),
    f"{NS_ADMIN}#get-registered-users-num": ("account", "countUsers"),
    f"{NS_ADMIN}#get-registered-users-list": ("account", "listUsers"),
    f"{NS_ADMIN}#get-online-users-num": ("session", "countSessions"),
    f"{NS_ADMIN}#get-online-users-list": ("session", "listSessions"),
    f"{NS_ADMIN}#end-user-session": ("session", "kickUser"),
    f"{NS_ADMIN}#announce": ("stanza", "sendMessageHeadLine"),
}
_NODE_OF = {key: node for node, key in XEP0133_NODES.items()}


@dataclass(frozen=True)
class AdhocItem:
    """A command another module offers (one stage, no form).

    Attributes:
        node: the command node.
        name: the human name shown in disco.
        handler: ``handler(from_jid)`` returning the note text (or an awaitable of it);
            raising :class:`CommandError` answers with that error.
    """

    node: str
    name: str
    handler: Callable[[Any], str | Awaitable[str]] = field(compare=False)


def command_node(command: Command) -> str:
    """The ad-hoc node of a registry command: its XEP-0133 name or ``category/name``."""
    return _NODE_OF.get(command.key, f"{command.category}/{command.name}")


@dataclass
class _Session:
    """One multi-step execution in progress."""

    owner: str
    node: str
    started: float


@provider(IModuleFactory)
@implementer(IModule)
class AdhocModule:
    """Lists and runs the registry's commands as XEP-0050 ad-hoc commands."""

    name = "mod_adhoc"
    dependencies = ()
    options_spec = Section(
        {
            "iqdisc": iqdisc_field(),
            "report_commands_node": OptionField(
                BoolOption(), default=False,
                doc="List the commands node among the server's disco items.",
            ),
            "access": OptionField(
                Str(nonempty=True), default="admin",
                doc="Access rule: JIDs it allows run every command as the admin.",
            ),
            "session_timeout": OptionField(
                Int(min=1), default=600,
                doc="Seconds an unfinished command session is kept.",
            ),
        },
        doc="Ad-Hoc Commands (XEP-0050) for every registry command.",
    )

    def start(self, ctx) -> None:
        """Register the commands IQ handler and the disco folds."""
        self.ctx = ctx
        self.sessions: dict[str, _Session] = {}
        self._ids = itertools.count(1)
        ctx.add_feature(NS_COMMANDS)
        ctx.iq_handler(NS_COMMANDS, self.handle, scope="server")
        ctx.hook("disco_local_items", self._disco_items)
        ctx.hook("disco_local_features", self._disco_features)
        ctx.hook("disco_local_identity", self._disco_identity)
        ctx.hook("adhoc_local_commands", self._own_commands)

    def stop(self) -> None:
        """Forget the open sessions."""
        self.sessions.clear()

    # -- who runs what --------------------------------------------------

    @property
    def registry(self) -> CommandRegistry:
        """The node's command registry."""
        return self.ctx.commands

    def caller_for(self, from_jid) -> Caller:
        """The registry caller an XMPP sender runs commands as."""
        access = self.ctx.access
        if access is not None and access.allowed(self.ctx.options["access"], self.ctx.host,
                                                 from_jid):
            return Caller.admin()
        return Caller.user(f"{from_jid.user}@{from_jid.host}")

    def _commands_for(self, caller: Caller) -> list[Command]:
        return [
            c for c in self.registry.list(caller)
            if caller.kind == ADMIN or c.security_policy == USER
        ]

    async def _items_for(self, from_jid, to_jid) -> list[AdhocItem]:
        return list(await self.ctx.hooks.fold(
            "adhoc_local_commands", self.ctx.host, [], from_jid, to_jid
        ))

    def _own_commands(self, acc, from_jid, to_jid):
        return [*acc, AdhocItem("ping", "Ping", lambda _: "Pong")]

    # -- disco ----------------------------------------------------------

    async def _disco_items(self, acc, from_jid, to_jid, node):
        host = self.ctx.host
        if node is None and self.ctx.options["report_commands_node"]:
            return [*acc, (host, NS_COMMANDS, "Commands")]
        if node != NS_COMMANDS or not _is_user(from_jid):
            return acc
        found = [(host, command_node(c), c.description)
                 for c in self._commands_for(self.caller_for(from_jid))]
        found += [(host, i.node, i.name) for i in await self._items_for(from_jid, to_jid)]
        return [*acc, *found]

    async def _disco_features(self, acc, from_jid, to_jid, node):
        if node == NS_COMMANDS:
            return [*acc, NS_COMMANDS]
        if node and _is_user(from_jid) and await self._find(node, from_jid, to_jid):
            return [*acc, NS_COMMANDS, NS_DATA]
        return acc

    async def _disco_identity(self, acc, from_jid, to_jid, node):
        if node == NS_COMMANDS:
            return [*acc, ("automation", "command-list", "Commands")]
        if node and _is_user(from_jid):
            found = await self._find(node, from_jid, to_jid)
            if found is not None:
                name = found.name if isinstance(found, AdhocItem) else found.description
                return [*acc, ("automation", "command-node", name)]
        return acc

    async def _find(self, node: str, from_jid, to_jid) -> Command | AdhocItem | None:
        """The command behind ``node`` that ``from_jid`` may run, or None."""
        for item in await self._items_for(from_jid, to_jid):
            if item.node == node:
                return item
        for command in self._commands_for(self.caller_for(from_jid)):
            if command_node(command) == node:
                return command
        return None

    # -- execution ------------------------------------------------------

    async def handle(self, iq: Element, from_jid, to_jid) -> Element:
        """Answer one ``<command/>`` IQ set (XEP-0050 section 3.4)."""
        if iq["type"] != "set":
            raise StanzaError("bad-request", text="ad-hoc commands are run with an IQ set")
        request = _child(iq, NS_COMMANDS, "command")
        if request is None:
            raise StanzaError("bad-request", text="expected a command element")
        node = request.getAttribute("node")
        if not node:
            raise StanzaError("bad-request", text="the command has no node")
        if not _is_user(from_jid):
            raise StanzaError("forbidden", text="only users run ad-hoc commands")
        found = await self._find(node, from_jid, to_jid)
        if found is None:
            if self._exists(node):
                raise StanzaError("forbidden", text="you may not run this command")
            raise StanzaError("item-not-found", text=f"no command {node}")
        action = request.getAttribute("action") or "execute"
        sessionid = request.getAttribute("sessionid")
        if sessionid:
            self._session(sessionid, from_jid, node)
            if action == "cancel":
                del self.sessions[sessionid]
                return iq_result(iq, _reply(node, sessionid, "canceled"))
            if action in ("next", "prev"):
                raise _bad_action(f"this command has one stage; {action} is not available")
            if action not in ("execute", "complete"):
                raise _bad_action(f"unknown action {action!r}")
            del self.sessions[sessionid]
            return iq_result(iq, await self._run(found, node, sessionid, from_jid, request))
        if action == "cancel":
            raise _bad_session("there is no session to cancel")
        if action != "execute":
            raise _bad_action(f"{action} needs a session; start with execute")
        sessionid = self._new_session(from_jid, node)
        if isinstance(found, AdhocItem) or not found.args:
            del self.sessions[sessionid]
            return iq_result(iq, await self._run(found, node, sessionid, from_jid, request))
        return iq_result(iq, _form_stage(found, node, sessionid, self.caller_for(from_jid)))

    def _exists(self, node: str) -> bool:
        return any(command_node(c) == node for c in self.registry.list())

    def _new_session(self, from_jid, node: str) -> str:
        now = time.monotonic()
        timeout = self.ctx.options["session_timeout"]
        for key in [k for k, s in self.sessions.items() if now - s.started > timeout]:
            del self.sessions[key]
        sessionid = f"{int(time.time())}-{next(self._ids)}"
        self.sessions[sessionid] = _Session(from_jid.full(), node, now)
        return sessionid

    def _session(self, sessionid: str, from_jid, node: str) -> _Session:
        session = self.sessions.get(sessionid)
        if session is None or session.owner != from_jid.full() or session.node != node:
            raise _bad_session("unknown or expired session")
        return session

    async def _run(self, found, node: str, sessionid: str, from_jid, request) -> Element:
        try:
            if isinstance(found, AdhocItem):
                text = found.handler(from_jid)
                if not isinstance(text, str):
                    text = await text
                return _reply(node, sessionid, "completed", note=("info", text))
            raw = _submitted(request)
            result = await self.registry.execute(
                self.caller_for(from_jid), found.category, found.name, raw, source="form"
            )
        except CommandError as error:
            if error.code in ("forbidden", "unknown_command"):
                kind = error.kind
                raise StanzaError(kind.stanza_condition, kind.stanza_type,
                                  text=error.message) from None
            return _reply(node, sessionid, "completed", note=("error", error.message))
        reply = _reply(node, sessionid, "completed", note=("info", "Done."))
        if found.result is not None and result is not None:
            reply.addChild(_result_form(found, result))
        return reply


def _is_user(jid) -> bool:
    return jid is not None and bool(jid.user)


def _child(parent: Element, ns: str, name: str) -> Element | None:
    for child in parent.elements():
        if child.uri == ns and child.name == name:
            return child
    return None


def _bad_action(text: str) -> StanzaError:
    return StanzaError("bad-request", "modify", text=text)


def _bad_session(text: str) -> StanzaError:
    return StanzaError("bad-request", "modify", text=text)


def _reply(node: str, sessionid: str, status: str,
           note: tuple[str, str] | None = None) -> Element:
    command = Element((NS_COMMANDS, "command"))
    command["node"] = node
    command["sessionid"] = sessionid
    command["status"] = status
    if note is not None:
        command.addElement("note", content=note[1])["type"] = note[0]
    return command


def _form_stage(command: Command, node: str, sessionid: str, caller: Caller) -> Element:
    """The executing stage: a form with one field per argument."""
    reply = _reply(node, sessionid, "executing")
    actions = reply.addElement("actions")
    actions["execute"] = "complete"
    actions.addElement("complete")
    form = reply.addElement((NS_DATA, "x"))
    form["type"] = "form"
    form.addElement("title", content=command.description)
    form.addElement("instructions", content=f"Fill in the arguments of {command.category}/"
                    f"{command.name}.")
    for arg in command.args:
        if caller.kind == USER and arg.name == command.identity_arg:
            continue
        kind = arg.type.form_type
        if kind == "text-single" and "password" in arg.name.lower():
            kind = "text-private"
        fld = form.addElement("field")
        fld["var"] = arg.name
        fld["type"] = kind
        fld["label"] = arg.description or arg.name
        if arg.required:
            fld.addElement("required")
        elif arg.default is not None:
            for value in arg.type.to_form(arg.default):
                fld.addElement("value", content=value)
        choices = arg.type.item if isinstance(arg.type, ListOf) else arg.type
        if isinstance(choices, Enum):
            for value in choices.values:
                fld.addElement("option").addElement("value", content=value)
    return reply


def _submitted(request: Element) -> dict[str, list[str]]:
    """Field values of the submitted form (an empty field counts as not given)."""
    form = _child(request, NS_DATA, "x")
    if form is None:
        return {}
    if form.getAttribute("type") not in (None, "submit"):
        raise StanzaError("bad-request", "modify", text="expected a submitted form")
    values: dict[str, list[str]] = {}
    for fld in form.elements(NS_DATA, "field"):
        var = fld.getAttribute("var")
        if not var or var == "FORM_TYPE":
            continue
        given = [str(v) for v in fld.elements(NS_DATA, "value")]
        if any(v != "" for v in given):
            values[var] = given
    return values


def _result_form(command: Command, result: Any) -> Element:
    """A result form: fields of an object, a table of a list of objects, or one field."""
    form = Element((NS_DATA, "x"))
    form["type"] = "result"
    form.addElement("title", content=command.description)
    kind = command.result
    if isinstance(kind, Object):
        for fld in kind.fields:
            _value_field(form, fld.name, fld.type, result.get(fld.name))
    elif isinstance(kind, ListOf) and isinstance(kind.item, Object):
        reported = form.addElement("reported")
        for fld in kind.item.fields:
            column = reported.addElement("field")
            column["var"] = fld.name
            column["label"] = fld.description or fld.name
        for row in result:
            item = form.addElement("item")
            for fld in kind.item.fields:
                _value_field(item, fld.name, fld.type, row.get(fld.name), typed=False)
    else:
        _value_field(form, "result", kind, result)
    return form


def _value_field(parent: Element, var: str, kind, value, typed: bool = True) -> None:
    """Add a field holding a JSON-form ``value`` of type ``kind``."""
    fld = parent.addElement("field")
    fld["var"] = var
    if typed:
        fld["type"] = kind.form_type if not isinstance(kind, Object) else "text-multi"
    if value is None:
        return
    if isinstance(kind, Bool):
        values = ["1" if value else "0"]
    elif isinstance(value, list):
        values = [v if isinstance(v, str) else _text(v) for v in value]
    else:
        values = [value if isinstance(value, str) else _text(value)]
    for text in values:
        fld.addElement("value", content=text)


def _text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)
