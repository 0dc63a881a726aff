"""SASL EXTERNAL between two nodes (RFC 6120 section 6, XEP-0178), and its fall-backs."""

from __future__ import annotations

import os

from twisted.internet import defer, reactor
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol
from twisted.internet.protocol import Protocol
from twisted.trial.unittest import SynchronousTestCase, TestCase

from mongoose.s2s.external import (
    auth_element,
    certificate_domains,
    decode_authzid,
    matches_domain,
)
from test.s2s.certs import s2s_certificates
from test.s2s.support import start_pair, wait_for
from test.support.sessions import connect


def _bodies(client) -> list[str]:
    return [
        str(child)
        for stanza in client.session.received if stanza.name == "message"
        for child in stanza.elements() if child.name == "body"
    ]


class _Raw(Protocol):
    def __init__(self):
        self.data = b""
        self.lost = defer.Deferred()

    def dataReceived(self, data):
        self.data += data

    def connectionLost(self, reason=None):
        self.lost.callback(None)


class ExternalFederationTests(TestCase):
    """Two nodes whose certificates come from one CA both nodes trust."""

    def setUp(self):
        """Write the CA and the certificates of a.test, b.test and (wrongly named) a.test."""
        directory = os.path.abspath(self.mktemp())
        os.makedirs(directory)
        self.certs = s2s_certificates(
            directory, {"a.test": "a.test", "b.test": "b.test", "wrong": "elsewhere.test"}
        )

    def _listener(self, domain: str) -> str:
        mine = self.certs.domains[domain]
        return (
            f'  tls.mode = "starttls"\n  tls.certfile = "{mine.cert}"\n'
            f'  tls.keyfile = "{mine.key}"\n  tls.cacertfile = "{self.certs.ca_cert}"\n'
        )

    def _outgoing(self, label: str | None) -> str:
        text = (
            '  outgoing.tls.mode = "starttls_required"\n'
            f'  outgoing.tls.cacertfile = "{self.certs.ca_cert}"\n'
        )
        if label is not None:
            mine = self.certs.domains[label]
            text += (
                f'  outgoing.tls.certfile = "{mine.cert}"\n'
                f'  outgoing.tls.keyfile = "{mine.key}"\n'
            )
        return text

    async def _send_a_to_b(self, a, b):
        alice = await connect(a, "alice", host="a.test")
        bob = await connect(b, "bob", host="b.test")
        await bob.available()
        await alice.send("<message to='bob@b.test/res' type='chat'><body>hi</body></message>")
        await wait_for(lambda: "hi" in _bodies(bob))
        self.assertEqual(bob.last("message").getAttribute("from"), "alice@a.test/res")
        outgoing = a.s2s.outgoing[("a.test", "b.test")].stream
        incoming = [s for s in b.s2s.incoming if ("a.test", "b.test") in s.pairs]
        return outgoing, incoming

    async def test_external_replaces_dialback(self):
        """With a trusted certificate for a.test, the stream is authenticated by EXTERNAL.

        No dialback happens: b.test never opens a verify connection back to a.test.
        """
        a, b = await start_pair(
            self, self._listener("a.test"), self._listener("b.test"),
            self._outgoing("a.test"), self._outgoing("b.test"),
        )
        outgoing, incoming = await self._send_a_to_b(a, b)
        self.assertEqual(outgoing.authenticated_by, "external")
        self.assertTrue(outgoing.secure)
        self.assertEqual([s.external for s in incoming], ["a.test"])
        self.assertEqual(a.s2s.incoming, set(), "b.test opened a dialback verify connection")
        rows = await b.commands.get("s2s", "listIncoming").handler()
        self.assertEqual([r["remoteDomains"] for r in rows], [["a.test"]])

    async def test_no_certificate_falls_back_to_dialback(self):
        """An originating server without a certificate authenticates with dialback."""
        a, b = await start_pair(
            self, self._listener("a.test"), self._listener("b.test"),
            self._outgoing(None), self._outgoing("b.test"),
        )
        outgoing, incoming = await self._send_a_to_b(a, b)
        self.assertEqual(outgoing.authenticated_by, "dialback")
        self.assertEqual([s.external for s in incoming], [None])

    async def test_certificate_for_another_domain(self):
        """A certificate that does not name a.test is not enough: EXTERNAL is not offered."""
        a, b = await start_pair(
            self, self._listener("a.test"), self._listener("b.test"),
            self._outgoing("wrong"), self._outgoing("b.test"),
        )
        outgoing, incoming = await self._send_a_to_b(a, b)
        self.assertEqual(outgoing.authenticated_by, "dialback")
        self.assertEqual([s.external for s in incoming], [None])

    async def test_untrusted_certificate(self):
        """A certificate from a CA b.test does not trust: the handshake goes on, dialback is used."""
        other = os.path.abspath(self.mktemp())
        os.makedirs(other)
        foreign = s2s_certificates(other, ["a.test"])
        outgoing_a = (
            '  outgoing.tls.mode = "starttls_required"\n'
            f'  outgoing.tls.cacertfile = "{self.certs.ca_cert}"\n'
            f'  outgoing.tls.certfile = "{foreign.domains["a.test"].cert}"\n'
            f'  outgoing.tls.keyfile = "{foreign.domains["a.test"].key}"\n'
        )
        a, b = await start_pair(
            self, self._listener("a.test"), self._listener("b.test"),
            outgoing_a, self._outgoing("b.test"),
        )
        outgoing, incoming = await self._send_a_to_b(a, b)
        self.assertEqual(outgoing.authenticated_by, "dialback")

    async def test_external_not_offered_without_tls(self):
        """On a plain TCP stream, <auth mechanism='EXTERNAL'> fails with not-authorized."""
        a, b = await start_pair(self)
        raw = _Raw()
        port = b.listeners[0].port.getHost().port
        await connectProtocol(TCP4ClientEndpoint(reactor, "127.0.0.1", port), raw)
        self.addCleanup(lambda: raw.transport.abortConnection() or raw.lost)
        raw.transport.write(
            b"<?xml version='1.0'?><stream:stream xmlns='jabber:server' "
            b"xmlns:stream='http://etherx.jabber.org/streams' "
            b"xmlns:db='jabber:server:dialback' from='a.test' to='b.test' version='1.0'>"
        )
        await wait_for(lambda: b"</stream:features>" in raw.data)
        self.assertNotIn(b"EXTERNAL", raw.data)
        raw.transport.write(auth_element("a.test"))
        await wait_for(lambda: b"</failure>" in raw.data)
        self.assertIn(b"<not-authorized/>", raw.data)


class IdentityTests(SynchronousTestCase):
    """Which certificates name which domains."""

    def test_dns_names_and_wildcards(self):
        """dNSName entries match exactly, or through a one-label wildcard."""
        self.assertTrue(matches_domain({"a.test"}, "A.test"))
        self.assertTrue(matches_domain({"*.example.org"}, "chat.example.org"))
        self.assertFalse(matches_domain({"*.example.org"}, "a.chat.example.org"))
        self.assertFalse(matches_domain({"*.example.org"}, "example.org"))
        self.assertFalse(matches_domain({"b.test"}, "a.test"))

    def test_certificate_names(self):
        """The test certificates name their domain (and nothing else)."""
        from cryptography import x509

        directory = self.mktemp()
        os.makedirs(directory)
        certs = s2s_certificates(directory, ["a.test"])
        with open(certs.domains["a.test"].cert, "rb") as f:
            cert = x509.load_pem_x509_certificate(f.read())
        self.assertEqual(certificate_domains(cert), {"a.test"})

    def test_authzid(self):
        """Empty and '=' mean no authorization identity; bad base64 is refused."""
        self.assertEqual(decode_authzid("="), "")
        self.assertEqual(decode_authzid(""), "")
        self.assertEqual(decode_authzid("YS50ZXN0"), "a.test")
        self.assertIsNone(decode_authzid("!!!"))
