"""mod_blocking (XEP-0191) over mod_privacy's enforcement, through a real node and c2s."""

from __future__ import annotations

from twisted.trial.unittest import TestCase

from mongoose.modules.privacy.items import NS_BLOCKING, NS_BLOCKING_ERRORS
from test.c2s import support as c2s
from test.support.sessions import IM_MODULES, connect, start_im_node

MODULES = IM_MODULES + """
[modules.mod_privacy]
[modules.mod_blocking]
"""


def error_of(stanza) -> tuple[str, list[tuple[str | None, str]]]:
    """The error type and the (namespace, name) of its children."""
    error = next(e for e in stanza.elements() if e.name == "error")
    return error["type"], [(c.uri, c.name) for c in error.elements()]


def blocking_iq(kind: str, payload: str, iq_id: str = "b1") -> str:
    """An IQ carrying a blocking payload."""
    return f"<iq type='{kind}' id='{iq_id}'>{payload}</iq>"


class BlockingTests(TestCase):
    """alice (two resources) blocks bob."""

    async def setUp(self):
        """A node with privacy and blocking, alice on two resources and bob online."""
        self.node = await start_im_node(self, MODULES)
        self.alice = await connect(self.node, "alice", "a")
        self.alice2 = await connect(self.node, "alice", "b")
        self.bob = await connect(self.node, "bob")
        for client in (self.alice, self.alice2, self.bob):
            await client.available()
            client.take()

    async def block(self, *jids: str) -> None:
        """alice blocks jids from resource a and checks the result."""
        items = "".join(f"<item jid='{j}'/>" for j in jids)
        await self.alice.send(blocking_iq("set", f"<block xmlns='{NS_BLOCKING}'>{items}</block>"))
        self.assertEqual(self.alice.last("iq", id="b1")["type"], "result")

    async def blocklist(self) -> list[str]:
        """alice's blocklist as the server reports it."""
        await self.alice.send(blocking_iq("get", f"<blocklist xmlns='{NS_BLOCKING}'/>", "g"))
        reply = self.alice.last("iq", id="g")
        self.assertEqual(reply["type"], "result")
        return [item["jid"] for item in next(reply.elements()).elements()]

    async def test_empty_blocklist(self):
        """A new user blocks nobody."""
        self.assertEqual(await self.blocklist(), [])

    async def test_block_pushes_and_lists(self):
        """Blocking is pushed to every resource and listed afterwards."""
        await self.block("bob@localhost")
        for client in (self.alice, self.alice2):
            push = [s for s in client.take() if s.name == "iq" and s.getAttribute("type") == "set"]
            self.assertEqual(len(push), 1, client.dump())
            block = next(push[0].elements())
            self.assertEqual((block.uri, block.name), (NS_BLOCKING, "block"))
            self.assertEqual([i["jid"] for i in block.elements()], ["bob@localhost"])
        self.assertEqual(await self.blocklist(), ["bob@localhost"])

    async def test_blocked_contact_gets_unavailable_presence(self):
        """bob sees alice's resources go unavailable when she blocks him."""
        await self.block("bob@localhost")
        gone = [
            s["from"] for s in self.bob.take()
            if s.name == "presence" and s.getAttribute("type") == "unavailable"
        ]
        self.assertEqual(sorted(gone), ["alice@localhost/a", "alice@localhost/b"])

    async def test_incoming_message_refused(self):
        """bob's message does not reach alice; bob gets service-unavailable."""
        await self.block("bob@localhost")
        self.alice.take()
        await self.bob.send("<message to='alice@localhost' type='chat' id='m'><body>hi</body></message>")
        self.assertEqual([s for s in self.alice.take() if s.name == "message"], [])
        errors = [s for s in self.bob.take() if s.name == "message"]
        self.assertEqual(len(errors), 1)
        self.assertEqual(error_of(errors[0])[1][0][1], "service-unavailable")

    async def test_incoming_presence_dropped_silently(self):
        """bob's presence does not reach alice and bob is not told."""
        await self.block("bob@localhost")
        self.alice.take()
        self.bob.take()
        await self.bob.send("<presence to='alice@localhost/a'/>")
        self.assertEqual(self.alice.take(), [])
        self.assertEqual(self.bob.take(), [])

    async def test_offline_message_refused(self):
        """A blocked contact cannot leave offline messages either."""
        await self.block("bob@localhost")
        await self.alice.disconnect()
        await self.alice2.disconnect()
        await self.bob.send("<message to='alice@localhost' type='chat' id='m'><body>hi</body></message>")
        self.assertEqual(await self.node.stores.offline.count_messages("localhost", "alice"), 0)
        errors = [s for s in self.bob.take() if s.name == "message"]
        self.assertEqual(error_of(errors[0])[1][0][1], "service-unavailable")

    async def test_outgoing_refused_with_blocked_condition(self):
        """alice cannot write to bob: not-acceptable with the XEP-0191 error element."""
        await self.block("bob@localhost")
        self.bob.take()
        await self.alice.send("<message to='bob@localhost' type='chat' id='m'><body>hi</body></message>")
        self.assertEqual([s for s in self.bob.take() if s.name == "message"], [])
        reply = self.alice.last("message", id="m")
        kind, conditions = error_of(reply)
        self.assertIn((None, "not-acceptable"), [(None, name) for _ns, name in conditions])
        self.assertIn((NS_BLOCKING_ERRORS, "blocked"), conditions)

    async def test_unblock_and_unblock_all(self):
        """Unblocking one JID, then everyone, restores delivery and is pushed."""
        await self.block("bob@localhost", "carol@localhost", "other.test")
        await self.alice.send(blocking_iq(
            "set", f"<unblock xmlns='{NS_BLOCKING}'><item jid='carol@localhost'/></unblock>", "u"
        ))
        self.assertEqual(await self.blocklist(), ["bob@localhost", "other.test"])
        self.alice2.take()
        await self.alice.send(blocking_iq("set", f"<unblock xmlns='{NS_BLOCKING}'/>", "u2"))
        self.assertEqual(await self.blocklist(), [])
        push = [s for s in self.alice2.take() if s.name == "iq"]
        self.assertEqual(next(push[-1].elements()).name, "unblock")
        await self.bob.send("<message to='alice@localhost/a' type='chat' id='m'><body>hi</body></message>")
        self.assertEqual(self.alice.last("message", id="m")["from"], "bob@localhost/res")

    async def test_domain_block(self):
        """Blocking a domain blocks every user there."""
        await self.block("localhost")
        self.alice.take()
        await self.bob.send("<message to='alice@localhost/a' type='chat' id='m'><body>x</body></message>")
        self.assertEqual([s for s in self.alice.take() if s.name == "message"], [])

    async def test_bad_requests(self):
        """An empty block, a malformed JID and a foreign blocklist are refused."""
        await self.alice.send(blocking_iq("set", f"<block xmlns='{NS_BLOCKING}'/>", "e1"))
        self.assertEqual(error_of(self.alice.last("iq", id="e1"))[1][0][1], "bad-request")
        await self.alice.send(blocking_iq(
            "set", f"<block xmlns='{NS_BLOCKING}'><item jid='a@b@c'/></block>", "e2"
        ))
        self.assertEqual(error_of(self.alice.last("iq", id="e2"))[1][0][1], "jid-malformed")
        await self.bob.send(
            f"<iq type='get' id='e3' to='alice@localhost'><blocklist xmlns='{NS_BLOCKING}'/></iq>"
        )
        self.assertEqual(error_of(self.bob.last("iq", id="e3"))[1][0][1], "forbidden")

    async def test_blocklist_survives_restart(self):
        """The blocklist is stored: a new node on the same database still enforces it."""
        await self.block("bob@localhost")
        data = self.node.test_data_dir
        await self.node.stopService()
        self.node = await start_im_node(self, MODULES, data=data)
        alice = await connect(self.node, "alice", "a")
        bob = await connect(self.node, "bob")
        await bob.send("<message to='alice@localhost/a' type='chat' id='m'><body>x</body></message>")
        self.assertEqual([s for s in alice.take() if s.name == "message"], [])


class RealSocketBlockingTests(TestCase):
    """Blocking seen by real c2s clients over loopback sockets."""

    async def test_blocked_user_messages_never_arrive(self):
        """After alice blocks bob, bob's messages do not reach alice's socket; carol's do."""
        node = await c2s.start_node(
            self, extra=MODULES,
            users=(("alice", "secret"), ("bob", "secret"), ("carol", "secret")),
        )
        alice, _ = await c2s.logged_in(self, node.c2s_port, "alice", "a")
        bob, _ = await c2s.logged_in(self, node.c2s_port, "bob", "b")
        carol, _ = await c2s.logged_in(self, node.c2s_port, "carol", "c")
        alice.send(
            f"<iq type='set' id='blk'><block xmlns='{NS_BLOCKING}'>"
            "<item jid='bob@localhost'/></block></iq>"
        )
        seen = []
        while True:
            el = await alice.element()
            seen.append(el)
            if el.name == "iq" and el.getAttribute("id") == "blk":
                break
        self.assertEqual(seen[-1]["type"], "result")
        bob.send("<message to='alice@localhost/a' type='chat' id='m1'><body>spam</body></message>")
        error = await bob.element()
        self.assertEqual((error.name, error["type"]), ("message", "error"))
        carol.send("<message to='alice@localhost/a' type='chat' id='m2'><body>hi</body></message>")
        got = await alice.element()
        self.assertEqual((got.name, got["id"], got["from"]), ("message", "m2", "carol@localhost/c"))
