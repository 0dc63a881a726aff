"""mod_ping through the real router: answers (XEP-0199) and server pings to clients."""

from twisted.internet.task import Clock
from twisted.trial.unittest import TestCase

from test.modules.nodes import login, start_node, xml

PING = """
[modules.mod_ping]
  send_pings = true
  ping_interval = 10
  ping_req_timeout = 5
  timeout_action = "kill"
"""


class PingAnswerTests(TestCase):
    """The server answers pings to itself and to bare JIDs."""

    async def test_ping_server(self):
        """A ping to the domain gets an empty result with the same id."""
        node = await start_node(self, "[modules.mod_ping]\n")
        alice = await login(node, "alice")
        await node.router.route(xml(
            "<iq type='get' id='p1' from='alice@localhost/res' to='localhost'>"
            "<ping xmlns='urn:xmpp:ping'/></iq>"
        ))
        reply = alice.received[-1]
        self.assertEqual((reply["type"], reply["id"], reply["from"]), ("result", "p1", "localhost"))
        self.assertEqual(list(reply.elements()), [])

    async def test_ping_set_is_bad_request(self):
        """A ping sent as an IQ set is refused with bad-request."""
        node = await start_node(self, "[modules.mod_ping]\n")
        alice = await login(node, "alice")
        await node.router.route(xml(
            "<iq type='set' id='p2' from='alice@localhost/res' to='localhost'>"
            "<ping xmlns='urn:xmpp:ping'/></iq>"
        ))
        self.assertIn("bad-request", alice.received[-1].toXml())


class ServerPingTests(TestCase):
    """send_pings: idle sessions are pinged and killed when they stay silent."""

    async def test_unanswered_ping_kills(self):
        """No answer within ping_req_timeout closes the session with connection-timeout."""
        clock = Clock()
        node = await start_node(self, PING)
        ping = node.modules.running[-1][2]
        ping.ctx.clock = clock
        alice = await login(node, "alice")
        clock.advance(10)
        sent = alice.received[-1]
        self.assertEqual((sent.name, sent["type"]), ("iq", "get"))
        self.assertEqual(next(sent.elements()).uri, "urn:xmpp:ping")
        clock.advance(5)
        self.assertEqual(alice.closed[0], "connection-timeout")

    async def test_answered_ping_reschedules(self):
        """An answered ping keeps the session and schedules the next one."""
        clock = Clock()
        node = await start_node(self, PING)
        ping = node.modules.running[-1][2]
        ping.ctx.clock = clock
        alice = await login(node, "alice")
        clock.advance(10)
        sent = alice.received[-1]
        await node.router.route(xml(
            f"<iq type='result' id='{sent['id']}' from='alice@localhost/res' to='localhost'/>"
        ))
        clock.advance(5)
        self.assertIsNone(alice.closed)
        clock.advance(5)
        self.assertEqual(len([s for s in alice.received if s.name == "iq"]), 2)
