"""The ``server`` commands (MongooseIM ``admin/server.gql``) for one Twisted node.

MongooseIM runs on an Erlang cluster; mongoose is one Python process per
node and shares state through the database.  Each command therefore has the
meaning below (also in doc/ctl.md):

* ``status``: ``RUNNING`` with the version, the node identifier and the
  uptime in seconds.
* ``getLoglevel`` / ``setLoglevel``: the node's log level (the MongooseIM
  names of ``general.loglevel``), changed at run time for every log
  observer twistd set up; it lasts until the node stops.
* ``getCookie``: there is no Erlang cookie.  The node's identifier is
  returned instead: 32 hex digits made at first use and kept in
  ``<data_dir>/node_id``, stable across restarts.
* ``hostTypes`` / ``globalInfo``: from the running configuration.
* ``joinCluster``, ``leaveCluster``, ``removeFromCluster``, ``removeNode``:
  ``not_allowed`` (there is no Erlang cluster to join or leave).
* ``restart``: ``not_allowed``: a process cannot restart itself cleanly; use
  the service manager (``systemctl restart mongooseim``).
* ``stop``: stops the node gracefully (as SIGTERM does).
* ``loadConfig`` (mongoose's own; legacy ``load_config``): re-reads and
  validates the configuration file, applies ``general.loglevel`` and
  reports which other sections changed and need a restart.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from collections.abc import Callable
from typing import Any

from twisted.internet import threads
from twisted.logger import globalLogPublisher

from mongoose import __version__
from mongoose.commands.errors import CommandError
from mongoose.commands.registry import Arg, Command
from mongoose.commands.types import INT, STRING, Enum, Field, ListOf, Object, bad_request
from mongoose.logging import LEVELS, set_log_level

__all__ = ["LOG_LEVEL", "LogLevelControl", "ServerControl", "server_commands"]

CATEGORY = "server"

#: MongooseIM log levels (GraphQL ``LogLevel``).
LOG_LEVEL = Enum(*LEVELS)

STATUS = Object("Status", [
    Field("statusCode", Enum("RUNNING", "NOT_RUNNING"), "Whether the node runs"),
    Field("message", STRING, "A sentence about the status"),
    Field("version", STRING, "The mongoose version"),
    Field("commitHash", STRING, "The commit the node runs (unknown: null)", optional=True),
    Field("node", STRING, "The node identifier (see getCookie)"),
    Field("uptimeSeconds", INT, "Seconds since the node started"),
])
MODULE_OPTION = Object("ModuleOption", [
    Field("key", STRING, "Option name"),
    Field("value", STRING, "The value as JSON text", optional=True),
])
MODULE_INFO = Object("ModuleInfo", [
    Field("name", STRING, "Module name, e.g. mod_roster"),
    Field("options", ListOf(MODULE_OPTION), "Its options"),
])
HOST_TYPE_INFO = Object("HostTypeInfo", [
    Field("name", STRING, "A static domain or a host type of dynamic domains"),
    Field("modules", ListOf(MODULE_INFO), "Modules configured for it"),
    Field("authMethods", ListOf(STRING), "Its auth.methods"),
])
SERVICE_INFO = Object("ServiceInfo", [Field("name", STRING, "Service name")])
GLOBAL_INFO = Object("GlobalInfo", [
    Field("services", ListOf(SERVICE_INFO), "Running global services"),
    Field("internalDatabases", ListOf(STRING), "Configured internal databases"),
])

_NOT_CLUSTERED = (
    "this node is not part of an Erlang cluster: mongoose nodes share state through "
    "the configured database, so there is nothing to {what}"
)


class LogLevelControl:
    """The node's log level, readable and changeable at run time.

    Args:
        initial: the configured ``general.loglevel``.
        publisher: the log publisher whose filters (installed by
            :func:`mongoose.logging.apply_log_level`) follow the level.
    """

    def __init__(self, initial: str, publisher: Any = globalLogPublisher):
        self.level = initial
        self.publisher = publisher

    def get(self) -> str:
        """The current level name."""
        return self.level

    def set(self, name: str) -> int:
        """Change the level; return how many log filters follow it."""
        changed = set_log_level(name, self.publisher)
        self.level = name
        return changed


class ServerControl:
    """What the ``server`` commands act on; built by the node with narrow parts.

    Args:
        config: returns the running :class:`mongoose.config.loader.Config`.
        data_dir: where ``node_id`` is kept.
        log_level: the :class:`LogLevelControl`.
        services: returns the names of the running global services.
        reload: ``path -> Config`` reading and validating a config file
            (blocking; run in a thread), raising ConfigErrors.
        stop: stops the node, or None when it cannot be stopped from here.
        reactor: for threads; None: the global reactor.
        started: the start time (``time.time()``).
    """

    def __init__(self, config: Callable[[], Any], data_dir: str, log_level: LogLevelControl,
                 services: Callable[[], list[str]] = list,
                 reload: Callable[[str], Any] | None = None,
                 stop: Callable[[], Any] | None = None, reactor: Any = None,
                 started: float | None = None):
        self.config = config
        self.data_dir = data_dir
        self.log_level = log_level
        self.services = services
        self.reload = reload
        self.stop = stop
        self.reactor = reactor
        self.started = time.time() if started is None else started
        self._node_id: str | None = None

    def in_thread(self, fun: Callable[..., Any], *args: Any):
        """Run blocking ``fun`` in the reactor's thread pool."""
        if self.reactor is None:
            return threads.deferToThread(fun, *args)
        return threads.deferToThreadPool(self.reactor, self.reactor.getThreadPool(), fun, *args)

    async def node_id(self) -> str:
        """The stable node identifier (made and stored at first use)."""
        if self._node_id is None:
            self._node_id = await self.in_thread(_read_or_make_node_id, self.data_dir)
        return self._node_id


def _read_or_make_node_id(data_dir: str) -> str:
    path = os.path.join(data_dir, "node_id")
    try:
        with open(path, encoding="ascii") as handle:
            text = handle.read().strip()
        if text:
            return text
    except FileNotFoundError:
        pass
    os.makedirs(data_dir, exist_ok=True)
    text = secrets.token_hex(16)
    with open(path, "w", encoding="ascii") as handle:
        handle.write(text + "\n")
    return text


def _option_text(value: Any) -> str:
    if hasattr(value, "to_dict"):
        value = value.to_dict()
    try:
        return json.dumps(value, sort_keys=True, default=str)
    except (TypeError, ValueError):
        return str(value)


def _differences(old: Any, new: Any) -> list[str]:
    """Top-level option paths that differ; ``general`` is compared key by key."""
    changed = []
    for key in sorted(set(old) | set(new)):
        if key == "general":
            general_old, general_new = old.get(key, {}), new.get(key, {})
            for sub in sorted(set(general_old) | set(general_new)):
                if general_old.get(sub) != general_new.get(sub):
                    changed.append(f"general.{sub}")
        elif old.get(key) != new.get(key):
            changed.append(key)
    return changed


def server_commands(control: ServerControl) -> list[Command]:
    """Build the ``server`` commands for ``control``."""

    async def status() -> dict[str, Any]:
        node = await control.node_id()
        uptime = int(time.time() - control.started)
        return {
            "statusCode": "RUNNING",
            "message": f"The node {node} is started (mongoose {__version__}, up {uptime} s)",
            "version": __version__,
            "commitHash": None,
            "node": node,
            "uptimeSeconds": uptime,
        }

    async def get_loglevel() -> str:
        return control.log_level.get()

    async def set_loglevel(level: str) -> str:
        control.log_level.set(level)
        return f"Log level set to {level}"

    async def get_cookie() -> str:
        return await control.node_id()

    async def host_types() -> list[dict[str, Any]]:
        config = control.config()
        result = []
        for name in (*config.hosts, *config.host_types):
            modules = config.modules_for(name)
            result.append({
                "name": name,
                "modules": [
                    {"name": module, "options": [
                        {"key": key, "value": _option_text(value)}
                        for key, value in sorted((options or {}).items())
                    ]}
                    for module, options in sorted(modules.items())
                ],
                "authMethods": list(config.auth_for(name).get("methods", ())),
            })
        return result

    async def global_info() -> dict[str, Any]:
        config = control.config()
        return {
            "services": [{"name": name} for name in control.services()],
            "internalDatabases": sorted(config.options.get("internal_databases", {}) or {}),
        }

    def not_clustered(what: str) -> Callable[..., Any]:
        async def refuse(**_: Any) -> str:
            raise CommandError("not_allowed", _NOT_CLUSTERED.format(what=what))

        return refuse

    async def restart() -> str:
        raise CommandError(
            "not_allowed",
            "a node cannot restart itself: restart it with the service manager "
            "(e.g. systemctl restart mongooseim)",
        )

    async def stop() -> str:
        if control.stop is None:
            raise CommandError("not_allowed", "this node cannot be stopped from the API")
        control.stop()
        return "The node is stopping"

    async def load_config(path: str | None = None) -> str:
        from mongoose.config.loader import ConfigErrors

        running = control.config()
        path = path or running.source
        if not path or path.startswith("<"):
            raise bad_request("path", "the node was not started from a file; give a path")
        if control.reload is None:
            raise CommandError("not_allowed", "this node cannot reload its configuration")
        try:
            new = await control.in_thread(control.reload, path)
        except ConfigErrors as exc:
            problems = "; ".join(str(error) for error in exc.errors)
            raise bad_request("path", f"the configuration is not valid: {problems}") from None
        changed = _differences(running.options, new.options)
        applied = []
        if "general.loglevel" in changed:
            level = new.options["general"]["loglevel"]
            control.log_level.set(level)
            applied.append(f"general.loglevel = {level}")
            changed.remove("general.loglevel")
        parts = [f"{path} is valid"]
        parts.append("applied: " + ", ".join(applied) if applied else "nothing applied")
        if changed:
            parts.append("changed, applied at the next restart: " + ", ".join(changed))
        elif not applied:
            parts.append("no changes")
        return "; ".join(parts)

    def command(name: str, description: str, handler: Any, action: str = "read",
                args: tuple[Arg, ...] = (), result: Any = STRING) -> Command:
        return Command(category=CATEGORY, name=name, description=description, action=action,
                       security_policy="admin", handler=handler, args=args, result=result)

    node_arg = Arg("node", STRING, "The other node's name", example="mongooseim@otherhost")
    return [
        command("status", "Get the status of the node", status, result=STATUS),
        command("getLoglevel", "Get the node's current log level", get_loglevel,
                result=LOG_LEVEL),
        command("setLoglevel", "Set the node's log level until it stops", set_loglevel,
                action="update",
                args=(Arg("level", LOG_LEVEL, "The new level", example="debug"),)),
        command("getCookie", "Get the node's identifier (there is no Erlang cookie)",
                get_cookie),
        command("hostTypes", "List the domains and host types with their modules and "
                "auth methods", host_types, result=ListOf(HOST_TYPE_INFO)),
        command("globalInfo", "List the running global services and internal databases",
                global_info, result=GLOBAL_INFO),
        command("joinCluster", "Join a cluster (not available: no Erlang cluster)",
                not_clustered("join"), action="update", args=(node_arg,)),
        command("leaveCluster", "Leave a cluster (not available: no Erlang cluster)",
                not_clustered("leave"), action="update"),
        command("removeFromCluster", "Remove a node from the cluster (not available)",
                not_clustered("remove a node from"), action="update", args=(node_arg,)),
        command("removeNode", "Remove a node from the cluster config (not available)",
                not_clustered("remove a node from"), action="update", args=(node_arg,)),
        command("restart", "Restart the node (not available: use the service manager)",
                restart, action="update"),
        command("stop", "Stop the node gracefully", stop, action="update"),
        command("loadConfig", "Re-read and validate the config file; apply the log level "
                "and list what needs a restart", load_config, action="update",
                args=(Arg("path", STRING, "The file (default: the one the node started with)",
                          default=None, example="/etc/mongooseim/mongooseim.toml"),)),
    ]
