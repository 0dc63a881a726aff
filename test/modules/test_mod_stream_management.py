"""mod_stream_management (XEP-0198) over real sockets: acks, resumption, limits, timeouts."""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase, TestCase
from zope.interface.verify import verifyObject

from mongoose.modules.mod_stream_management import NS_SM
from test.c2s.support import connect, logged_in, start_node
from test.support.waiting import later, until

MODULES = """
[modules.mod_presence]
[modules.mod_roster]
[modules.mod_offline]
[modules.mod_stream_management]
{options}
"""






def body(el) -> str | None:
    """The body text of a message element."""
    for child in el.elements():
        if child.name == "body":
            return str(child)
    return None


class SMTestCase(TestCase):
    """A node with the IM modules and stream management."""

    options = ""

    async def setUp(self):
        """Start the node; alice logs in."""
        self.node = await start_node(self, extra=MODULES.format(options=self.options))
        self.port = self.node.c2s_port

    async def authenticated(self, user: str = "alice"):
        """A client that authenticated and restarted its stream, not yet bound (to resume)."""
        client = await connect(self.port)
        self.addCleanup(client.transport.loseConnection)
        await client.open()
        await client.auth_plain(user, "secret")
        client.reset()
        await client.open()
        return client

    async def login(self, user: str = "alice", resource: str = "phone"):
        """A logged-in, bound client."""
        client, jid = await logged_in(self, self.port, user, resource)
        return client

    async def enable(self, client, resume: bool = True):
        """Enable stream management; return <enabled/>."""
        attr = " resume='true'" if resume else ""
        client.send(f"<enable xmlns='{NS_SM}'{attr}/>")
        return await client.element()

    async def messages(self, client, count: int):
        """Read elements until ``count`` messages arrived; return them (skipping <r/>)."""
        found = []
        while len(found) < count:
            el = await client.element()
            if el.name in ("message", "presence", "iq"):
                client.stanzas = getattr(client, "stanzas", 0) + 1
            if el.name == "message":
                found.append(el)
        return found

    def send_to_alice(self, sender, text: str) -> None:
        """``sender`` sends alice a chat message."""
        sender.send(f"<message to='alice@localhost' type='chat'><body>{text}</body></message>")


class FeatureAndAckTests(SMTestCase):
    """Advertising, enabling and acknowledging."""

    async def test_feature_after_authentication(self):
        """<sm xmlns='urn:xmpp:sm:3'/> is among the features after SASL."""
        client = await connect(self.port)
        self.addCleanup(client.transport.loseConnection)
        _, features = await client.open()
        self.assertNotIn(NS_SM, [c.uri for c in features.elements()])
        await client.auth_plain("alice", "secret")
        client.reset()
        _, features = await client.open()
        self.assertIn(NS_SM, [c.uri for c in features.elements()])

    async def test_enable_with_resume(self):
        """<enabled/> carries an id, resume='true' and max=resume_timeout."""
        client = await self.login()
        enabled = await self.enable(client)
        self.assertEqual(enabled.name, "enabled")
        self.assertEqual(enabled["resume"], "true")
        self.assertEqual(enabled["max"], "600")
        self.assertTrue(enabled.getAttribute("id"))

    async def test_enable_twice_fails(self):
        """A second <enable/> is answered with <failed><unexpected-request/></failed>."""
        client = await self.login()
        await self.enable(client)
        failed = await self.enable(client)
        self.assertEqual(failed.name, "failed")
        self.assertEqual(next(failed.elements()).name, "unexpected-request")

    async def test_request_counts_handled_stanzas(self):
        """<r/> is answered with the number of stanzas handled since <enable/>."""
        client = await self.login()
        await self.enable(client, resume=False)
        client.send("<presence type='probe' to='bob@localhost'/>")
        client.send("<message to='nobody@example.net'><body>x</body></message>")
        client.send(f"<r xmlns='{NS_SM}'/>")
        while True:
            el = await client.element()
            if el.name == "a":
                break
        self.assertEqual(el["h"], "2")

    async def test_server_requests_acks(self):
        """With ack_freq = 1 every stanza sent to the client is followed by <r/>."""
        alice = await self.login()
        await self.enable(alice)
        alice.send("<presence/>")
        bob = await self.login("bob", "pc")
        await later(0.1)
        self.send_to_alice(bob, "one")
        await self.messages(alice, 1)
        after = await alice.element()
        self.assertEqual(after.name, "r")
        self.assertEqual(after.uri, NS_SM)

    async def test_ack_too_high_closes(self):
        """An <a/> acknowledging more than was sent closes with undefined-condition."""
        client = await self.login()
        await self.enable(client)
        client.send(f"<a xmlns='{NS_SM}' h='5'/>")
        error = await client.closed_with()
        self.assertEqual(error.condition, "undefined-condition")

    async def test_unknown_sm_element_without_module(self):
        """Without the module an <enable/> is an unsupported stanza type."""
        node = await start_node(self)
        client, _ = await logged_in(self, node.c2s_port)
        client.send(f"<enable xmlns='{NS_SM}'/>")
        error = await client.closed_with()
        self.assertEqual(error.condition, "unsupported-stanza-type")


class ResumptionTests(SMTestCase):
    """Killing the TCP connection and resuming."""

    async def test_resume_gets_every_unacked_stanza_once(self):
        """Messages unacked at the drop and sent while detached arrive once after <resume/>."""
        alice = await self.login()
        enabled = await self.enable(alice)
        alice.send("<presence/>")
        bob = await self.login("bob", "pc")
        self.send_to_alice(bob, "m1")
        self.send_to_alice(bob, "m2")
        first = await self.messages(alice, 2)
        self.assertEqual([body(m) for m in first], ["m1", "m2"])
        acked = alice.stanzas - 1
        alice.send(f"<a xmlns='{NS_SM}' h='{acked}'/>")  # everything but m2
        await later(0.1)
        alice.transport.abortConnection()
        await alice.closed
        await later(0.1)
        self.send_to_alice(bob, "m3")
        await later(0.1)
        session = self.node.sessions.sessions_of("alice", "localhost")[0]
        self.assertTrue(session.detached)

        again = await self.authenticated()
        again.send(f"<resume xmlns='{NS_SM}' previd='{enabled['id']}' h='{acked}'/>")
        resumed = await again.element()
        self.assertEqual(resumed.name, "resumed")
        self.assertEqual(resumed["h"], "1")  # alice sent one stanza: her presence
        got = await self.messages(again, 2)
        self.assertEqual([body(m) for m in got], ["m2", "m3"])
        # Nothing more: the next message is a fresh one.
        self.send_to_alice(bob, "m4")
        (m4,) = await self.messages(again, 1)
        self.assertEqual(body(m4), "m4")
        self.assertIs(self.node.sessions.sessions_of("alice", "localhost")[0], session)
        self.assertFalse(session.detached)

    async def test_resume_while_old_connection_is_open(self):
        """Resuming a session whose connection is still open closes that one with conflict."""
        alice = await self.login()
        enabled = await self.enable(alice)
        again = await self.authenticated()
        again.send(f"<resume xmlns='{NS_SM}' previd='{enabled['id']}' h='0'/>")
        self.assertEqual((await again.element()).name, "resumed")
        error = await alice.closed_with()
        self.assertEqual(error.condition, "conflict")
        await later(0.1)
        (session,) = self.node.sessions.sessions_of("alice", "localhost")
        self.assertFalse(session.detached)
        again.send(f"<r xmlns='{NS_SM}'/>")
        self.assertEqual((await again.element()).name, "a")

    async def test_unknown_id_fails(self):
        """<resume/> with an unknown id gets <failed><item-not-found/></failed>."""
        client = await self.authenticated()
        client.send(f"<resume xmlns='{NS_SM}' previd='nope' h='0'/>")
        failed = await client.element()
        self.assertEqual(failed.name, "failed")
        self.assertEqual(next(failed.elements()).name, "item-not-found")
        jid = await client.bind("again")
        self.assertEqual(jid, "alice@localhost/again")

    async def test_other_user_cannot_resume(self):
        """bob cannot resume alice's session."""
        alice = await self.login()
        enabled = await self.enable(alice)
        alice.transport.abortConnection()
        await alice.closed
        client = await self.authenticated("bob")
        client.send(f"<resume xmlns='{NS_SM}' previd='{enabled['id']}' h='0'/>")
        failed = await client.element()
        self.assertEqual(failed.name, "failed")


class TimeoutTests(SMTestCase):
    """A session that is not resumed in time."""

    options = "  resume_timeout = 1\n  stale_h.enabled = true"

    async def test_unacked_messages_go_offline(self):
        """After resume_timeout the unacked messages are in offline storage."""
        alice = await self.login()
        enabled = await self.enable(alice)
        alice.send("<presence/>")
        bob = await self.login("bob", "pc")
        self.send_to_alice(bob, "lost?")
        await self.messages(alice, 1)
        alice.transport.abortConnection()
        await alice.closed
        self.send_to_alice(bob, "while away")
        await until(lambda: not self.node.sessions.sessions_of("alice", "localhost"))
        await later(0.2)
        stored = await self.node.stores.offline.count_messages("localhost", "alice")
        self.assertEqual(stored, 2)
        client = await self.authenticated()
        client.send(f"<resume xmlns='{NS_SM}' previd='{enabled['id']}' h='0'/>")
        failed = await client.element()
        self.assertEqual(failed.name, "failed")
        self.assertEqual(failed["h"], "1")


class BufferLimitTests(SMTestCase):
    """buffer_max."""

    options = "  buffer_max = 2"

    async def test_too_many_unacked_closes(self):
        """The third unacked stanza closes the stream with resource-constraint; none is lost."""
        alice = await self.login()
        await self.enable(alice)
        alice.send("<presence/>")
        bob = await self.login("bob", "pc")
        for text in ("a", "b", "c"):
            self.send_to_alice(bob, text)
        error = await alice.closed_with()
        self.assertEqual(stream_error_condition(error), "resource-constraint")
        await later(0.2)
        stored = await self.node.stores.offline.count_messages("localhost", "alice")
        self.assertEqual(stored, 3)


def stream_error_condition(error) -> str | None:
    """The condition of a StreamError, or None."""
    return None if error is None else error.condition



class InterfaceTests(SynchronousTestCase):
    """The per-session states provide IStreamFilter."""

    def test_filters_provide_interface(self):
        """SessionState and ClientState pass verifyObject(IStreamFilter)."""
        from mongoose.c2s.interfaces import IStreamFilter
        from mongoose.modules.mod_csi import ClientState
        from mongoose.modules.mod_stream_management import SessionState

        class Module:
            buffering = True

        self.assertTrue(verifyObject(IStreamFilter, SessionState(Module(), object(), None)))
        self.assertTrue(verifyObject(IStreamFilter, ClientState(object(), 5)))


class CounterWrapTests(SynchronousTestCase):
    """``h`` wraps at 2^32 (XEP-0198 section 4) without losing track of the buffer."""

    def state(self, sent: int, unacked: int):
        """A SessionState that sent ``sent`` stanzas, the last ``unacked`` of them unacknowledged."""
        from collections import deque

        from mongoose.modules.mod_stream_management import SessionState

        class Module:
            buffering = True

        state = SessionState(Module(), object(), None)
        state.sent = sent
        state.buffer = deque(range(unacked))
        return state

    def test_wrapped_h_acknowledges(self):
        """After 2^32 + 3 stanzas, h=1 acknowledges up to the 2^32+1st."""
        state = self.state(2**32 + 3, 5)  # acknowledged so far: 2^32 - 2
        self.assertTrue(state.acknowledge(1))
        self.assertEqual(len(state.buffer), 2)

    def test_older_h_is_ignored(self):
        """An acknowledgement older than the last one changes nothing."""
        state = self.state(10, 3)  # 7 acknowledged
        self.assertTrue(state.acknowledge(5))
        self.assertEqual(len(state.buffer), 3)

    def test_too_high_h_is_refused(self):
        """h beyond what was sent is refused, also across the wrap."""
        self.assertFalse(self.state(10, 3).acknowledge(11))
        self.assertFalse(self.state(2**32 + 3, 5).acknowledge(4))
