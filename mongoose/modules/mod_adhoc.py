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
:class:`AdhocItem` values (one stage, no form; this module's own ``ping``
command, as in MongooseIM's mod_adhoc, is added that way) or
:class:`~mongoose.modules.adhoc.flow.AdhocFlow` values (several forms, with
``next``/``prev``/``complete``/``cancel``; XEP-0133 delete-user is one).

Every command runs as a flow of stages: a registry command is one stage
(its arguments) or none.  Sessions (``sessionid``) expire
``session_timeout`` seconds after their last use and a user holds at most
``max_sessions_per_user``; errors carry the XEP-0050 conditions
(``bad-action``, ``bad-sessionid``, ``session-expired``, ``malformed-action``).
"""

from __future__ import annotations

import json
import secrets
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
from mongoose.modules.adhoc.delete_user import DELETE_USER_NODE, delete_user_flow
from mongoose.modules.adhoc.flow import (
    AdhocFlow,
    AdhocInputError,
    AdhocOutcome,
    FormField,
    Stage,
    Values,
    form_element,
    submitted_values,
)
from mongoose.modules.adhoc.sessions import FlowSession, SessionTable, command_error
from mongoose.modules.options import iqdisc_field
from mongoose.router.router import iq_result
from mongoose.xmpp.errors import StanzaError

__all__ = [
    "AdhocFlow",
    "AdhocItem",
    "AdhocModule",
    "NS_COMMANDS",
    "XEP0133_NODES",
    "command_node",
]

NS_COMMANDS = "http://jabber.org/protocol/commands"
NS_DATA = "jabber:x:data"
NS_ADMIN = "http://jabber.org/protocol/admin"

#: XEP-0133 node -> the registry command (category, name) it runs (``#delete-user`` is
#: the two-stage :mod:`mongoose.modules.adhoc.delete_user` flow).
XEP0133_NODES: dict[str, tuple[str, str]] = {
    f"{NS_ADMIN}#add-user": ("account", "registerUser"),
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
                doc="Seconds an unfinished command session is kept after its last use.",
            ),
            "max_sessions_per_user": OptionField(
                Int(min=1), default=10,
                doc="Unfinished command sessions one user may hold; a new one ends the "
                "least recently used.",
            ),
        },
        doc="Ad-Hoc Commands (XEP-0050) for every registry command.",
    )

    def start(self, ctx) -> None:
        """Register the commands IQ handler and the disco folds."""
        self.ctx = ctx
        self.sessions = SessionTable(ctx.clock, ctx.options["session_timeout"],
                                     ctx.options["max_sessions_per_user"])
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
        own: list[Any] = [AdhocItem("ping", "Ping", lambda _: "Pong")]
        caller = self.caller_for(from_jid)
        if caller.kind == ADMIN and self.ctx.auth is not None:
            own.append(delete_user_flow(self.registry, caller, self._user_exists))
        return [*acc, *own]

    def _user_exists(self, user: str, domain: str):
        return self.ctx.auth.user_exists(user, domain)

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
                name = found.description if isinstance(found, Command) else found.name
                return [*acc, ("automation", "command-node", name)]
        return acc

    async def _find(self, node: str, from_jid, to_jid) -> Command | AdhocItem | AdhocFlow | None:
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
        if action not in _ACTIONS:
            raise command_error("bad-request", "modify", "malformed-action",
                                f"unknown action {action!r}")
        flow = self._flow(found, from_jid)
        sessionid = request.getAttribute("sessionid")
        if not sessionid:
            if action == "cancel":
                raise command_error("bad-request", "modify", "bad-sessionid",
                                    "there is no session to cancel")
            if action != "execute":
                raise _bad_action(f"{action} needs a session; start with execute")
            if not flow.stages:
                reply = await self._finish(flow, node, secrets.token_urlsafe(12), from_jid, {})
                return iq_result(iq, reply)
            bare = f"{from_jid.user}@{from_jid.host}"
            session = self.sessions.open(from_jid.full(), bare, node)
            return iq_result(iq, await self._show(flow, session, from_jid))
        session = self.sessions.get(sessionid, from_jid.full(), node)
        if action == "cancel":
            self.sessions.close(sessionid)
            return iq_result(iq, _reply(node, sessionid, "canceled"))
        return iq_result(iq, await self._step(flow, session, action, from_jid, request))

    async def _step(self, flow: AdhocFlow, session: FlowSession, action: str, from_jid,
                    request: Element) -> Element:
        """Move a session by ``next``, ``prev``, ``complete`` (or ``execute``: the default)."""
        last = len(flow.stages) - 1
        index = min(session.stage, last)
        if action == "execute":
            action = "next" if index < last else "complete"
        submitted = submitted_values(request)
        if action == "prev":
            if index == 0:
                raise _bad_action("this is the first stage; prev is not available")
            if submitted:
                session.values[index] = submitted
            session.stage = index - 1
            return await self._show(flow, session, from_jid)
        if action == "next" and index >= last:
            raise _bad_action("this is the last stage; use complete")
        if action == "complete" and index < last:
            raise _bad_action("more stages follow; use next")
        session.values[index] = submitted
        stage = flow.stages[index]
        try:
            fields = await stage.build(session.merged(index - 1), from_jid)
            await stage.check(fields, session.merged(index), from_jid)
        except AdhocInputError as error:
            return await self._show(flow, session, from_jid, error=error.message)
        if action == "next":
            session.stage = index + 1
            return await self._show(flow, session, from_jid)
        return await self._finish(flow, session.node, session.sessionid, from_jid,
                                  session.merged(), session)

    async def _show(self, flow: AdhocFlow, session: FlowSession, from_jid,
                    error: str | None = None) -> Element:
        """The current stage's form with the values entered, its actions and an error note."""
        index = session.stage
        stage = flow.stages[index]
        fields = await stage.build(session.merged(index - 1), from_jid)
        reply = _reply(session.node, session.sessionid, "executing")
        last = index == len(flow.stages) - 1
        actions = reply.addElement("actions")
        actions["execute"] = "complete" if last else "next"
        if index > 0:
            actions.addElement("prev")
        actions.addElement("complete" if last else "next")
        if error is not None:
            reply.addElement("note", content=error)["type"] = "error"
        reply.addChild(form_element(stage, fields, session.values.get(index, {})))
        return reply

    async def _finish(self, flow: AdhocFlow, node: str, sessionid: str, from_jid,
                      values: Values, session: FlowSession | None = None) -> Element:
        """Run the flow; completed with its note, or the last stage again on bad input."""
        try:
            outcome = await flow.run(from_jid, values)
        except AdhocInputError as error:
            if session is not None:
                return await self._show(flow, session, from_jid, error=error.message)
            outcome = AdhocOutcome(error.message, "error")
        except CommandError as error:
            if error.code in ("forbidden", "unknown_command"):
                if session is not None:
                    self.sessions.close(session.sessionid)
                kind = error.kind
                raise StanzaError(kind.stanza_condition, kind.stanza_type,
                                  text=error.message) from None
            outcome = AdhocOutcome(error.message, "error")
        if session is not None:
            self.sessions.close(session.sessionid)
        reply = _reply(node, sessionid, "completed", note=(outcome.note_type, outcome.note))
        if outcome.form is not None:
            reply.addChild(outcome.form)
        return reply

    # -- flows ----------------------------------------------------------

    def _exists(self, node: str) -> bool:
        """True when some requester could run ``node`` (a forbidden, not an unknown, node)."""
        return node == DELETE_USER_NODE or any(
            command_node(c) == node for c in self.registry.list())

    def _flow(self, found: Command | AdhocItem | AdhocFlow, from_jid) -> AdhocFlow:
        """The stages behind a command node."""
        if isinstance(found, AdhocFlow):
            return found
        if isinstance(found, AdhocItem):
            return AdhocFlow(found.node, found.name, (),
                             finish=lambda jid, _values: found.handler(jid))
        return self._registry_flow(found, self.caller_for(from_jid))

    def _registry_flow(self, command: Command, caller: Caller) -> AdhocFlow:
        """A registry command as a flow: one stage with a field per argument (or none)."""
        fields = _arg_fields(command, caller)
        stages = ()
        if fields:
            stages = (Stage(command.description, fields,
                            instructions=f"Fill in the arguments of {command.category}/"
                            f"{command.name}."),)

        async def finish(_from_jid, values: Values) -> AdhocOutcome:
            try:
                result = await self.registry.execute(
                    caller, command.category, command.name, values, source="form")
            except CommandError as error:
                if error.code == "bad_request" and stages:
                    raise AdhocInputError(error.message) from None
                raise
            form = None
            if command.result is not None and result is not None:
                form = _result_form(command, result)
            return AdhocOutcome("Done.", form=form)

        return AdhocFlow(command_node(command), command.description, stages, finish=finish)


#: XEP-0050 actions.
_ACTIONS = ("execute", "next", "prev", "complete", "cancel")


def _is_user(jid) -> bool:
    return jid is not None and bool(jid.user)


def _child(parent: Element, ns: str, name: str) -> Element | None:
    for child in parent.elements():
        if child.uri == ns and child.name == name:
            return child
    return None


def _bad_action(text: str) -> StanzaError:
    return command_error("bad-request", "modify", "bad-action", text)


def _reply(node: str, sessionid: str, status: str,
           note: tuple[str, str] | None = None) -> Element:
    command = Element((NS_COMMANDS, "command"))
    command["node"] = node
    command["sessionid"] = sessionid
    command["status"] = status
    if note is not None:
        command.addElement("note", content=note[1])["type"] = note[0]
    return command


def _arg_fields(command: Command, caller: Caller) -> list[FormField]:
    """One form field per argument of a registry command (a user's own JID is implied)."""
    fields = []
    for arg in command.args:
        if caller.kind == USER and arg.name == command.identity_arg:
            continue
        kind = arg.type.form_type
        if kind == "text-single" and "password" in arg.name.lower():
            kind = "text-private"
        defaults: tuple[str, ...] = ()
        if not arg.required and arg.default is not None:
            defaults = tuple(arg.type.to_form(arg.default))
        choices = arg.type.item if isinstance(arg.type, ListOf) else arg.type
        options = tuple(choices.values) if isinstance(choices, Enum) else ()
        fields.append(FormField(arg.name, kind, arg.description or arg.name,
                                required=arg.required, values=defaults, options=options))
    return fields


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
