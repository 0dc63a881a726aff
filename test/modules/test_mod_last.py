"""mod_last (XEP-0012): server uptime, users' last logout, who may ask, account removal."""

from __future__ import annotations

from twisted.internet import reactor
from twisted.internet.task import Clock, deferLater
from twisted.trial.unittest import TestCase

from mongoose.storage.interfaces import LastActivity, RosterItem
from test.c2s.support import logged_in, start_node
from test.support.sessions import IM_MODULES, connect, module_instance, start_im_node

LAST = IM_MODULES + "[modules.mod_last]\n"
T0 = 1_700_000_000


def query(user: str = "", kind: str = "get", id: str = "l1") -> str:
    """An IQ of jabber:iq:last, to a user's bare JID or (no user) the server."""
    to = f"{user}@localhost" if user else "localhost"
    return f"<iq type='{kind}' id='{id}' to='{to}'><query xmlns='jabber:iq:last'/></iq>"


async def last_node(testcase):
    """A node with mod_last on a fake clock at T0; return (node, module, clock)."""
    node = await start_im_node(testcase, LAST)
    module = module_instance(node, "mod_last")
    clock = Clock()
    clock.advance(T0)
    module.ctx.clock = clock
    module.started = T0
    return node, module, clock


async def befriend(node, user: str, contact: str) -> None:
    """Give ``contact`` a presence subscription to ``user`` (subscription 'both')."""
    await node.stores.roster.update_item(
        "localhost", user, f"{contact}@localhost",
        lambda before: RosterItem(f"{contact}@localhost", subscription="both"),
    )


class ServerUptimeTests(TestCase):
    """A query to the domain answers the server's uptime."""

    async def test_uptime(self):
        """The seconds since the module started are returned."""
        node, _, clock = await last_node(self)
        alice = await connect(node, "alice")
        clock.advance(42)
        await alice.send(query())
        reply = alice.last("iq", id="l1")
        self.assertEqual(reply["type"], "result")
        self.assertEqual(reply.firstChildElement()["seconds"], "42")

    async def test_set_not_implemented(self):
        """An IQ set to the server is answered with feature-not-implemented."""
        node, _, _ = await last_node(self)
        alice = await connect(node, "alice")
        await alice.send(query(kind="set"))
        self.assertIn("feature-not-implemented", alice.last("iq", id="l1").toXml())

    async def test_over_socket(self):
        """A real client gets the uptime and the feature is served by the module."""
        node = await start_node(self, extra="[modules.mod_last]\n")
        client, _ = await logged_in(self, node.c2s_port)
        client.send(query())
        reply = await client.element()
        self.assertEqual(reply["type"], "result")
        self.assertGreaterEqual(int(reply.firstChildElement()["seconds"]), 0)


class UserLastTests(TestCase):
    """A user's last logout time and status."""

    async def test_logout_recorded_with_status(self):
        """After the last session ends, a contact sees the seconds since and the status."""
        node, module, clock = await last_node(self)
        await befriend(node, "alice", "bob")
        alice = await connect(node, "alice")
        await alice.available()
        await alice.send("<presence type='unavailable'><status>gone fishing</status></presence>")
        await alice.disconnect()
        self.assertEqual(await node.stores.last.get_last("localhost", "alice"),
                         LastActivity(T0, "gone fishing"))
        clock.advance(90)
        bob = await connect(node, "bob")
        await bob.send(query("alice"))
        reply = bob.last("iq", id="l1")
        self.assertEqual(reply["type"], "result")
        self.assertEqual(reply["from"], "alice@localhost")
        answer = reply.firstChildElement()
        self.assertEqual((answer["seconds"], str(answer)), ("90", "gone fishing"))

    async def test_status_forgotten_when_available_again(self):
        """An unavailable status followed by available presence is not recorded at logout."""
        node, _, _ = await last_node(self)
        alice = await connect(node, "alice")
        await alice.available()
        await alice.send("<presence type='unavailable'><status>away</status></presence>")
        await alice.available()
        await alice.disconnect()
        self.assertEqual(await node.stores.last.get_last("localhost", "alice"),
                         LastActivity(T0, ""))

    async def test_only_last_session_counts(self):
        """Ending one of two sessions records nothing; ending the last one does."""
        node, _, clock = await last_node(self)
        first = await connect(node, "alice", "one")
        second = await connect(node, "alice", "two")
        await first.disconnect()
        self.assertIsNone(await node.stores.last.get_last("localhost", "alice"))
        clock.advance(5)
        await second.disconnect()
        self.assertEqual(await node.stores.last.get_last("localhost", "alice"),
                         LastActivity(T0 + 5, ""))

    async def test_online_user_is_zero(self):
        """While the user has an available session the answer is seconds='0'."""
        node, _, _ = await last_node(self)
        await befriend(node, "alice", "bob")
        await node.stores.last.set_last("localhost", "alice", T0 - 1000, "old")
        alice = await connect(node, "alice")
        await alice.available()
        bob = await connect(node, "bob")
        await bob.send(query("alice"))
        answer = bob.last("iq", id="l1").firstChildElement()
        self.assertEqual(answer["seconds"], "0")

    async def test_user_asks_self(self):
        """The user may ask about their own account without a subscription."""
        node, _, _ = await last_node(self)
        await node.stores.last.set_last("localhost", "alice", T0 - 7, "")
        alice = await connect(node, "alice")
        await alice.send(query("alice"))
        self.assertEqual(alice.last("iq", id="l1").firstChildElement()["seconds"], "7")

    async def test_stranger_forbidden(self):
        """Someone without a subscription to the user gets forbidden."""
        node, _, _ = await last_node(self)
        await node.stores.last.set_last("localhost", "alice", T0, "")
        await node.auth.register("alice", "localhost", "pw")
        carol = await connect(node, "carol")
        await carol.send(query("alice"))
        reply = carol.last("iq", id="l1")
        self.assertEqual(reply["type"], "error")
        self.assertIn("forbidden", reply.toXml())

    async def test_unknown_and_never_seen(self):
        """No account, or an account never logged out: item-not-found."""
        node, _, _ = await last_node(self)
        bob = await connect(node, "bob")
        await bob.send(query("ghost", id="g"))
        self.assertIn("item-not-found", bob.last("iq", id="g").toXml())
        await bob.send(query("bob", id="b"))
        self.assertIn("item-not-found", bob.last("iq", id="b").toXml())

    async def test_user_set_not_implemented(self):
        """An IQ set to a user's JID is answered with feature-not-implemented."""
        node, _, _ = await last_node(self)
        alice = await connect(node, "alice")
        await alice.send(query("alice", kind="set"))
        self.assertIn("feature-not-implemented", alice.last("iq", id="l1").toXml())

    async def test_account_removal_drops_record(self):
        """Removing the account deletes its last activity."""
        node, _, _ = await last_node(self)
        await node.auth.register("alice", "localhost", "pw")
        await node.stores.last.set_last("localhost", "alice", T0, "bye")
        await node.auth.remove("alice", "localhost")
        await node.user_removed("alice", "localhost")
        self.assertIsNone(await node.stores.last.get_last("localhost", "alice"))


class LastSocketTests(TestCase):
    """The logout of a real client connection is recorded with its status."""

    async def test_logout_over_socket(self):
        """A client's unavailable status and disconnection reach a subscribed contact's query."""
        node = await start_node(self, extra="[modules.mod_roster]\n[modules.mod_presence]\n"
                                            "[modules.mod_last]\n")
        await befriend(node, "alice", "bob")
        alice, _ = await logged_in(self, node.c2s_port, "alice")
        alice.send("<presence/>")
        alice.send("<presence type='unavailable'><status>brb</status></presence>")
        alice.send("<iq type='get' id='sync' to='localhost'>"
                   "<query xmlns='jabber:iq:last'/></iq>")
        while (await alice.element()).getAttribute("id") != "sync":
            pass
        alice.transport.loseConnection()
        for _ in range(100):
            if await node.stores.last.get_last("localhost", "alice") is not None:
                break
            await deferLater(reactor, 0.02, lambda: None)
        bob, _ = await logged_in(self, node.c2s_port, "bob")
        bob.send(query("alice", id="q"))
        reply = await bob.element()
        self.assertEqual((reply["type"], reply["id"]), ("result", "q"))
        answer = reply.firstChildElement()
        self.assertEqual(str(answer), "brb")
        self.assertLess(int(answer["seconds"]), 60)
