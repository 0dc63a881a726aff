"""``hibernate_after``: idle client connections free their XML parser, over real sockets."""

from __future__ import annotations

from twisted.trial.unittest import TestCase

from mongoose.xmpp.jid import JID
from test.c2s.support import logged_in, start_node
from test.support.waiting import until


def protocol_of(node, jid: str):
    """The C2SProtocol of a bound session."""
    return node.sessions.get(JID.parse(jid))._transport


class HibernationTests(TestCase):
    """The listener's sweep frees idle parsers; the next stanza rebuilds one."""

    async def test_idle_connection_hibernates_and_goes_on(self):
        """After two sweeps without input the parser sleeps; stanzas still flow both ways."""
        node = await start_node(self)
        alice, alice_jid = await logged_in(self, node.c2s_port, "alice")
        bob, bob_jid = await logged_in(self, node.c2s_port, "bob")
        protocol = protocol_of(node, alice_jid)
        factory = protocol.factory
        factory.hibernate_idle()  # marks every connection idle
        self.assertEqual(factory.hibernate_idle(), 0)  # one idle period is not enough
        self.assertGreaterEqual(factory.hibernate_idle(), 2)
        self.assertTrue(protocol.parser.hibernating)
        alice.send(f"<message to='{bob_jid}' type='chat' id='m1'><body>still here</body></message>")
        received = await bob.element()
        self.assertEqual((received.name, str(received.body)), ("message", "still here"))
        self.assertFalse(protocol.parser.hibernating)
        alice.send("<iq type='get' id='p1'><ping xmlns='urn:xmpp:ping'/></iq>")
        answer = await alice.element()
        self.assertEqual((answer.name, answer["id"]), ("iq", "p1"))

    async def test_busy_connection_is_left_alone(self):
        """A connection that read something since the last sweep keeps its parser."""
        node = await start_node(self)
        alice, alice_jid = await logged_in(self, node.c2s_port, "alice")
        protocol = protocol_of(node, alice_jid)
        protocol.factory.hibernate_idle()
        protocol.factory.hibernate_idle()
        alice.send("<iq type='get' id='p1'><ping xmlns='urn:xmpp:ping'/></iq>")
        await alice.element()
        protocol.factory.hibernate_idle()
        protocol.factory.hibernate_idle()
        self.assertFalse(protocol.parser.hibernating)

    async def test_infinity_disables_the_sweep(self):
        """``hibernate_after = "infinity"`` starts no sweep."""
        node = await start_node(self, listener='  hibernate_after = "infinity"')
        alice, alice_jid = await logged_in(self, node.c2s_port, "alice")
        self.assertIsNone(protocol_of(node, alice_jid).factory._sweeper)

    async def test_sweep_runs_on_its_own(self):
        """With the default the sweep runs every second: an idle parser sleeps within ~3 s."""
        node = await start_node(self)
        alice, alice_jid = await logged_in(self, node.c2s_port, "alice")
        protocol = protocol_of(node, alice_jid)
        await until(lambda: protocol.parser.hibernating, timeout=5)
        alice.send("</stream:stream>")
        await alice.closed
