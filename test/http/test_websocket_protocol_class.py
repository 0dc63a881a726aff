"""autobahn's options live on a per-handler protocol class: browsers' extension offers still work."""

from __future__ import annotations

import base64
import os

from twisted.internet import defer, protocol, reactor
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol
from twisted.trial.unittest import TestCase

from test.http.support import start_node


class _Head(protocol.Protocol):
    """Collects the HTTP response head of an upgrade request."""

    def __init__(self) -> None:
        self.data = b""
        self.done: defer.Deferred = defer.Deferred()

    def dataReceived(self, data: bytes) -> None:
        self.data += data
        if b"\r\n\r\n" in self.data and not self.done.called:
            self.done.callback(self.data.split(b"\r\n\r\n", 1)[0])

    def connectionLost(self, reason=None) -> None:
        if not self.done.called:
            self.done.callback(self.data)


class ProtocolClassTests(TestCase):
    """The options are class attributes, and callable ones still work."""

    async def upgrade(self, port: int, extensions: str) -> bytes:
        """The response head to an upgrade request offering ``extensions``."""
        head = _Head()
        await connectProtocol(TCP4ClientEndpoint(reactor, "127.0.0.1", port), head)
        self.addCleanup(head.transport.loseConnection)
        key = base64.b64encode(os.urandom(16)).decode()
        head.transport.write(
            (f"GET /ws-xmpp HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
             f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
             "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: xmpp\r\n"
             f"Sec-WebSocket-Extensions: {extensions}\r\n\r\n").encode()
        )
        return await head.done

    async def test_permessage_deflate_offer_is_answered(self):
        """A browser's permessage-deflate offer gets 101 (the accept callback is a function)."""
        node = await start_node(self)
        answer = await self.upgrade(node.http_port,
                                    "permessage-deflate; client_max_window_bits")
        self.assertTrue(answer.startswith(b"HTTP/1.1 101"), answer)
