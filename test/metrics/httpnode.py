"""A started node with one real ``[[listen.http]]`` listener, and raw HTTP clients for it."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from twisted.internet import defer, reactor, task
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol, wrapClientTLS
from twisted.internet.protocol import Protocol
from twisted.web.resource import Resource
from zope.interface import implementer

from mongoose.config.loader import parse_config
from mongoose.config.schema import Section
from mongoose.extensions import ExtensionRegistry
from mongoose.interfaces import IHTTPHandlerFactory
from mongoose.node import Node
from test.support.processes import free_port

__all__ = [
    "HTTPNode",
    "RawResponse",
    "HeldConnection",
    "start_http_node",
    "raw_exchange",
    "hold_connection",
    "wait_until",
    "parse_response",
    "request_bytes",
    "http",
]

CONFIG = """
[general]
  hosts = ["localhost"]
  default_server_domain = "localhost"
  data_dir = "{data}"
[auth.internal]

[[listen.http]]
  port = {port}
  ip_address = "127.0.0.1"
{listener}
  [[listen.http.handlers.mongoose_admin_api]]
    host = "_"
    path = "/api"
  [[listen.http.handlers.mongoose_prometheus_handler]]
    host = "_"
    path = "/metrics"
  [[listen.http.handlers.boom]]
    host = "_"
    path = "/boom"
"""


class _Boom(Resource):
    """A handler that fails while rendering (as a buggy third-party handler would)."""

    isLeaf = True
    max_body_bytes = 64

    def render(self, request):
        raise RuntimeError("secret internal detail")


@implementer(IHTTPHandlerFactory)
class _BoomFactory:
    name = "boom"
    options_spec = Section({}, doc="fails")

    def __call__(self, options, node):
        return _Boom()


@dataclass
class HTTPNode:
    """A running node and the port of its HTTP listener."""

    node: Node
    port: int

    @property
    def base(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def factory(self):
        """The listener's outermost protocol factory (a ConnectionLimit)."""
        return self.node.listeners[0].factory


async def start_http_node(testcase, listener: str = "") -> HTTPNode:
    """Start a node on a temporary SQLite database with the HTTP listener.

    Args:
        testcase: the trial test case (for mktemp and cleanup).
        listener: extra TOML lines inside the ``[[listen.http]]`` table.
    """
    data = os.path.abspath(testcase.mktemp())
    extensions = ExtensionRegistry()
    extensions.add("http_handlers", "boom", _BoomFactory())
    text = CONFIG.format(data=data, listener=listener, port=free_port())
    config = parse_config(text, extensions)
    node = Node(config, reactor=reactor, extensions=extensions)
    node.startService()
    await node.ready
    testcase.addCleanup(node.stopService)
    return HTTPNode(node, node.listeners[0].port.getHost().port)


@dataclass
class RawResponse:
    """A parsed HTTP/1.1 response (chunked bodies decoded)."""

    status: int
    headers: dict[str, str]
    body: bytes
    raw: bytes = field(repr=False, default=b"")


def _dechunk(data: bytes) -> bytes | None:
    out = b""
    while True:
        line, sep, rest = data.partition(b"\r\n")
        if not sep:
            return None
        size = int(line.split(b";")[0], 16)
        if size == 0:
            return out
        if len(rest) < size + 2:
            return None
        out += rest[:size]
        data = rest[size + 2 :]


def parse_response(raw: bytes) -> RawResponse | None:
    """The first complete response in ``raw``, or None when it is not complete."""
    head, sep, rest = raw.partition(b"\r\n\r\n")
    if not sep:
        return None
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if headers.get("transfer-encoding") == "chunked":
        body = _dechunk(rest)
        if body is None:
            return None
    elif "content-length" in headers:
        length = int(headers["content-length"])
        if len(rest) < length:
            return None
        body = rest[:length]
    else:
        body = rest
    return RawResponse(status, headers, body, raw)


class _Exchange(Protocol):
    def __init__(self, chunks: list[bytes]):
        self.chunks = chunks
        self.received = b""
        self.done: defer.Deferred = defer.Deferred()

    def connectionMade(self):
        for chunk in self.chunks:
            self.transport.write(chunk)

    def dataReceived(self, data):
        self.received += data
        parsed = parse_response(self.received)
        if parsed is not None:
            self.transport.loseConnection()

    def connectionLost(self, reason=None):
        if not self.done.called:
            self.done.callback(self.received)


async def raw_exchange(port: int, *chunks: bytes, tls_creator=None, timeout: float = 10):
    """Send ``chunks`` and read until the response is complete or the server closes.

    Returns:
        (RawResponse or None, every byte received).
    """
    endpoint = TCP4ClientEndpoint(reactor, "127.0.0.1", port)
    if tls_creator is not None:
        endpoint = wrapClientTLS(tls_creator, endpoint)
    protocol = _Exchange(list(chunks))
    await connectProtocol(endpoint, protocol)
    protocol.done.addTimeout(timeout, reactor)
    received = await protocol.done
    return parse_response(received), received


class HeldConnection(Protocol):
    """A connection that stays open until :meth:`close`."""

    def __init__(self):
        self.received = b""
        self.lost: defer.Deferred = defer.Deferred()

    def dataReceived(self, data):
        self.received += data

    def connectionLost(self, reason=None):
        if not self.lost.called:
            self.lost.callback(None)

    async def close(self) -> None:
        """Close and wait until it is closed."""
        self.transport.loseConnection()
        await self.lost


async def hold_connection(testcase, port: int) -> HeldConnection:
    """Open a connection that sends nothing; closed at cleanup."""
    protocol = HeldConnection()
    await connectProtocol(TCP4ClientEndpoint(reactor, "127.0.0.1", port), protocol)

    async def close():
        if not protocol.lost.called:
            await protocol.close()

    testcase.addCleanup(lambda: defer.ensureDeferred(close()))
    return protocol


async def wait_until(predicate, timeout: float = 5.0, step: float = 0.01) -> None:
    """Poll ``predicate`` on the reactor until it is true.

    Raises:
        AssertionError: it stayed false for ``timeout`` seconds.
    """
    waited = 0.0
    while not predicate():
        if waited >= timeout:
            raise AssertionError("condition not reached in time")
        await task.deferLater(reactor, step, lambda: None)
        waited += step


def request_bytes(
    method: str, path: str, headers: dict[str, str] | None = None, body: bytes = b""
) -> bytes:
    """An HTTP/1.1 request with a Host header (and Content-Length when there is a body)."""
    lines = [f"{method} {path} HTTP/1.1", "Host: localhost"]
    for name, value in (headers or {}).items():
        lines.append(f"{name}: {value}")
    if body:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


async def http(port: int, method: str, path: str, headers=None, body: bytes = b"", **kwargs):
    """One request over a fresh connection; returns the RawResponse (never None)."""
    response, raw = await raw_exchange(port, request_bytes(method, path, headers, body), **kwargs)
    if response is None:
        raise AssertionError(f"no complete response; received {raw[:200]!r}")
    return response
