"""Resource binding and stanzas of an established session (RFC 6120 sections 7, 8, 10)."""

from twisted.trial.unittest import TestCase

from mongoose.hooks import Stop
from mongoose.xmpp.namespaces import NS_SESSION, NS_STANZAS
from test.c2s.support import connect, logged_in, start_node
from test.support.waiting import later


def stanza_error(el):
    """The defined condition of an error stanza."""
    for child in el.elements():
        if child.name == "error":
            for cond in child.elements():
                if cond.uri == NS_STANZAS and cond.name != "text":
                    return cond.name
    return None




class BindingTests(TestCase):
    """Resource binding, conflicts and the legacy session IQ."""

    async def authenticated(self, node, user="alice"):
        """A client that authenticated and restarted its stream, not yet bound."""
        client = await connect(node.c2s_port)
        self.addCleanup(client.transport.loseConnection)
        await client.open()
        self.assertEqual((await client.auth_plain(user, "secret")).name, "success")
        client.reset()
        _, features = await client.open()
        return client, features

    async def test_features_after_auth(self):
        """After SASL the features are bind and an optional session."""
        node = await start_node(self)
        _, features = await self.authenticated(node)
        names = [(c.name, [g.name for g in c.elements()]) for c in features.elements()]
        self.assertEqual(names, [("bind", []), ("session", ["optional"])])

    async def test_session_feature_off(self):
        """backwards_compatible_session = false leaves the session feature out."""
        node = await start_node(self, listener="  backwards_compatible_session = false")
        _, features = await self.authenticated(node)
        self.assertEqual([c.name for c in features.elements()], ["bind"])

    async def test_generated_resource(self):
        """Without a requested resource the server makes one up."""
        node = await start_node(self)
        client, _ = await self.authenticated(node)
        jid = await client.bind()
        self.assertTrue(jid.startswith("alice@localhost/"))
        self.assertGreater(len(jid), len("alice@localhost/"))

    async def test_invalid_resource(self):
        """A resource that is not valid gets bad-request and may be retried."""
        node = await start_node(self)
        client, _ = await self.authenticated(node)
        client.send(
            "<iq type='set' id='b'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>"
            f"<resource>{'x' * 1100}</resource></bind></iq>"
        )
        reply = await client.element()
        self.assertEqual(stanza_error(reply), "bad-request")
        self.assertEqual(await client.bind("ok"), "alice@localhost/ok")

    async def test_stanza_before_bind(self):
        """A stanza before binding gets not-allowed; the stream stays open."""
        node = await start_node(self)
        client, _ = await self.authenticated(node)
        client.send("<message id='m' to='bob@localhost'><body>x</body></message>")
        reply = await client.element()
        self.assertEqual(
            (reply.getAttribute("type"), stanza_error(reply)), ("error", "not-allowed")
        )
        self.assertEqual(await client.bind("r"), "alice@localhost/r")

    async def test_conflict(self):
        """A second session with the same resource wins; the first gets conflict."""
        node = await start_node(self)
        first, _ = await logged_in(self, node.c2s_port, "alice", "same")
        second, jid = await logged_in(self, node.c2s_port, "alice", "same")
        error = await first.closed_with()
        self.assertEqual(error.condition, "conflict")
        self.assertEqual(jid, "alice@localhost/same")
        self.assertEqual(node.sessions.count("localhost"), 1)
        second.send(
            "<iq type='set' id='s'><session xmlns='urn:ietf:params:xml:ns:xmpp-session'/></iq>"
        )
        self.assertEqual((await second.element()).getAttribute("type"), "result")

    async def test_session_iq(self):
        """The legacy session IQ is answered with a result."""
        node = await start_node(self)
        client, jid = await logged_in(self, node.c2s_port)
        client.send(f"<iq type='set' id='s1'><session xmlns='{NS_SESSION}'/></iq>")
        reply = await client.element()
        self.assertEqual((reply["type"], reply["id"], reply["to"]), ("result", "s1", jid))

    async def test_session_iq_off(self):
        """With backwards_compatible_session = false the session IQ is not understood."""
        node = await start_node(self, listener="  backwards_compatible_session = false")
        client, _ = await logged_in(self, node.c2s_port)
        client.send(f"<iq type='set' id='s1'><session xmlns='{NS_SESSION}'/></iq>")
        reply = await client.element()
        self.assertEqual(stanza_error(reply), "service-unavailable")


class StanzaTests(TestCase):
    """What an established session does with the client's stanzas."""

    async def pair(self, node=None):
        """alice/a and bob/b logged in, bob available."""
        node = node or await start_node(self)
        alice, _ = await logged_in(self, node.c2s_port, "alice", "a")
        bob, _ = await logged_in(self, node.c2s_port, "bob", "b")
        bob.send("<presence/>")
        await later(0.05)
        return node, alice, bob

    async def test_from_is_stamped(self):
        """The server sets 'from' to the full JID, also over a bare 'from'."""
        _, alice, bob = await self.pair()
        alice.send("<message to='bob@localhost'><body>1</body></message>")
        alice.send("<message from='alice@localhost' to='bob@localhost'><body>2</body></message>")
        first, second = await bob.element(), await bob.element()
        self.assertEqual(first["from"], "alice@localhost/a")
        self.assertEqual(second["from"], "alice@localhost/a")

    async def test_no_to_goes_to_own_account(self):
        """An IQ without 'to' is handled for the user's bare JID (no handler: service-unavailable)."""
        _, alice, _ = await self.pair()
        alice.send("<iq type='get' id='q'><query xmlns='urn:example:none'/></iq>")
        reply = await alice.element()
        self.assertEqual(reply.getAttribute("from", "alice@localhost"), "alice@localhost")
        self.assertEqual((reply["id"], stanza_error(reply)), ("q", "service-unavailable"))

    async def test_jid_malformed(self):
        """A 'to' that is not a JID gets jid-malformed."""
        _, alice, _ = await self.pair()
        alice.send("<message id='x' to='bad@@jid'><body>x</body></message>")
        reply = await alice.element()
        self.assertEqual((reply["id"], stanza_error(reply)), ("x", "jid-malformed"))

    async def test_user_send_packet_drops_and_rewrites(self):
        """user_send_packet can drop a stanza (None) or replace it."""
        node = await start_node(self)

        def handler(stanza, session):
            body = stanza.firstChildElement()
            if body is not None and str(body) == "drop":
                return Stop(None)
            stanza["seen"] = session.jid.full()
            return stanza

        node.hooks.add("user_send_packet", handler, host="localhost")
        _, alice, bob = await self.pair(node)
        alice.send("<message to='bob@localhost'><body>drop</body></message>")
        alice.send("<message to='bob@localhost'><body>keep</body></message>")
        received = await bob.element()
        self.assertEqual(str(received.firstChildElement()), "keep")
        self.assertEqual(received["seen"], "alice@localhost/a")

    async def test_slow_hook_keeps_order(self):
        """A hook answering later does not let the next stanza overtake."""
        node = await start_node(self)

        def handler(stanza, session):
            body = stanza.firstChildElement()
            if body is not None and str(body) == "slow":
                return later(0.2, stanza)
            return stanza

        node.hooks.add("user_send_packet", handler, host="localhost")
        _, alice, bob = await self.pair(node)
        alice.send(
            "<message to='bob@localhost'><body>slow</body></message>"
            "<message to='bob@localhost'><body>fast</body></message>"
        )
        first, second = await bob.element(), await bob.element()
        self.assertEqual(
            [str(first.firstChildElement()), str(second.firstChildElement())], ["slow", "fast"]
        )

    async def test_presence_broadcast(self):
        """Broadcast presence sets priority/presence and runs user_presence_broadcast."""
        node = await start_node(self)
        calls = []
        node.hooks.add(
            "user_presence_broadcast",
            lambda session, stanza, was: calls.append(
                (session.priority, stanza.getAttribute("type"), was)
            ),
            host="localhost",
        )
        alice, _ = await logged_in(self, node.c2s_port, "alice", "a")
        (session,) = node.sessions.all_sessions("localhost")
        self.assertIsNone(session.priority)
        alice.send("<presence><priority>5</priority></presence>")
        alice.send("<presence><priority>-3</priority><show>away</show></presence>")
        alice.send("<presence type='unavailable'/>")
        alice.send("<presence><priority>not a number</priority></presence>")
        await later(0.1)
        self.assertEqual(
            calls,
            [(5, None, False), (-3, None, True), (None, "unavailable", True), (0, None, False)],
        )
        self.assertEqual(session.presence.name, "presence")

    async def test_disconnect_unbinds(self):
        """A dropped TCP connection unbinds the session (sm_remove_connection runs)."""
        node = await start_node(self)
        removed = []
        node.hooks.add("sm_remove_connection", lambda session: removed.append(session.jid.full()))
        alice, _ = await logged_in(self, node.c2s_port, "alice", "gone")
        alice.transport.abortConnection()
        await alice.closed
        await later(0.05)
        self.assertEqual(removed, ["alice@localhost/gone"])
        self.assertEqual(node.sessions.count(), 0)

    async def test_session_info(self):
        """The session records address, transport, start time and mechanism."""
        node = await start_node(self)
        await logged_in(self, node.c2s_port, "alice", "a")
        (session,) = node.sessions.all_sessions("localhost")
        self.assertEqual(session.info["ip"], "127.0.0.1")
        self.assertEqual(session.info["transport"], "tcp")
        self.assertEqual(session.info["auth_mechanism"], "PLAIN")
        self.assertIsInstance(session.info["started"], float)
