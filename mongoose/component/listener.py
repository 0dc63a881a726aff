"""``[[listen.service]]`` / ``[[listen.component]]``: the XEP-0114 component listener.

Follows the "XMPP components" listener page of the MongooseIM 6.x
documentation.  :func:`build_component_factory` turns one listener table
into a protocol factory (wrapped for direct TLS when ``tls`` is given, and
for the PROXY protocol when ``proxy_protocol = true``).

Options and what they do here:

* ``password`` - the shared secret of the handshake;
* ``access`` - access rule evaluated on the sender of every stanza routed to
  a component (denied: ``not-allowed`` stanza error);
* ``shaper`` (``shaper_rule``) - a ``[shaper]`` name, or as in MongooseIM
  6.0 an access rule whose value is one, evaluated for the component's domain;
* ``check_from``, ``hidden_components``, ``conflict_behaviour``;
* ``tls`` (``mode = "tls"`` only: XEP-0114 has no STARTTLS) and
  ``proxy_protocol`` (the header comes before TLS);
* ``max_stanza_size`` (``"infinity"``: :data:`UNLIMITED_STANZA_SIZE`),
  ``max_fsm_queue`` (else ``general.max_fsm_queue``; a byte cap of
  :data:`~mongoose.component.stream.DEFAULT_MAX_QUEUED_BYTES` always holds),
  ``state_timeout`` (milliseconds to complete the handshake),
  ``max_connections`` and the socket options;
* ``num_acceptors`` and ``hibernate_after`` are accepted and have no effect.

:func:`component_environment` and :func:`settings_from_options` are also
used by the WebSocket handler's ``service`` table
(:mod:`mongoose.http.ws_component`), so both transports run the same streams.

All component listeners of a node share one component table
(``node.components``), created with the ``component`` commands by the first
listener built.  Each listener closes its streams with ``system-shutdown``
from the ``node_stopping`` hook.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from twisted.internet import defer
from twisted.internet.protocol import ServerFactory
from twisted.logger import Logger

from mongoose.commands.defs.component import component_commands
from mongoose.component.registry import ComponentRegistry
from mongoose.component.stream import (
    CLOSE_GRACE,
    ComponentEnvironment,
    ComponentSettings,
    ComponentStream,
)
from mongoose.listeners.shaper import Shaper, shaper_rate
from mongoose.xmpp.errors import StreamError
from mongoose.xmpp.jid import JID

__all__ = [
    "UNLIMITED_STANZA_SIZE",
    "ComponentFactory",
    "build_component_factory",
    "component_environment",
    "component_registry",
    "settings_from_options",
]

#: The stanza size limit used for ``max_stanza_size = "infinity"``, in bytes:
#: memory stays bounded even when the operator asks for no limit.
UNLIMITED_STANZA_SIZE = 16 * 1024 * 1024

log = Logger()


def _finite(value: Any) -> int | None:
    return None if value in (None, "infinity") else int(value)


def settings_from_options(
    path: str, options: Mapping[str, Any], general: Mapping[str, Any] | None = None
) -> ComponentSettings:
    """The stream settings of one component listener.

    Args:
        path: the listener's option path, e.g. ``listen.service[0]``.
        options: the parsed listener table.
        general: the ``[general]`` options (for ``max_fsm_queue``).

    Returns:
        The settings.
    """
    size = _finite(options.get("max_stanza_size", "infinity"))
    timeout = _finite(options.get("state_timeout", 5000))
    queue = options.get("max_fsm_queue")
    if queue is None and general is not None:
        queue = general.get("max_fsm_queue")
    return ComponentSettings(
        password=options["password"],
        listener=path,
        check_from=bool(options.get("check_from", True)),
        hidden=bool(options.get("hidden_components", False)),
        conflict_behaviour=options.get("conflict_behaviour", "disconnect"),
        max_stanza_size=size if size is not None else UNLIMITED_STANZA_SIZE,
        max_queue=queue,
        state_timeout=None if timeout is None else timeout / 1000.0,
    )


def component_registry(node: Any) -> ComponentRegistry:
    """The node's component table, created (with its commands) on first use.

    Two component listeners share it, and the commands are registered once.

    Args:
        node: the :class:`mongoose.node.Node`.

    Returns:
        ``node.components``.
    """
    registry = getattr(node, "components", None)
    if registry is None:
        registry = ComponentRegistry(node.router, node.serves_domain)
        node.components = registry
    if not node.commands.list(category="component"):
        for command in component_commands(registry):
            node.commands.register(command)
    return registry


class ComponentFactory(ServerFactory):
    """Builds a :class:`ComponentStream` per connection of one listener.

    Args:
        environment: shared by the listener's streams.
        settings: the listener's options.
        max_connections: most open connections, or None.
    """

    def __init__(
        self,
        environment: ComponentEnvironment,
        settings: ComponentSettings,
        max_connections: int | None = None,
    ):
        self.environment = environment
        self.settings = settings
        self.max_connections = max_connections

    def buildProtocol(self, addr: Any) -> ComponentStream:
        """A new stream; past ``max_connections`` it refuses itself with a stream error."""
        stream = ComponentStream(self.environment, self.settings)
        stream.factory = self
        limit = self.max_connections
        if limit is not None and len(self.environment.connections) >= limit:
            stream.refuse_with = StreamError(
                "resource-constraint", "too many component connections on this listener"
            )
        return stream

    @property
    def connections(self) -> list[ComponentStream]:
        """The open streams of this listener."""
        return list(self.environment.connections)

    def shutdown(self, *args: Any) -> defer.Deferred:
        """Close every stream with ``system-shutdown``; fires when all are gone.

        Registered on the ``node_stopping`` hook.
        """
        waits = []
        for stream in list(self.environment.connections):
            stream.close("system-shutdown", "the server is stopping")
            waits.append(stream.when_lost())
        if not waits:
            return defer.succeed(None)
        done = defer.DeferredList(waits, consumeErrors=True)
        clock = self.environment.clock
        return done.addTimeout(CLOSE_GRACE + 1, clock).addErrback(lambda _: None)


def _may_receive_from(node: Any, rule: str):
    if rule == "all":
        return lambda sender: True
    default_host = node.config.options["general"].get("default_server_domain") or (
        node.config.hosts[0]
    )

    def check(sender: JID | None) -> bool:
        host = sender.host if sender is not None and node.serves_domain(sender.host) else None
        return node.access.allowed(rule, host or default_host, sender)

    return check


def _shaper_for(node: Any, name: str):
    shapers = node.config.options.get("shaper", {})
    if name == "none":
        return lambda domain: None
    default_host = node.config.options["general"].get("default_server_domain") or (
        node.config.hosts[0]
    )

    def build(domain: str) -> Shaper | None:
        if name in shapers:
            rate = shaper_rate(shapers, name)
        else:
            # MongooseIM 6.0: an access rule whose value names the shaper.
            value = node.access.match(name, default_host, JID(None, domain), default="none")
            rate = shaper_rate(shapers, value) if isinstance(value, str) else None
        return Shaper(rate, node.reactor.seconds) if rate is not None else None

    return build


def component_environment(node: Any, options: Mapping[str, Any]) -> ComponentEnvironment:
    """What the component streams of one endpoint share, built from its options.

    Used by ``[[listen.service]]`` (TCP) and by the WebSocket handler's
    ``service`` table, so both transports run the same streams with the same
    ``access`` and ``shaper`` semantics.

    Args:
        node: the :class:`mongoose.node.Node`.
        options: the endpoint's parsed options (``access``, ``shaper``).

    Returns:
        A new environment (its own set of open connections) on the node's
        component table.
    """
    return ComponentEnvironment(
        router=node.router,
        registry=component_registry(node),
        hosts=lambda: node.config.hosts,
        clock=node.reactor,
        may_receive_from=_may_receive_from(node, options.get("access", "all")),
        shaper_for=_shaper_for(node, options.get("shaper", "none")),
    )


def _startup_error(message: str) -> Exception:
    from mongoose.node import StartupError

    return StartupError(message)


def _wrap_tls(path: str, options: Mapping[str, Any], factory: Any) -> Any:
    tls = options.get("tls")
    if tls is None:
        return factory
    mode = tls.get("mode", "tls")
    if mode != "tls":
        raise _startup_error(
            f'{path}.tls.mode: XEP-0114 components have no STARTTLS; use "tls" (direct TLS)'
        )
    from twisted.protocols.tls import TLSMemoryBIOFactory

    from mongoose.xmpp.tls import TLSConfigError, server_connection_creator

    try:
        creator = server_connection_creator(tls)
    except TLSConfigError as exc:
        raise _startup_error(f"{path}.tls: {exc}") from None
    return TLSMemoryBIOFactory(creator, False, factory)


def build_component_factory(index: int, options: Mapping[str, Any], node: Any) -> Any:
    """The protocol factory for ``listen.service[index]``.

    Args:
        index: the listener's position among the component listeners.
        options: its parsed table.
        node: the :class:`mongoose.node.Node` (router, hooks, commands,
            access, config, reactor).

    Returns:
        An ``IProtocolFactory``: a :class:`ComponentFactory`, possibly
        wrapped for TLS and the PROXY protocol.

    Raises:
        mongoose.node.StartupError: the TLS options cannot be used.
    """
    path = f"listen.service[{index}]"
    environment = component_environment(node, options)
    settings = settings_from_options(path, options, node.config.options.get("general"))
    factory = ComponentFactory(
        environment, settings, _finite(options.get("max_connections", "infinity"))
    )
    node.hooks.add("node_stopping", factory.shutdown)
    wrapped = _wrap_tls(path, options, factory)
    if options.get("proxy_protocol"):
        # The PROXY header parser shared with the c2s listener.
        from mongoose.listeners.proxy_protocol import ProxyProtocolFactory

        wrapped = ProxyProtocolFactory(wrapped, node.reactor, timeout=settings.state_timeout)
    return wrapped
