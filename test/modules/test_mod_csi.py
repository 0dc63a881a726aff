"""mod_csi (XEP-0352) over real sockets: holding stanzas while inactive."""

from __future__ import annotations

from twisted.trial.unittest import TestCase

from mongoose.modules.mod_csi import NS_CSI
from mongoose.modules.mod_stream_management import NS_SM
from test.c2s.support import connect, logged_in, start_node
from test.support.waiting import later

MODULES = """
[modules.mod_presence]
[modules.mod_roster]
[modules.mod_offline]
[modules.mod_stream_management]
[modules.mod_csi]
  buffer_max = 3
"""




def body(el) -> str | None:
    """The body text of a message."""
    for child in el.elements():
        if child.name == "body":
            return str(child)
    return None


class CSITests(TestCase):
    """alice indicates her state; bob sends her messages."""

    async def setUp(self):
        """Start the node; alice is online and available, bob logged in."""
        self.node = await start_node(self, extra=MODULES)
        self.port = self.node.c2s_port
        self.alice, _ = await logged_in(self, self.port, "alice", "phone")
        self.alice.send("<presence/>")
        self.bob, _ = await logged_in(self, self.port, "bob", "pc")
        await later(0.1)
        self.alice.events.clear()

    def send(self, *texts: str) -> None:
        """bob sends alice one chat message per text."""
        for text in texts:
            self.bob.send(
                f"<message to='alice@localhost' type='chat'><body>{text}</body></message>"
            )

    def bodies(self) -> list[str]:
        """Bodies of the messages alice received so far."""
        return [
            body(value) for kind, value in self.alice.events
            if kind == "element" and value.name == "message"
        ]

    async def test_feature(self):
        """<csi xmlns='urn:xmpp:csi:0'/> is advertised after authentication."""
        client = await connect(self.port)
        self.addCleanup(client.transport.loseConnection)
        await client.open()
        await client.auth_plain("alice", "secret")
        client.reset()
        _, features = await client.open()
        self.assertIn(NS_CSI, [c.uri for c in features.elements()])

    async def test_inactive_holds_until_active(self):
        """Nothing arrives while inactive; <active/> sends everything in order."""
        self.alice.send(f"<inactive xmlns='{NS_CSI}'/>")
        await later(0.05)
        self.send("one", "two")
        await later(0.3)
        self.assertEqual(self.bodies(), [])
        self.alice.send(f"<active xmlns='{NS_CSI}'/>")
        await later(0.3)
        self.assertEqual(self.bodies(), ["one", "two"])

    async def test_full_buffer_is_flushed(self):
        """More than buffer_max held stanzas are all sent at once."""
        self.alice.send(f"<inactive xmlns='{NS_CSI}'/>")
        await later(0.05)
        self.send("1", "2", "3")
        await later(0.3)
        self.assertEqual(self.bodies(), [])
        self.send("4")
        await later(0.3)
        self.assertEqual(self.bodies(), ["1", "2", "3", "4"])

    async def test_held_messages_go_offline_on_drop(self):
        """Held messages of a dropped connection (no stream management) are stored offline."""
        self.alice.send(f"<inactive xmlns='{NS_CSI}'/>")
        await later(0.05)
        self.send("kept")
        await later(0.2)
        self.alice.transport.abortConnection()
        await self.alice.closed
        await later(0.2)
        stored = await self.node.stores.offline.count_messages("localhost", "alice")
        self.assertEqual(stored, 1)

    async def test_held_messages_survive_resumption(self):
        """With stream management, held messages are delivered after <resume/>."""
        self.alice.send(f"<enable xmlns='{NS_SM}' resume='true'/>")
        await later(0.1)
        enabled = next(v for k, v in self.alice.events if k == "element" and v.name == "enabled")
        self.alice.send(f"<inactive xmlns='{NS_CSI}'/>")
        await later(0.05)
        self.send("held")
        await later(0.2)
        self.alice.transport.abortConnection()
        await self.alice.closed
        client = await connect(self.port)
        self.addCleanup(client.transport.loseConnection)
        await client.open()
        await client.auth_plain("alice", "secret")
        client.reset()
        await client.open()
        client.send(f"<resume xmlns='{NS_SM}' previd='{enabled['id']}' h='0'/>")
        self.assertEqual((await client.element()).name, "resumed")
        while True:
            el = await client.element()
            if el.name == "message":
                break
        self.assertEqual(body(el), "held")
