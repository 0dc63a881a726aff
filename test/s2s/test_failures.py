"""Federation failures: policy, unreachable and silent peers, forged dialback, TLS rules."""

from __future__ import annotations

import os
import socket

from twisted.internet import defer, reactor
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol
from twisted.internet.protocol import Protocol
from twisted.trial.unittest import TestCase

from mongoose.s2s.dialback import dialback_key
from mongoose.xmpp.tls import generate_certificates
from test.s2s.support import node_config, start_node, start_pair, wait_for
from test.support.processes import free_port
from test.support.sessions import connect


def _new_dir(testcase) -> str:
    path = os.path.abspath(testcase.mktemp())
    os.makedirs(path)
    return path


def _errors(client) -> list[str]:
    """Defined conditions of the error stanzas a client received."""
    found = []
    for stanza in client.session.received:
        if stanza.getAttribute("type") == "error":
            error = next(c for c in stanza.elements() if c.name == "error")
            found.append(next(error.elements()).name)
    return found


class _Raw(Protocol):
    """A hand-driven server-to-server peer that records what it reads."""

    def __init__(self):
        self.data = b""
        self.lost = defer.Deferred()

    def dataReceived(self, data):
        self.data += data

    def connectionLost(self, reason=None):
        self.lost.callback(None)

    def text(self) -> str:
        return self.data.decode("utf-8", "replace")


async def _raw_peer(testcase, port: int) -> _Raw:
    raw = _Raw()
    await connectProtocol(TCP4ClientEndpoint(reactor, "127.0.0.1", port), raw)

    def close():
        if raw.transport.connected:
            raw.transport.abortConnection()
            return raw.lost

    testcase.addCleanup(close)
    return raw


_HEADER = (
    "<?xml version='1.0'?><stream:stream xmlns='jabber:server' "
    "xmlns:stream='http://etherx.jabber.org/streams' xmlns:db='jabber:server:dialback' "
    "from='{origin}' to='{to}' version='1.0'>"
)


class OneNodeTestCase(TestCase):
    """A node serving a.test whose peer b.test is at a port of the test's choosing."""

    async def start(self, peer_port: int, s2s: str = "", listener: str = ""):
        """Start node A; return it and its s2s port."""
        data = os.path.abspath(self.mktemp())
        os.makedirs(data)
        port = free_port()
        node = await start_node(
            self, node_config("a.test", data, port, "b.test", peer_port, listener, s2s)
        )
        return node, port


class OutgoingFailureTests(OneNodeTestCase):
    """Stanzas that cannot be delivered come back with the right error."""

    async def test_policy_deny(self):
        """default_policy = "deny" bounces at once with remote-server-not-found."""
        node, _ = await self.start(free_port(), s2s='  default_policy = "deny"\n')
        alice = await connect(node, "alice", host="a.test")
        await alice.send("<message to='bob@b.test' id='m1'><body>x</body></message>")
        await wait_for(lambda: _errors(alice))
        self.assertEqual(_errors(alice), ["remote-server-not-found"])
        self.assertEqual(node.s2s.outgoing, {})

    async def test_host_policy_allows_one(self):
        """host_policy allow wins over default_policy deny (the connection is attempted)."""
        node, _ = await self.start(
            free_port(),
            s2s='  default_policy = "deny"\n'
            '  host_policy = [{host = "b.test", policy = "allow"}]\n',
        )
        alice = await connect(node, "alice", host="a.test")
        await alice.send("<message to='bob@b.test' id='m1'><body>x</body></message>")
        await wait_for(lambda: _errors(alice))
        self.assertEqual(_errors(alice), ["remote-server-not-found"])

    async def test_unreachable(self):
        """Nobody listening: every queued stanza bounces with remote-server-not-found."""
        node, _ = await self.start(free_port())
        alice = await connect(node, "alice", host="a.test")
        await alice.send("<message to='bob@b.test' id='m1'><body>1</body></message>")
        await alice.send("<message to='bob@b.test' id='m2'><body>2</body></message>")
        await wait_for(lambda: len(_errors(alice)) == 2)
        self.assertEqual(_errors(alice), ["remote-server-not-found"] * 2)
        await wait_for(lambda: not node.s2s.outgoing)

    async def test_silent_peer(self):
        """A peer that accepts but never answers: remote-server-timeout."""
        silent = socket.socket()
        silent.bind(("127.0.0.1", 0))
        silent.listen(5)
        self.addCleanup(silent.close)
        node, _ = await self.start(
            silent.getsockname()[1], s2s="  outgoing.state_timeout = 300\n"
        )
        alice = await connect(node, "alice", host="a.test")
        await alice.send("<message to='bob@b.test' id='m1'><body>x</body></message>")
        rows = await node.commands.get("s2s", "listOutgoing").handler()
        self.assertEqual([r["state"] for r in rows], ["connecting"])
        await wait_for(lambda: _errors(alice))
        self.assertEqual(_errors(alice), ["remote-server-timeout"])

    async def test_queue_while_connecting(self):
        """Stanzas sent while the stream is set up all arrive, in order."""
        a, b = await start_pair(self)
        alice = await connect(a, "alice", host="a.test")
        bob = await connect(b, "bob", host="b.test")
        await bob.available()
        for n in range(5):
            await alice.send(f"<message to='bob@b.test/res' type='chat'><body>{n}</body></message>")
        messages = lambda: [s for s in bob.session.received if s.name == "message"]  # noqa: E731
        await wait_for(lambda: len(messages()) == 5)
        self.assertEqual([str(next(m.elements())) for m in messages()], list("01234"))

    async def test_idle_stream_closed(self):
        """An outgoing stream idle for stream_timeout is closed; the next stanza reconnects."""
        a, b = await start_pair(self, s2s_a="  outgoing.stream_timeout = 300\n")
        alice = await connect(a, "alice", host="a.test")
        bob = await connect(b, "bob", host="b.test")
        await bob.available()
        await alice.send("<message to='bob@b.test/res' type='chat'><body>1</body></message>")
        await wait_for(lambda: a.s2s.outgoing)
        await wait_for(lambda: not a.s2s.outgoing)
        await wait_for(lambda: not b.s2s.incoming)
        await alice.send("<message to='bob@b.test/res' type='chat'><body>2</body></message>")
        await wait_for(lambda: len([s for s in bob.session.received if s.name == "message"]) == 2)

    async def test_remote_denies(self):
        """The peer's policy refuses dialback: the stanza bounces."""
        a, b = await start_pair(self, s2s_b='  default_policy = "deny"\n')
        alice = await connect(a, "alice", host="a.test")
        await alice.send("<message to='bob@b.test' id='m1'><body>x</body></message>")
        await wait_for(lambda: _errors(alice))
        self.assertEqual(_errors(alice), ["remote-server-not-found"])


class IncomingTests(TestCase):
    """A hand-written peer talks to the s2s listener of node B."""

    async def test_forged_dialback_is_invalid(self):
        """A key not made with a.test's secret is refused and stanzas are not accepted."""
        a, b = await start_pair(self)
        raw = await _raw_peer(self, b.listeners[0].port.getHost().port)
        raw.transport.write(_HEADER.format(origin="a.test", to="b.test").encode())
        await wait_for(lambda: b"</stream:features>" in raw.data)
        raw.transport.write(b"<db:result from='a.test' to='b.test'>0badc0de</db:result>")
        await wait_for(lambda: "type='invalid'" in raw.text())
        raw.transport.write(
            b"<message from='mallory@a.test' to='bob@b.test'><body>x</body></message>"
        )
        await raw.lost
        self.assertIn("invalid-from", raw.text())

    async def test_right_key_is_valid(self):
        """A key made with a.test's secret and our stream id passes dialback."""
        a, b = await start_pair(self)
        bob = await connect(b, "bob", host="b.test")
        await bob.available()
        raw = await _raw_peer(self, b.listeners[0].port.getHost().port)
        raw.transport.write(_HEADER.format(origin="a.test", to="b.test").encode())
        await wait_for(lambda: b"</stream:features>" in raw.data)
        stream_id = raw.text().split(" id='", 1)[1].split("'", 1)[0]
        key = dialback_key("secret-of-a.test", "b.test", "a.test", stream_id)
        raw.transport.write(f"<db:result from='a.test' to='b.test'>{key}</db:result>".encode())
        await wait_for(lambda: "type='valid'" in raw.text())
        raw.transport.write(
            b"<message from='alice@a.test/x' to='bob@b.test/res' type='chat'>"
            b"<body>hello</body></message>"
        )
        await wait_for(lambda: any(s.name == "message" for s in bob.session.received))

    async def test_verify_answered(self):
        """<db:verify/> is answered from s2s.shared."""
        a, b = await start_pair(self)
        raw = await _raw_peer(self, a.listeners[0].port.getHost().port)
        raw.transport.write(_HEADER.format(origin="b.test", to="a.test").encode())
        await wait_for(lambda: b"</stream:features>" in raw.data)
        good = dialback_key("secret-of-a.test", "b.test", "a.test", "s1")
        raw.transport.write(
            f"<db:verify from='b.test' to='a.test' id='s1'>{good}</db:verify>"
            "<db:verify from='b.test' to='a.test' id='s2'>nope</db:verify>".encode()
        )
        await wait_for(lambda: raw.text().count("<db:verify") == 2)
        self.assertIn("id='s1' type='valid'", raw.text())
        self.assertIn("id='s2' type='invalid'", raw.text())

    async def test_unknown_host(self):
        """A stream to a domain not served here ends with host-unknown."""
        a, b = await start_pair(self)
        raw = await _raw_peer(self, b.listeners[0].port.getHost().port)
        raw.transport.write(_HEADER.format(origin="a.test", to="nowhere.test").encode())
        await raw.lost
        self.assertIn("host-unknown", raw.text())

    async def test_starttls_required(self):
        """With STARTTLS required, features offer only it and dialback is refused before it."""
        certs = generate_certificates(_new_dir(self), "b.test")
        listener = (
            f'  tls.mode = "starttls_required"\n  tls.certfile = "{certs.cert}"\n'
            f'  tls.keyfile = "{certs.key}"\n'
        )
        a, b = await start_pair(self, extra_b=listener)
        raw = await _raw_peer(self, b.listeners[0].port.getHost().port)
        raw.transport.write(_HEADER.format(origin="a.test", to="b.test").encode())
        await wait_for(lambda: b"</stream:features>" in raw.data)
        self.assertIn("<required/></starttls>", raw.text())
        self.assertNotIn("urn:xmpp:features:dialback", raw.text())
        raw.transport.write(b"<db:result from='a.test' to='b.test'>00</db:result>")
        await raw.lost
        self.assertIn("policy-violation", raw.text())


class LegacyStartTLSTests(TestCase):
    """The MongooseIM 6.0-6.2 spelling: s2s.use_starttls with s2s.certfile."""

    async def test_required_with_certfile(self):
        """use_starttls = "required" secures both streams; messages cross."""
        extra = {}
        for domain in ("a.test", "b.test"):
            certs = generate_certificates(_new_dir(self), domain)
            combined = os.path.join(certs.directory, "combined.pem")
            with open(combined, "wb") as out:
                for path in (certs.cert, certs.key):
                    with open(path, "rb") as f:
                        out.write(f.read())
            extra[domain] = f'  use_starttls = "required"\n  certfile = "{combined}"\n'
        a, b = await start_pair(self, s2s_a=extra["a.test"], s2s_b=extra["b.test"])
        alice = await connect(a, "alice", host="a.test")
        bob = await connect(b, "bob", host="b.test")
        await bob.available()
        await alice.send("<message to='bob@b.test/res' type='chat'><body>tls</body></message>")
        await wait_for(lambda: any(s.name == "message" for s in bob.session.received))
        rows = await a.commands.get("s2s", "listOutgoing").handler()
        self.assertEqual([r["secure"] for r in rows], [True])
