"""mod_roster through a real node: roster IQs (RFC 6121 2), subscriptions (3), versions (XEP-0237)."""

from __future__ import annotations

from twisted.trial.unittest import TestCase

from mongoose.modules.roster.xml import NS_ROSTER
from test.support.sessions import IM_MODULES, connect, settle, start_im_node

VERSIONING = IM_MODULES.replace("[modules.mod_roster]", "[modules.mod_roster]\n  versioning = true")


def roster_set(jid: str, name: str | None = None, groups=(), iq_id: str = "set1") -> str:
    """A roster set IQ as a client writes it."""
    name_attr = f" name='{name}'" if name else ""
    group_xml = "".join(f"<group>{g}</group>" for g in groups)
    return (
        f"<iq type='set' id='{iq_id}'><query xmlns='{NS_ROSTER}'>"
        f"<item jid='{jid}'{name_attr}>{group_xml}</item></query></iq>"
    )


def roster_remove(jid: str, iq_id: str = "rm1") -> str:
    """A roster remove IQ."""
    return (
        f"<iq type='set' id='{iq_id}'><query xmlns='{NS_ROSTER}'>"
        f"<item jid='{jid}' subscription='remove'/></query></iq>"
    )


def items_of(iq) -> dict:
    """jid -> (attributes, groups) of the items of a roster result or push."""
    query = next(iq.elements())
    found = {}
    for item in query.elements():
        groups = [str(g) for g in item.elements() if g.name == "group"]
        found[item["jid"]] = (dict(item.attributes), groups)
    return found


def pushes(client) -> list:
    """The roster pushes the client received."""
    return [
        s for s in client.session.received
        if s.name == "iq" and s.getAttribute("type") == "set"
        and next(s.elements()).uri == NS_ROSTER
    ]


def presences(client, kind=None) -> list:
    """Presence stanzas the client received, optionally only of one type."""
    return [
        s for s in client.session.received
        if s.name == "presence" and s.getAttribute("type") == kind
    ]


def error_condition(stanza) -> str:
    """The defined condition of an error stanza."""
    error = next(e for e in stanza.elements() if e.name == "error")
    return next(error.elements()).name


class RosterTestCase(TestCase):
    """A node with the IM modules and helpers to read stored rosters."""

    modules = IM_MODULES

    async def setUp(self):
        """Start the node."""
        self.node = await start_im_node(self, self.modules)

    async def item(self, user: str, contact: str):
        """The stored roster item of user@localhost for contact."""
        return await self.node.stores.roster.get_item("localhost", user, contact)

    async def register(self, *users: str):
        """Create accounts on localhost."""
        for user in users:
            await self.node.auth.register(user, "localhost", "pw")

    async def online(self, user: str, resource: str = "res", get_roster: bool = True):
        """Connect a client, fetch its roster and send initial presence."""
        client = await connect(self.node, user, resource)
        if get_roster:
            await client.get_roster()
        await client.available()
        client.take()
        return client


class RosterGetSetTests(RosterTestCase):
    """Roster get, set and remove (RFC 6121 sections 2.2 to 2.5)."""

    async def test_empty_roster(self):
        """A new user's roster is empty and the session becomes an interested resource."""
        alice = await connect(self.node, "alice")
        result = await alice.get_roster()
        self.assertEqual(result["type"], "result")
        self.assertEqual(items_of(result), {})
        self.assertNotIn("ver", next(result.elements()).attributes)
        self.assertTrue(alice.session.roster_requested)

    async def test_set_then_get(self):
        """A roster set is answered with a result and the item comes back in the next get."""
        alice = await connect(self.node, "alice")
        await alice.send(roster_set("Bob@LocalHost", "Bob", ["friends", "work"]))
        self.assertEqual(alice.last("iq", id="set1")["type"], "result")
        result = await alice.get_roster()
        self.assertEqual(
            items_of(result),
            {"bob@localhost": ({"jid": "bob@localhost", "name": "Bob",
                                "subscription": "none"}, ["friends", "work"])},
        )

    async def test_push_to_interested_resources_only(self):
        """A change is pushed to every resource that fetched the roster, and no other."""
        phone = await connect(self.node, "alice", "phone")
        laptop = await connect(self.node, "alice", "laptop")
        quiet = await connect(self.node, "alice", "quiet")
        await phone.get_roster()
        await laptop.get_roster()
        await laptop.send(roster_set("bob@localhost", "Bobby"))
        for client in (phone, laptop):
            (push,) = pushes(client)
            self.assertEqual(push["to"], client.jid.full())
            self.assertFalse(push.hasAttribute("from"))
            self.assertEqual(items_of(push)["bob@localhost"][0]["name"], "Bobby")
        self.assertEqual(pushes(quiet), [])

    async def test_update_replaces_name_and_groups(self):
        """A second set of the same contact replaces its handle and groups."""
        alice = await connect(self.node, "alice")
        await alice.send(roster_set("bob@localhost", "Bob", ["a", "b"]))
        await alice.send(roster_set("bob@localhost", None, ["c"], iq_id="set2"))
        item = await self.item("alice", "bob@localhost")
        self.assertEqual((item.name, item.groups), (None, ("c",)))

    async def test_remove(self):
        """A removed contact disappears and interested resources get a 'remove' push."""
        alice = await connect(self.node, "alice")
        await alice.get_roster()
        await alice.send(roster_set("bob@localhost", "Bob"))
        alice.take()
        await alice.send(roster_remove("bob@localhost"))
        self.assertEqual(alice.last("iq", id="rm1")["type"], "result")
        (push,) = pushes(alice)
        self.assertEqual(items_of(push)["bob@localhost"][0]["subscription"], "remove")
        self.assertIsNone(await self.item("alice", "bob@localhost"))

    async def test_remove_unknown_contact(self):
        """Removing a contact that is not in the roster answers item-not-found."""
        alice = await connect(self.node, "alice")
        await alice.send(roster_remove("nobody@localhost"))
        reply = alice.last("iq", id="rm1")
        self.assertEqual((reply["type"], error_condition(reply)), ("error", "item-not-found"))

    async def test_bad_sets(self):
        """Malformed roster sets get the errors of RFC 6121 section 2.3.3."""
        alice = await connect(self.node, "alice")
        cases = [
            (f"<iq type='set' id='x1'><query xmlns='{NS_ROSTER}'><item jid='a@localhost'/>"
             f"<item jid='b@localhost'/></query></iq>", "bad-request"),
            (roster_set("bob@localhost", groups=["g", "g"], iq_id="x2"), "bad-request"),
            (f"<iq type='set' id='x3'><query xmlns='{NS_ROSTER}'><item jid='bob@localhost'>"
             f"<group/></item></query></iq>", "not-acceptable"),
            (roster_set("bad@@jid", iq_id="x4"), "jid-malformed"),
            (roster_set("bob@localhost", "n" * 2000, iq_id="x5"), "not-acceptable"),
        ]
        for text, condition in cases:
            await alice.send(text)
            iq_id = text.split("id='")[1].split("'")[0]
            reply = alice.last("iq", id=iq_id)
            self.assertEqual((reply["type"], error_condition(reply)), ("error", condition), text)
        self.assertEqual(await self.node.stores.roster.get_items("localhost", "alice"), [])

    async def test_other_users_roster_forbidden(self):
        """A roster get addressed to another user's bare JID is refused with forbidden."""
        alice = await connect(self.node, "alice")
        await connect(self.node, "bob")
        await alice.send(
            f"<iq type='get' id='g1' to='bob@localhost'><query xmlns='{NS_ROSTER}'/></iq>"
        )
        reply = alice.last("iq", id="g1")
        self.assertEqual(error_condition(reply), "forbidden")

    async def test_ask_and_pending_in_shown_correctly(self):
        """ask='subscribe' marks a pending request of the user; requests to the user are hidden."""
        await self.register("bob")
        alice = await self.online("alice")
        await alice.send("<presence to='bob@localhost' type='subscribe'/>")
        carol = await self.online("carol")
        await carol.send("<presence to='alice@localhost' type='subscribe'/>")
        result = await alice.get_roster()
        found = items_of(result)
        self.assertEqual(found["bob@localhost"][0].get("ask"), "subscribe")
        self.assertNotIn("carol@localhost", found)


class VersioningTests(RosterTestCase):
    """Roster versioning (XEP-0237) with versioning = true."""

    modules = VERSIONING

    async def test_versions(self):
        """Results carry ver; a current ver gets an empty result; pushes carry the new ver."""
        alice = await connect(self.node, "alice")
        first = next((await alice.get_roster(ver="")).elements())
        version = first["ver"]
        alice.take()
        unchanged = await alice.get_roster(ver=version)
        self.assertEqual(list(unchanged.elements()), [])
        await alice.send(roster_set("bob@localhost", "Bob"))
        (push,) = pushes(alice)
        new_version = next(push.elements())["ver"]
        self.assertNotEqual(new_version, version)
        full = await alice.get_roster(ver=version)
        self.assertEqual(next(full.elements())["ver"], new_version)
        self.assertIn("bob@localhost", items_of(full))

    async def test_no_ver_without_versioning_request(self):
        """Without a ver attribute the client still gets the full roster with its version."""
        alice = await connect(self.node, "alice")
        result = await alice.get_roster()
        self.assertIn("ver", next(result.elements()).attributes)


class SubscriptionTests(RosterTestCase):
    """The subscription handshake and state machine between two local users (RFC 6121 3)."""

    async def test_full_handshake_to_both(self):
        """subscribe/subscribed both ways ends with 'both' on each side, pushes and presence."""
        alice = await self.online("alice")
        bob = await self.online("bob")
        await alice.send("<presence to='bob@localhost' type='subscribe'><status>hi</status>"
                         "</presence>")
        (push,) = pushes(alice)
        self.assertEqual(items_of(push)["bob@localhost"][0],
                         {"jid": "bob@localhost", "subscription": "none", "ask": "subscribe"})
        (request,) = presences(bob, "subscribe")
        self.assertEqual(request["from"], "alice@localhost")
        self.assertEqual(request["to"], "bob@localhost")
        self.assertEqual([str(c) for c in request.elements()], ["hi"])
        self.assertEqual(pushes(bob), [])
        alice.take()
        bob.take()

        await bob.send("<presence to='alice@localhost' type='subscribed'/>")
        self.assertEqual(items_of(pushes(bob)[0])["alice@localhost"][0]["subscription"], "from")
        self.assertEqual(items_of(pushes(alice)[0])["bob@localhost"][0],
                         {"jid": "bob@localhost", "subscription": "to"})
        (approval,) = presences(alice, "subscribed")
        self.assertEqual(approval["from"], "bob@localhost")
        (bobs_presence,) = presences(alice, None)
        self.assertEqual(bobs_presence["from"], "bob@localhost/res")

        await bob.send("<presence to='alice@localhost' type='subscribe'/>")
        await alice.send("<presence to='bob@localhost' type='subscribed'/>")
        self.assertEqual((await self.item("alice", "bob@localhost")).subscription, "both")
        self.assertEqual((await self.item("bob", "alice@localhost")).subscription, "both")
        self.assertFalse((await self.item("alice", "bob@localhost")).pending_out)

    async def test_request_to_offline_user_delivered_at_login(self):
        """A request for a user without available resources is kept and shown at each login."""
        await self.register("bob")
        alice = await self.online("alice")
        await connect(self.node, "bob")  # bound, no presence yet
        await alice.send("<presence to='bob@localhost' type='subscribe'><status>it's me"
                         "</status></presence>")
        item = await self.item("bob", "alice@localhost")
        self.assertEqual((item.pending_in, item.listed, item.ask_message),
                         (True, False, "it's me"))
        bob = await connect(self.node, "bob", "phone")
        await bob.available()
        (request,) = presences(bob, "subscribe")
        self.assertEqual((request["from"], request["to"]), ("alice@localhost", "bob@localhost"))
        self.assertEqual([str(c) for c in request.elements()], ["it's me"])
        again = await connect(self.node, "bob", "laptop")
        await again.available()
        self.assertEqual(len(presences(again, "subscribe")), 1)

    async def test_pending_request_survives_restart(self):
        """Pending requests in both directions are still there after the node restarts."""
        await self.register("bob")
        alice = await self.online("alice")
        await alice.send("<presence to='bob@localhost' type='subscribe'/>")
        data = self.node.test_data_dir
        await self.node.stopService()
        self.node = await start_im_node(self, self.modules, data=data)
        bob = await connect(self.node, "bob", "new")
        await bob.available()
        self.assertEqual(len(presences(bob, "subscribe")), 1)
        self.assertTrue((await self.item("alice", "bob@localhost")).pending_out)
        await bob.send("<presence to='alice@localhost' type='subscribed'/>")
        self.assertEqual((await self.item("alice", "bob@localhost")).subscription, "to")

    async def test_duplicate_request_not_delivered_again(self):
        """A second request while one is pending is not shown to online resources again."""
        alice = await self.online("alice")
        bob = await self.online("bob")
        await alice.send("<presence to='bob@localhost' type='subscribe'/>")
        await alice.send("<presence to='bob@localhost' type='subscribe'/>")
        self.assertEqual(len(presences(bob, "subscribe")), 1)

    async def test_preapproval(self):
        """A 'subscribed' before any request is a pre-approval: not routed, later auto-accepted."""
        alice = await self.online("alice")
        bob = await self.online("bob")
        await alice.send("<presence to='bob@localhost' type='subscribed'/>")
        self.assertEqual(presences(bob, "subscribed"), [])
        self.assertEqual(items_of(pushes(alice)[0])["bob@localhost"][0].get("approved"), "true")
        alice.take()
        await bob.send("<presence to='alice@localhost' type='subscribe'/>")
        self.assertEqual(presences(alice, "subscribe"), [])
        self.assertEqual(len(presences(bob, "subscribed")), 1)
        self.assertEqual((await self.item("alice", "bob@localhost")).subscription, "from")
        self.assertEqual((await self.item("bob", "alice@localhost")).subscription, "to")
        self.assertEqual(presences(bob, None)[-1]["from"], "alice@localhost/res")

    async def test_cancel_preapproval(self):
        """'unsubscribed' after a pre-approval withdraws it without telling the contact."""
        alice = await self.online("alice")
        bob = await self.online("bob")
        await alice.send("<presence to='bob@localhost' type='subscribed'/>")
        await alice.send("<presence to='bob@localhost' type='unsubscribed'/>")
        self.assertFalse((await self.item("alice", "bob@localhost")).approved)
        self.assertEqual(presences(bob, "unsubscribed"), [])

    async def both(self):
        """alice and bob online and subscribed to each other."""
        alice = await self.online("alice")
        bob = await self.online("bob")
        await alice.send("<presence to='bob@localhost' type='subscribe'/>")
        await bob.send("<presence to='alice@localhost' type='subscribed'/>")
        await bob.send("<presence to='alice@localhost' type='subscribe'/>")
        await alice.send("<presence to='bob@localhost' type='subscribed'/>")
        alice.take()
        bob.take()
        return alice, bob

    async def test_unsubscribe(self):
        """'unsubscribe' ends the sender's subscription on both sides (both -> from / to)."""
        alice, bob = await self.both()
        await alice.send("<presence to='bob@localhost' type='unsubscribe'/>")
        self.assertEqual((await self.item("alice", "bob@localhost")).subscription, "from")
        self.assertEqual((await self.item("bob", "alice@localhost")).subscription, "to")
        self.assertEqual(len(presences(bob, "unsubscribe")), 1)
        self.assertEqual(items_of(pushes(bob)[0])["alice@localhost"][0]["subscription"], "to")

    async def test_unsubscribed_cancels_contacts_subscription(self):
        """'unsubscribed' ends the contact's subscription and sends it unavailable presence."""
        alice, bob = await self.both()
        await alice.send("<presence to='bob@localhost' type='unsubscribed'/>")
        self.assertEqual((await self.item("alice", "bob@localhost")).subscription, "to")
        self.assertEqual((await self.item("bob", "alice@localhost")).subscription, "from")
        self.assertEqual(len(presences(bob, "unsubscribed")), 1)
        self.assertEqual(presences(bob, "unavailable")[-1]["from"], "alice@localhost/res")

    async def test_remove_cancels_both_ways(self):
        """Removing a 'both' contact sends unsubscribe and unsubscribed (RFC 6121 2.5.2)."""
        alice, bob = await self.both()
        await alice.send(roster_remove("bob@localhost"))
        self.assertIsNone(await self.item("alice", "bob@localhost"))
        item = await self.item("bob", "alice@localhost")
        self.assertEqual((item.subscription, item.listed), ("none", True))
        self.assertEqual(len(presences(bob, "unsubscribe")), 1)
        self.assertEqual(len(presences(bob, "unsubscribed")), 1)
        self.assertEqual(len(presences(bob, "unavailable")), 1)

    async def test_unknown_user_answers_unsubscribed(self):
        """A request to a local account that does not exist is answered with unsubscribed."""
        alice = await self.online("alice")
        await alice.send("<presence to='ghost@localhost' type='subscribe'/>")
        (answer,) = presences(alice, "unsubscribed")
        self.assertEqual(answer["from"], "ghost@localhost")
        item = await self.item("alice", "ghost@localhost")
        self.assertEqual((item.subscription, item.pending_out), ("none", False))

    async def test_stanzas_without_effect_are_not_delivered(self):
        """Inbound subscribed/unsubscribe/unsubscribed that change nothing stay undelivered."""
        alice = await self.online("alice")
        bob = await self.online("bob")
        for kind in ("subscribed", "unsubscribe", "unsubscribed"):
            await alice.send(f"<presence to='bob@localhost' type='{kind}'/>")
        self.assertEqual([p.getAttribute("type") for p in bob.session.received], [])

    async def test_subscription_lists_hook(self):
        """roster_get_subscription_lists gives who is subscribed to the user and to whom."""
        alice, bob = await self.both()
        await alice.send("<presence to='carol@other.test' type='subscribe'/>")
        lists = await self.node.hooks.fold(
            "roster_get_subscription_lists", "localhost", {"from": set(), "to": set()},
            "alice", "localhost",
        )
        self.assertEqual(lists, {"from": {"bob@localhost"}, "to": {"bob@localhost"}})

    async def test_remove_user_hook(self):
        """remove_user cancels the account's subscriptions and deletes its roster."""
        alice, bob = await self.both()
        await self.node.hooks.run("remove_user", "localhost", "alice", "localhost")
        await settle(self.node)
        self.assertEqual(await self.node.stores.roster.get_items("localhost", "alice"), [])
        self.assertEqual((await self.item("bob", "alice@localhost")).subscription, "none")

    async def test_self_subscription_ignored(self):
        """Subscription presence to one's own bare JID changes nothing and is dropped."""
        alice = await self.online("alice")
        await alice.send("<presence to='alice@localhost' type='subscribe'/>")
        self.assertIsNone(await self.item("alice", "alice@localhost"))
        self.assertEqual(presences(alice, "subscribe"), [])

    async def test_across_hosts(self):
        """Users of two hosts of the node subscribe to each other the same way."""
        alice = await self.online("alice")
        await self.node.auth.register("dave", "other.test", "pw")
        dave_client = await connect(self.node, "dave", host="other.test")
        await dave_client.available()
        await alice.send("<presence to='dave@other.test' type='subscribe'/>")
        await dave_client.send("<presence to='alice@localhost' type='subscribed'/>")
        self.assertEqual((await self.item("alice", "dave@other.test")).subscription, "to")
        other = await self.node.stores.roster.get_item("other.test", "dave", "alice@localhost")
        self.assertEqual(other.subscription, "from")
