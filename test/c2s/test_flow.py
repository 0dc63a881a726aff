"""Traffic control on client connections: shaper, zlib, slow readers, PROXY, limits, shutdown."""

import os
import socket
import struct

from twisted.internet import task
from twisted.logger import globalLogPublisher
from twisted.trial.unittest import TestCase

from mongoose.hooks import STOP
from mongoose.xmpp.tls import client_connection_creator, generate_certificates
from test.c2s.support import HEADER, connect, logged_in, start_node
from test.support.waiting import later, until

NS_COMPRESS = "http://jabber.org/protocol/compress"






def server_side(node):
    """The server's c2s protocols of the first listener (under any TLS/PROXY wrapper)."""
    factory = node.listeners[0].factory
    while hasattr(factory, "wrappedFactory"):
        factory = factory.wrappedFactory
    return list(factory.connections)


class ShaperTests(TestCase):
    """A flooding client is slowed to the shaper's rate by pausing the transport."""

    async def flood(self, node, size):
        """Open a stream and send ``size`` bytes of whitespace; return the server's protocol."""
        client = await connect(node.c2s_port)
        self.addCleanup(client.transport.loseConnection)
        await client.open()
        (server,) = server_side(node)
        client.send(b" " * size)
        return server

    async def test_flood_is_slowed(self):
        """At 200 kB/s the server reads a 3 MB flood at about that rate."""
        node = await start_node(
            self, listener='  shaper = "limited"', extra="[shaper.limited]\n  max_rate = 200000\n"
        )
        server = await self.flood(node, 3_000_000)
        start = server.received
        await later(0.5)
        early = server.received
        await later(1.5)
        late = server.received
        rate = (late - early) / 1.5
        self.assertGreater(rate, 200000 * 0.6)
        self.assertLess(rate, 200000 * 1.5)
        # Over the whole 2 s: one second of burst, two of rate, one read of overshoot.
        self.assertLess(late - start, 200000 + 2 * 200000 + 65536 + 8192)

    async def test_no_shaper_reads_everything(self):
        """Without a shaper the same flood is read at once."""
        node = await start_node(self)
        server = await self.flood(node, 3_000_000)
        await until(lambda: server.received >= 3_000_000, timeout=5)

    async def test_shaper_from_access_rule(self):
        """shaper may name an access rule whose value is the shaper (MongooseIM 6.0 style)."""
        extra = """
[shaper.slow]
  max_rate = 20000
[access]
  c2s_shaper = [{acl = "all", value = "slow"}]
"""
        node = await start_node(self, listener='  shaper = "c2s_shaper"', extra=extra)
        server = await self.flood(node, 600_000)
        await later(1.0)
        self.assertLess(server.received, 20000 + 20000 + 65536 + 8192)


class CompressionTests(TestCase):
    """XEP-0138 zlib compression, and the limit on what input may inflate to."""

    async def compressed(self, node):
        """A logged-in client that switched on compression before binding."""
        client = await connect(node.c2s_port)
        self.addCleanup(client.transport.loseConnection)
        await client.open()
        self.assertEqual((await client.auth_plain("alice", "secret")).name, "success")
        client.reset()
        _, features = await client.open()
        (compression,) = [c for c in features.elements() if c.name == "compression"]
        self.assertEqual([str(m) for m in compression.elements()], ["zlib"])
        client.send(f"<compress xmlns='{NS_COMPRESS}'><method>zlib</method></compress>")
        answer = await client.element()
        self.assertEqual((answer.uri, answer.name), (NS_COMPRESS, "compressed"))
        client.start_compression()
        _, features = await client.open()
        self.assertNotIn("compression", [c.name for c in features.elements()])
        return client

    async def test_compressed_session(self):
        """After <compressed/> both directions are zlib and the session works."""
        node = await start_node(self, listener="  zlib = 100000")
        client = await self.compressed(node)
        self.assertEqual(await client.bind("z"), "alice@localhost/z")
        bob, _ = await logged_in(self, node.c2s_port, "bob", "b")
        bob.send("<presence/>")
        await later(0.05)
        client.send("<message to='bob@localhost/b'><body>squeezed</body></message>")
        received = await bob.element()
        self.assertEqual(str(received.firstChildElement()), "squeezed")
        bob.send("<message to='alice@localhost/z'><body>back</body></message>")
        self.assertEqual(str((await client.element()).firstChildElement()), "back")

    async def test_zlib_bomb(self):
        """Input inflating past the zlib limit gets policy-violation."""
        node = await start_node(self, listener="  zlib = 10000")
        client = await self.compressed(node)
        client.send(b" " * 5_000_000)
        error = await client.closed_with()
        self.assertEqual(error.condition, "policy-violation")

    async def test_unsupported_method(self):
        """An unknown method gets <unsupported-method/>, and the stream goes on."""
        node = await start_node(self, listener="  zlib = 10000")
        client = await connect(node.c2s_port)
        self.addCleanup(client.transport.loseConnection)
        await client.open()
        await client.auth_plain("alice", "secret")
        client.reset()
        await client.open()
        client.send(f"<compress xmlns='{NS_COMPRESS}'><method>lzw</method></compress>")
        failure = await client.element()
        self.assertEqual([c.name for c in failure.elements()], ["unsupported-method"])
        self.assertEqual(await client.bind("r"), "alice@localhost/r")

    async def test_not_offered_without_option(self):
        """Without the zlib option no compression is offered and asking fails."""
        node = await start_node(self)
        client = await connect(node.c2s_port)
        self.addCleanup(client.transport.loseConnection)
        await client.open()
        await client.auth_plain("alice", "secret")
        client.reset()
        _, features = await client.open()
        self.assertNotIn("compression", [c.name for c in features.elements()])
        client.send(f"<compress xmlns='{NS_COMPRESS}'><method>zlib</method></compress>")
        failure = await client.element()
        self.assertEqual([c.name for c in failure.elements()], ["setup-failed"])


class SlowReaderTests(TestCase):
    """A client that stops reading is disconnected; its queued messages go offline."""

    async def stuck_reader(self, node):
        """bob logged in and available, then not reading (small socket buffers)."""
        bob, _ = await logged_in(self, node.c2s_port, "bob", "b")
        bob.send("<presence/>")
        await later(0.05)
        bob.transport.getHandle().setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        (server,) = [p for p in server_side(node) if p.session.jid.user == "bob"]
        server.transport.getHandle().setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        bob.transport.pauseProducing()
        return bob, server

    def record_overflow_logs(self):
        """Collect log lines about clients that do not read."""
        lines = []

        def observer(event):
            text = event.get("log_format") or ""
            if "does not read" in text:
                lines.append(event)

        globalLogPublisher.addObserver(observer)
        self.addCleanup(globalLogPublisher.removeObserver, observer)
        return lines

    def record_offline(self, node):
        """Record offline_message hook calls (and say the messages were stored)."""
        stored = []

        def handler(from_jid, to_jid, stanza):
            stored.append((from_jid.full(), to_jid.full(), str(stanza.firstChildElement())))
            return STOP

        node.hooks.add("offline_message", handler)
        return stored

    async def test_max_fsm_queue(self):
        """Past max_fsm_queue queued stanzas: policy-violation, queued messages stored offline."""
        node = await start_node(self, listener="  max_fsm_queue = 5")
        stored = self.record_offline(node)
        overflows = self.record_overflow_logs()
        alice, _ = await logged_in(self, node.c2s_port, "alice", "a")
        bob, server = await self.stuck_reader(node)
        most = []
        watch = task.LoopingCall(lambda: most.append(server.queued_bytes))
        watch.start(0.005)
        self.addCleanup(lambda: watch.running and watch.stop())
        body = "m" * 2000
        for index in range(400):
            alice.send(
                f"<message to='bob@localhost/b' type='chat'><body>{index}:{body}</body></message>"
            )
            if index % 20 == 0:
                await later(0.01)
            if not server.connected:
                break
        await until(lambda: not server.connected)
        watch.stop()
        self.assertEqual(len(overflows), 1, "the reader was not closed for its queue")
        self.assertEqual(node.sessions.count("localhost"), 1)
        self.assertTrue(stored, "no queued message went to offline storage")
        self.assertTrue(all(s[:2] == ("alice@localhost/a", "bob@localhost") for s in stored))
        # Never more than max_fsm_queue + 1 stanzas of ~2 kB in the queue.
        self.assertLess(max(most), 7 * 2200)

    async def test_default_byte_cap(self):
        """Without max_fsm_queue the default cap on queued bytes still applies."""
        node = await start_node(self)
        stored = self.record_offline(node)
        overflows = self.record_overflow_logs()
        alice, _ = await logged_in(self, node.c2s_port, "alice", "a")
        bob, server = await self.stuck_reader(node)
        most = []
        watch = task.LoopingCall(lambda: most.append(server.queued_bytes))
        watch.start(0.005)
        self.addCleanup(lambda: watch.running and watch.stop())
        body = "B" * 60_000
        for index in range(60):
            alice.send(f"<message to='bob@localhost/b'><body>{index}:{body}</body></message>")
            await later(0.01)
            if not server.connected:
                break
        await until(lambda: not server.connected)
        watch.stop()
        self.assertEqual(len(overflows), 1, "the reader was not closed for its queue")
        self.assertTrue(stored)
        self.assertLessEqual(max(most), 1024 * 1024 + 61_000)


class ProxyProtocolTests(TestCase):
    """proxy_protocol = true: the client address comes from the PROXY header."""

    listener = "  proxy_protocol = true\n  c2s_state_timeout = 2000\n"

    async def login_after(self, node, *chunks):
        """Send the header ``chunks`` (with a pause between), then log in; return the session."""
        client = await connect(node.c2s_port)
        self.addCleanup(client.transport.loseConnection)
        for chunk in chunks:
            client.send(chunk)
            await later(0.02)
        await client.open()
        self.assertEqual((await client.auth_plain("alice", "secret")).name, "success")
        client.reset()
        await client.open()
        await client.bind("p")
        (session,) = node.sessions.all_sessions("localhost")
        return session

    async def test_v1(self):
        """A v1 header's source address is the session's address."""
        node = await start_node(self, listener=self.listener)
        session = await self.login_after(node, b"PROXY TCP4 203.0.113.7 192.0.2.1 51234 5222\r\n")
        self.assertEqual((session.info["ip"], session.info["port"]), ("203.0.113.7", 51234))

    async def test_v2_in_pieces(self):
        """A binary v2 header (IPv6) split over two reads is understood."""
        node = await start_node(self, listener=self.listener)
        source = socket.inet_pton(socket.AF_INET6, "2001:db8::42")
        dest = socket.inet_pton(socket.AF_INET6, "2001:db8::1")
        body = source + dest + struct.pack("!HH", 40000, 5222)
        header = b"\r\n\r\n\x00\r\nQUIT\n" + bytes([0x21, 0x21]) + struct.pack("!H", len(body))
        session = await self.login_after(node, header[:7], header[7:] + body)
        self.assertEqual(session.info["ip"], "2001:db8::42")

    async def test_missing_header(self):
        """A connection that starts with XML instead of a header is dropped silently."""
        node = await start_node(self, listener=self.listener)
        client = await connect(node.c2s_port)
        client.send(HEADER.format(to="localhost"))
        await client.closed
        self.assertNotIn(b"stream", bytes(client.raw))

    async def test_header_then_direct_tls(self):
        """With direct TLS the header comes first, then the TLS handshake."""
        directory = os.path.abspath(self.mktemp())
        os.makedirs(directory)
        certs = generate_certificates(directory, "localhost")
        listener = self.listener + (
            "  [listen.c2s.tls]\n"
            '    mode = "tls"\n'
            f'    certfile = "{certs.cert}"\n'
            f'    keyfile = "{certs.key}"\n'
            '    verify_mode = "none"\n'
        )
        node = await start_node(self, listener=listener)
        client = await connect(node.c2s_port)
        self.addCleanup(client.transport.loseConnection)
        client.send(b"PROXY TCP4 198.51.100.9 192.0.2.1 1000 5223\r\n")
        client.transport.startTLS(
            client_connection_creator("localhost", {"cacertfile": str(certs.ca_cert)})
        )
        await client.open()
        self.assertEqual((await client.auth_plain("alice", "secret")).name, "success")
        (server,) = server_side(node)
        self.assertEqual(server.session.info["ip"], "198.51.100.9")
        self.assertEqual(server.session.info["transport"], "tls")


class LimitAndShutdownTests(TestCase):
    """max_connections, and system-shutdown when the node stops."""

    async def test_max_connections(self):
        """Past max_connections a new connection is closed at once."""
        node = await start_node(self, listener="  max_connections = 1")
        first = await connect(node.c2s_port)
        self.addCleanup(first.transport.loseConnection)
        await first.open()
        second = await connect(node.c2s_port)
        await second.closed
        self.assertEqual(bytes(second.raw), b"")
        self.assertEqual(len(server_side(node)), 1)

    async def test_system_shutdown(self):
        """Stopping the node sends system-shutdown to every client, bound or not."""
        node = await start_node(self)
        removed = []
        node.hooks.add("sm_remove_connection", lambda session: removed.append(session.jid.full()))
        bound, _ = await logged_in(self, node.c2s_port, "alice", "a")
        fresh = await connect(node.c2s_port)
        self.addCleanup(fresh.transport.loseConnection)
        await fresh.open()
        stopping = node.stopService()
        errors = [await bound.closed_with(), await fresh.closed_with()]
        await stopping
        self.assertEqual([e.condition for e in errors], ["system-shutdown", "system-shutdown"])
        self.assertEqual(removed, ["alice@localhost/a"])
        self.assertEqual(server_side(node), [])
