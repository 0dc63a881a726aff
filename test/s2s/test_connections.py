"""Connection management: idle streams, IP version order, retry back-off."""

from __future__ import annotations

import os
import socket

from twisted.internet import defer, reactor, task
from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol
from twisted.internet.protocol import Protocol
from twisted.trial.unittest import TestCase

from mongoose.s2s.resolver import addresses, order_by_version
from test.s2s.support import node_config, start_node, start_pair, wait_for
from test.support.processes import free_port
from test.support.sessions import connect


def _new_dir(testcase) -> str:
    path = os.path.abspath(testcase.mktemp())
    os.makedirs(path)
    return path


def _messages(client) -> list:
    return [s for s in client.session.received if s.name == "message"]


def _errors(client) -> list[tuple[str, str]]:
    """(condition, text) of the error stanzas a client received."""
    found = []
    for stanza in client.session.received:
        if stanza.getAttribute("type") == "error":
            error = next(c for c in stanza.elements() if c.name == "error")
            condition = next(c.name for c in error.elements() if c.name != "text")
            text = next((str(c) for c in error.elements() if c.name == "text"), "")
            found.append((condition, text))
    return found


class _Raw(Protocol):
    def __init__(self):
        self.data = b""
        self.lost = defer.Deferred()

    def dataReceived(self, data):
        self.data += data

    def connectionLost(self, reason=None):
        self.lost.callback(None)


def _ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


class IdleIncomingTests(TestCase):
    """Incoming streams without traffic are closed after s2s.outgoing.stream_timeout."""

    async def test_idle_incoming_closed(self):
        """b.test closes a.test's idle stream; a.test reconnects for the next stanza."""
        a, b = await start_pair(self, s2s_b="  outgoing.stream_timeout = 400\n")
        alice = await connect(a, "alice", host="a.test")
        bob = await connect(b, "bob", host="b.test")
        await bob.available()
        await alice.send("<message to='bob@b.test/res' type='chat'><body>1</body></message>")
        await wait_for(lambda: len(_messages(bob)) == 1)
        self.assertTrue(b.s2s.incoming)
        started = reactor.seconds()
        await wait_for(lambda: not b.s2s.incoming)
        self.assertGreater(reactor.seconds() - started, 0.2)
        # a.test's own timeout is 600 s: its stream went because b.test closed it.
        await wait_for(lambda: not a.s2s.outgoing)
        await alice.send("<message to='bob@b.test/res' type='chat'><body>2</body></message>")
        await wait_for(lambda: len(_messages(bob)) == 2)

    async def test_silent_peer_gets_connection_timeout(self):
        """A peer that opens a stream and then says nothing gets connection-timeout."""
        a, b = await start_pair(self, s2s_b="  outgoing.stream_timeout = 300\n")
        raw = _Raw()
        port = b.listeners[0].port.getHost().port
        await connectProtocol(TCP4ClientEndpoint(reactor, "127.0.0.1", port), raw)
        raw.transport.write(
            b"<?xml version='1.0'?><stream:stream xmlns='jabber:server' "
            b"xmlns:stream='http://etherx.jabber.org/streams' "
            b"xmlns:db='jabber:server:dialback' from='a.test' to='b.test' version='1.0'>"
        )
        await raw.lost
        self.assertIn(b"<connection-timeout", raw.data)
        self.assertIn(b"</stream:stream>", raw.data)

    async def test_traffic_keeps_stream_open(self):
        """Stanzas more often than the timeout keep the incoming stream."""
        a, b = await start_pair(self, s2s_b="  outgoing.stream_timeout = 500\n")
        alice = await connect(a, "alice", host="a.test")
        bob = await connect(b, "bob", host="b.test")
        await bob.available()
        await alice.send("<message to='bob@b.test/res' type='chat'><body>0</body></message>")
        await wait_for(lambda: len(_messages(bob)) == 1)
        streams = set(b.s2s.incoming)
        for n in range(1, 6):
            await task.deferLater(reactor, 0.2)
            await alice.send(
                f"<message to='bob@b.test/res' type='chat'><body>{n}</body></message>"
            )
        await wait_for(lambda: len(_messages(bob)) == 6)
        self.assertEqual(set(b.s2s.incoming), streams)


class _Resolver:
    """A name resolver answering with fixed addresses of both families."""

    def __init__(self, found):
        self.found = found
        self.asked = []

    def resolveHostName(self, receiver, host, port=0, addressTypes=None, transportSemantics="TCP"):
        self.asked.append((host, tuple(addressTypes or ())))
        receiver.resolutionBegan(None)
        for address in self.found:
            kind = IPv6Address if ":" in address else IPv4Address
            if addressTypes is None or kind in addressTypes:
                receiver.addressResolved(kind("TCP", address, port))
        receiver.resolutionComplete()


class _Reactor:
    def __init__(self, resolver):
        self.nameResolver = resolver

    def callLater(self, delay, f, *args, **kw):
        return reactor.callLater(delay, f, *args, **kw)

    def seconds(self):
        return reactor.seconds()


class IPVersionUnitTests(TestCase):
    """s2s.outgoing.ip_versions orders and filters the addresses of a target."""

    def test_order(self):
        """Addresses come family by family, in the configured order."""
        found = ["10.0.0.1", "2001:db8::1", "10.0.0.2"]
        self.assertEqual(order_by_version(found, (4, 6)), ["10.0.0.1", "10.0.0.2", "2001:db8::1"])
        self.assertEqual(order_by_version(found, (6, 4)), ["2001:db8::1", "10.0.0.1", "10.0.0.2"])
        self.assertEqual(order_by_version(found, (6,)), ["2001:db8::1"])

    async def test_lookup_asks_for_wanted_families(self):
        """Only the wanted address families are asked for; literals are filtered."""
        resolver = _Resolver(["192.0.2.7", "2001:db8::7"])
        found = await addresses("xmpp.example", (6, 4), _Reactor(resolver))
        self.assertEqual(found, ["2001:db8::7", "192.0.2.7"])
        found = await addresses("xmpp.example", (4,), _Reactor(resolver))
        self.assertEqual(found, ["192.0.2.7"])
        self.assertEqual(resolver.asked[1], ("xmpp.example", (IPv4Address,)))
        self.assertEqual(await addresses("192.0.2.9", (6,), _Reactor(resolver)), [])
        self.assertEqual(await addresses("::1", (6,), _Reactor(resolver)), ["::1"])


class IPVersionTests(TestCase):
    """ip_versions decides which addresses of the peer are used, over real sockets."""

    async def _pair(self, versions: str, peer_ip: str, listen_ip: str):
        port_a, port_b = free_port(), free_port()
        if listen_ip == "::1":
            with socket.socket(socket.AF_INET6) as s:
                s.bind(("::1", 0))
                port_b = s.getsockname()[1]
        a_toml = node_config(
            "a.test", _new_dir(self), port_a, "b.test", port_b,
            s2s=f"  outgoing.ip_versions = {versions}\n",
        ).replace('    ip_address = "127.0.0.1"\n    port', f'    ip_address = "{peer_ip}"\n    port')
        b_toml = node_config("b.test", _new_dir(self), port_b, "a.test", port_a).replace(
            '  ip_address = "127.0.0.1"\n', f'  ip_address = "{listen_ip}"\n', 1
        )
        a = await start_node(self, a_toml)
        b = await start_node(self, b_toml)
        return a, b

    async def test_ipv4_only_skips_ipv6_address(self):
        """ip_versions = [4] with only an IPv6 address: bounced, nothing connected."""
        a, b = await self._pair("[4]", "::1", "127.0.0.1")
        alice = await connect(a, "alice", host="a.test")
        await alice.send("<message to='bob@b.test' id='m1'><body>x</body></message>")
        await wait_for(lambda: _errors(alice))
        condition, text = _errors(alice)[0]
        self.assertEqual(condition, "remote-server-not-found")
        self.assertIn("no IPv4 address", text)
        self.assertEqual(b.s2s.incoming, set())

    async def test_ipv6_used(self):
        """ip_versions = [6] with an IPv6 address: the stream runs over IPv6."""
        if not _ipv6_loopback():
            self.skipTest("no IPv6 loopback here")
        a, b = await self._pair("[6]", "::1", "::1")
        alice = await connect(a, "alice", host="a.test")
        bob = await connect(b, "bob", host="b.test")
        await bob.available()
        await alice.send("<message to='bob@b.test/res' type='chat'><body>v6</body></message>")
        await wait_for(lambda: _messages(bob))
        rows = await a.commands.get("s2s", "listOutgoing").handler()
        self.assertEqual([r["address"].rsplit(":", 1)[0] for r in rows], ["::1"])


class RetryBackoffTests(TestCase):
    """After a failure the peer is not tried again before the retry delay."""

    async def test_backoff_then_retry(self):
        """A second stanza bounces at once; after max_retry_delay the peer is tried again."""
        port_a, port_b = free_port(), free_port()
        a = await start_node(
            self,
            node_config("a.test", _new_dir(self), port_a, "b.test", port_b,
                        s2s="  outgoing.max_retry_delay = 1\n"),
        )
        alice = await connect(a, "alice", host="a.test")
        await alice.send("<message to='bob@b.test' id='m1'><body>1</body></message>")
        await wait_for(lambda: len(_errors(alice)) == 1)
        self.assertIn("cannot connect", _errors(alice)[0][1])
        await alice.send("<message to='bob@b.test' id='m2'><body>2</body></message>")
        await wait_for(lambda: len(_errors(alice)) == 2)
        self.assertEqual(_errors(alice)[1][0], "remote-server-not-found")
        self.assertIn("next attempt in", _errors(alice)[1][1])
        self.assertEqual(a.s2s.outgoing, {})
        # The peer comes up; once the delay is over the next stanza gets through.
        b = await start_node(
            self, node_config("b.test", _new_dir(self), port_b, "a.test", port_a)
        )
        bob = await connect(b, "bob", host="b.test")
        await bob.available()
        await wait_for(lambda: a.s2s.retry_wait("a.test", "b.test") == 0, 3)
        await alice.send("<message to='bob@b.test/res' type='chat'><body>3</body></message>")
        await wait_for(lambda: _messages(bob))
        self.assertEqual(len(_errors(alice)), 2)

    def test_delays_double_up_to_the_cap(self):
        """1 s, 2 s, 4 s ... never more than max_retry_delay; success resets."""
        from twisted.internet.task import Clock

        from mongoose.s2s.manager import S2SManager
        from mongoose.s2s.settings import S2SSettings

        clock = Clock()
        manager = S2SManager.__new__(S2SManager)
        manager.clock = clock
        manager._retry = {}

        class Conn:
            local, remote = "a.test", "b.test"
            settings = S2SSettings(shared="x", max_retry_delay=5)

        waits = []
        for _ in range(5):
            manager.unreachable(Conn)
            waits.append(manager.retry_wait("a.test", "b.test"))
        self.assertEqual(waits, [1.0, 2.0, 4.0, 5.0, 5.0])
        clock.advance(5)
        self.assertEqual(manager.retry_wait("a.test", "b.test"), 0)
        manager.reachable(Conn)
        manager.unreachable(Conn)
        self.assertEqual(manager.retry_wait("a.test", "b.test"), 1.0)
