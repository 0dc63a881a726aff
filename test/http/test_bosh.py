"""XMPP over BOSH (XEP-0124/XEP-0206) against a running node, over real sockets."""

from __future__ import annotations

from twisted.internet import defer, reactor, task
from twisted.trial import unittest
from twisted.web.client import ResponseNeverReceived

from mongoose.http.bosh import MAX_BODY_BYTES
from mongoose.xmpp.framing import parse_element
from test.c2s.support import logged_in
from test.http.support import BoshClient, bosh_post, start_node
from test.metrics.httpnode import raw_exchange, request_bytes, wait_until

NS_BIND = "http://jabber.org/protocol/httpbind"


def _names(body) -> list[str]:
    return [el.name for el in body.elements()]


def node_bosh_sessions(node) -> list[str]:
    """The sids of every open BOSH session of the node (read from its HTTP mounts)."""
    from mongoose.http.bosh import BoshResource

    sids: list[str] = []
    for listener in node.listeners:
        site = getattr(listener.factory, "wrappedFactory", None)
        site = getattr(site, "wrappedFactory", site)  # under TLS
        for mount in getattr(getattr(site, "dispatch", None), "mounts", ()):
            if isinstance(mount.resource, BoshResource):
                sids.extend(mount.resource.sessions)
    return sids


def _sleep(seconds: float) -> defer.Deferred:
    return task.deferLater(reactor, seconds, lambda: None)


class SessionTests(unittest.TestCase):
    """Session creation, login, chat, restart and terminate."""

    @defer.inlineCallbacks
    def test_creation_response(self):
        """The first response names the session's parameters and carries the stream features."""
        node = yield defer.ensureDeferred(start_node(self))
        client = BoshClient(node.http_port)
        answer = yield defer.ensureDeferred(client.create(wait=5, hold=1))
        self.assertEqual((answer.uri, answer.name), (NS_BIND, "body"))
        self.assertTrue(answer.getAttribute("sid"))
        self.assertEqual(answer["wait"], "5")
        self.assertEqual(answer["hold"], "1")
        self.assertEqual(answer["requests"], "2")
        self.assertEqual(answer["inactivity"], "30")
        self.assertEqual(answer["maxpause"], "120")
        self.assertEqual(answer["from"], "localhost")
        self.assertEqual(answer[("urn:xmpp:xbosh", "version")], "1.0")
        self.assertEqual(_names(answer), ["features"])
        features = next(answer.elements())
        self.assertIn("mechanisms", [el.name for el in features.elements()])
        yield defer.ensureDeferred(client.send(type="terminate"))

    @defer.inlineCallbacks
    def test_over_https_with_gzip(self):
        """Over an HTTPS listener with protocol.compress, a session is created gzip-encoded."""
        import gzip
        import os

        from mongoose.xmpp.tls import client_connection_creator, generate_certificates

        directory = os.path.abspath(self.mktemp())
        os.makedirs(directory)
        certs = generate_certificates(directory, "localhost")
        listener = (
            f'  tls.certfile = "{certs.cert}"\n  tls.keyfile = "{certs.key}"\n'
            '  tls.verify_mode = "none"\n  protocol.compress = true\n'
        )
        node = yield defer.ensureDeferred(start_node(self, listener=listener))
        creator = client_connection_creator("localhost", {"cacertfile": str(certs.ca_cert)})
        client = BoshClient(node.http_port)
        request = request_bytes(
            "POST", "/http-bind", {"Accept-Encoding": "gzip"},
            client.body(to="localhost", wait="5", hold="1", ver="1.6").encode(),
        )
        response, _ = yield defer.ensureDeferred(
            raw_exchange(node.http_port, request, tls_creator=creator)
        )
        self.assertEqual(response.status, 200)
        self.assertEqual(response.headers.get("content-encoding"), "gzip")
        answer = parse_element(gzip.decompress(response.body))
        self.assertIn(answer["sid"], node_bosh_sessions(node))

    @defer.inlineCallbacks
    def test_unknown_domain_is_host_unknown(self):
        """Creating a session for a domain not served here ends it with host-unknown."""
        node = yield defer.ensureDeferred(start_node(self))
        client = BoshClient(node.http_port)
        answer = yield defer.ensureDeferred(client.create(to="elsewhere.example"))
        self.assertEqual(answer["type"], "terminate")
        self.assertEqual(answer["condition"], "host-unknown")

    @defer.inlineCallbacks
    def test_login_and_chat_with_tcp_user(self):
        """A BOSH user and a TCP user exchange messages; presence reaches the BOSH user."""
        node = yield defer.ensureDeferred(start_node(self))
        bosh = BoshClient(node.http_port)
        bound = yield defer.ensureDeferred(bosh.login("alice"))
        self.assertEqual(str(bound.bind.jid), "alice@localhost/bosh")
        tcp, tcp_jid = yield defer.ensureDeferred(logged_in(self, node.c2s_port, "bob", "tcp"))
        # An empty request waits for the message the TCP user sends meanwhile.
        waiting = defer.ensureDeferred(bosh.send())
        yield _sleep(0.1)
        tcp.send("<message to='alice@localhost/bosh' type='chat'><body>hi bosh</body></message>")
        answer = yield waiting
        messages = [el for el in answer.elements() if el.name == "message"]
        self.assertEqual(len(messages), 1)
        self.assertEqual(messages[0]["from"], tcp_jid)
        self.assertEqual(str(messages[0].body), "hi bosh")
        waiting = defer.ensureDeferred(
            bosh.send(
                "<message xmlns='jabber:client' to='bob@localhost/tcp' type='chat'>"
                "<body>hi tcp</body></message>"
            )
        )
        got = yield defer.ensureDeferred(tcp.element())
        self.assertEqual(got["from"], "alice@localhost/bosh")
        self.assertEqual(str(got.body), "hi tcp")
        tcp.send("<presence to='alice@localhost/bosh'/>")
        answer = yield waiting
        presence = [el for el in answer.elements() if el.name == "presence"]
        self.assertEqual(presence[0]["from"], tcp_jid)
        yield defer.ensureDeferred(bosh.send(type="terminate"))

    @defer.inlineCallbacks
    def test_terminate_ends_the_session(self):
        """type='terminate' answers with terminate, unbinds the user and forgets the sid."""
        node = yield defer.ensureDeferred(start_node(self))
        bosh = BoshClient(node.http_port)
        yield defer.ensureDeferred(bosh.login("alice"))
        self.assertEqual(len(node.sessions.sessions_of("alice", "localhost")), 1)
        answer = yield defer.ensureDeferred(bosh.send(type="terminate"))
        self.assertEqual(answer["type"], "terminate")
        self.assertEqual(node.sessions.sessions_of("alice", "localhost"), [])
        again = yield defer.ensureDeferred(bosh.send())
        self.assertEqual((again["type"], again["condition"]), ("terminate", "item-not-found"))


class RequestTests(unittest.TestCase):
    """rid ordering, hold, retries, pause, acks and inactivity."""

    @defer.inlineCallbacks
    def test_requests_out_of_order_are_processed_in_rid_order(self):
        """A request that overtakes an earlier one waits for it; stanzas keep rid order."""
        node = yield defer.ensureDeferred(start_node(self))
        bosh = BoshClient(node.http_port)
        yield defer.ensureDeferred(bosh.login("alice"))
        tcp, _ = yield defer.ensureDeferred(logged_in(self, node.c2s_port, "bob", "tcp"))
        first, second = bosh.rid, bosh.rid + 1
        bosh.rid += 2
        message = (
            "<message xmlns='jabber:client' to='bob@localhost/tcp' type='chat'>"
            "<body>{}</body></message>"
        )
        late = defer.ensureDeferred(bosh.send(message.format("two"), rid=second))
        yield _sleep(0.1)
        early = defer.ensureDeferred(bosh.send(message.format("one"), rid=first))
        got = []
        for _ in range(2):
            got.append((yield defer.ensureDeferred(tcp.element())))
        self.assertEqual([str(el.body) for el in got], ["one", "two"])
        yield early
        yield late

    @defer.inlineCallbacks
    def test_hold_one_answers_the_older_request(self):
        """With hold=1 a second request makes the server answer the first at once."""
        node = yield defer.ensureDeferred(start_node(self))
        bosh = BoshClient(node.http_port)
        yield defer.ensureDeferred(bosh.login("alice"))
        first = defer.ensureDeferred(bosh.send())
        yield _sleep(0.1)
        self.assertFalse(first.called)
        second = defer.ensureDeferred(bosh.send())
        answer = yield first
        self.assertEqual(_names(answer), [])
        self.assertFalse(second.called)
        yield defer.ensureDeferred(bosh.send(type="terminate"))
        yield second

    @defer.inlineCallbacks
    def test_repeated_rid_gets_the_same_response(self):
        """A retried request (same rid) gets the response already sent for it."""
        node = yield defer.ensureDeferred(start_node(self))
        bosh = BoshClient(node.http_port)
        yield defer.ensureDeferred(bosh.create())
        rid = bosh.rid - 1
        status, content = yield defer.ensureDeferred(
            bosh_post(node.http_port, bosh.body(rid=rid))
        )
        self.assertEqual(status, 200)
        again = parse_element(content)
        self.assertEqual(again["sid"], bosh.sid)
        self.assertEqual(_names(again), ["features"])

    @defer.inlineCallbacks
    def test_session_survives_a_dropped_request(self):
        """A held request whose connection drops is retried; the message is not lost."""
        node = yield defer.ensureDeferred(start_node(self))
        bosh = BoshClient(node.http_port)
        yield defer.ensureDeferred(bosh.login("alice"))
        tcp, _ = yield defer.ensureDeferred(logged_in(self, node.c2s_port, "bob", "tcp"))
        rid = bosh.rid
        dropped = defer.ensureDeferred(bosh.send())
        yield _sleep(0.1)
        dropped.cancel()
        with self.assertRaises(ResponseNeverReceived):
            yield dropped
        tcp.send("<message to='alice@localhost/bosh' type='chat'><body>still there?</body></message>")
        yield _sleep(0.1)
        retried = yield defer.ensureDeferred(bosh.send(rid=rid))
        bodies = [str(el.body) for el in retried.elements() if el.name == "message"]
        self.assertEqual(bodies, ["still there?"])
        self.assertEqual(len(node.sessions.sessions_of("alice", "localhost")), 1)
        yield defer.ensureDeferred(bosh.send(type="terminate"))

    @defer.inlineCallbacks
    def test_rid_out_of_window_ends_the_session(self):
        """A rid far ahead of the window is item-not-found and the session is gone."""
        node = yield defer.ensureDeferred(start_node(self))
        bosh = BoshClient(node.http_port)
        yield defer.ensureDeferred(bosh.login("alice"))
        answer = yield defer.ensureDeferred(bosh.send(rid=bosh.rid + 50))
        self.assertEqual((answer["type"], answer["condition"]), ("terminate", "item-not-found"))
        self.assertEqual(node.sessions.sessions_of("alice", "localhost"), [])

    @defer.inlineCallbacks
    def test_pause_answers_held_requests(self):
        """pause within max_pause answers the held request; a longer one is policy-violation."""
        node = yield defer.ensureDeferred(
            start_node(self, modules="[modules.mod_bosh]\n  max_pause = 10")
        )
        bosh = BoshClient(node.http_port)
        answer = yield defer.ensureDeferred(bosh.create())
        self.assertEqual(answer["maxpause"], "10")
        paused = yield defer.ensureDeferred(bosh.send(pause="5"))
        self.assertEqual(paused.getAttribute("type"), None)
        refused = yield defer.ensureDeferred(bosh.send(pause="60"))
        self.assertEqual(
            (refused["type"], refused["condition"]), ("terminate", "policy-violation")
        )

    @defer.inlineCallbacks
    def test_server_acks(self):
        """With server_acks every response acknowledges the highest rid handled."""
        node = yield defer.ensureDeferred(
            start_node(self, modules="[modules.mod_bosh]\n  server_acks = true")
        )
        bosh = BoshClient(node.http_port)
        answer = yield defer.ensureDeferred(bosh.create())
        self.assertEqual(answer["ack"], str(bosh.rid - 1))
        yield defer.ensureDeferred(bosh.send(type="terminate"))

    @defer.inlineCallbacks
    def test_inactive_session_is_gone(self):
        """Without requests for `inactivity` seconds the session ends and the user is unbound."""
        node = yield defer.ensureDeferred(
            start_node(self, modules="[modules.mod_bosh]\n  inactivity = 1")
        )
        bosh = BoshClient(node.http_port)
        yield defer.ensureDeferred(bosh.login("alice"))
        self.assertEqual(len(node.sessions.sessions_of("alice", "localhost")), 1)
        yield _sleep(1.5)
        self.assertEqual(node.sessions.sessions_of("alice", "localhost"), [])
        answer = yield defer.ensureDeferred(bosh.send())
        self.assertEqual(answer["condition"], "item-not-found")


class ErrorTests(unittest.TestCase):
    """Bad input gets the protocol's errors, never a traceback."""

    @defer.inlineCallbacks
    def test_malformed_body_is_bad_request(self):
        """Not-well-formed XML gets HTTP 400 with a bad-request terminate body."""
        node = yield defer.ensureDeferred(start_node(self))
        status, content = yield defer.ensureDeferred(bosh_post(node.http_port, "<body rid='1'"))
        self.assertEqual(status, 400)
        answer = parse_element(content)
        self.assertEqual((answer["type"], answer["condition"]), ("terminate", "bad-request"))

    @defer.inlineCallbacks
    def test_not_a_bosh_body_is_bad_request(self):
        """A body in the wrong namespace or without rid gets bad-request."""
        node = yield defer.ensureDeferred(start_node(self))
        for text in (f"<body xmlns='{NS_BIND}'/>", "<body xmlns='jabber:client' rid='1'/>"):
            status, content = yield defer.ensureDeferred(bosh_post(node.http_port, text))
            self.assertEqual(status, 400)
            self.assertEqual(parse_element(content)["condition"], "bad-request")

    @defer.inlineCallbacks
    def test_unknown_sid_is_item_not_found(self):
        """A request for a sid that does not exist gets item-not-found."""
        node = yield defer.ensureDeferred(start_node(self))
        status, content = yield defer.ensureDeferred(
            bosh_post(node.http_port, f"<body xmlns='{NS_BIND}' rid='5' sid='nope'/>")
        )
        self.assertEqual(status, 200)
        self.assertEqual(parse_element(content)["condition"], "item-not-found")

    @defer.inlineCallbacks
    def test_oversized_body_is_refused(self):
        """A body over the limit is refused with HTTP 413 and a JSON error."""
        node = yield defer.ensureDeferred(start_node(self))
        big = (f"<body xmlns='{NS_BIND}' rid='1'>" + "x" * MAX_BODY_BYTES + "</body>").encode()
        response, _ = yield defer.ensureDeferred(
            raw_exchange(node.http_port, request_bytes("POST", "/http-bind", body=big))
        )
        self.assertEqual(response.status, 413)
        self.assertIn(b"too_large", response.body)
        # The server closes its side (ending its linger timer) once it sees ours closed.
        [http] = [s.factory for s in node.listeners if hasattr(s.factory, "open_connections")]
        yield defer.ensureDeferred(wait_until(lambda: http.open_connections == 0))

    @defer.inlineCallbacks
    def test_get_is_method_not_allowed(self):
        """GET on the BOSH path gets a JSON 405."""
        from twisted.web.client import Agent, readBody

        node = yield defer.ensureDeferred(start_node(self))
        response = yield Agent(reactor).request(
            b"GET", f"http://127.0.0.1:{node.http_port}/http-bind".encode()
        )
        body = yield readBody(response)
        self.assertEqual(response.code, 405)
        self.assertIn(b"method_not_allowed", body)
