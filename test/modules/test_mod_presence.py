"""mod_presence through a real node: broadcast, probes, directed presence (RFC 6121 section 4)."""

from __future__ import annotations

from twisted.trial.unittest import TestCase

from mongoose.storage.interfaces import RosterItem
from test.support.sessions import FakeSession, connect, settle, start_im_node


def presences(client, kind=None, sender=None) -> list:
    """Presence stanzas the client received, by type and optionally by sender."""
    return [
        s for s in client.session.received
        if s.name == "presence" and s.getAttribute("type") == kind
        and (sender is None or s.getAttribute("from") == sender)
    ]


class PresenceTestCase(TestCase):
    """A node with the IM modules; helpers build subscriptions directly in the roster."""

    async def setUp(self):
        """Start the node and create alice, bob and carol."""
        self.node = await start_im_node(self)
        for user in ("alice", "bob", "carol"):
            await self.node.auth.register(user, "localhost", "pw")

    async def subscribe(self, follower: str, followed: str):
        """Make ``follower`` subscribed to ``followed`` (to on one side, from on the other)."""
        store = self.node.stores.roster

        async def merge(user, contact, to=False, from_=False):
            def change(before):
                base = before or RosterItem(contact)
                has_to = to or base.subscription in ("to", "both")
                has_from = from_ or base.subscription in ("from", "both")
                sub = {(False, False): "none", (True, False): "to", (False, True): "from",
                       (True, True): "both"}[(has_to, has_from)]
                return RosterItem(contact, subscription=sub)

            await store.update_item("localhost", user, contact, change)

        await merge(follower, f"{followed}@localhost", to=True)
        await merge(followed, f"{follower}@localhost", from_=True)


class BroadcastTests(PresenceTestCase):
    """Initial and subsequent presence (RFC 6121 4.2 and 4.4)."""

    async def test_initial_presence_reaches_subscribers_and_self(self):
        """Contacts subscribed to the user and the user's own resources get initial presence."""
        await self.subscribe("bob", "alice")
        bob = await connect(self.node, "bob")
        await bob.available()
        carol = await connect(self.node, "carol")
        await carol.available()
        alice = await connect(self.node, "alice")
        bob.take()
        await alice.send("<presence><show>chat</show><priority>5</priority></presence>")
        (seen,) = presences(bob, None, "alice@localhost/res")
        self.assertEqual(seen["to"], "bob@localhost")
        self.assertEqual([str(c) for c in seen.elements()], ["chat", "5"])
        self.assertEqual(presences(carol, None, "alice@localhost/res"), [])
        (own,) = presences(alice, None, "alice@localhost/res")
        self.assertEqual(own["to"], "alice@localhost")

    async def test_probes_bring_contacts_presence(self):
        """The new session gets the presence of each contact it follows, or unavailable."""
        await self.subscribe("alice", "bob")
        await self.subscribe("alice", "carol")
        bob = await connect(self.node, "bob", "phone")
        await bob.send("<presence><status>busy</status></presence>")
        alice = await connect(self.node, "alice")
        await alice.available()
        (from_bob,) = presences(alice, None, "bob@localhost/phone")
        self.assertEqual(from_bob["to"], "alice@localhost/res")
        self.assertEqual([str(c) for c in from_bob.elements()], ["busy"])
        (from_carol,) = presences(alice, "unavailable", "carol@localhost")
        self.assertEqual(from_carol["to"], "alice@localhost/res")

    async def test_own_resources_seen_by_new_resource(self):
        """A newly available resource gets the presence of the user's other resources."""
        phone = await connect(self.node, "alice", "phone")
        await phone.available(show="away")
        laptop = await connect(self.node, "alice", "laptop")
        await laptop.available()
        (other,) = presences(laptop, None, "alice@localhost/phone")
        self.assertEqual(other["to"], "alice@localhost/laptop")
        self.assertEqual(len(presences(phone, None, "alice@localhost/laptop")), 1)

    async def test_subsequent_presence_no_probes(self):
        """Later presence changes are broadcast again but send no new probes."""
        await self.subscribe("bob", "alice")
        await self.subscribe("alice", "bob")
        bob = await connect(self.node, "bob")
        await bob.available()
        alice = await connect(self.node, "alice")
        await alice.available()
        alice.take()
        bob.take()
        await alice.available(show="dnd")
        self.assertEqual(len(presences(bob, None, "alice@localhost/res")), 1)
        self.assertEqual(presences(alice, None, "bob@localhost/res"), [])

    async def test_user_available_runs_once(self):
        """user_available runs for initial presence only."""
        seen = []
        self.node.hooks.add("user_available", lambda session: seen.append(session.jid.full()),
                            host="localhost")
        alice = await connect(self.node, "alice")
        await alice.available()
        await alice.available(show="away")
        self.assertEqual(seen, ["alice@localhost/res"])


class UnavailableTests(PresenceTestCase):
    """Unavailable presence (RFC 6121 4.5), sent or caused by the session ending."""

    async def online_pair(self):
        """alice (two resources) and bob, bob subscribed to alice, all online."""
        await self.subscribe("bob", "alice")
        bob = await connect(self.node, "bob")
        await bob.available()
        phone = await connect(self.node, "alice", "phone")
        await phone.available()
        laptop = await connect(self.node, "alice", "laptop")
        await laptop.available()
        for client in (bob, phone, laptop):
            client.take()
        return bob, phone, laptop

    async def test_disconnect_broadcasts_unavailable(self):
        """A session that ends while available is announced unavailable to contacts and self."""
        bob, phone, laptop = await self.online_pair()
        await phone.disconnect()
        self.assertEqual(len(presences(bob, "unavailable", "alice@localhost/phone")), 1)
        self.assertEqual(len(presences(laptop, "unavailable", "alice@localhost/phone")), 1)

    async def test_sent_unavailable(self):
        """Unavailable presence from the client is broadcast the same way, once."""
        bob, phone, laptop = await self.online_pair()
        await phone.send("<presence type='unavailable'><status>bye</status></presence>")
        (gone,) = presences(bob, "unavailable", "alice@localhost/phone")
        self.assertEqual([str(c) for c in gone.elements()], ["bye"])
        await phone.disconnect()
        self.assertEqual(len(presences(bob, "unavailable", "alice@localhost/phone")), 1)

    async def test_never_available_session_ends_quietly(self):
        """A session that never sent presence ends without any broadcast."""
        await self.subscribe("bob", "alice")
        bob = await connect(self.node, "bob")
        await bob.available()
        bob.take()
        alice = await connect(self.node, "alice")
        await alice.disconnect()
        self.assertEqual(presences(bob, "unavailable"), [])

    async def test_probe_after_logout_answers_unavailable(self):
        """A probe for a user with no sessions left is answered unavailable."""
        bob, phone, laptop = await self.online_pair()
        await phone.disconnect()
        await laptop.disconnect()
        bob.take()
        await bob.send("<presence type='probe' to='alice@localhost'/>")
        (answer,) = presences(bob, "unavailable")
        self.assertEqual(answer["from"], "alice@localhost")


class ReplacedSessionTests(PresenceTestCase):
    """A session replaced by a new one with the same resource (conflict)."""

    async def online(self):
        """bob subscribed to alice; both available."""
        await self.subscribe("bob", "alice")
        bob = await connect(self.node, "bob")
        await bob.available()
        alice = await connect(self.node, "alice")
        await alice.available()
        bob.take()
        return bob, alice

    async def test_replaced_session_announced_unavailable(self):
        """The replaced session gets conflict and contacts see it go unavailable."""
        bob, alice = await self.online()
        newcomer = FakeSession()
        self.node.sessions.bind(newcomer, "alice", "localhost", "res")
        await settle(self.node)
        self.assertEqual(alice.session.closed[0], "conflict")
        self.assertEqual(len(presences(bob, "unavailable", "alice@localhost/res")), 1)

    async def test_available_successor_not_announced_unavailable(self):
        """If the new session is already available, the old one's end is not broadcast."""
        bob, alice = await self.online()
        newcomer = FakeSession()
        self.node.sessions.bind(newcomer, "alice", "localhost", "res")
        newcomer.priority = 0  # became available before the old session's hooks finished
        await settle(self.node)
        self.assertEqual(presences(bob, "unavailable"), [])


class DirectedPresenceTests(PresenceTestCase):
    """Directed presence (RFC 6121 4.6)."""

    async def test_directed_presence_ends_with_session(self):
        """Who got directed presence gets unavailable when the session ends."""
        carol = await connect(self.node, "carol")
        await carol.available()
        alice = await connect(self.node, "alice")
        await alice.available()
        carol.take()
        await alice.send("<presence to='carol@localhost'><show>chat</show></presence>")
        self.assertEqual(len(presences(carol, None, "alice@localhost/res")), 1)
        await alice.available(show="away")
        self.assertEqual(len(presences(carol, None, "alice@localhost/res")), 1)
        await alice.disconnect()
        self.assertEqual(len(presences(carol, "unavailable", "alice@localhost/res")), 1)

    async def test_directed_unavailable_forgets_target(self):
        """Directed unavailable presence removes the target from the session's list."""
        carol = await connect(self.node, "carol")
        await carol.available()
        alice = await connect(self.node, "alice")
        await alice.send("<presence to='carol@localhost'/>")
        await alice.send("<presence to='carol@localhost' type='unavailable'/>")
        carol.take()
        await alice.disconnect()
        self.assertEqual(presences(carol, "unavailable"), [])

    async def test_directed_only_session(self):
        """A session that sent only directed presence still says goodbye to its targets."""
        carol = await connect(self.node, "carol")
        await carol.available()
        alice = await connect(self.node, "alice")
        await alice.send("<presence to='carol@localhost/res'/>")
        carol.take()
        await alice.disconnect()
        (gone,) = presences(carol, "unavailable", "alice@localhost/res")
        self.assertEqual(gone["to"], "carol@localhost/res")


class ProbeTests(PresenceTestCase):
    """Probes (RFC 6121 4.3)."""

    async def test_unauthorised_probe_ignored(self):
        """A probe from someone not subscribed reveals nothing."""
        alice = await connect(self.node, "alice")
        await alice.available()
        carol = await connect(self.node, "carol")
        await carol.send("<presence type='probe' to='alice@localhost'/>")
        self.assertEqual(presences(carol, None, "alice@localhost/res"), [])
        self.assertEqual(presences(carol, "unavailable"), [])

    async def test_probe_answered_per_resource(self):
        """A subscribed prober gets the last presence of every available resource."""
        await self.subscribe("bob", "alice")
        for resource in ("phone", "laptop"):
            client = await connect(self.node, "alice", resource)
            await client.available()
        await connect(self.node, "alice", "silent")
        bob = await connect(self.node, "bob")
        await bob.send("<presence type='probe' to='alice@localhost'/>")
        senders = sorted(p["from"] for p in presences(bob, None))
        self.assertEqual(senders, ["alice@localhost/laptop", "alice@localhost/phone"])
