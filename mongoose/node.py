"""The composition root: one node built explicitly from a validated config.

:class:`Node` is the root ``MultiService`` that ``twistd mongooseim`` runs.
It owns the core registries (hooks, commands, disco features), the storage,
the authentication backend, the module runner and one listening service per
``[[listen.*]]`` entry.  Nothing here is module-level state: two nodes can
run in one process (federation and cluster tests need that).

Start-up order: open storage (migrations run) -> auth -> core commands ->
global services -> modules per host (static hosts, then enabled dynamic domains
with the modules of their host type) -> listeners start accepting.  Dynamic
domains start and stop at run time through :meth:`Node.start_domain`,
:meth:`Node.stop_domain` and :meth:`Node.purge_domain` (the
:class:`~mongoose.commands.defs.domain.IDomainLifecycle` of the domain table); their
auth, ACL, access, shaper and s2s settings come from their host type's
``[[host_config]]`` (``node.config`` resolves them through the domain table,
see :meth:`mongoose.config.loader.Config.host_type_of`).  Stop order
is the reverse: listeners stop accepting, ``node_stopping`` runs (sessions
get ``system-shutdown``), modules and services stop, storage closes.
"""

from __future__ import annotations

import atexit
import importlib
import os
import sys
import time
from collections.abc import Callable
from typing import Any

from twisted.application.service import MultiService
from twisted.internet import defer
from twisted.logger import Logger
from twisted.web.resource import IResource

from mongoose.acl import AccessRules
from mongoose.auth.internal import InternalAuth
from mongoose.commands.defs.account import account_commands
from mongoose.commands.defs.domain import DynamicDomains, domain_commands
from mongoose.commands.defs.gdpr import gdpr_commands
from mongoose.commands.defs.metric import node_metric_commands
from mongoose.commands.defs.server import LogLevelControl, ServerControl, server_commands
from mongoose.commands.defs.session import end_user_sessions, session_commands
from mongoose.commands.defs.stanza import stanza_commands
from mongoose.commands.defs.stats import node_stats_commands
from mongoose.commands.registry import CommandRegistry
from mongoose.config.loader import Config, load_config
from mongoose.config.schema import ConfigError
from mongoose.extensions import ExtensionRegistry
from mongoose.hooks import HookRegistry
from mongoose.listeners.base import ListenerService
from mongoose.listeners.http import Mount, split_path
from mongoose.metrics.metrics import Metrics
from mongoose.modules.runtime import DependencyError, ModuleRunner, order_by_dependencies
from mongoose.router.router import Router
from mongoose.router.sessions import SessionManager
from mongoose.s2s.manager import build_s2s_manager
from mongoose.services.service_cache import find_cache
from mongoose.storage.factory import open_stores

__all__ = [
    "Node",
    "StartupError",
    "check_buildable",
    "exit_with_failure",
    "LISTENER_FACTORIES",
]

#: Listener kind -> "module:function" building its protocol factory as
#: ``function(index, options, node)``; kinds absent here are validated but refused.
LISTENER_FACTORIES = {
    "http": "mongoose.listeners.http:build_http_factory",
    "c2s": "mongoose.c2s.listener:build_c2s_factory",
    "service": "mongoose.component.listener:build_component_factory",
    "s2s": "mongoose.s2s.listener:build_s2s_factory",
}


def _listener_builder(kind: str):
    """The factory builder for a listener kind, or None when it is not available."""
    target = LISTENER_FACTORIES.get(kind)
    if target is None:
        return None
    module_name, _, attribute = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name):
            return None
        raise
    return getattr(module, attribute, None)


#: auth.methods this version serves: the SQL user store (internal, rdbms),
#: SASL ANONYMOUS (anonymous) and TLS client certificates (pki).
_AVAILABLE_AUTH_METHODS = ("internal", "rdbms", "anonymous", "pki")


class StartupError(Exception):
    """The node cannot start; the message is one line for the operator."""


def _handler_entries(listener: Any):
    handlers = listener.get("handlers") or {}
    for kind, entries in handlers.items():
        for index, entry in enumerate(entries):
            yield kind, index, entry


def check_buildable(config: Config, extensions: ExtensionRegistry) -> list[ConfigError]:
    """Problems that stop this version from running a valid config.

    A valid MongooseIM config may name parts this version does not have yet:
    each gets one line with its option path.
    """
    errors: list[ConfigError] = []
    listen = config.options.get("listen", {})
    for kind, entries in listen.items():
        for index, listener in enumerate(entries):
            path = f"listen.{kind}[{index}]"
            if _listener_builder(kind) is None:
                errors.append(ConfigError(path, f"{kind} listeners are not implemented yet"))
                continue
            if kind == "c2s":
                from mongoose.acl import AccessRules
                from mongoose.c2s.listener import check_c2s_listener

                for line in check_c2s_listener(index, listener, config, AccessRules(config)):
                    errors.append(ConfigError("", line))
            for handler, hindex, _ in _handler_entries(listener):
                try:
                    factory = extensions.http_handler(handler)
                except LookupError as exc:
                    errors.append(ConfigError(f"{path}.handlers.{handler}[{hindex}]", str(exc)))
                    continue
                if factory is None:
                    errors.append(
                        ConfigError(
                            f"{path}.handlers.{handler}[{hindex}]",
                            "this HTTP handler is not implemented yet",
                        )
                    )
    methods = config.options.get("auth", {}).get("methods", ())
    for method in methods:
        if method not in _AVAILABLE_AUTH_METHODS:
            errors.append(
                ConfigError("auth.methods", f"{method!r} is not available in this version")
            )
    for host in (*config.hosts, *config.host_types):
        modules = config.modules_for(host)
        try:
            order_by_dependencies(
                modules,
                lambda name: tuple(
                    getattr(extensions.module(name), "dependencies", ()) or ()
                ),
            )
        except DependencyError as exc:
            errors.append(ConfigError("", str(exc)))
    return errors


class Node(MultiService):
    """One running server: registries, storage, modules and listeners.

    Args:
        config: a validated Config.
        reactor: the reactor to use.
        extensions: where modules, services and HTTP handlers are found.
        on_fatal: called with a one-line message when start-up fails after
            the reactor runs; :mod:`mongoose.tap` makes twistd exit 1.
    """

    log = Logger()

    def __init__(
        self,
        config: Config,
        reactor: Any = None,
        extensions: ExtensionRegistry | None = None,
        on_fatal: Callable[[str], None] | None = None,
    ):
        super().__init__()
        if reactor is None:
            from twisted.internet import reactor as default_reactor

            reactor = default_reactor
        #: The config, resolving dynamic domains to their host type's settings.
        self.config = config = config.with_dynamic_domains(self._dynamic_host_type)
        self.reactor = reactor
        self.extensions = extensions or ExtensionRegistry()
        self.on_fatal = on_fatal
        self.hooks = HookRegistry()
        self.commands = CommandRegistry()
        self.features: dict[str, list[str]] = {}
        #: host -> elements advertised in c2s stream features after authentication.
        self.stream_features: dict[str, list] = {}
        self.stores = None
        self.auth = None
        #: Dynamic domains (``domain`` commands); set at start-up.
        self.domains: DynamicDomains | None = None
        self.access = AccessRules(config, hosted=self.serves_domain)
        self.sessions = SessionManager(self.hooks, self.max_user_sessions)
        self.router = Router(
            self.hooks, self.sessions, self.serves_domain, user_exists=self._user_exists
        )
        #: Federation: outgoing s2s connections, dialback checks (the router's remote route).
        self.s2s = build_s2s_manager(self)
        self.router.remote = self.s2s
        self.metrics = Metrics(self)
        self.modules = ModuleRunner(self, self.extensions)
        self.listeners: list[ListenerService] = []
        self.ready: defer.Deferred = defer.Deferred()
        self._startup: defer.Deferred | None = None
        #: Called first thing in startService (twistd applies the log level here).
        self.before_start: Callable[[], Any] | None = None
        self.setName("mongooseim")
        for kind, entries in config.options.get("listen", {}).items():
            for index, options in enumerate(entries):
                service = ListenerService(
                    kind, index, options, self._listener_factory(kind, index, options), reactor
                )
                service.setServiceParent(self)
                self.listeners.append(service)

    # -- building ---------------------------------------------------------

    def _listener_factory(self, kind: str, index: int, options: Any):
        builder = _listener_builder(kind)
        if builder is None:
            raise StartupError(f"listen.{kind}[{index}]: {kind} listeners are not implemented yet")
        return builder(index, options, self)

    def http_mounts(self, listener: Any) -> list[Mount]:
        """The handlers of one ``[[listen.http]]`` entry, each built by its factory."""
        mounts = []
        for handler, _, options in _handler_entries(listener):
            factory = self.extensions.http_handler(handler)
            resource = IResource(factory(options, self))
            mounts.append(Mount(options["host"], split_path(options["path"]), resource, handler))
        return mounts

    def serves_domain(self, domain: str) -> bool:
        """True when ``domain`` is one of the XMPP domains this node serves.

        Static domains (``general.hosts``) always; dynamic ones while enabled.
        """
        if domain in self.config.hosts:
            return True
        return self.domains is not None and self.domains.serves(domain)

    def _dynamic_host_type(self, domain: str) -> str | None:
        """The host type of a dynamic domain (enabled or not), or None.

        The one place a domain added at run time is tied to its host type's
        ``[[host_config]]``: :meth:`Config.host_type_of` asks here.
        """
        if self.domains is None:
            return None
        details = self.domains.details(domain)
        if details is None or details["type"] != "DYNAMIC":
            return None
        return details["hostType"]

    def _password_options(self, domain: str) -> tuple[str, tuple[str, ...], int] | None:
        """How new passwords of ``domain`` are stored: its (host type's) ``auth.password``."""
        try:
            password = self.config.auth_for(domain)["password"]
        except KeyError:
            return None
        return password["format"], tuple(password["hash"]), password["scram_iterations"]

    def max_user_sessions(self, user: str, host: str) -> int | None:
        """The ``max_user_sessions`` access rule's value for a user (None: no limit)."""
        value = self.access.match("max_user_sessions", host, _UserRef(user, host), default=None)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    async def check_domain_password(self, domain: str, password: str) -> bool:
        """True when ``password`` is the domain admin password of ``domain``.

        Used by the GraphQL ``domain_admin`` endpoint (login ``admin@DOMAIN``).
        """
        if self.domains is None:
            return False
        return bool(await self.domains.check_password(domain, password))

    async def user_removed(self, user: str, host: str) -> None:
        """After an account is removed: drop its data (``remove_user`` hook), end its sessions."""
        await self.hooks.run("remove_user", host, user, host)
        for session in self.sessions.sessions_of(user, host):
            session.close("not-authorized", "Account removed")

    # -- dynamic domains (IDomainLifecycle) -------------------------------

    async def start_domain(self, domain: str, host_type: str) -> None:
        """Serve a dynamic domain: start the modules of its host type on it."""
        try:
            await self.modules.start_modules(domain, self.config.modules_for(host_type))
        except BaseException:
            await self.modules.stop_modules(domain)
            raise
        self.log.info("dynamic domain {domain} ({host_type}) is served",
                      domain=domain, host_type=host_type)

    async def stop_domain(self, domain: str, host_type: str, removed: bool) -> None:
        """Stop serving a dynamic domain: close its streams, stop its modules.

        Streams end with ``host-gone`` (RFC 6120 section 4.9.3.5: the domain
        the stream was opened to is no longer serviced here); new streams
        to it get ``host-unknown``.  On removal the ``remove_domain`` hook
        runs first, so modules can drop what they keep in memory.
        """
        text = f"{domain} has been {'removed' if removed else 'disabled'}"
        for session in list(self.sessions.all_sessions(domain)):
            session.close("host-gone", text)
        if removed:
            await self.hooks.run("remove_domain", domain, domain, host_type)
        await self.modules.stop_modules(domain)
        self.log.info("dynamic domain {domain} is no longer served ({text})",
                      domain=domain, text=text)

    async def purge_domain(self, domain: str) -> None:
        """Delete every record of a domain being removed, from every store."""
        counts = await self.stores.purge_domain(domain)
        self.log.info("purged {domain}: {counts}", domain=domain, counts=counts)

    def _user_exists(self, user: str, host: str):
        if self.auth is None:
            return defer.succeed(False)
        return self.auth.user_exists(user, host)

    # -- lifecycle --------------------------------------------------------

    def startService(self) -> None:
        """Start children (not yet accepting), then the asynchronous start-up."""
        if self.before_start is not None:
            self.before_start()
        MultiService.startService(self)
        self._startup = defer.ensureDeferred(self._start())
        self._startup.addCallbacks(self.ready.callback, self._start_failed)

    def _start_failed(self, failure) -> None:
        if failure.check(StartupError):
            message = str(failure.value)
        else:
            message = f"start-up failed: {failure.getErrorMessage()}"
            self.log.failure("start-up failed", failure)
        self.log.critical("{message}", message=message)
        if self.on_fatal is not None:
            self.on_fatal(message)
        self.ready.errback(StartupError(message))

    async def _start(self) -> "Node":
        started = time.monotonic()
        general = self.config.options["general"]
        data_dir = general.get("data_dir", "data")
        try:
            self.stores = await open_stores(self.config.rdbms_pool(), data_dir, self.reactor)
        except Exception as exc:
            raise StartupError(f"storage: {exc}") from exc
        password = self.config.options["auth"]["password"]
        self.auth = InternalAuth(
            self.stores.auth,
            password_format=password["format"],
            hashes=tuple(password["hash"]),
            iterations=password["scram_iterations"],
            reactor=self.reactor,
            password_for=self._password_options,
        )
        self.domains = DynamicDomains(
            self.stores.domains, self.config.hosts, self.config.host_types, self.reactor,
            lifecycle=self,
        )
        await self.domains.load()
        core_commands = [
            *domain_commands(self.domains),
            *account_commands(
                self.auth, domain_exists=self.serves_domain, on_removed=self.user_removed,
                on_banned=lambda user, domain, reason: end_user_sessions(
                    self.sessions, user, domain, reason),
            ),
            *session_commands(self.sessions, self.hooks, self.reactor),
            *stanza_commands(self.router, self.serves_domain, self._user_exists),
            *node_stats_commands(self),
            *node_metric_commands(self),
            *gdpr_commands(lambda: self.stores, self.serves_domain,
                           lambda: find_cache(self.modules.service), self.reactor),
            *server_commands(ServerControl(
                lambda: self.config, data_dir, LogLevelControl(general["loglevel"]),
                services=lambda: [n for n, h, _, _ in self.modules.running if h is None],
                reload=lambda path: load_config(path, self.extensions),
                stop=lambda: self.reactor.callLater(0, self.reactor.stop),
                reactor=self.reactor)),
        ]
        for command in core_commands:
            self.commands.register(command)
        await self.modules.start_services(self.config.options.get("services", {}))
        for host in self.config.hosts:
            await self.modules.start_modules(host, self.config.modules_for(host))
        for domain, host_type in self.domains.enabled():
            try:
                await self.start_domain(domain, host_type)
            except Exception as exc:
                raise StartupError(f"dynamic domain {domain}: modules of host type "
                                   f"{host_type!r} failed to start: {exc}") from exc
        for listener in self.listeners:
            try:
                await listener.listen()
            except Exception as exc:
                raise StartupError(f"{listener.config_path}: cannot listen: {exc}") from exc
        self.log.info(
            "mongooseim started in {seconds:.2f}s serving {hosts}",
            seconds=time.monotonic() - started,
            hosts=", ".join(self.config.hosts),
        )
        return self

    def stopService(self) -> defer.Deferred:
        """Graceful stop: stop accepting, warn sessions, stop modules, close storage."""
        return defer.ensureDeferred(self._stop())

    async def _stop(self) -> None:
        if self._startup is not None and not self._startup.called:
            await defer.Deferred.fromCoroutine(_wait_quietly(self._startup))
        listeners = [defer.maybeDeferred(s.stopService) for s in self.listeners if s.running]
        await defer.DeferredList(listeners, consumeErrors=True)
        await self.hooks.run("node_stopping", None, self)
        await self.modules.stop_all()
        await defer.maybeDeferred(MultiService.stopService, self)
        if self.stores is not None:
            stores, self.stores = self.stores, None
            await defer.maybeDeferred(stores.close)
        self.log.info("mongooseim stopped")


class _UserRef:
    """A bare user address for access checks."""

    __slots__ = ("user", "host", "resource")

    def __init__(self, user: str, host: str):
        self.user = user
        self.host = host
        self.resource = None


async def _wait_quietly(d: defer.Deferred) -> None:
    try:
        await d
    except Exception:
        pass


def exit_with_failure(message: str) -> None:
    """Stop the reactor and make the process exit with status 1.

    twistd has no way to return a status after the reactor stops, so the
    exit status is set at interpreter exit, once twistd has cleaned up.
    """
    from twisted.internet import reactor

    def exit_now() -> None:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(1)

    atexit.register(exit_now)
    if reactor.running:
        reactor.stop()
