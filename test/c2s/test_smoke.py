"""Smoke test."""

from twisted.trial.unittest import TestCase

from test.c2s.support import logged_in, start_node


class Smoke(TestCase):
    async def test_login_and_message(self):
        """Two users log in and exchange a message."""
        node = await start_node(self)
        alice, ajid = await logged_in(self, node.c2s_port, "alice", "a")
        bob, bjid = await logged_in(self, node.c2s_port, "bob", "b")
        self.assertEqual(ajid, "alice@localhost/a")
        alice.send("<presence/>")
        bob.send("<presence/>")
        alice.send("<message to='bob@localhost' type='chat'><body>hi</body></message>")
        msg = await bob.element()
        print(msg.toXml())
        self.assertEqual(msg["from"], "alice@localhost/a")
