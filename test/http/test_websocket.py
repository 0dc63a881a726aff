"""XMPP over WebSocket (RFC 7395) against a running node, over real sockets."""

from __future__ import annotations

import os

from twisted.internet import defer, reactor
from twisted.trial import unittest

from mongoose.xmpp.namespaces import NS_FRAMING, NS_STREAMS, NS_XMPP_STREAMS
from mongoose.xmpp.tls import client_connection_creator, generate_certificates
from test.c2s.support import logged_in
from test.http.support import start_node, ws_connect, ws_login

OPEN = f"<open xmlns='{NS_FRAMING}' to='localhost' version='1.0'/>"


def _condition(el) -> str | None:
    if el is None or el.uri != NS_STREAMS or el.name != "error":
        return None
    for child in el.elements():
        if child.uri == NS_XMPP_STREAMS and child.name != "text":
            return child.name
    return None


def _drop(client):
    """Drop the connection and wait until it is gone."""
    if client.closed.called:
        return None
    client.dropConnection(abort=True)
    return client.closed


_ws_login = ws_login


class WebSocketTests(unittest.TestCase):
    """A WebSocket client logs in, chats, sees presence, is pinged and is limited."""

    @defer.inlineCallbacks
    def test_open_answers_open_and_features(self):
        """<open/> gets the server's <open/> with an id, then stream features."""
        node = yield defer.ensureDeferred(start_node(self))
        client = yield defer.ensureDeferred(ws_connect(node.http_port))
        self.addCleanup(_drop, client)
        self.assertEqual(client.websocket_protocol_in_use, "xmpp")
        client.send(OPEN)
        opened = yield defer.ensureDeferred(client.next())
        self.assertEqual((opened.uri, opened.name), (NS_FRAMING, "open"))
        self.assertEqual(opened["from"], "localhost")
        self.assertTrue(opened.getAttribute("id"))
        features = yield defer.ensureDeferred(client.next())
        self.assertEqual((features.uri, features.name), (NS_STREAMS, "features"))
        mechanisms = [m for m in features.elements() if m.name == "mechanisms"]
        self.assertEqual(len(mechanisms), 1)

    @defer.inlineCallbacks
    def test_without_xmpp_subprotocol_is_refused(self):
        """A client that does not offer the xmpp subprotocol gets no WebSocket."""
        node = yield defer.ensureDeferred(start_node(self))
        with self.assertRaises(ConnectionError):
            yield defer.ensureDeferred(ws_connect(node.http_port, protocols=("chat",)))

    @defer.inlineCallbacks
    def test_message_and_presence_with_tcp_user(self):
        """A WebSocket user and a TCP user exchange messages and see each other's presence."""
        node = yield defer.ensureDeferred(start_node(self))
        ws = yield defer.ensureDeferred(_ws_login(self, node.http_port))
        tcp, tcp_jid = yield defer.ensureDeferred(logged_in(self, node.c2s_port, "bob", "tcp"))
        ws.send(
            "<message xmlns='jabber:client' to='bob@localhost/tcp' type='chat'>"
            "<body>hello over websocket</body></message>"
        )
        got = yield defer.ensureDeferred(tcp.element())
        self.assertEqual(got.name, "message")
        self.assertEqual(got["from"], "alice@localhost/ws")
        self.assertEqual(str(got.body), "hello over websocket")
        tcp.send("<message to='alice@localhost/ws' type='chat'><body>hi back</body></message>")
        answer = yield defer.ensureDeferred(ws.until("message"))
        self.assertEqual(answer["from"], tcp_jid)
        self.assertEqual(str(answer.body), "hi back")
        # Directed presence from the TCP user reaches the WebSocket user.
        tcp.send("<presence to='alice@localhost/ws'/>")
        presence = yield defer.ensureDeferred(ws.until("presence"))
        self.assertEqual(presence["from"], tcp_jid)

    @defer.inlineCallbacks
    def test_close_is_answered_with_close(self):
        """<close/> from the client gets <close/> and the WebSocket closes."""
        node = yield defer.ensureDeferred(start_node(self))
        ws = yield defer.ensureDeferred(_ws_login(self, node.http_port))
        ws.send(f"<close xmlns='{NS_FRAMING}'/>")
        closing = yield defer.ensureDeferred(ws.until("close"))
        self.assertEqual(closing.uri, NS_FRAMING)
        yield ws.closed
        self.assertEqual(node.sessions.sessions_of("alice", "localhost"), [])

    @defer.inlineCallbacks
    def test_server_pings(self):
        """With ping_rate set, the server pings the client over WebSocket."""
        node = yield defer.ensureDeferred(start_node(self, ws="    ping_rate = 100"))
        ws = yield defer.ensureDeferred(_ws_login(self, node.http_port))
        d = defer.Deferred()
        reactor.callLater(0.5, d.callback, None)
        yield d
        self.assertGreaterEqual(ws.pongs, 2)
        self.assertEqual(ws.close_code, None)

    @defer.inlineCallbacks
    def test_oversized_frame_is_policy_violation(self):
        """A frame over max_stanza_size gets policy-violation and <close/>."""
        node = yield defer.ensureDeferred(start_node(self, ws="    max_stanza_size = 1000"))
        ws = yield defer.ensureDeferred(_ws_login(self, node.http_port))
        ws.send(
            "<message xmlns='jabber:client' to='bob@localhost'><body>"
            + "x" * 1500
            + "</body></message>"
        )
        error = yield defer.ensureDeferred(ws.until("error"))
        self.assertEqual(_condition(error), "policy-violation")
        closing = yield defer.ensureDeferred(ws.next())
        self.assertEqual(closing.name, "close")
        yield ws.closed

    @defer.inlineCallbacks
    def test_huge_frame_is_policy_violation_before_it_is_read(self):
        """A frame over the WebSocket payload limit still gets policy-violation, then 1009."""
        node = yield defer.ensureDeferred(start_node(self, ws="    max_stanza_size = 1000"))
        ws = yield defer.ensureDeferred(_ws_login(self, node.http_port))
        ws.send("<message xmlns='jabber:client'><body>" + "x" * 200000 + "</body></message>")
        error = yield defer.ensureDeferred(ws.until("error"))
        self.assertEqual(_condition(error), "policy-violation")
        closing = yield defer.ensureDeferred(ws.next())
        self.assertEqual(closing.name, "close")
        yield ws.closed
        self.assertEqual(node.sessions.sessions_of("alice", "localhost"), [])

    @defer.inlineCallbacks
    def test_unanswered_ping_closes_the_connection(self):
        """With ping_rate set, a client that never answers pings is disconnected."""
        node = yield defer.ensureDeferred(start_node(self, ws="    ping_rate = 100"))
        ws = yield defer.ensureDeferred(_ws_login(self, node.http_port))
        ws.onPing = lambda payload: None  # no pong
        code = yield ws.closed.addTimeout(5, reactor)
        self.assertIsNotNone(code)
        self.assertEqual(node.sessions.sessions_of("alice", "localhost"), [])

    @defer.inlineCallbacks
    def test_malformed_frame_is_not_well_formed(self):
        """A frame that is not XML gets not-well-formed, never a traceback."""
        node = yield defer.ensureDeferred(start_node(self))
        client = yield defer.ensureDeferred(ws_connect(node.http_port))
        self.addCleanup(_drop, client)
        client.send(OPEN)
        yield defer.ensureDeferred(client.until("features"))
        client.send("<message><body>broken</message>")
        error = yield defer.ensureDeferred(client.until("error"))
        self.assertEqual(_condition(error), "not-well-formed")
        yield client.closed

    @defer.inlineCallbacks
    def test_stanza_before_open_is_refused(self):
        """A stanza before <open/> gets a stream error (after the server's <open/>)."""
        node = yield defer.ensureDeferred(start_node(self))
        client = yield defer.ensureDeferred(ws_connect(node.http_port))
        self.addCleanup(_drop, client)
        client.send("<message xmlns='jabber:client' to='bob@localhost'/>")
        opened = yield defer.ensureDeferred(client.next())
        self.assertEqual(opened.name, "open")
        error = yield defer.ensureDeferred(client.next())
        self.assertEqual(_condition(error), "not-well-formed")

    @defer.inlineCallbacks
    def test_inactivity_timeout(self):
        """A silent client is closed with connection-timeout after `timeout` ms."""
        node = yield defer.ensureDeferred(start_node(self, ws="    timeout = 200"))
        ws = yield defer.ensureDeferred(_ws_login(self, node.http_port))
        error = yield defer.ensureDeferred(ws.until("error", timeout=5))
        self.assertEqual(_condition(error), "connection-timeout")
        yield ws.closed

    @defer.inlineCallbacks
    def test_plain_get_is_told_to_upgrade(self):
        """A plain GET on the WebSocket path gets HTTP 426 with a JSON body."""
        from twisted.web.client import Agent, readBody

        node = yield defer.ensureDeferred(start_node(self))
        response = yield Agent(reactor).request(
            b"GET", f"http://127.0.0.1:{node.http_port}/ws-xmpp".encode()
        )
        body = yield readBody(response)
        self.assertEqual(response.code, 426)
        self.assertIn(b"upgrade_required", body)

    @defer.inlineCallbacks
    def test_websocket_over_https(self):
        """Over an HTTPS listener (wss:) a client logs in over WebSocket."""
        directory = os.path.abspath(self.mktemp())
        os.makedirs(directory)
        certs = generate_certificates(directory, "localhost")
        listener = (
            f'  tls.certfile = "{certs.cert}"\n  tls.keyfile = "{certs.key}"\n'
            '  tls.verify_mode = "none"\n'
        )
        node = yield defer.ensureDeferred(start_node(self, listener=listener))
        creator = client_connection_creator("localhost", {"cacertfile": str(certs.ca_cert)})
        yield defer.ensureDeferred(_ws_login(self, node.http_port, tls_creator=creator))
        [session] = node.sessions.sessions_of("alice", "localhost")
        self.assertEqual(session.info["transport"], "websocket")
