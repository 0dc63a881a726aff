"""Stream opening and the stream errors of RFC 6120 section 4.9, over real sockets."""

from twisted.internet import defer, reactor
from twisted.trial.unittest import TestCase

from mongoose.xmpp.namespaces import NS_SASL, NS_STREAMS
from test.c2s.support import HEADER, connect, logged_in, start_node


def _later(seconds: float) -> defer.Deferred:
    """A Deferred firing after ``seconds`` on the real reactor."""
    d: defer.Deferred = defer.Deferred()
    reactor.callLater(seconds, d.callback, None)
    return d


class StreamOpeningTests(TestCase):
    """The server's header and first features."""

    async def client(self):
        """Start a node; return a raw client connected to it."""
        self.node = await start_node(self)
        client = await connect(self.node.c2s_port)
        self.addCleanup(client.transport.loseConnection)
        return client

    async def test_header_and_features(self):
        """The server answers with from, id, version 1.0 and the SASL mechanisms."""
        client = await self.client()
        client.send(
            HEADER.format(to="localhost").replace(
                " version='1.0'>", " from='alice@localhost' version='1.0'>"
            )
        )
        kind, header = await client.next()
        self.assertEqual(kind, "header")
        self.assertEqual(header["from"], "localhost")
        self.assertEqual(header["to"], "alice@localhost")
        self.assertEqual(header["version"], "1.0")
        self.assertTrue(header["id"])
        features = await client.element()
        self.assertEqual((features.uri, features.name), (NS_STREAMS, "features"))
        mechanisms = [str(m) for m in features.firstChildElement().elements()]
        self.assertEqual(
            mechanisms,
            [
                "SCRAM-SHA-512",
                "SCRAM-SHA-384",
                "SCRAM-SHA-256",
                "SCRAM-SHA-224",
                "SCRAM-SHA-1",
                "PLAIN",
            ],
        )

    async def test_second_domain(self):
        """A stream to another served domain is answered from that domain."""
        client = await self.client()
        header, _ = await client.open("example.net")
        self.assertEqual(header["from"], "example.net")

    async def test_whitespace_keepalive(self):
        """Whitespace between elements is accepted at every stage."""
        client = await self.client()
        client.send("  \n")
        header, _ = await client.open()
        client.send("\n\n   \t")
        answer = await client.auth_plain("alice", "secret")
        self.assertEqual(answer.name, "success")

    async def test_client_closes_stream(self):
        """</stream:stream> from the client is answered with ours and the TCP close."""
        self.node = await start_node(self)
        client, _ = await logged_in(self, self.node.c2s_port)
        self.assertEqual(self.node.sessions.count("localhost"), 1)
        client.send("</stream:stream>")
        kind, _ = await client.next()
        self.assertEqual(kind, "end")
        self.assertEqual((await client.next())[0], "closed")
        self.assertEqual(self.node.sessions.count("localhost"), 0)


class StreamErrorTests(TestCase):
    """Each stream error the listener sends, read back by a raw client."""

    listener = ""

    async def error_for(self, *chunks: str, listener: str = "") -> str:
        """Connect, send ``chunks``, return the stream error condition received."""
        node = await start_node(self, listener=listener or self.listener)
        self.node = node
        client = await connect(node.c2s_port)
        self.addCleanup(client.transport.loseConnection)
        for chunk in chunks:
            client.send(chunk)
        error = await client.closed_with()
        self.assertIsNotNone(error, "the server closed without a stream error")
        return error.condition

    async def test_host_unknown(self):
        """A domain this server does not serve gets host-unknown."""
        self.assertEqual(await self.error_for(HEADER.format(to="elsewhere.org")), "host-unknown")

    async def test_missing_to(self):
        """A header without 'to' gets host-unknown."""
        header = HEADER.format(to="x").replace(" to='x'", "")
        self.assertEqual(await self.error_for(header), "host-unknown")

    async def test_invalid_namespace(self):
        """A stream element outside the streams namespace gets invalid-namespace."""
        header = HEADER.format(to="localhost").replace("etherx.jabber.org/streams", "example.com/x")
        self.assertEqual(await self.error_for(header), "invalid-namespace")

    async def test_wrong_content_namespace(self):
        """A client stream in jabber:server gets invalid-namespace."""
        header = HEADER.format(to="localhost").replace("jabber:client", "jabber:server")
        self.assertEqual(await self.error_for(header), "invalid-namespace")

    async def test_not_well_formed(self):
        """Malformed XML gets not-well-formed."""
        condition = await self.error_for(HEADER.format(to="localhost"), "<message><body></message>")
        self.assertEqual(condition, "not-well-formed")

    async def test_restricted_xml_comment(self):
        """A comment gets restricted-xml."""
        condition = await self.error_for(HEADER.format(to="localhost"), "<!-- hi -->")
        self.assertEqual(condition, "restricted-xml")

    async def test_restricted_xml_processing_instruction(self):
        """A processing instruction gets restricted-xml."""
        condition = await self.error_for(HEADER.format(to="localhost"), "<?php echo 1; ?>")
        self.assertEqual(condition, "restricted-xml")

    async def test_restricted_xml_dtd(self):
        """A DTD (entity expansion attempt) gets restricted-xml."""
        condition = await self.error_for(
            "<?xml version='1.0'?><!DOCTYPE x [<!ENTITY a 'aaaa'>]>"
            + HEADER.format(to="localhost")[21:]
        )
        self.assertEqual(condition, "restricted-xml")

    async def test_unsupported_version(self):
        """A pre-1.0 stream (no version) gets unsupported-version."""
        header = HEADER.format(to="localhost").replace(" version='1.0'>", ">")
        self.assertEqual(await self.error_for(header), "unsupported-version")

    async def test_invalid_from_in_header(self):
        """A header 'from' of another domain gets invalid-from."""
        header = HEADER.format(to="localhost").replace(
            " version='1.0'>", " from='eve@evil.org' version='1.0'>"
        )
        self.assertEqual(await self.error_for(header), "invalid-from")

    async def test_stanza_before_auth(self):
        """A stanza before authentication gets not-authorized."""
        condition = await self.error_for(
            HEADER.format(to="localhost"), "<message to='bob@localhost'><body>x</body></message>"
        )
        self.assertEqual(condition, "not-authorized")

    async def test_unsupported_stanza_type_before_auth(self):
        """An unknown first-level element gets unsupported-stanza-type."""
        condition = await self.error_for(HEADER.format(to="localhost"), "<foo xmlns='urn:x'/>")
        self.assertEqual(condition, "unsupported-stanza-type")

    async def test_unsupported_stanza_type_when_established(self):
        """An unknown first-level element after binding gets unsupported-stanza-type."""
        node = await start_node(self)
        client, _ = await logged_in(self, node.c2s_port)
        client.send("<enable xmlns='urn:xmpp:sm:3'/>")
        error = await client.closed_with()
        self.assertEqual(error.condition, "unsupported-stanza-type")

    async def test_invalid_from_on_stanza(self):
        """A stanza claiming to be from someone else gets invalid-from."""
        node = await start_node(self)
        client, _ = await logged_in(self, node.c2s_port)
        client.send("<message from='bob@localhost/x' to='alice@localhost'><body>x</body></message>")
        error = await client.closed_with()
        self.assertEqual(error.condition, "invalid-from")

    async def test_second_sasl_after_auth(self):
        """SASL again on an authenticated stream gets policy-violation."""
        node = await start_node(self)
        client, _ = await logged_in(self, node.c2s_port)
        client.send(f"<auth xmlns='{NS_SASL}' mechanism='PLAIN'>AGFsaWNlAHNlY3JldA==</auth>")
        error = await client.closed_with()
        self.assertEqual(error.condition, "policy-violation")

    async def test_connection_timeout(self):
        """A stream that does not authenticate within c2s_state_timeout gets connection-timeout."""
        condition = await self.error_for(
            HEADER.format(to="localhost"), listener="  c2s_state_timeout = 300"
        )
        self.assertEqual(condition, "connection-timeout")

    async def test_connection_timeout_before_header(self):
        """A client that never sends a header also gets connection-timeout."""
        condition = await self.error_for(listener="  c2s_state_timeout = 200")
        self.assertEqual(condition, "connection-timeout")

    async def test_no_timeout_once_bound(self):
        """The negotiation timer stops once the session is bound."""
        node = await start_node(self, listener="  c2s_state_timeout = 200")
        client, _ = await logged_in(self, node.c2s_port)
        await _later(0.5)
        client.send("<iq type='get' id='p'><ping xmlns='urn:xmpp:ping'/></iq>")
        reply = await client.element()
        self.assertEqual(reply.name, "iq")
        self.assertEqual(node.sessions.count("localhost"), 1)


class StanzaSizeTests(TestCase):
    """max_stanza_size is enforced while reading, so memory stays bounded."""

    async def test_oversized_stanza(self):
        """A 2 MB stanza against a 10 kB limit: policy-violation after reading little of it."""
        node = await start_node(self, listener="  max_stanza_size = 10000")
        client, _ = await logged_in(self, node.c2s_port)
        (server,) = node.listeners[0].factory.connections
        parser = server.parser
        most = [0]
        feed = parser.feed

        def measuring_feed(data):
            feed(data)
            most[0] = max(most[0], parser.buffered)

        parser.feed = measuring_feed
        client.send("<message to='bob@localhost'><body>")
        filler = b"x" * 65536
        for _ in range(32):
            client.send(filler)
        error = await client.closed_with()
        self.assertEqual(error.condition, "policy-violation")
        # The parser never held more than the limit plus one read (64 KiB).
        self.assertLessEqual(most[0], 10000 + 65536)
        # And the server stopped reading long before the 2 MB were in.
        self.assertLess(server.received, 10000 + 4 * 65536 + 4096)

    async def test_stanza_under_limit(self):
        """A stanza just under the limit is routed normally."""
        node = await start_node(self, listener="  max_stanza_size = 10000")
        alice, _ = await logged_in(self, node.c2s_port, "alice", "a")
        bob, _ = await logged_in(self, node.c2s_port, "bob", "b")
        bob.send("<presence/>")
        body = "y" * 9000
        alice.send(f"<message to='bob@localhost/b'><body>{body}</body></message>")
        message = await bob.element()
        self.assertEqual(str(message.firstChildElement()), body)
