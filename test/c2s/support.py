"""A whole node with a c2s listener, and a raw XMPP client, over real loopback sockets."""

from __future__ import annotations

import base64
import os
import zlib
from typing import Any

from twisted.internet import defer, reactor
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol, wrapClientTLS
from twisted.internet.protocol import Protocol
from twisted.words.xish.domish import Element

from mongoose.config.loader import parse_config
from mongoose.extensions import ExtensionRegistry
from mongoose.node import Node
from mongoose.xmpp.errors import StreamError
from mongoose.xmpp.framing import XMLStreamParser
from mongoose.xmpp.namespaces import NS_CLIENT, NS_SASL, NS_STREAMS, NS_XMPP_STREAMS
from test.support.processes import free_port

__all__ = [
    "HEADER",
    "RawClient",
    "connect",
    "logged_in",
    "start_node",
    "stream_error",
]

BASE = """
[general]
  hosts = ["localhost", "example.net"]
  default_server_domain = "localhost"
  data_dir = "{data}"

[[listen.c2s]]
  ip_address = "127.0.0.1"
  port = {port}
{listener}

[auth]
{auth}
"""

#: An opening stream header for localhost.
HEADER = (
    "<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
    "xmlns:stream='http://etherx.jabber.org/streams' to='{to}' version='1.0'>"
)

TIMEOUT = 10.0


async def start_node(
    testcase: Any,
    listener: str = "",
    auth: str = "  [auth.internal]",
    extra: str = "",
    users: tuple[tuple[str, str], ...] = (("alice", "secret"), ("bob", "secret")),
) -> Node:
    """Start a node with one c2s listener on a free loopback port.

    Args:
        testcase: the running test (clean-up is registered on it).
        listener: extra TOML lines inside ``[[listen.c2s]]``.
        auth: the body of ``[auth]``.
        extra: more TOML appended to the file.
        users: accounts to register on localhost.

    Returns:
        The started node; ``node.c2s_port`` is the listening port.
    """
    data = os.path.abspath(testcase.mktemp())
    port = free_port()
    text = BASE.format(data=data, port=port, listener=listener, auth=auth) + extra
    config = parse_config(text)
    node = Node(config, reactor=reactor, extensions=ExtensionRegistry())
    node.startService()
    await node.ready
    testcase.addCleanup(node.stopService)
    for user, password in users:
        await node.auth.register(user, "localhost", password)
    node.c2s_port = port
    return node


class RawClient(Protocol):
    """Sends raw XML and collects the server's stream events.

    Events are ``("header", attrs)``, ``("element", el)``, ``("end", None)``,
    ``("error", StreamError)`` (parse error of what the server sent) and
    ``("closed", None)``.
    """

    def __init__(self) -> None:
        self.events: list[tuple[str, Any]] = []
        self._waiting: list[defer.Deferred] = []
        self.closed: defer.Deferred = defer.Deferred()
        self.raw = bytearray()
        self.parser = self._new_parser()
        self._deflate: Any = None
        self._inflate: Any = None

    def _new_parser(self) -> XMLStreamParser:
        return XMLStreamParser(
            lambda attrs: self._event("header", attrs),
            lambda el: self._event("element", el),
            lambda: self._event("end", None),
            lambda error: self._event("error", error),
            max_stanza_size=16 * 1024 * 1024,
            content_namespaces=(NS_CLIENT,),
        )

    def _event(self, kind: str, value: Any) -> None:
        self.events.append((kind, value))
        waiting, self._waiting = self._waiting, []
        for d in waiting:
            d.callback(None)

    def dataReceived(self, data: bytes) -> None:
        """Parse the server's bytes."""
        self.raw += data
        if self._inflate is not None:
            data = self._inflate.decompress(data)
        self.parser.feed(data)

    def connectionLost(self, reason: Any = None) -> None:
        """Record the end of the connection."""
        self._event("closed", None)
        if not self.closed.called:
            self.closed.callback(None)

    def send(self, data: str | bytes) -> None:
        """Write raw XML (compressed once compression is on)."""
        data = data.encode("utf-8") if isinstance(data, str) else data
        if self._deflate is not None:
            data = self._deflate.compress(data) + self._deflate.flush(zlib.Z_SYNC_FLUSH)
        self.transport.write(data)

    def start_compression(self) -> None:
        """Compress and decompress with zlib from now on (after <compressed/>)."""
        self._deflate = zlib.compressobj()
        self._inflate = zlib.decompressobj()
        self.reset()

    def reset(self) -> None:
        """Expect a new stream header from the server (after a restart)."""
        self.parser = self._new_parser()

    async def next(self, timeout: float = TIMEOUT) -> tuple[str, Any]:
        """The next event (waits for it)."""
        while not self.events:
            d: defer.Deferred = defer.Deferred()
            self._waiting.append(d)
            d.addTimeout(timeout, reactor)
            await d
        return self.events.pop(0)

    async def element(self, timeout: float = TIMEOUT) -> Element:
        """The next element; fails on anything else."""
        kind, value = await self.next(timeout)
        if kind != "element":
            raise AssertionError(f"expected an element, got {kind}: {value!r}")
        return value

    async def open(self, to: str = "localhost") -> tuple[dict, Element]:
        """Send a stream header; return the server's header and features."""
        self.send(HEADER.format(to=to))
        kind, header = await self.next()
        if kind != "header":
            raise AssertionError(f"expected a stream header, got {kind}: {header!r}")
        return header, await self.element()

    async def auth_plain(self, user: str, password: str) -> Element:
        """Run SASL PLAIN; return the server's answer (success or failure)."""
        payload = base64.b64encode(f"\0{user}\0{password}".encode()).decode()
        self.send(f"<auth xmlns='{NS_SASL}' mechanism='PLAIN'>{payload}</auth>")
        return await self.element()

    async def starttls(self, creator: Any) -> Element:
        """Ask for STARTTLS; on <proceed/> start the client side of TLS.

        Returns:
            The server's answer (``proceed`` or ``failure``).
        """
        self.send("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
        answer = await self.element()
        if answer.name == "proceed":
            self.transport.startTLS(creator)
            self.reset()
        return answer

    async def scram(self, mechanism: str, user: str, password: str, **options: Any) -> Element:
        """Run a SCRAM exchange; return the server's last answer.

        ``options`` go to :class:`test.xmpp.scram_client.ScramClient`
        (``cb_type``, ``cb_data``, ``flag`` ...).  A success is checked
        against the server signature.
        """
        from test.xmpp.scram_client import ScramClient

        exchange = ScramClient(mechanism, user, password, **options)
        first = base64.b64encode(exchange.first()).decode()
        self.send(f"<auth xmlns='{NS_SASL}' mechanism='{mechanism}'>{first}</auth>")
        challenge = await self.element()
        if challenge.name != "challenge":
            return challenge
        final = exchange.final(base64.b64decode(str(challenge)))
        self.send(f"<response xmlns='{NS_SASL}'>{base64.b64encode(final).decode()}</response>")
        answer = await self.element()
        if answer.name == "success" and not exchange.check_server_final(
            base64.b64decode(str(answer))
        ):
            raise AssertionError("the server signature is wrong")
        return answer

    async def bind(self, resource: str | None = None) -> str:
        """Bind a resource; return the full JID."""
        inner = f"<resource>{resource}</resource>" if resource else ""
        self.send(
            "<iq type='set' id='bind1'>"
            f"<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>{inner}</bind></iq>"
        )
        reply = await self.element()
        if reply.getAttribute("type") != "result":
            raise AssertionError(f"bind failed: {reply.toXml()}")
        return str(next(reply.elements()).firstChildElement())

    async def closed_with(self, timeout: float = TIMEOUT) -> StreamError | None:
        """Read until the connection closes; return the stream error received, if any."""
        error = None
        while True:
            kind, value = await self.next(timeout)
            if kind == "element" and value.uri == NS_STREAMS and value.name == "error":
                error = StreamError.from_element(value)
            elif kind == "closed":
                return error


async def connect(port: int, client: RawClient | None = None, tls: Any = None) -> RawClient:
    """Connect a RawClient to 127.0.0.1:port (through TLS from the first byte with ``tls``)."""
    endpoint: Any = TCP4ClientEndpoint(reactor, "127.0.0.1", port)
    if tls is not None:
        endpoint = wrapClientTLS(tls, endpoint)
    client = client or RawClient()
    await connectProtocol(endpoint, client)
    return client


async def logged_in(
    testcase: Any, port: int, user: str = "alice", resource: str | None = "res"
) -> tuple[RawClient, str]:
    """A client that logged in with PLAIN and bound a resource; return it and its JID."""
    client = await connect(port)
    testcase.addCleanup(client.transport.loseConnection)
    await client.open()
    answer = await client.auth_plain(user, "secret")
    if answer.name != "success":
        raise AssertionError(f"login failed: {answer.toXml()}")
    client.reset()
    await client.open()
    jid = await client.bind(resource)
    return client, jid


def stream_error(el: Element) -> str | None:
    """The condition of a <stream:error/> element, else None."""
    if el.uri != NS_STREAMS or el.name != "error":
        return None
    for child in el.elements():
        if child.uri == NS_XMPP_STREAMS and child.name != "text":
            return child.name
    return None
