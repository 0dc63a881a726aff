"""Start and stop modules per host and services once, recording what they register.

A module sees only its :class:`ModuleContext` (DESIGN.md: "Modules get a
context, not the server").  Every hook and command registered through the
context is remembered, so stopping a module removes all of it even when the
module's own ``stop`` forgets something.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from twisted.internet import defer
from twisted.logger import Logger
from zope.interface import implementer

from mongoose.interfaces import IModuleContext, IServiceContext

__all__ = [
    "ModuleContext",
    "ServiceContext",
    "ModuleRunner",
    "DependencyError",
    "order_by_dependencies",
]


class DependencyError(Exception):
    """A module needs a module that is not configured, or modules depend in a cycle."""


class _Registrations:
    """What one module or service registered, undone in reverse order."""

    def __init__(self, hooks, commands, features):
        self._hooks = hooks
        self._commands = commands
        self._features = features
        self._undo: list[Callable[[], Any]] = []

    def hook(self, name, handler, priority=50, host=None):
        registration = self._hooks.add(name, handler, priority=priority, host=host)
        self._undo.append(registration.remove)
        return registration

    def add_command(self, command):
        self._commands.register(command)
        self._undo.append(lambda: self._commands.unregister(command.category, command.name))

    def add_feature(self, host, namespace):
        self._features.setdefault(host, []).append(namespace)
        self._undo.append(lambda: self._features[host].remove(namespace))

    def add_stream_feature(self, stream_features, host, element):
        stream_features.setdefault(host, []).append(element)
        self._undo.append(lambda: stream_features[host].remove(element))

    def undo_all(self) -> None:
        while self._undo:
            self._undo.pop()()


@implementer(IModuleContext)
class ModuleContext:
    """The facade given to one module instance on one host."""

    def __init__(self, name, host, options, node):
        self.name = name
        self.host = host
        self.options = options
        self.stores = node.stores
        self.auth = node.auth
        self.clock = node.reactor
        self.config = node.config
        self.access = getattr(node, "access", None)
        self.router = getattr(node, "router", None)
        self.sessions = getattr(node, "sessions", None)
        self.hooks = node.hooks
        self.commands = node.commands
        self.log = Logger(namespace=f"mongoose.modules.{name}")
        self._registrations = _Registrations(node.hooks, node.commands, node.features)
        self._features = node.features
        self._stream_features = getattr(node, "stream_features", {})
        self._runner = getattr(node, "modules", None)

    def service(self, name):
        """The running instance of global service ``name`` (e.g. ``service_cache``), or None."""
        return None if self._runner is None else self._runner.service(name)

    def iq_handler(self, xmlns, handler, scope="server"):
        """Handle IQs with payload namespace ``xmlns`` on this host.

        ``handler(iq, from_jid, to_jid)`` returns a reply element, None, or
        an awaitable; raising mongoose.xmpp.errors.StanzaError answers with
        that error.  ``scope`` is "server" (to the domain) or "user" (to a
        user's bare JID, or without 'to' from the user's own session).
        """
        registration = self.router.iq_handlers.add(self.host, xmlns, handler, scope)
        self._registrations._undo.append(registration.remove)
        return registration

    def add_stream_feature(self, element) -> None:
        """Advertise ``element`` in the stream features after authentication (c2s)."""
        self._registrations.add_stream_feature(self._stream_features, self.host, element)

    def host_features(self) -> list[str]:
        """Every disco feature registered on this host by any module."""
        return list(self._features.get(self.host, ()))

    def route(self, stanza, from_jid=None, to_jid=None):
        """Route a stanza through the node's router."""
        return self.router.route(stanza, from_jid, to_jid)

    def hook(self, name, handler, priority=50):
        """Register ``handler`` on hook ``name`` for this module's host."""
        return self._registrations.hook(name, handler, priority=priority, host=self.host)

    def add_command(self, command):
        """Register a command; it is removed when the module stops."""
        self._registrations.add_command(command)

    def add_feature(self, namespace):
        """Advertise a disco feature on this host while the module runs."""
        self._registrations.add_feature(self.host, namespace)

    def release(self) -> None:
        """Remove everything registered through this context."""
        self._registrations.undo_all()


@implementer(IServiceContext)
class ServiceContext:
    """The facade given to a global service."""

    def __init__(self, name, options, node):
        self.name = name
        self.options = options
        self.hosts = node.config.hosts
        self.stores = node.stores
        self.auth = node.auth
        self.clock = node.reactor
        self.config = node.config
        self.router = getattr(node, "router", None)
        self.sessions = getattr(node, "sessions", None)
        self.commands = node.commands
        self.log = Logger(namespace=f"mongoose.services.{name}")
        self._registrations = _Registrations(node.hooks, node.commands, node.features)
        self._runner = getattr(node, "modules", None)

    def service(self, name):
        """The running instance of global service ``name`` (e.g. ``service_cache``), or None."""
        return None if self._runner is None else self._runner.service(name)

    def hook(self, name, handler, priority=50, host=None):
        """Register a hook handler for one host or every host."""
        return self._registrations.hook(name, handler, priority=priority, host=host)

    def add_command(self, command):
        """Register a command; it is removed when the service stops."""
        self._registrations.add_command(command)

    def release(self) -> None:
        """Remove everything registered through this context."""
        self._registrations.undo_all()


def order_by_dependencies(
    configured: Mapping[str, Any], dependencies_of: Callable[[str], tuple[str, ...]]
) -> list[str]:
    """Names in start order: each after the modules it depends on.

    Raises:
        DependencyError: a dependency is not configured, or there is a cycle.
    """
    ordered: list[str] = []
    state: dict[str, str] = {}

    def visit(name: str, chain: tuple[str, ...]) -> None:
        if state.get(name) == "done":
            return
        if state.get(name) == "visiting":
            cycle = " -> ".join((*chain, name))
            raise DependencyError(f"modules depend on each other in a cycle: {cycle}")
        state[name] = "visiting"
        for dep in dependencies_of(name):
            if dep not in configured:
                raise DependencyError(f"modules.{name}: needs modules.{dep}, which is not configured")
            visit(dep, (*chain, name))
        state[name] = "done"
        ordered.append(name)

    for name in configured:
        visit(name, ())
    return ordered


class ModuleRunner:
    """Runs the configured modules of every host and the global services."""

    log = Logger()

    def __init__(self, node, extensions):
        self.node = node
        self.extensions = extensions
        self.running: list[tuple[str, str | None, Any, Any]] = []

    async def start_services(self, services: Mapping[str, Any]) -> None:
        """Start each configured global service once."""
        for name, options in services.items():
            factory = self.extensions.service(name)
            instance = factory()
            ctx = ServiceContext(name, options, self.node)
            self.running.append((name, None, instance, ctx))
            await defer.maybeDeferred(instance.start, ctx)
            self.log.info("service {name} started", name=name)

    async def start_modules(self, host: str, modules: Mapping[str, Any]) -> None:
        """Start the modules configured for ``host`` in dependency order."""
        factories = {name: self.extensions.module(name) for name in modules}
        order = order_by_dependencies(
            modules, lambda name: tuple(getattr(factories[name], "dependencies", ()) or ())
        )
        for name in order:
            instance = factories[name]()
            ctx = ModuleContext(name, host, modules[name], self.node)
            self.running.append((name, host, instance, ctx))
            await defer.maybeDeferred(instance.start, ctx)
            self.log.debug("module {name} started on {host}", name=name, host=host)

    def service(self, name: str) -> Any | None:
        """The running instance of global service ``name``, or None."""
        for running_name, host, instance, _ in self.running:
            if host is None and running_name == name:
                return instance
        return None

    async def stop_modules(self, host: str) -> None:
        """Stop the modules of one host in reverse start order (a dynamic domain going away)."""
        mine = [entry for entry in self.running if entry[1] == host]
        self.running = [entry for entry in self.running if entry[1] != host]
        for entry in reversed(mine):
            await self._stop_one(*entry)

    async def stop_all(self) -> None:
        """Stop modules and services in reverse start order; failures are logged."""
        while self.running:
            await self._stop_one(*self.running.pop())

    async def _stop_one(self, name: str, host: str | None, instance: Any, ctx: Any) -> None:
        try:
            await defer.maybeDeferred(instance.stop)
        except Exception:
            self.log.failure("{name} failed to stop cleanly on {host}", name=name, host=host)
        finally:
            ctx.release()
