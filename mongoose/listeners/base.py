"""A listening Twisted service for one ``[[listen.*]]`` entry.

The general listener options (``ip_address``, ``port``, ``ip_version``,
``backlog``) become a Twisted server endpoint.  The service starts listening
when the node is ready and stops accepting first on shutdown.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from twisted.application.service import Service
from twisted.internet import defer
from twisted.internet.endpoints import TCP4ServerEndpoint, TCP6ServerEndpoint
from twisted.internet.interfaces import IListeningPort
from twisted.logger import Logger

__all__ = ["ListenerService", "listen_address"]


def listen_address(options: Mapping[str, Any]) -> tuple[int, str]:
    """Return ``(ip_version, interface)`` for a listener's options.

    MongooseIM writes "0" or "0.0.0.0" for every IPv4 interface and "::" for
    every IPv6 one; ``ip_version`` defaults to the address's family.
    """
    address = str(options.get("ip_address", "0") or "0")
    version = options.get("ip_version")
    if address == "0":
        address = "::" if version == 6 else "0.0.0.0"
    if version is None:
        version = 6 if ":" in address else 4
    return int(version), address


class ListenerService(Service):
    """Listens on one endpoint with a protocol factory.

    Attributes:
        kind: the listener kind ("c2s", "http", ...), for logs.
        port: the IListeningPort once listening, else None.
    """

    log = Logger()

    def __init__(self, kind: str, index: int, options: Mapping[str, Any], factory, reactor):
        self.kind = kind
        self.index = index
        self.options = options
        self.factory = factory
        self.reactor = reactor
        self.port: IListeningPort | None = None
        self.setName(f"listen.{kind}[{index}]")

    @property
    def config_path(self) -> str:
        """The option path of this listener, e.g. ``listen.http[0]``."""
        return f"listen.{self.kind}[{self.index}]"

    def endpoint(self):
        """The server endpoint described by the listener's options."""
        version, interface = listen_address(self.options)
        port = int(self.options["port"])
        backlog = int(self.options.get("backlog", 1024))
        cls = TCP6ServerEndpoint if version == 6 else TCP4ServerEndpoint
        return cls(self.reactor, port, backlog=backlog, interface=interface)

    async def listen(self) -> IListeningPort:
        """Start listening; raises CannotListenError with the OS's reason."""
        self.port = await self.endpoint().listen(self.factory)
        host = self.port.getHost()
        self.log.info(
            "{path} ({kind}) listening on {host}:{port}",
            path=self.config_path,
            kind=self.kind,
            host=host.host,
            port=host.port,
        )
        return self.port

    def startService(self) -> None:
        """Mark as running; the node calls :meth:`listen` once storage is ready."""
        Service.startService(self)

    def stopService(self) -> defer.Deferred | None:
        """Stop accepting new connections."""
        Service.stopService(self)
        if self.port is not None:
            port, self.port = self.port, None
            return defer.maybeDeferred(port.stopListening)
        return None
