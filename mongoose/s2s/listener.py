"""``[[listen.s2s]]``: the federation listener (RFC 6120, XEP-0220).

Follows the "Server to server (S2S)" listener page of the MongooseIM 6.x
docs.  :func:`build_s2s_factory` turns one listener table into a protocol
factory.  Options used: ``tls`` (``mode = "starttls"``,
``"starttls_required"`` or ``"tls"`` for direct TLS; without the table the
``s2s.use_starttls``/``s2s.certfile`` pair of MongooseIM 6.0-6.2 applies),
``shaper`` (a ``[shaper]`` name), ``max_stanza_size``, ``state_timeout``
(milliseconds to open the stream), ``max_connections``, ``proxy_protocol``
and the socket options; ``num_acceptors`` and ``hibernate_after`` are
accepted and have no effect.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from twisted.internet.protocol import ServerFactory

from mongoose.s2s.incoming import IncomingEnvironment, IncomingStream
from mongoose.s2s.settings import UNLIMITED_STANZA_SIZE, incoming_tls
from mongoose.xmpp.errors import StreamError

__all__ = ["S2SFactory", "build_s2s_factory"]


def _finite(value: Any) -> int | None:
    return None if value in (None, "infinity") else int(value)


class S2SFactory(ServerFactory):
    """Builds an :class:`IncomingStream` per connection of one listener.

    Args:
        environment: shared by the listener's streams.
        max_connections: most open connections, or None.
    """

    def __init__(self, environment: IncomingEnvironment, max_connections: int | None = None):
        self.environment = environment
        self.max_connections = max_connections

    def buildProtocol(self, addr: Any) -> IncomingStream:
        """A new stream; past ``max_connections`` it refuses itself with a stream error."""
        stream = IncomingStream(self.environment)
        stream.factory = self
        limit = self.max_connections
        if limit is not None and len(self.environment.manager.incoming) >= limit:
            stream.refuse_with = StreamError(
                "resource-constraint", "too many s2s connections on this listener"
            )
        return stream


def _startup_error(message: str) -> Exception:
    from mongoose.node import StartupError

    return StartupError(message)


def build_s2s_factory(index: int, options: Mapping[str, Any], node: Any) -> Any:
    """The protocol factory for ``listen.s2s[index]``.

    Args:
        index: the listener's position among the s2s listeners.
        options: its parsed table.
        node: the :class:`mongoose.node.Node` (its ``s2s`` manager, config, reactor).

    Returns:
        An ``IProtocolFactory``, wrapped for direct TLS and the PROXY
        protocol when configured.

    Raises:
        mongoose.node.StartupError: the TLS options cannot be used.
    """
    from mongoose.xmpp.tls import TLSConfigError, server_connection_creator

    path = f"listen.s2s[{index}]"
    manager = node.s2s
    tls = incoming_tls(options, node.config.options.get("s2s", {}))
    creator = None
    if tls.mode != "none":
        try:
            creator = server_connection_creator(tls.options)
        except TLSConfigError as exc:
            raise _startup_error(f"{path}.tls: {exc}") from None
    size = _finite(options.get("max_stanza_size", "infinity"))
    timeout = _finite(options.get("state_timeout", 5000))
    shaper_name = str(options.get("shaper", "none"))
    environment = IncomingEnvironment(
        manager=manager,
        listener=path,
        tls=tls,
        creator=creator,
        max_stanza_size=size if size is not None else UNLIMITED_STANZA_SIZE,
        state_timeout=None if timeout is None else timeout / 1000.0,
        shaper_for=lambda: manager.shaper(shaper_name),
    )
    factory: Any = S2SFactory(environment, _finite(options.get("max_connections", "infinity")))
    if tls.mode == "tls":
        from twisted.protocols.tls import TLSMemoryBIOFactory

        factory = TLSMemoryBIOFactory(creator, False, factory)
    if options.get("proxy_protocol"):
        from mongoose.listeners.proxy_protocol import ProxyProtocolFactory

        factory = ProxyProtocolFactory(factory, node.reactor, timeout=environment.state_timeout)
    return factory
