"""XEP-0114 components over WebSocket (the ``service`` table), against a node over real sockets."""

from __future__ import annotations

import os

from twisted.internet import defer, reactor, task
from twisted.trial import unittest

from mongoose.component.handshake import handshake_digest
from mongoose.xmpp.namespaces import NS_COMPONENT_ACCEPT, NS_FRAMING
from mongoose.xmpp.tls import client_connection_creator, generate_certificates
from test.c2s.support import logged_in
from test.component.support import SECRET, component_listener, new_port
from test.http.support import start_node, ws_component_connect, ws_connect

SERVICE = (
    "  [listen.http.handlers.mongoose_websocket_handler.service]\n"
    f'    password = "{SECRET}"\n'
)


def service(*extra: str) -> str:
    """The ``service`` table with the test secret and ``extra`` option lines."""
    return SERVICE + "".join(f"    {line}\n" for line in extra)


def body(el) -> str:
    """The text of a message's <body/>."""
    for child in el.elements():
        if child.name == "body":
            return str(child)
    raise AssertionError(f"no body in {el.toXml()}")


async def wait_for(predicate, timeout: float = 5.0) -> None:
    """Let the reactor run until ``predicate()`` is true."""
    deadline = reactor.seconds() + timeout
    while not predicate():
        if reactor.seconds() > deadline:
            raise AssertionError("condition not met in time")
        await task.deferLater(reactor, 0.01)


class ComponentOverWebSocketTests(unittest.TestCase):
    """A component connects to the WebSocket endpoint like MongooseIM's ``mod_websockets``."""

    async def _authenticated(self, node, domain: str = "echo.localhost", tls_creator=None):
        ws = await ws_component_connect(self, node.http_port, tls_creator)
        answer = await ws.component.authenticate(domain)
        self.assertEqual((answer.uri, answer.name), (NS_COMPONENT_ACCEPT, "handshake"))
        return ws

    @defer.inlineCallbacks
    def test_handshake_registers_the_domain(self):
        """The right secret gets <handshake/>; the domain is routed to the WebSocket."""
        node = yield defer.ensureDeferred(start_node(self, ws=service()))
        ws = yield defer.ensureDeferred(ws_component_connect(self, node.http_port))
        header = yield defer.ensureDeferred(ws.component.open("echo.localhost"))
        self.assertEqual(header["xmlns"], NS_COMPONENT_ACCEPT)
        self.assertEqual(header["from"], "echo.localhost")
        self.assertTrue(header["id"])
        # The header came alone in the first frame (legacy WebSocket framing).
        self.assertTrue(ws.frames[0].rstrip().endswith(b">"))
        self.assertIn(b"<stream:stream", ws.frames[0])
        ws.component.send(f"<handshake>{handshake_digest(header['id'], SECRET)}</handshake>")
        answer = yield ws.component.next()
        self.assertEqual(answer.name, "handshake")
        self.assertEqual(ws.frames[-1], b"<handshake/>")
        connection = node.components.get("echo.localhost")
        self.assertIsNotNone(connection)
        self.assertEqual(connection.info["listener"], "mongoose_websocket_handler /ws-xmpp")
        self.assertEqual(connection.info["address"].split(":")[0], "127.0.0.1")

    @defer.inlineCallbacks
    def test_wrong_secret_is_not_authorized(self):
        """A wrong handshake gets not-authorized, </stream:stream>, and the WebSocket closes."""
        node = yield defer.ensureDeferred(start_node(self, ws=service()))
        ws = yield defer.ensureDeferred(ws_component_connect(self, node.http_port))
        header = yield defer.ensureDeferred(ws.component.open("echo.localhost"))
        ws.component.send(f"<handshake>{handshake_digest(header['id'], 'wrong')}</handshake>")
        condition = yield defer.ensureDeferred(ws.component.stream_error())
        self.assertEqual(condition, "not-authorized")
        yield ws.closed
        self.assertTrue(ws.component.ended)
        self.assertIsNone(node.components.get("echo.localhost"))

    @defer.inlineCallbacks
    def test_routing_to_a_client_and_back(self):
        """A TCP user's message reaches the WebSocket component, whose reply reaches the user."""
        node = yield defer.ensureDeferred(start_node(self, ws=service()))
        ws = yield defer.ensureDeferred(self._authenticated(node))
        client, jid = yield defer.ensureDeferred(logged_in(self, node.c2s_port, "bob", "tcp"))
        client.send("<message to='bot@echo.localhost' type='chat'><body>ping</body></message>")
        got = yield ws.component.next()
        self.assertEqual((got.uri, got.name), (NS_COMPONENT_ACCEPT, "message"))
        self.assertEqual(got["from"], jid)
        self.assertEqual(body(got), "ping")
        ws.component.send(
            f"<message from='bot@echo.localhost' to='{jid}' type='chat'><body>pong</body></message>"
        )
        answer = yield defer.ensureDeferred(client.element())
        self.assertEqual(answer.name, "message")
        self.assertEqual(answer["from"], "bot@echo.localhost")
        self.assertEqual(body(answer), "pong")

    @defer.inlineCallbacks
    def test_check_from(self):
        """With check_from (the default) a foreign 'from' ends the stream with invalid-from."""
        node = yield defer.ensureDeferred(start_node(self, ws=service()))
        ws = yield defer.ensureDeferred(self._authenticated(node))
        ws.component.send(
            "<message from='someone@elsewhere.example' to='alice@localhost'><body>x</body></message>"
        )
        condition = yield defer.ensureDeferred(ws.component.stream_error())
        self.assertEqual(condition, "invalid-from")

    @defer.inlineCallbacks
    def test_check_from_off_lets_a_gateway_speak_for_others(self):
        """With check_from = false a foreign 'from' is routed as given."""
        node = yield defer.ensureDeferred(start_node(self, ws=service("check_from = false")))
        ws = yield defer.ensureDeferred(self._authenticated(node))
        client, jid = yield defer.ensureDeferred(logged_in(self, node.c2s_port, "bob", "tcp"))
        ws.component.send(
            f"<message from='user@gateway.example' to='{jid}'><body>relayed</body></message>"
        )
        answer = yield defer.ensureDeferred(client.element())
        self.assertEqual(answer["from"], "user@gateway.example")
        self.assertEqual(body(answer), "relayed")

    @defer.inlineCallbacks
    def test_conflict_disconnect_refuses_the_newcomer(self):
        """A second connection for a taken domain gets conflict; the first keeps it."""
        node = yield defer.ensureDeferred(start_node(self, ws=service()))
        first = yield defer.ensureDeferred(self._authenticated(node))
        second = yield defer.ensureDeferred(ws_component_connect(self, node.http_port))
        header = yield defer.ensureDeferred(second.component.open("echo.localhost"))
        second.component.send(f"<handshake>{handshake_digest(header['id'], SECRET)}</handshake>")
        condition = yield defer.ensureDeferred(second.component.stream_error())
        self.assertEqual(condition, "conflict")
        self.assertFalse(first.closed.called)
        self.assertIsNotNone(node.components.get("echo.localhost"))

    @defer.inlineCallbacks
    def test_conflict_kick_old_replaces_a_tcp_component(self):
        """kick_old: a WebSocket component takes the domain of a TCP one, which gets conflict.

        The TCP listener and the WebSocket handler share one component table.
        """
        from test.component.support import connect

        port = new_port()
        node = yield defer.ensureDeferred(
            start_node(
                self,
                ws=service('conflict_behaviour = "kick_old"'),
                listener="",
                modules=component_listener(port),
            )
        )
        tcp = yield defer.ensureDeferred(connect(self, port))
        answer = yield defer.ensureDeferred(tcp.authenticate("echo.localhost"))
        self.assertEqual(answer.name, "handshake")
        ws = yield defer.ensureDeferred(self._authenticated(node))
        condition = yield defer.ensureDeferred(tcp.stream_error())
        self.assertEqual(condition, "conflict")
        connection = node.components.get("echo.localhost")
        self.assertEqual(connection.info["listener"], "mongoose_websocket_handler /ws-xmpp")
        self.assertFalse(ws.closed.called)

    @defer.inlineCallbacks
    def test_access_rule(self):
        """The service's access rule is evaluated on the sender: others get not-allowed."""
        node = yield defer.ensureDeferred(
            start_node(
                self,
                ws=service('access = "component_users"'),
                modules='[acl]\n  friends = [{user = "alice"}]\n'
                '[access]\n  component_users = [{acl = "friends", value = "allow"}]\n',
            )
        )
        ws = yield defer.ensureDeferred(self._authenticated(node))
        bob, _ = yield defer.ensureDeferred(logged_in(self, node.c2s_port, "bob", "tcp"))
        bob.send("<message to='bot@echo.localhost' id='m1'><body>b</body></message>")
        error = yield defer.ensureDeferred(bob.element())
        self.assertEqual(error["type"], "error")
        conditions = [c.name for e in error.elements() if e.name == "error" for c in e.elements()]
        self.assertIn("not-allowed", conditions)
        alice, _ = yield defer.ensureDeferred(logged_in(self, node.c2s_port, "alice", "tcp"))
        alice.send("<message to='bot@echo.localhost' id='m2'><body>a</body></message>")
        got = yield ws.component.next()
        self.assertEqual(body(got), "a")

    @defer.inlineCallbacks
    def test_without_service_a_component_is_refused(self):
        """No service table: a component stream gets invalid-namespace in its own framing."""
        node = yield defer.ensureDeferred(start_node(self))
        ws = yield defer.ensureDeferred(ws_component_connect(self, node.http_port))
        header = yield defer.ensureDeferred(ws.component.open("echo.localhost"))
        self.assertEqual(header["xmlns"], NS_COMPONENT_ACCEPT)
        condition = yield defer.ensureDeferred(ws.component.stream_error())
        self.assertEqual(condition, "invalid-namespace")
        yield ws.closed
        self.assertIsNone(getattr(node, "components", None) and node.components.get("echo.localhost"))

    @defer.inlineCallbacks
    def test_legacy_client_stream_is_refused(self):
        """A jabber:client <stream:stream> opening is refused: clients use RFC 7395 <open/>."""
        node = yield defer.ensureDeferred(start_node(self, ws=service()))
        ws = yield defer.ensureDeferred(ws_component_connect(self, node.http_port))
        # Not a component stream: read the raw frames instead.
        ws.component.dataReceived = lambda data: None
        ws.component.header_ready.addErrback(lambda failure: None)
        ws.component.send(
            "<stream:stream xmlns='jabber:client' "
            "xmlns:stream='http://etherx.jabber.org/streams' to='localhost' version='1.0'>"
        )
        yield ws.closed
        header, error, footer = ws.frames
        self.assertIn(b"<stream:stream xmlns='jabber:client'", header)
        self.assertIn(b"<invalid-namespace", error)
        self.assertIn(b"RFC 7395", error)
        self.assertEqual(footer, b"</stream:stream>")
        self.assertEqual(list(node.sessions.all_sessions()), [])

    @defer.inlineCallbacks
    def test_clients_still_served_with_a_service_table(self):
        """With a service table, an <open/> first frame still starts a client stream."""
        node = yield defer.ensureDeferred(start_node(self, ws=service()))
        client = yield defer.ensureDeferred(ws_connect(node.http_port))
        self.addCleanup(client.dropConnection)
        client.send(f"<open xmlns='{NS_FRAMING}' to='localhost' version='1.0'/>")
        opened = yield defer.ensureDeferred(client.next())
        self.assertEqual((opened.uri, opened.name), (NS_FRAMING, "open"))
        yield defer.ensureDeferred(client.until("features"))

    @defer.inlineCallbacks
    def test_handshake_timeout(self):
        """No handshake within c2s_state_timeout: connection-timeout."""
        node = yield defer.ensureDeferred(
            start_node(self, ws=f"    c2s_state_timeout = 200\n{service()}")
        )
        ws = yield defer.ensureDeferred(ws_component_connect(self, node.http_port))
        yield defer.ensureDeferred(ws.component.open("echo.localhost"))
        condition = yield defer.ensureDeferred(ws.component.stream_error())
        self.assertEqual(condition, "connection-timeout")

    @defer.inlineCallbacks
    def test_oversized_stanza_is_policy_violation(self):
        """A stanza over the handler's max_stanza_size ends the stream with policy-violation."""
        node = yield defer.ensureDeferred(
            start_node(self, ws=f"    max_stanza_size = 1000\n{service()}")
        )
        ws = yield defer.ensureDeferred(self._authenticated(node))
        ws.component.send(
            "<message from='bot@echo.localhost' to='alice@localhost'><body>"
            + "x" * 1500
            + "</body></message>"
        )
        condition = yield defer.ensureDeferred(ws.component.stream_error())
        self.assertEqual(condition, "policy-violation")

    @defer.inlineCallbacks
    def test_huge_frame_is_policy_violation(self):
        """A frame over the WebSocket payload limit gets policy-violation before it is read."""
        node = yield defer.ensureDeferred(
            start_node(self, ws=f"    max_stanza_size = 1000\n{service()}")
        )
        ws = yield defer.ensureDeferred(self._authenticated(node))
        ws.component.send(
            "<message from='bot@echo.localhost' to='alice@localhost'><body>"
            + "x" * 200000
            + "</body></message>"
        )
        condition = yield defer.ensureDeferred(ws.component.stream_error())
        self.assertEqual(condition, "policy-violation")

    @defer.inlineCallbacks
    def test_binary_frame_is_not_well_formed(self):
        """Component streams are text: a binary frame ends the stream with not-well-formed."""
        node = yield defer.ensureDeferred(start_node(self, ws=service()))
        ws = yield defer.ensureDeferred(self._authenticated(node))
        ws.sendMessage(b"<presence/>", True)
        condition = yield defer.ensureDeferred(ws.component.stream_error())
        self.assertEqual(condition, "not-well-formed")

    @defer.inlineCallbacks
    def test_node_stop_is_system_shutdown(self):
        """Stopping the node closes the component stream with system-shutdown."""
        node = yield defer.ensureDeferred(start_node(self, ws=service()))
        ws = yield defer.ensureDeferred(self._authenticated(node))
        stopping = node.stopService()
        condition = yield defer.ensureDeferred(ws.component.stream_error())
        self.assertEqual(condition, "system-shutdown")
        yield stopping

    @defer.inlineCallbacks
    def test_unregistered_when_the_websocket_drops(self):
        """When the WebSocket drops, the domain is free again."""
        node = yield defer.ensureDeferred(start_node(self, ws=service()))
        ws = yield defer.ensureDeferred(self._authenticated(node))
        ws.dropConnection(abort=True)
        yield ws.closed
        yield defer.ensureDeferred(wait_for(lambda: node.components.get("echo.localhost") is None))

    @defer.inlineCallbacks
    def test_slow_reader_hits_max_fsm_queue(self):
        """A component that stops reading is closed once max_fsm_queue stanzas wait for it."""
        from test.modules.nodes import xml

        node = yield defer.ensureDeferred(start_node(self, ws=service("max_fsm_queue = 5")))
        ws = yield defer.ensureDeferred(self._authenticated(node))
        ws.transport.pauseProducing()  # the component stops reading
        big = "x" * 60000
        for index in range(50):
            if node.components.get("echo.localhost") is None:
                break
            yield node.router.route(
                xml(
                    f"<message from='alice@localhost/res' to='bot@echo.localhost' id='m{index}'>"
                    f"<body>{big}</body></message>"
                )
            )
        self.assertIsNone(node.components.get("echo.localhost"))
        self.assertLess(index, 49)
        ws.transport.resumeProducing()
        yield ws.closed

    @defer.inlineCallbacks
    def test_component_over_https(self):
        """Over an HTTPS listener (wss:) a component authenticates and receives stanzas."""
        directory = os.path.abspath(self.mktemp())
        os.makedirs(directory)
        certs = generate_certificates(directory, "localhost")
        listener = (
            f'  tls.certfile = "{certs.cert}"\n  tls.keyfile = "{certs.key}"\n'
            '  tls.verify_mode = "none"\n'
        )
        node = yield defer.ensureDeferred(start_node(self, ws=service(), listener=listener))
        creator = client_connection_creator("localhost", {"cacertfile": str(certs.ca_cert)})
        ws = yield defer.ensureDeferred(self._authenticated(node, tls_creator=creator))
        client, jid = yield defer.ensureDeferred(logged_in(self, node.c2s_port, "bob", "tcp"))
        client.send("<message to='bot@echo.localhost'><body>secure</body></message>")
        got = yield ws.component.next()
        self.assertEqual(body(got), "secure")
