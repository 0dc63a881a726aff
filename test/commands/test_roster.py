"""The roster commands (mongoose.commands.defs.roster) as mod_roster registers them on a node."""

from __future__ import annotations

import json

import treq
from twisted.internet import reactor
from twisted.trial.unittest import TestCase
from twisted.web.resource import Resource
from twisted.web.server import Site

from mongoose.api.rest import AdminAPI
from mongoose.commands.caller import Caller
from mongoose.commands.errors import CommandError
from mongoose.modules.roster.xml import NS_ROSTER
from test.support.sessions import connect, settle, start_im_node

ADMIN = Caller.admin()


def pushes(client) -> list:
    """Roster pushes the client received."""
    return [s for s in client.session.received if s.name == "iq"
            and s.getAttribute("type") == "set" and next(s.elements()).uri == NS_ROSTER]


class RosterCommandTestCase(TestCase):
    """A node with the IM modules and users alice, bob and carol."""

    async def setUp(self):
        """Start the node and create the users."""
        self.node = await start_im_node(self)
        for user in ("alice", "bob", "carol"):
            await self.node.auth.register(user, "localhost", "pw")

    async def run_command(self, name, args, caller=ADMIN):
        """Run a roster command; return its JSON result."""
        result = await self.node.commands.execute(caller, "roster", name, args)
        await settle(self.node)
        return result

    async def fails(self, code, name, args, caller=ADMIN) -> CommandError:
        """Run a roster command that must fail with ``code``."""
        with self.assertRaises(CommandError) as caught:
            await self.run_command(name, args, caller)
        self.assertEqual(caught.exception.code, code, caught.exception.message)
        return caught.exception

    async def item(self, user, contact):
        """The stored item."""
        return await self.node.stores.roster.get_item("localhost", user, contact)


class ContactTests(RosterCommandTestCase):
    """listContacts, getContact, addContact(s), deleteContact(s)."""

    async def test_add_list_get(self):
        """An added contact is listed and fetched with name, groups and states."""
        await self.run_command("addContact", {"user": "alice@localhost",
                                              "contact": "Bob@localhost", "name": "Bob",
                                              "groups": ["friends"]})
        expected = {"jid": "bob@localhost", "name": "Bob", "groups": ["friends"],
                    "subscription": "none", "ask": "none"}
        self.assertEqual(
            await self.run_command("listContacts", {"user": "alice@localhost"}), [expected])
        self.assertEqual(
            await self.run_command("getContact", {"user": "alice@localhost",
                                                  "contact": "bob@localhost"}), expected)

    async def test_add_pushes_to_client(self):
        """An admin's addContact reaches the user's interested resources as a roster push."""
        alice = await connect(self.node, "alice")
        await alice.get_roster()
        await self.run_command("addContact", {"user": "alice@localhost",
                                              "contact": "bob@localhost"})
        (push,) = pushes(alice)
        self.assertEqual(next(next(push.elements()).elements())["jid"], "bob@localhost")

    async def test_add_contacts(self):
        """addContacts adds each contact and reports one line per contact."""
        result = await self.run_command("addContacts", {
            "user": "alice@localhost",
            "contacts": [{"jid": "bob@localhost", "name": "B"},
                         {"jid": "carol@localhost", "name": "C", "groups": ["g"]}],
        })
        self.assertEqual(len(result), 2)
        self.assertEqual((await self.item("alice", "carol@localhost")).groups, ("g",))

    async def test_errors(self):
        """Unknown users, contacts and domains give not_found and unavailable."""
        await self.fails("not_found", "listContacts", {"user": "ghost@localhost"})
        await self.fails("not_found", "getContact", {"user": "alice@localhost",
                                                     "contact": "bob@localhost"})
        await self.fails("unavailable", "listContacts", {"user": "x@nowhere.test"})
        await self.fails("not_found", "deleteContact", {"user": "alice@localhost",
                                                        "contact": "bob@localhost"})
        await self.fails("bad_request", "listContacts", {"user": "localhost"})

    async def test_delete_contacts(self):
        """deleteContacts removes what exists and reports the others."""
        await self.run_command("addContact", {"user": "alice@localhost",
                                              "contact": "bob@localhost"})
        result = await self.run_command("deleteContacts", {
            "user": "alice@localhost", "contacts": ["bob@localhost", "carol@localhost"]})
        self.assertIn("deleted", result[0])
        self.assertIn("not a contact", result[1])
        self.assertEqual(await self.run_command("listContacts", {"user": "alice@localhost"}), [])

    async def test_user_caller(self):
        """A user may manage their own roster only; the user argument defaults to them."""
        alice = Caller.user("alice@localhost")
        await self.run_command("addContact", {"contact": "bob@localhost"}, caller=alice)
        listed = await self.run_command("listContacts", {}, caller=alice)
        self.assertEqual([c["jid"] for c in listed], ["bob@localhost"])
        await self.fails("forbidden", "listContacts", {"user": "bob@localhost"}, caller=alice)
        await self.fails("forbidden", "setMutualSubscription",
                         {"userA": "alice@localhost", "userB": "bob@localhost",
                          "action": "connect"}, caller=alice)

    async def test_domain_admin(self):
        """A domain admin may act on its domain's users only."""
        other = Caller.domain_admin("other.test")
        await self.fails("forbidden", "listContacts", {"user": "alice@localhost"}, caller=other)
        mine = Caller.domain_admin("localhost")
        self.assertEqual(
            await self.run_command("listContacts", {"user": "alice@localhost"}, caller=mine), [])


class SubscriptionCommandTests(RosterCommandTestCase):
    """subscription, setMutualSubscription, subscribeToAll, subscribeAllToAll."""

    async def test_invite_and_accept(self):
        """invite and accept run the same handshake as clients do."""
        bob = await connect(self.node, "bob")
        await bob.available()
        bob.take()
        await self.run_command("subscription", {"user": "alice@localhost",
                                               "contact": "bob@localhost", "action": "invite"})
        (request,) = [s for s in bob.session.received if s.getAttribute("type") == "subscribe"]
        self.assertEqual(request["from"], "alice@localhost")
        listed = await self.run_command("listContacts", {"user": "bob@localhost"})
        self.assertEqual(listed[0]["ask"], "in")
        await self.run_command("subscription", {"user": "bob@localhost",
                                               "contact": "alice@localhost", "action": "accept"})
        self.assertEqual((await self.item("alice", "bob@localhost")).subscription, "to")
        self.assertEqual((await self.item("bob", "alice@localhost")).subscription, "from")
        await self.fails("bad_request", "subscription", {
            "user": "alice@localhost", "contact": "bob@localhost", "action": "INVITE!"})

    async def test_decline_and_cancel(self):
        """decline refuses a request; cancel withdraws one's own."""
        await self.run_command("subscription", {"user": "alice@localhost",
                                               "contact": "bob@localhost", "action": "invite"})
        await self.run_command("subscription", {"user": "bob@localhost",
                                               "contact": "alice@localhost", "action": "decline"})
        self.assertFalse((await self.item("alice", "bob@localhost")).pending_out)
        await self.run_command("subscription", {"user": "alice@localhost",
                                               "contact": "carol@localhost", "action": "invite"})
        await self.run_command("subscription", {"user": "alice@localhost",
                                               "contact": "carol@localhost", "action": "cancel"})
        self.assertIsNone(await self.item("carol", "alice@localhost"))

    async def test_mutual_connect_disconnect(self):
        """connect makes both 'both' and exchanges presence; disconnect removes both items."""
        alice = await connect(self.node, "alice")
        await alice.get_roster()
        await alice.available()
        bob = await connect(self.node, "bob")
        await bob.available()
        alice.take()
        bob.take()
        await self.run_command("setMutualSubscription", {
            "userA": "alice@localhost", "userB": "bob@localhost", "action": "connect"})
        self.assertEqual((await self.item("alice", "bob@localhost")).subscription, "both")
        self.assertEqual((await self.item("bob", "alice@localhost")).subscription, "both")
        self.assertEqual(len(pushes(alice)), 1)
        self.assertTrue(any(s.name == "presence" and s["from"] == "bob@localhost/res"
                            for s in alice.session.received))
        await self.run_command("setMutualSubscription", {
            "userA": "alice@localhost", "userB": "bob@localhost", "action": "disconnect"})
        self.assertIsNone(await self.item("alice", "bob@localhost"))
        self.assertIsNone(await self.item("bob", "alice@localhost"))
        await self.fails("bad_request", "setMutualSubscription", {
            "userA": "alice@localhost", "userB": "alice@localhost", "action": "connect"})

    async def test_subscribe_to_all(self):
        """subscribeToAll connects the user with each contact, using the given names."""
        result = await self.run_command("subscribeToAll", {
            "user": {"jid": "alice@localhost", "name": "Alice"},
            "contacts": [{"jid": "bob@localhost", "name": "Bobby", "groups": ["team"]},
                         {"jid": "ghost@localhost", "name": "Ghost"}],
        })
        self.assertEqual(len(result), 2)
        self.assertIn("does not exist", result[1])
        item = await self.item("alice", "bob@localhost")
        self.assertEqual((item.subscription, item.name, item.groups), ("both", "Bobby", ("team",)))
        self.assertEqual((await self.item("bob", "alice@localhost")).name, "Alice")

    async def test_subscribe_all_to_all(self):
        """subscribeAllToAll connects every pair."""
        result = await self.run_command("subscribeAllToAll", {"contacts": [
            {"jid": "alice@localhost", "name": "A"}, {"jid": "bob@localhost", "name": "B"},
            {"jid": "carol@localhost", "name": "C"}]})
        self.assertEqual(len(result), 3)
        for user, contact in [("alice", "carol"), ("carol", "bob"), ("bob", "alice")]:
            item = await self.item(user, f"{contact}@localhost")
            self.assertEqual(item.subscription, "both")


class ContactsRestTests(RosterCommandTestCase):
    """The MongooseIM 6.5 /contacts routes over a real HTTP listener."""

    async def setUp(self):
        """Serve the node's admin API on a loopback port."""
        await super().setUp()
        root = Resource()
        root.putChild(b"api", AdminAPI(self.node.commands).resource())
        self.port = reactor.listenTCP(0, Site(root), interface="127.0.0.1")
        self.addCleanup(self.port.stopListening)
        self.base = f"http://127.0.0.1:{self.port.getHost().port}/api"

    async def request(self, method, path, body=None):
        """Make a request; return (status, decoded JSON or None)."""
        data = None if body is None else json.dumps(body).encode()
        response = await treq.request(method, self.base + path, data=data, persistent=False)
        content = await response.content()
        await settle(self.node)
        return response.code, (json.loads(content) if content else None)

    async def test_contacts_routes(self):
        """POST, GET, PUT (subscription and manage) and DELETE on /contacts."""
        self.assertEqual(
            await self.request("POST", "/contacts/alice@localhost", {"jid": "bob@localhost"}),
            (204, None))
        status, listed = await self.request("GET", "/contacts/alice@localhost")
        self.assertEqual((status, listed[0]["jid"], listed[0]["subscription"]),
                         (200, "bob@localhost", "none"))
        self.assertEqual(
            (await self.request("PUT", "/contacts/alice@localhost/bob@localhost",
                                {"action": "invite"}))[0], 204)
        self.assertEqual((await self.request("GET", "/contacts/alice@localhost"))[1][0]["ask"],
                         "out")
        self.assertEqual(
            (await self.request("PUT", "/contacts/alice@localhost/carol@localhost/manage",
                                {"action": "connect"}))[0], 204)
        self.assertEqual((await self.item("carol", "alice@localhost")).subscription, "both")
        self.assertEqual(
            (await self.request("DELETE", "/contacts/alice@localhost/bob@localhost"))[0], 204)
        status, error = await self.request("DELETE", "/contacts/alice@localhost/bob@localhost")
        self.assertEqual((status, error["error"]), (404, "not_found"))
