"""mod_carboncopy (XEP-0280) through a real node and over real c2s sockets."""

from __future__ import annotations

from twisted.trial.unittest import TestCase

from mongoose.modules.mod_carboncopy import NS_CARBONS, NS_FORWARD
from mongoose.xmpp.namespaces import NS_CLIENT
from mongoose.xmpp.serialize import element_to_str
from test.c2s import support as c2s
from test.support.sessions import IM_MODULES, connect, start_im_node

MODULES = IM_MODULES + "\n[modules.mod_carboncopy]\n"


def carbons(client) -> list[tuple[str, str]]:
    """(direction, inner message id) of the carbons a client received."""
    found = []
    for stanza in client.take():
        if stanza.name != "message":
            continue
        for child in stanza.elements():
            if child.uri == NS_CARBONS:
                forwarded = next(child.elements())
                self_check = (forwarded.uri, forwarded.name)
                assert self_check == (NS_FORWARD, "forwarded"), self_check
                inner = next(forwarded.elements())
                found.append((child.name, inner.getAttribute("id")))
    return found


class CarbonTests(TestCase):
    """alice on resources a (carbons on), b (carbons on) and c (off); bob online."""

    async def setUp(self):
        """Start the node and enable carbons on a and b."""
        self.node = await start_im_node(self, MODULES)
        self.a = await connect(self.node, "alice", "a")
        self.b = await connect(self.node, "alice", "b")
        self.c = await connect(self.node, "alice", "c")
        self.bob = await connect(self.node, "bob")
        for client in (self.a, self.b, self.c, self.bob):
            await client.available()
        for client in (self.a, self.b):
            await client.send(f"<iq type='set' id='on'><enable xmlns='{NS_CARBONS}'/></iq>")
            self.assertEqual(client.last("iq", id="on")["type"], "result")
        for client in (self.a, self.b, self.c, self.bob):
            client.take()

    async def test_sent_carbon(self):
        """A chat message alice sends from c reaches enabled a and b as sent carbons."""
        await self.c.send("<message to='bob@localhost' type='chat' id='s1'><body>hi</body></message>")
        self.assertEqual(carbons(self.a), [("sent", "s1")])
        self.assertEqual(carbons(self.b), [("sent", "s1")])
        self.assertEqual(carbons(self.c), [])

    async def test_sender_gets_no_copy_of_its_own(self):
        """The sending resource is not sent its own message back."""
        await self.a.send("<message to='bob@localhost' type='chat' id='s2'><body>hi</body></message>")
        self.assertEqual(carbons(self.a), [])
        self.assertEqual(carbons(self.b), [("sent", "s2")])

    async def test_received_carbon_for_full_jid(self):
        """A message to alice/c is copied to a and b as received carbons, wrapped correctly."""
        await self.bob.send("<message to='alice@localhost/c' type='chat' id='r1'><body>yo</body></message>")
        received = [s for s in self.a.session.received if s.name == "message"]
        self.assertEqual(received[0]["from"], "alice@localhost")
        self.assertEqual(received[0]["to"], "alice@localhost/a")
        text = element_to_str(received[0], default_uri=NS_CLIENT)
        self.assertIn(f"<message xmlns='{NS_CLIENT}'", text.replace('"', "'"))
        self.assertEqual(carbons(self.a), [("received", "r1")])
        self.assertEqual(carbons(self.b), [("received", "r1")])

    async def test_bare_jid_message_copied_to_the_others(self):
        """A bare-JID message delivered to the top-priority resource is copied to the rest."""
        await self.c.available(priority=5)
        for client in (self.a, self.b, self.c):
            client.take()
        await self.bob.send("<message to='alice@localhost' type='chat' id='r2'><body>x</body></message>")
        self.assertEqual([s["id"] for s in self.c.take() if s.name == "message"], ["r2"])
        self.assertEqual(carbons(self.a), [("received", "r2")])

    async def test_private_and_no_copy(self):
        """<private/> and <no-copy/> messages are not copied; <private/> is stripped."""
        await self.c.send(
            "<message to='bob@localhost' type='chat' id='p'><body>x</body>"
            f"<private xmlns='{NS_CARBONS}'/></message>"
        )
        await self.c.send(
            "<message to='bob@localhost' type='chat' id='n'><body>x</body>"
            "<no-copy xmlns='urn:xmpp:hints'/></message>"
        )
        self.assertEqual(carbons(self.a), [])
        delivered = self.bob.last("message", id="p")
        self.assertEqual([c.name for c in delivered.elements()], ["body"])

    async def test_disable_and_session_end(self):
        """A session that disabled carbons gets none; the others still do."""
        await self.a.send(f"<iq type='set' id='off'><disable xmlns='{NS_CARBONS}'/></iq>")
        self.a.take()
        await self.c.send("<message to='bob@localhost' type='chat' id='s'><body>x</body></message>")
        self.assertEqual(carbons(self.a), [])
        self.assertEqual(carbons(self.b), [("sent", "s")])

    async def test_groupchat_and_headline_not_copied(self):
        """Only chat messages (and normal ones with a body) are copied."""
        await self.c.send("<message to='bob@localhost' type='headline' id='h'><body>x</body></message>")
        await self.c.send("<message to='bob@localhost' id='nb'><subject>x</subject></message>")
        await self.c.send("<message to='bob@localhost' id='nm'><body>x</body></message>")
        self.assertEqual(carbons(self.a), [("sent", "nm")])

    async def test_bad_requests(self):
        """A get, an unknown element and someone else's carbons are refused."""
        await self.a.send(f"<iq type='get' id='g'><enable xmlns='{NS_CARBONS}'/></iq>")
        self.assertEqual(self.a.last("iq", id="g")["type"], "error")
        await self.a.send(f"<iq type='set' id='u'><toggle xmlns='{NS_CARBONS}'/></iq>")
        self.assertEqual(self.a.last("iq", id="u")["type"], "error")
        await self.bob.send(
            f"<iq type='set' id='f' to='alice@localhost'><enable xmlns='{NS_CARBONS}'/></iq>"
        )
        error = self.bob.last("iq", id="f")
        self.assertEqual(next(next(e for e in error.elements() if e.name == "error")
                              .elements()).name, "forbidden")


class RealSocketCarbonTests(TestCase):
    """Carbons between real c2s connections."""

    async def test_second_resource_gets_received_carbon(self):
        """alice/two enabled carbons and sees bob's message to alice/one."""
        node = await c2s.start_node(self, extra=MODULES)
        one, _ = await c2s.logged_in(self, node.c2s_port, "alice", "one")
        two, _ = await c2s.logged_in(self, node.c2s_port, "alice", "two")
        bob, _ = await c2s.logged_in(self, node.c2s_port, "bob", "b")
        two.send(f"<iq type='set' id='on'><enable xmlns='{NS_CARBONS}'/></iq>")
        self.assertEqual((await two.element())["type"], "result")
        bob.send("<message to='alice@localhost/one' type='chat' id='m'><body>hi</body></message>")
        direct = await one.element()
        self.assertEqual(direct["id"], "m")
        copy = await two.element()
        received = next(copy.elements())
        self.assertEqual((received.uri, received.name), (NS_CARBONS, "received"))
        inner = next(next(received.elements()).elements())
        self.assertEqual((inner.uri, inner["from"], str(next(inner.elements()))),
                         (NS_CLIENT, "bob@localhost/b", "hi"))


class FastPathTests(TestCase):
    """Carbons cost nothing while nobody uses them."""

    async def test_delivery_hook_only_while_enabled(self):
        """message_delivered is hooked from the first enable until the last session leaves."""
        node = await start_im_node(self, MODULES)
        alice = await connect(node, "alice", "a")
        self.assertEqual(node.hooks.count("message_delivered", "localhost"), 0)
        await alice.send(f"<iq type='set' id='on'><enable xmlns='{NS_CARBONS}'/></iq>")
        self.assertEqual(node.hooks.count("message_delivered", "localhost"), 1)
        await alice.disconnect()
        self.assertEqual(node.hooks.count("message_delivered", "localhost"), 0)
