"""A started Node with component listeners, and a raw XEP-0114 client over real sockets."""

from __future__ import annotations

import os
from collections import deque

from twisted.internet import defer, reactor
from twisted.internet.endpoints import SSL4ClientEndpoint, TCP4ClientEndpoint, connectProtocol
from twisted.internet.protocol import Protocol
from twisted.internet.ssl import Certificate, optionsForClientTLS
from twisted.words.xish.domish import Element

from mongoose.component.handshake import handshake_digest
from mongoose.config.loader import parse_config
from mongoose.extensions import ExtensionRegistry
from mongoose.node import Node
from mongoose.xmpp.framing import XMLStreamParser
from mongoose.xmpp.namespaces import NS_COMPONENT_ACCEPT, NS_STREAMS, NS_XMPP_STREAMS
from test.support.processes import free_port

__all__ = ["RawComponent", "component_listener", "connect", "start_node", "SECRET"]

SECRET = "s3cret"

BASE = """
[general]
  hosts = ["localhost", "other.test"]
  default_server_domain = "localhost"
  data_dir = "{data}"
[auth.internal]
"""


def component_listener(port: int, extra: str = "") -> str:
    """The TOML of one ``[[listen.service]]`` on 127.0.0.1 with the test secret."""
    return (
        f"\n[[listen.service]]\n  ip_address = \"127.0.0.1\"\n  port = {port}\n"
        f"  password = \"{SECRET}\"\n{extra}\n"
    )


async def start_node(testcase, toml: str) -> Node:
    """Start a node (SQLite in a temp dir) with the given extra TOML; stopped at cleanup."""
    data = os.path.abspath(testcase.mktemp())
    config = parse_config(BASE.format(data=data) + toml)
    node = Node(config, reactor=reactor, extensions=ExtensionRegistry())
    node.startService()
    await node.ready
    testcase.addCleanup(_stop, node)
    return node


async def _stop(node: Node) -> None:
    if node.running:
        await node.stopService()


class RawComponent(Protocol):
    """A hand-driven component: writes text, parses what the server sends."""

    def __init__(self):
        self.header: dict | None = None
        self.stanzas: deque[Element] = deque()
        self.waiting: list[defer.Deferred] = []
        self.header_ready: defer.Deferred = defer.Deferred()
        self.lost: defer.Deferred = defer.Deferred()
        self.ended = False
        self.parser = XMLStreamParser(
            self._start,
            self._stanza,
            self._end,
            self._error,
            content_namespaces=(NS_COMPONENT_ACCEPT,),
        )

    # -- protocol --

    def dataReceived(self, data):
        self.parser.feed(data)

    def connectionLost(self, reason=None):
        if not self.header_ready.called:
            self.header_ready.errback(ConnectionError(f"closed before a header: {reason}"))
        if not self.lost.called:
            self.lost.callback(None)
        for waiter in self.waiting:
            waiter.errback(ConnectionError("connection closed"))
        self.waiting = []

    def _start(self, header):
        self.header = header
        self.header_ready.callback(header)

    def _stanza(self, el):
        if self.waiting:
            self.waiting.pop(0).callback(el)
        else:
            self.stanzas.append(el)

    def _end(self):
        self.ended = True

    def _error(self, error):
        raise AssertionError(f"the server sent bad XML: {error}")

    # -- driving --

    def send(self, text: str) -> None:
        """Write raw text to the server."""
        self.transport.write(text.encode("utf-8"))

    async def open(self, to: str, is_subdomain: bool = False) -> dict:
        """Send a component stream header; return the server's header."""
        extra = " is_subdomain='true'" if is_subdomain else ""
        self.send(
            "<?xml version='1.0'?><stream:stream xmlns='jabber:component:accept' "
            f"xmlns:stream='http://etherx.jabber.org/streams' to='{to}'{extra}>"
        )
        return await self.header_ready

    async def authenticate(self, to: str, secret: str = SECRET, **kw) -> Element:
        """Open and send the handshake; return the server's answer element."""
        header = await self.open(to, **kw)
        self.send(f"<handshake>{handshake_digest(header['id'], secret)}</handshake>")
        return await self.next()

    def next(self, timeout: float = 5.0) -> defer.Deferred:
        """The next first-level element from the server."""
        if self.stanzas:
            return defer.succeed(self.stanzas.popleft())
        waiter: defer.Deferred = defer.Deferred()
        self.waiting.append(waiter)
        waiter.addTimeout(timeout, reactor)
        return waiter

    async def stream_error(self) -> str:
        """Wait for a stream error; return its condition; the connection must then close."""
        el = await self.next()
        assert (el.uri, el.name) == (NS_STREAMS, "error"), el.toXml()
        await self.lost
        for child in el.elements():
            if child.uri == NS_XMPP_STREAMS and child.name != "text":
                return child.name
        raise AssertionError(f"no condition in {el.toXml()}")

    def close(self) -> None:
        """Drop the connection."""
        self.transport.loseConnection()


async def connect(testcase, port: int, ca_cert: str | None = None) -> RawComponent:
    """Connect a RawComponent to 127.0.0.1:port (over TLS trusting ``ca_cert`` when
    given); dropped at cleanup."""
    client = RawComponent()
    if ca_cert is None:
        endpoint = TCP4ClientEndpoint(reactor, "127.0.0.1", port)
    else:
        with open(ca_cert, "rb") as f:
            trust = Certificate.loadPEM(f.read())
        options = optionsForClientTLS("localhost", trustRoot=trust)
        endpoint = SSL4ClientEndpoint(reactor, "127.0.0.1", port, options)
    await connectProtocol(endpoint, client)

    async def drop():
        if not client.lost.called:
            client.transport.loseConnection()
            await client.lost

    testcase.addCleanup(drop)
    return client


def new_port() -> int:
    """A free TCP port on 127.0.0.1."""
    return free_port()
