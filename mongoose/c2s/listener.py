"""``[[listen.c2s]]``: the protocol factory of a client listener (MongooseIM "Options: Listen").

:func:`build_c2s_factory` is the builder :mod:`mongoose.node` looks up for
``c2s`` listeners.  It returns the factory the listening socket uses: the
c2s factory, wrapped in TLS for ``tls.mode = "tls"`` (direct TLS) and in the
PROXY protocol reader for ``proxy_protocol = true`` (outermost, since the
load balancer's header comes before the TLS handshake).  It registers a
``node_stopping`` hook that closes every connection of the listener with
``system-shutdown``.

Listener options and where they take effect: ``port``, ``ip_address``,
``ip_version``, ``backlog`` (the listening socket); ``proxy_protocol``,
``max_connections``, ``max_stanza_size``, ``c2s_state_timeout``,
``access``, ``shaper``, ``zlib``, ``max_fsm_queue``,
``backwards_compatible_session``, ``allowed_auth_methods`` and ``tls.*``
(here).  ``num_acceptors`` and ``hibernate_after`` are Erlang tuning knobs
and are accepted without effect; ``proto`` can only be ``tcp``.
"""

from __future__ import annotations

from typing import Any

from twisted.protocols.tls import TLSMemoryBIOFactory

from mongoose.c2s.context import C2SContext, C2SSettings
from mongoose.c2s.tcp import C2SFactory
from mongoose.listeners.proxy_protocol import ProxyProtocolFactory

__all__ = ["build_c2s_factory", "check_c2s_listener"]


def check_c2s_listener(index: int, options: Any, config: Any, access: Any) -> list[str]:
    """Problems that stop a c2s listener from starting, one line each.

    Meant for start-up checks before the node is built (e.g. an unreadable
    certificate file).

    Args:
        index: the listener's position in ``[[listen.c2s]]``.
        options: its parsed options.
        config: the node's Config.
        access: the node's AccessRules.
    """
    settings = C2SSettings.from_options(f"listen.c2s[{index}]", options, config, access)
    return [settings.tls_error] if settings.tls_error else []


def build_c2s_factory(index: int, options: Any, node: Any) -> Any:
    """Build the protocol factory of ``listen.c2s[index]``.

    Args:
        index: the listener's position in ``[[listen.c2s]]``.
        options: its parsed options.
        node: the mongoose.node.Node it belongs to.

    Returns:
        The factory to listen with.  Unusable TLS options make it fail to
        start, with a one-line message naming the option.
    """
    settings = C2SSettings.from_options(f"listen.c2s[{index}]", options, node.config, node.access)
    factory = C2SFactory(C2SContext(node, settings))
    outer: Any = factory
    if settings.tls_mode == "tls" and settings.tls_creator is not None:
        outer = TLSMemoryBIOFactory(settings.tls_creator, False, outer)
    proxy: ProxyProtocolFactory | None = None
    if settings.proxy_protocol:
        proxy = outer = ProxyProtocolFactory(outer, node.reactor, settings.state_timeout)

    def stopping(*args: Any) -> Any:
        if proxy is not None:
            for waiting in proxy.pending():
                waiting.transport.abortConnection()
        return factory.shutdown()

    node.hooks.add("node_stopping", stopping)
    return outer
