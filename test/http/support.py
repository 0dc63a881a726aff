"""A node with c2s, WebSocket and BOSH listeners, and clients for them over real sockets."""

from __future__ import annotations

import os
from io import BytesIO
from typing import Any

from autobahn.twisted.websocket import WebSocketClientFactory, WebSocketClientProtocol
from twisted.internet import defer, reactor
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol, wrapClientTLS
from twisted.web.client import Agent, FileBodyProducer, readBody
from twisted.web.http_headers import Headers
from twisted.words.xish.domish import Element

from mongoose.config.loader import parse_config
from mongoose.extensions import ExtensionRegistry
from mongoose.http.websocket import DirectTimer, cancel_close_timer
from mongoose.node import Node
from mongoose.xmpp.framing import parse_element
from test.component.support import RawComponent
from test.support.processes import free_port

__all__ = [
    "start_node",
    "WSClient",
    "WSComponent",
    "ws_connect",
    "ws_component_connect",
    "ws_login",
    "bosh_post",
    "BoshClient",
    "TIMEOUT",
]

TIMEOUT = 10.0

CONFIG = """
[general]
  hosts = ["localhost"]
  default_server_domain = "localhost"
  data_dir = "{data}"

[auth.internal]

[[listen.c2s]]
  ip_address = "127.0.0.1"
  port = {c2s_port}

[[listen.http]]
  ip_address = "127.0.0.1"
  port = {http_port}
{listener}
  [[listen.http.handlers.mongoose_websocket_handler]]
    host = "_"
    path = "/ws-xmpp"
{ws}
  [[listen.http.handlers.mod_bosh]]
    host = "_"
    path = "/http-bind"

[modules.mod_presence]
[modules.mod_roster]
{modules}
"""


async def start_node(
    testcase: Any, ws: str = "", modules: str = "", listener: str = ""
) -> Node:
    """Start a node; ``node.c2s_port`` and ``node.http_port`` are its ports.

    Args:
        testcase: the running test (clean-up is registered on it).
        ws: extra TOML lines for the WebSocket handler table.
        modules: extra module tables (e.g. ``[modules.mod_bosh]``).
        listener: extra TOML lines for the ``[[listen.http]]`` table (e.g. ``tls.*``).
    """
    data = os.path.abspath(testcase.mktemp())
    c2s_port, http_port = free_port(), free_port()
    text = CONFIG.format(
        data=data, c2s_port=c2s_port, http_port=http_port, ws=ws, modules=modules,
        listener=listener,
    )
    node = Node(parse_config(text), reactor=reactor, extensions=ExtensionRegistry())
    node.startService()
    await node.ready
    testcase.addCleanup(node.stopService)
    for user in ("alice", "bob"):
        await node.auth.register(user, "localhost", "secret")
    node.c2s_port = c2s_port
    node.http_port = http_port
    return node


class WSClient(WebSocketClientProtocol):
    """Collects the frames the server sends (parsed) and the close."""

    def __init__(self) -> None:
        super().__init__()
        self.frames: list[Any] = []
        self._waiting: list[defer.Deferred] = []
        self.opened: defer.Deferred = defer.Deferred()
        self.closed: defer.Deferred = defer.Deferred()
        self.close_code: int | None = None
        self.pongs = 0

    def onOpen(self) -> None:
        """The upgrade succeeded."""
        self.opened.callback(self.websocket_protocol_in_use)

    def onMessage(self, payload: bytes, isBinary: bool) -> None:
        """Keep one parsed frame."""
        self._event(parse_element(payload, max_size=1 << 24))

    def onPing(self, payload: bytes) -> None:
        """Count server pings (and answer them)."""
        self.pongs += 1
        super().onPing(payload)

    def onClose(self, wasClean: bool, code: int, reason: str) -> None:
        """Record the close."""
        cancel_close_timer(self)
        self.close_code = code
        self._event(None)
        if not self.closed.called:
            self.closed.callback(code)
        if not self.opened.called:
            self.opened.errback(ConnectionError(reason or "refused"))

    def _event(self, value: Any) -> None:
        self.frames.append(value)
        waiting, self._waiting = self._waiting, []
        for d in waiting:
            d.callback(None)

    def send(self, text: str) -> None:
        """Send one text frame."""
        self.sendMessage(text.encode("utf-8"), False)

    async def next(self, timeout: float = TIMEOUT) -> Element | None:
        """The next frame (None: the connection closed)."""
        while not self.frames:
            d: defer.Deferred = defer.Deferred()
            self._waiting.append(d)
            d.addTimeout(timeout, reactor)
            await d
        return self.frames.pop(0)

    async def until(self, name: str, timeout: float = TIMEOUT) -> Element:
        """Skip frames up to the first element called ``name``."""
        while True:
            el = await self.next(timeout)
            if el is None:
                raise AssertionError(f"connection closed while waiting for {name}")
            if el.name == name:
                return el


async def ws_connect(
    port: int, protocols: tuple[str, ...] = ("xmpp",), tls_creator: Any = None
) -> WSClient:
    """Open a WebSocket to the node's handler; fires once the upgrade is done.

    Args:
        port: the HTTP listener's port.
        protocols: subprotocols offered.
        tls_creator: a client TLS connection creator for ``wss:``, or None.
    """
    scheme = "ws" if tls_creator is None else "wss"
    url = f"{scheme}://127.0.0.1:{port}/ws-xmpp"
    factory = WebSocketClientFactory(url, protocols=list(protocols))
    factory.protocol = WSClient
    factory._batched_timer = DirectTimer(reactor)
    endpoint: Any = TCP4ClientEndpoint(reactor, "127.0.0.1", port)
    if tls_creator is not None:
        endpoint = wrapClientTLS(tls_creator, endpoint)
    client = await connectProtocol(endpoint, factory.buildProtocol(None))
    await client.opened
    return client


class _FrameWriter:
    """RawComponent's transport over a WebSocket: each write is one text frame."""

    def __init__(self, protocol: WebSocketClientProtocol):
        self.protocol = protocol

    def write(self, data: bytes) -> None:
        """Send one text frame."""
        self.protocol.sendMessage(data, False)

    def loseConnection(self) -> None:
        """Start the closing handshake."""
        self.protocol.sendClose(1000)


class WSComponent(WebSocketClientProtocol):
    """A XEP-0114 component over WebSocket in the ``<stream:stream>`` framing.

    The frames the server sends are fed, in order, to a
    :class:`test.component.support.RawComponent` (``self.component``), which
    offers ``open``, ``authenticate``, ``send``, ``next`` and ``stream_error``.

    Attributes:
        frames: every payload received, raw.
    """

    def __init__(self) -> None:
        super().__init__()
        self.frames: list[bytes] = []
        self.component = RawComponent()
        self.opened: defer.Deferred = defer.Deferred()
        self.closed: defer.Deferred = defer.Deferred()

    def onOpen(self) -> None:
        """The upgrade succeeded: the component stream may start."""
        self.component.makeConnection(_FrameWriter(self))
        self.opened.callback(None)

    def onMessage(self, payload: bytes, isBinary: bool) -> None:
        """Feed one frame to the component's stream parser."""
        self.frames.append(payload)
        self.component.dataReceived(payload)

    def onClose(self, wasClean: bool, code: int, reason: str) -> None:
        """The WebSocket is gone."""
        cancel_close_timer(self)
        self.component.connectionLost(reason)
        if not self.closed.called:
            self.closed.callback(code)
        if not self.opened.called:
            self.opened.errback(ConnectionError(reason or "refused"))


async def ws_component_connect(testcase: Any, port: int, tls_creator: Any = None) -> WSComponent:
    """Open a component WebSocket (subprotocol ``xmpp``) to ``/ws-xmpp``; dropped at cleanup.

    Args:
        testcase: the running test.
        port: the HTTP listener's port.
        tls_creator: a client TLS connection creator for ``wss:``, or None.
    """
    scheme = "ws" if tls_creator is None else "wss"
    factory = WebSocketClientFactory(f"{scheme}://127.0.0.1:{port}/ws-xmpp", protocols=["xmpp"])
    factory.protocol = WSComponent
    factory._batched_timer = DirectTimer(reactor)
    endpoint: Any = TCP4ClientEndpoint(reactor, "127.0.0.1", port)
    if tls_creator is not None:
        endpoint = wrapClientTLS(tls_creator, endpoint)
    client = await connectProtocol(endpoint, factory.buildProtocol(None))
    await client.opened

    async def drop() -> None:
        if not client.closed.called:
            client.dropConnection(abort=True)
            await client.closed

    testcase.addCleanup(drop)
    return client


async def ws_login(
    testcase: Any, port: int, user: str = "alice", resource: str = "ws", tls_creator: Any = None
) -> WSClient:
    """A WebSocket client that logged in with PLAIN and bound ``resource``; dropped at cleanup."""
    import base64

    from mongoose.xmpp.namespaces import NS_FRAMING

    opening = f"<open xmlns='{NS_FRAMING}' to='localhost' version='1.0'/>"
    client = await ws_connect(port, tls_creator=tls_creator)
    testcase.addCleanup(client.dropConnection)
    client.send(opening)
    opened = await client.next()
    assert opened.name == "open" and opened.uri == NS_FRAMING, opened.toXml()
    await client.until("features")
    token = base64.b64encode(f"\0{user}\0secret".encode()).decode()
    client.send(
        f"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{token}</auth>"
    )
    answer = await client.next()
    assert answer.name == "success", answer.toXml()
    client.send(opening)
    await client.until("features")
    client.send(
        "<iq xmlns='jabber:client' type='set' id='b1'>"
        f"<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>{resource}</resource></bind>"
        "</iq>"
    )
    bound = await client.until("iq")
    assert bound["type"] == "result", bound.toXml()
    return client


async def bosh_post(port: int, body: str | bytes) -> tuple[int, bytes]:
    """POST one BOSH body; returns (status, response body)."""
    data = body.encode("utf-8") if isinstance(body, str) else body
    agent = Agent(reactor)
    response = await agent.request(
        b"POST",
        f"http://127.0.0.1:{port}/http-bind".encode(),
        Headers({b"content-type": [b"text/xml; charset=utf-8"]}),
        FileBodyProducer(BytesIO(data)),
    )
    content = await readBody(response)
    return response.code, content


class BoshClient:
    """A BOSH client speaking raw XML bodies over real HTTP requests.

    Attributes:
        sid: the session id, once created.
        rid: the next request id.
    """

    NS = "http://jabber.org/protocol/httpbind"

    def __init__(self, port: int, rid: int = 1000):
        self.port = port
        self.sid: str | None = None
        self.rid = rid

    def body(self, payload: str = "", rid: int | None = None, **attributes: str) -> str:
        """The text of one request body (uses and advances ``rid`` unless given)."""
        if rid is None:
            rid, self.rid = self.rid, self.rid + 1
        attrs = {"rid": str(rid), **attributes}
        if self.sid is not None:
            attrs.setdefault("sid", self.sid)
        text = "".join(f" {k.replace('__', ':')}='{v}'" for k, v in attrs.items())
        return (
            f"<body xmlns='{self.NS}' xmlns:xmpp='urn:xmpp:xbosh'{text}>{payload}</body>"
        )

    async def send(self, payload: str = "", rid: int | None = None, **attributes: str) -> Element:
        """POST a body; return the parsed response body."""
        status, content = await bosh_post(self.port, self.body(payload, rid, **attributes))
        if status != 200:
            raise AssertionError(f"HTTP {status}: {content!r}")
        return parse_element(content, max_size=1 << 24)

    async def create(self, to: str = "localhost", wait: int = 5, hold: int = 1) -> Element:
        """Create the session; return the creation response."""
        answer = await self.send(
            to=to, wait=str(wait), hold=str(hold), ver="1.6", xmpp__version="1.0"
        )
        self.sid = answer.getAttribute("sid")
        return answer

    async def login(self, user: str, resource: str = "bosh") -> Element:
        """Create a session, log in with PLAIN and bind; return the bind result."""
        import base64

        await self.create()
        token = base64.b64encode(f"\0{user}\0secret".encode()).decode()
        answer = await self.send(
            f"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{token}</auth>"
        )
        if not any(el.name == "success" for el in answer.elements()):
            raise AssertionError(f"login failed: {answer.toXml()}")
        answer = await self.send(to="localhost", xmpp__restart="true")
        if not any(el.name == "features" for el in answer.elements()):
            raise AssertionError(f"no features after restart: {answer.toXml()}")
        answer = await self.send(
            "<iq xmlns='jabber:client' type='set' id='b1'>"
            "<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>"
            f"<resource>{resource}</resource></bind></iq>"
        )
        bound = [el for el in answer.elements() if el.name == "iq"]
        if not bound or bound[0]["type"] != "result":
            raise AssertionError(f"bind failed: {answer.toXml()}")
        return bound[0]
