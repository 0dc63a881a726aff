"""The ``s2s listIncoming`` / ``listOutgoing`` commands: authentication, TLS and addresses.

Two nodes federate over loopback (plain with dialback, STARTTLS with dialback,
STARTTLS with SASL EXTERNAL); after a message crossed, the commands are run
through the command registry as any front end runs them, and each row must
say how the stream was authenticated, whether it is encrypted, and the
peer's address as the sockets see it.
"""

from __future__ import annotations

import os
from types import SimpleNamespace

from twisted.trial.unittest import SynchronousTestCase, TestCase

from mongoose.commands.caller import Caller
from mongoose.commands.defs.s2s import incoming_row, outgoing_row
from test.s2s.certs import s2s_certificates
from test.s2s.support import start_pair, wait_for
from test.support.sessions import connect


def _address(address) -> str:
    return f"{address.host}:{address.port}"


class S2SListTests(TestCase):
    """The rows describe real federated streams."""

    def setUp(self):
        """Write a CA and certificates for a.test and b.test."""
        directory = os.path.abspath(self.mktemp())
        os.makedirs(directory)
        self.certs = s2s_certificates(directory, {"a.test": "a.test", "b.test": "b.test"})

    def _listener(self, domain: str) -> str:
        mine = self.certs.domains[domain]
        return (
            f'  tls.mode = "starttls"\n  tls.certfile = "{mine.cert}"\n'
            f'  tls.keyfile = "{mine.key}"\n  tls.cacertfile = "{self.certs.ca_cert}"\n'
        )

    def _outgoing(self, domain: str | None) -> str:
        text = (
            '  outgoing.tls.mode = "starttls_required"\n'
            f'  outgoing.tls.cacertfile = "{self.certs.ca_cert}"\n'
        )
        if domain is not None:
            mine = self.certs.domains[domain]
            text += f'  outgoing.tls.certfile = "{mine.cert}"\n  outgoing.tls.keyfile = "{mine.key}"\n'
        return text

    async def _rows(self, a, b):
        """Send alice@a.test's message to bob@b.test; return A's outgoing and B's incoming rows."""
        alice = await connect(a, "alice", host="a.test")
        bob = await connect(b, "bob", host="b.test")
        await bob.available()
        await alice.send("<message to='bob@b.test/res' type='chat'><body>hi</body></message>")
        await wait_for(lambda: any(s.name == "message" for s in bob.session.received))
        outgoing = await a.commands.execute(Caller.admin(), "s2s", "listOutgoing", {})
        incoming = await b.commands.execute(Caller.admin(), "s2s", "listIncoming", {})
        stream = a.s2s.outgoing[("a.test", "b.test")].stream
        incoming = [row for row in incoming if row["remoteDomains"] == ["a.test"]]
        self.assertEqual(len(incoming), 1, incoming)
        self.assertEqual(len(outgoing), 1, outgoing)
        out, into = outgoing[0], incoming[0]
        # The peer's address, as the sockets of both ends see it.
        self.assertEqual(out["address"], _address(stream.transport.getPeer()))
        self.assertEqual(into["address"], _address(stream.transport.getHost()))
        self.assertEqual(
            (out["localDomain"], out["remoteDomain"], out["state"], out["queued"]),
            ("a.test", "b.test", "established", 0),
        )
        self.assertEqual(into["localDomain"], "b.test")
        self.assertTrue(into["listener"].startswith("listen.s2s"), into)
        self.assertIsInstance(out["connectedSince"], str)
        self.assertIsInstance(into["connectedSince"], str)
        return out, into

    async def test_plain_dialback(self):
        """Without TLS: dialback on both ends, secure false."""
        a, b = await start_pair(self)
        out, into = await self._rows(a, b)
        self.assertEqual((out["authentication"], out["secure"]), ("dialback", False))
        self.assertEqual((into["authentication"], into["secure"]), ("dialback", False))

    async def test_starttls_dialback(self):
        """STARTTLS but no client certificate: dialback over TLS."""
        a, b = await start_pair(
            self, self._listener("a.test"), self._listener("b.test"),
            self._outgoing(None), self._outgoing("b.test"),
        )
        out, into = await self._rows(a, b)
        self.assertEqual((out["authentication"], out["secure"]), ("dialback", True))
        self.assertEqual((into["authentication"], into["secure"]), ("dialback", True))

    async def test_starttls_external(self):
        """A trusted certificate naming a.test: SASL EXTERNAL over TLS."""
        a, b = await start_pair(
            self, self._listener("a.test"), self._listener("b.test"),
            self._outgoing("a.test"), self._outgoing("b.test"),
        )
        out, into = await self._rows(a, b)
        self.assertEqual((out["authentication"], out["secure"]), ("external", True))
        self.assertEqual((into["authentication"], into["secure"]), ("external", True))


class RowTests(SynchronousTestCase):
    """Rows of streams in states the federation tests above do not stop in."""

    def _incoming(self, pairs, external=None):
        return SimpleNamespace(
            info={"address": "192.0.2.7:40000", "listener": "listen.s2s[0]"},
            local="b.test", pairs=set(pairs), external=external, secure=True,
        )

    def test_incoming_not_authenticated_yet(self):
        """A stream that has only sent its header: none, no remote domains."""
        row = incoming_row(self._incoming([]))
        self.assertEqual((row["authentication"], row["remoteDomains"]), ("none", []))
        self.assertEqual(row["address"], "192.0.2.7:40000")

    def test_incoming_external_then_dialback(self):
        """SASL EXTERNAL for one domain and dialback for another on the same stream."""
        row = incoming_row(
            self._incoming([("a.test", "b.test"), ("c.test", "b.test")], external="a.test")
        )
        self.assertEqual(row["authentication"], "external+dialback")
        self.assertEqual(row["remoteDomains"], ["a.test", "c.test"])

    def test_outgoing_still_connecting(self):
        """No stream yet: no address, not secure, not authenticated."""
        connection = SimpleNamespace(state="connecting", stream=None, queue=[1, 2], started=None)
        row = outgoing_row("a.test", "b.test", connection)
        self.assertEqual(
            (row["address"], row["secure"], row["authentication"], row["queued"]),
            ("", False, "none", 2),
        )
