"""Command definitions and the registry that runs them for every front end.

One :class:`Command` value declares a command once: its category and name
(as in MongooseIM's GraphQL schemas, e.g. ``account``/``registerUser``), its
typed arguments and result, who may run it and, optionally, how it appears
in the MongooseIM 6.5 admin REST API (:class:`RestBinding`).  The
:class:`CommandRegistry` lists, describes, authorizes, validates and executes
commands; REST, GraphQL, ``mongooseimctl`` and XEP-0050 ad-hoc commands all
call :meth:`CommandRegistry.execute` and hold no per-command code.
"""

from __future__ import annotations

import inspect
import re
import string
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from twisted.logger import Logger

from mongoose.commands.caller import ADMIN, DOMAIN_ADMIN, USER, Caller
from mongoose.commands.errors import CommandError
from mongoose.commands.types import ArgType, Domain, Jid, bad_request

__all__ = [
    "REQUIRED",
    "ACTIONS",
    "POLICIES",
    "SOURCES",
    "Arg",
    "RestBinding",
    "Command",
    "CommandRegistry",
]

log = Logger()

ACTIONS = ("create", "read", "update", "delete")
POLICIES = (ADMIN, DOMAIN_ADMIN, USER)
SOURCES = ("json", "cli", "form")
#: Names a user command may use for the caller's own JID, in that order.
IDENTITY_ARGS = ("user", "caller")

_RANK = {USER: 0, DOMAIN_ADMIN: 1, ADMIN: 2}
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_PATH_VAR = re.compile(r"\{([A-Za-z][A-Za-z0-9_]*)\}")


class _Required:
    """Marker for an argument without a default."""

    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Any = _Required()


@dataclass(frozen=True)
class Arg:
    """One named, typed argument of a command.

    Attributes:
        name: the argument name on every surface (``domain``, ``newPassword``).
        type: an :class:`mongoose.commands.types.ArgType`.
        description: one line for docs and help.
        default: the value when absent, or :data:`REQUIRED`.
        example: an example value (JSON form) for docs.
    """

    name: str
    type: ArgType
    description: str = ""
    default: Any = REQUIRED
    example: Any = None

    def __post_init__(self) -> None:
        if not _NAME.fullmatch(self.name):
            raise ValueError(f"bad argument name {self.name!r}")
        if not isinstance(self.type, ArgType):
            raise TypeError(f"argument {self.name!r}: type must be an ArgType")

    @property
    def required(self) -> bool:
        """True when the caller must give the argument."""
        return self.default is REQUIRED


def _pairs(mapping: Mapping[str, str] | tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    items = mapping.items() if isinstance(mapping, Mapping) else mapping
    return tuple((str(k), str(v)) for k, v in items)


@dataclass(frozen=True)
class RestBinding:
    """How a command appears in the admin REST API, as data.

    The REST generator (``mongoose.api.rest``) turns this into a route; no
    route is written by hand for one command.

    Attributes:
        method: ``GET``, ``POST``, ``PUT`` or ``DELETE``.
        path: the path under the API root with ``{var}`` placeholders, e.g.
            ``/users/{domain}/{username}``.  A variable not used in
            ``compose`` is passed as the argument of the same name.
        body: JSON body key -> argument name.
        query: query parameter -> argument name (parsed as text).
        compose: argument name -> template over path variables, e.g.
            ``{"user": "{username}@{domain}"}``.
        status: HTTP status of a successful response.
        result: ``""`` to send the whole JSON result, a field name to send
            one field of an object result, or None for an empty body.
        location: template over path variables and body keys appended to
            the request path for the ``Location`` header of a created item
            (``"{username}"`` -> ``/api/users/localhost/alice``), or None.
        group: the route group named by the handler's ``handlers`` option
            (MongooseIM: ``users``, ``sessions``, ``messages`` ...).
        shape: optional ``result -> body`` function, used instead of
            ``result`` when the REST body is not a plain selection of the
            command's result (``{"host_type", "status"}`` of a domain).
        shape_schema: the JSON Schema of the shaped body (OpenAPI document).
        switch: ``(body key, value, command name, status)`` entries: when the
            body carries ``key: value``, that other command of the same
            category (same arguments) runs and answers ``status``
            (``DELETE /domains/{domain}`` with ``"request": true`` -> 202).
    """

    method: str
    path: str
    body: Any = ()
    query: Any = ()
    compose: Any = ()
    status: int = 200
    result: str | None = ""
    location: str | None = None
    group: str = ""
    shape: Callable[[Any], Any] | None = field(default=None, compare=False)
    shape_schema: Any = field(default=None, compare=False)
    switch: Any = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "method", self.method.upper())
        for name in ("body", "query", "compose"):
            object.__setattr__(self, name, _pairs(getattr(self, name)))
        object.__setattr__(self, "switch", tuple(tuple(entry) for entry in self.switch))
        if self.method not in ("GET", "POST", "PUT", "DELETE", "PATCH"):
            raise ValueError(f"unsupported HTTP method {self.method!r}")
        if not self.path.startswith("/"):
            raise ValueError(f"REST path {self.path!r} must start with '/'")

    @property
    def path_vars(self) -> tuple[str, ...]:
        """The ``{var}`` names in :attr:`path`, in order."""
        return tuple(_PATH_VAR.findall(self.path))

    @property
    def route_key(self) -> tuple[str, str]:
        """(method, path shape) used to detect two commands on one route."""
        return self.method, _PATH_VAR.sub("{}", self.path)

    def composed_vars(self) -> set[str]:
        """Path variables used by the ``compose`` templates."""
        used: set[str] = set()
        for _, template in self.compose:
            used.update(n for _, n, _, _ in string.Formatter().parse(template) if n)
        return used

    def arg_sources(self) -> dict[str, str]:
        """Argument name -> where it comes from (``path``, ``body``, ``query``, ``compose``)."""
        sources: dict[str, str] = {}
        composed = self.composed_vars()
        for var in self.path_vars:
            if var not in composed:
                sources[var] = "path"
        for kind in ("body", "query"):
            for _, arg in getattr(self, kind):
                sources[arg] = kind
        for arg, _ in self.compose:
            sources[arg] = "compose"
        return sources

    def external_names(self) -> dict[str, str]:
        """Argument name -> the name a REST client uses for it (for error messages)."""
        names = {arg: key for kind in ("body", "query") for key, arg in getattr(self, kind)}
        names.update({v: v for v in self.path_vars if v not in self.composed_vars()})
        return names

    def describe(self) -> dict[str, Any]:
        """JSON-able description (for signatures and docs)."""
        return {"method": self.method, "path": self.path, "status": self.status}


@dataclass(frozen=True, kw_only=True)
class Command:
    """One command, declared once for every surface.

    Attributes:
        category: groups commands (``account``, ``roster`` ...).
        name: unique inside the category, e.g. ``registerUser``.
        description: one line for docs, help and ad-hoc titles.
        action: ``create``, ``read``, ``update`` or ``delete``; ``read``
            commands are GraphQL queries, the others mutations.
        security_policy: ``admin`` (global admin only), ``domain_admin``
            (also the admin of the domain named by ``domain_arg``) or
            ``user`` (also the user named by its ``user``/``caller``
            argument, which a user caller gets filled in with its own JID).
        handler: async callable taking the parsed arguments as keywords.
        args: ordered arguments.
        result: the result type, or None for no result.
        subcategory: optional second level of grouping.
        domain_arg: the argument holding the domain (a domain, or a JID whose
            domain is checked) for domain admins.
        rest: the admin REST binding, or None.
        public_read: a ``read`` user command whose target may be any user,
            not only the caller (public data such as a vCard, which any
            XMPP user may fetch with an IQ too).
    """

    category: str
    name: str
    description: str
    action: str
    security_policy: str
    handler: Callable[..., Awaitable[Any]]
    args: tuple[Arg, ...] = ()
    result: ArgType | None = None
    subcategory: str = ""
    domain_arg: str | None = None
    rest: RestBinding | None = field(default=None)
    public_read: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "args", tuple(self.args))
        where = f"command {self.category}/{self.name}"
        for value in (self.category, self.name):
            if not _NAME.fullmatch(value):
                raise ValueError(f"{where}: bad name {value!r}")
        if self.action not in ACTIONS:
            raise ValueError(f"{where}: action must be one of {ACTIONS}")
        if self.security_policy not in POLICIES:
            raise ValueError(f"{where}: security_policy must be one of {POLICIES}")
        if self.result is not None and not isinstance(self.result, ArgType):
            raise TypeError(f"{where}: result must be an ArgType or None")
        names = [a.name for a in self.args]
        if len(set(names)) != len(names):
            raise ValueError(f"{where}: duplicate argument names")
        by_name = {a.name: a for a in self.args}
        if self.public_read and (self.security_policy != USER or self.action != "read"):
            raise ValueError(f"{where}: public_read is for user commands that only read")
        if self.security_policy == USER:
            identity = self.identity_arg
            if identity is None or not isinstance(by_name[identity].type, Jid):
                raise ValueError(f"{where}: a user command needs a 'user' or 'caller' jid arg")
            if self.domain_arg is None:
                object.__setattr__(self, "domain_arg", identity)
        if self.domain_arg is not None:
            arg = by_name.get(self.domain_arg)
            if arg is None or not isinstance(arg.type, (Domain, Jid)):
                raise ValueError(f"{where}: domain_arg must name a domain or jid argument")
        elif self.security_policy == DOMAIN_ADMIN:
            raise ValueError(f"{where}: a domain_admin command needs a domain_arg")
        if self.rest is not None:
            self._check_rest(by_name, where)

    def _check_rest(self, by_name: dict[str, Arg], where: str) -> None:
        rest = self.rest
        assert rest is not None
        sources = rest.arg_sources()
        for arg in sources:
            if arg not in by_name:
                raise ValueError(f"{where}: REST binding names unknown argument {arg!r}")
        unknown_vars = rest.composed_vars() - set(rest.path_vars)
        if unknown_vars:
            raise ValueError(f"{where}: compose uses unknown path variables {unknown_vars}")
        for arg in self.args:
            if arg.required and arg.name not in sources:
                raise ValueError(f"{where}: REST binding does not bind required {arg.name!r}")

    @property
    def key(self) -> tuple[str, str]:
        """(category, name)."""
        return self.category, self.name

    @property
    def identity_arg(self) -> str | None:
        """The argument a user command acts on (``user`` or ``caller``), if any."""
        names = {a.name for a in self.args}
        for candidate in IDENTITY_ARGS:
            if candidate in names:
                return candidate
        return None

    def arg(self, name: str) -> Arg | None:
        """The argument called ``name``, or None."""
        for arg in self.args:
            if arg.name == name:
                return arg
        return None

    def signature(self) -> dict[str, Any]:
        """A JSON-able description of the command (used by ``GET /api/commands``)."""
        args = []
        for arg in self.args:
            info: dict[str, Any] = {
                "name": arg.name,
                "type": arg.type.describe(),
                "label": arg.type.label(),
                "description": arg.description,
                "required": arg.required,
            }
            if not arg.required:
                info["default"] = arg.type.to_json(arg.default)
            if arg.example is not None:
                info["example"] = arg.example
            args.append(info)
        return {
            "category": self.category,
            "subcategory": self.subcategory,
            "name": self.name,
            "description": self.description,
            "action": self.action,
            "security_policy": self.security_policy,
            "domain_arg": self.domain_arg,
            "args": args,
            "result": self.result.describe() if self.result else None,
            "result_label": self.result.label() if self.result else None,
            "rest": self.rest.describe() if self.rest else None,
        }


Observer = Callable[[str, Command], None]


class CommandRegistry:
    """All commands of one node; lists, describes and executes them.

    There is no module-level registry: every node (and every test) builds
    its own.
    """

    def __init__(self) -> None:
        self._commands: dict[tuple[str, str], Command] = {}
        self._observers: list[Observer] = []

    # -- registration -------------------------------------------------------

    def register(self, command: Command) -> None:
        """Add a command.

        Raises:
            ValueError: the category already has a command of that name, or
                another command is bound to the same REST route.
        """
        if not isinstance(command, Command):
            raise TypeError("register() takes a Command")
        if command.key in self._commands:
            raise ValueError(f"command {command.category}/{command.name} is already registered")
        if command.rest is not None:
            for other in self._commands.values():
                if other.rest is not None and other.rest.route_key == command.rest.route_key:
                    raise ValueError(
                        f"REST route {command.rest.method} {command.rest.path} is already "
                        f"bound to {other.category}/{other.name}"
                    )
        self._commands[command.key] = command
        self._notify("register", command)

    def unregister(self, category: str, name: str) -> Command:
        """Remove a command and return it.

        Raises:
            KeyError: no such command.
        """
        command = self._commands.pop((category, name))
        self._notify("unregister", command)
        return command

    def add_observer(self, observer: Observer) -> None:
        """Call ``observer(event, command)`` on every register/unregister."""
        self._observers.append(observer)

    def remove_observer(self, observer: Observer) -> None:
        """Stop calling ``observer``."""
        self._observers.remove(observer)

    def _notify(self, event: str, command: Command) -> None:
        for observer in list(self._observers):
            try:
                observer(event, command)
            except Exception:
                log.failure("command registry observer failed on {event}", event=event)

    # -- lookup -------------------------------------------------------------

    def get(self, category: str, name: str) -> Command:
        """The command ``category``/``name``.

        Raises:
            CommandError: ``unknown_command``.
        """
        try:
            return self._commands[(category, name)]
        except KeyError:
            raise CommandError(
                "unknown_command", f"unknown command {name!r} in category {category!r}"
            ) from None

    def list(self, caller: Caller | None = None, category: str | None = None) -> list[Command]:
        """Commands sorted by category and name, only those ``caller`` may run.

        Args:
            caller: None lists every command.
            category: only this category.
        """
        found = [
            c
            for c in self._commands.values()
            if (category is None or c.category == category)
            and (caller is None or _may_run(caller, c))
        ]
        return sorted(found, key=lambda c: c.key)

    def categories(self, caller: Caller | None = None) -> list[str]:
        """Sorted category names with at least one command ``caller`` may run."""
        return sorted({c.category for c in self.list(caller)})

    def signature(self, category: str, name: str) -> dict[str, Any]:
        """JSON-able description of one command (see :meth:`Command.signature`).

        Raises:
            CommandError: ``unknown_command``.
        """
        return self.get(category, name).signature()

    def signatures(
        self, caller: Caller | None = None, category: str | None = None
    ) -> list[dict[str, Any]]:
        """Signatures of :meth:`list`."""
        return [c.signature() for c in self.list(caller, category)]

    # -- execution ----------------------------------------------------------

    async def execute(
        self,
        caller: Caller,
        category: str,
        name: str,
        raw_args: Mapping[str, Any],
        source: str | Mapping[str, str] = "json",
    ) -> Any:
        """Run a command for ``caller`` and return its JSON-able result.

        The order is fixed: look up (``unknown_command``), authorize
        (``forbidden``), parse and validate the arguments (``bad_request``
        naming the argument), call the handler, serialise the result.

        Args:
            caller: who runs it.
            category: the command's category.
            name: the command's name.
            raw_args: argument name -> raw value.
            source: how raw values are encoded: ``json``, ``cli`` (text) or
                ``form`` (XEP-0004 value strings); or a mapping from argument
                name to one of those (absent names are ``json``).

        Returns:
            The result serialised with the command's result type.

        Raises:
            CommandError: any failure; unexpected handler exceptions are
                logged and become ``internal``.
        """
        command = self.get(category, name)
        if not isinstance(raw_args, Mapping):
            raise CommandError("bad_request", "arguments must be an object of name -> value")
        preparsed = self._authorize(caller, command, raw_args, source)
        kwargs = self._parse_args(command, raw_args, source, preparsed)
        try:
            result = command.handler(**kwargs)
            if inspect.isawaitable(result):
                result = await result
        except CommandError:
            raise
        except Exception:
            log.failure("command {category}/{name} failed", category=category, name=name)
            raise CommandError(
                "internal", f"command {category}/{name} failed; see the server log"
            ) from None
        if command.result is None:
            return None
        try:
            return command.result.to_json(result)
        except Exception:
            log.failure("command {category}/{name} returned a bad result",
                        category=category, name=name)
            raise CommandError(
                "internal", f"command {category}/{name} returned a bad result"
            ) from None

    def _authorize(
        self,
        caller: Caller,
        command: Command,
        raw_args: Mapping[str, Any],
        source: str | Mapping[str, str],
    ) -> dict[str, Any]:
        """Check the caller may run ``command`` on the target; return args parsed for that."""
        where = f"{command.category}/{command.name}"
        if caller.kind == ADMIN:
            return {}
        if caller.kind == USER:
            if command.security_policy != USER:
                raise CommandError("forbidden", f"{where} is not available to users")
            identity = command.identity_arg
            assert identity is not None and caller.jid is not None
            if raw_args.get(identity) is None:
                return {identity: caller.jid}
            given = _parse_one(command.arg(identity), raw_args[identity], source)
            if given.userhost() != caller.jid.userhost() and not command.public_read:
                raise CommandError(
                    "forbidden", f"{identity}: a user can act only on their own account"
                )
            return {identity: given}
        if caller.kind == DOMAIN_ADMIN:
            if command.security_policy == ADMIN:
                raise CommandError("forbidden", f"{where} is available to the global admin only")
            assert command.domain_arg is not None
            arg = command.arg(command.domain_arg)
            assert arg is not None
            if raw_args.get(arg.name) is None:
                raise bad_request(arg.name, "missing required argument")
            value = _parse_one(arg, raw_args[arg.name], source)
            domain = value if isinstance(value, str) else value.host
            if not caller.may_act_on(domain):
                raise CommandError(
                    "forbidden", f"{arg.name}: the admin of {caller.domain} may not act on {domain}"
                )
            return {arg.name: value}
        raise CommandError("forbidden", f"unknown caller kind {caller.kind!r}")

    def _parse_args(
        self,
        command: Command,
        raw_args: Mapping[str, Any],
        source: str | Mapping[str, str],
        preparsed: dict[str, Any],
    ) -> dict[str, Any]:
        known = {a.name for a in command.args}
        for key in raw_args:
            if key not in known:
                allowed = ", ".join(a.name for a in command.args) or "none"
                raise bad_request(str(key), f"unknown argument (allowed: {allowed})")
        kwargs: dict[str, Any] = {}
        for arg in command.args:
            if arg.name in preparsed:
                kwargs[arg.name] = preparsed[arg.name]
            elif raw_args.get(arg.name) is not None:
                kwargs[arg.name] = _parse_one(arg, raw_args[arg.name], source)
            elif arg.required:
                raise bad_request(arg.name, "missing required argument")
            else:
                kwargs[arg.name] = arg.default
        return kwargs


def _may_run(caller: Caller, command: Command) -> bool:
    """Whether the kind of ``caller`` may run ``command`` on some target."""
    return _RANK.get(caller.kind, -1) >= _RANK[command.security_policy]


def _parse_one(arg: Arg | None, value: Any, source: str | Mapping[str, str]) -> Any:
    assert arg is not None
    kind = source.get(arg.name, "json") if isinstance(source, Mapping) else source
    if kind == "json":
        return arg.type.from_json(value, arg.name)
    if kind == "cli":
        return arg.type.from_cli(value, arg.name)
    if kind == "form":
        return arg.type.from_form(value, arg.name)
    raise ValueError(f"unknown argument source {kind!r}; use one of {SOURCES}")
