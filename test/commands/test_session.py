"""The session commands (mongoose.commands.defs.session) over a node's session manager."""

from __future__ import annotations

from twisted.internet.task import Clock
from twisted.trial.unittest import TestCase

from mongoose.commands.caller import Caller
from mongoose.commands.defs.session import KICK_REASON, session_commands
from mongoose.commands.errors import CommandError
from mongoose.commands.registry import CommandRegistry
from mongoose.storage.interfaces import RosterItem
from test.support.sessions import connect, settle, start_im_node

ADMIN = Caller.admin()


class SessionCommandTestCase(TestCase):
    """A node with the IM modules and a registry holding the session commands."""

    async def setUp(self):
        """Start the node; register the session commands with a fixed clock."""
        self.node = await start_im_node(self)
        self.clock = Clock()
        self.clock.advance(1000)
        self.registry = CommandRegistry()
        for command in session_commands(self.node.sessions, self.node.hooks, self.clock,
                                        node_name="mongooseim@test"):
            self.registry.register(command)

    async def run_command(self, name, args, caller=ADMIN):
        """Run a session command; return its JSON result."""
        result = await self.registry.execute(caller, "session", name, args)
        await settle(self.node)
        return result

    async def fails(self, code, name, args, caller=ADMIN):
        """Run a command that must fail with ``code``."""
        with self.assertRaises(CommandError) as caught:
            await self.run_command(name, args, caller)
        self.assertEqual(caught.exception.code, code, caught.exception.message)

    async def login(self, user, resource="res", host="localhost"):
        """Connect a client with fixed session facts."""
        client = await connect(self.node, user, resource, host=host)
        client.session.info.update({"ip": "192.0.2.7", "port": 40000, "transport": "c2s_tls",
                                    "started": 940.0})
        return client


class ListingTests(SessionCommandTestCase):
    """Listing and counting."""

    async def test_list_and_count(self):
        """Sessions are listed with their facts, per domain or globally, and counted."""
        alice = await self.login("alice")
        await alice.available(priority=3)
        await self.login("bob", host="other.test")
        everything = await self.run_command("listSessions", {})
        self.assertEqual(len(everything), 2)
        local = await self.run_command("listSessions", {"domain": "localhost"})
        self.assertEqual(local, [{
            "user": "alice@localhost/res", "connection": "c2s_tls", "ip": "192.0.2.7",
            "port": 40000, "priority": 3, "node": "mongooseim@test", "uptime": 60,
        }])
        self.assertEqual(await self.run_command("countSessions", {}), 2)
        self.assertEqual(await self.run_command("countSessions", {"domain": "other.test"}), 1)

    async def test_user_sessions(self):
        """A user's sessions, their count and the n-th resource."""
        await self.login("alice", "phone")
        await self.login("alice", "laptop")
        listed = await self.run_command("listUserSessions", {"user": "alice@localhost"})
        self.assertEqual([s["user"] for s in listed],
                         ["alice@localhost/phone", "alice@localhost/laptop"])
        self.assertEqual(
            await self.run_command("countUserResources", {"user": "alice@localhost"}), 2)
        self.assertEqual(await self.run_command(
            "getUserResource", {"user": "alice@localhost", "number": 2}), "laptop")
        await self.fails("not_found", "getUserResource", {"user": "alice@localhost", "number": 3})
        self.assertEqual(
            await self.run_command("countUserResources", {"user": "nobody@localhost"}), 0)

    async def test_users_with_status(self):
        """Users are found by presence status; available means no <show/>."""
        alice = await self.login("alice")
        await alice.send("<presence><show>away</show><status>lunch</status></presence>")
        bob = await self.login("bob")
        await bob.available()
        await self.login("carol")
        away = await self.run_command("listUsersWithStatus", {"status": "away"})
        self.assertEqual(away, [{"user": "alice@localhost/res", "priority": 0, "text": "lunch"}])
        self.assertEqual(await self.run_command(
            "countUsersWithStatus", {"domain": "localhost", "status": "available"}), 1)

    async def test_domain_admin_scope(self):
        """A domain admin must name its own domain."""
        mine = Caller.domain_admin("localhost")
        self.assertEqual(await self.run_command("countSessions", {"domain": "localhost"}, mine),
                         0)
        await self.fails("forbidden", "countSessions", {"domain": "other.test"}, mine)
        await self.fails("bad_request", "countSessions", {}, mine)


class KickTests(SessionCommandTestCase):
    """kickUserSession and kickUser."""

    async def test_kick_session(self):
        """The session gets policy-violation with the reason and is unbound."""
        phone = await self.login("alice", "phone")
        laptop = await self.login("alice", "laptop")
        result = await self.run_command(
            "kickUserSession", {"user": "alice@localhost/phone", "reason": "maintenance"})
        self.assertEqual(result, {"jid": "alice@localhost/phone", "kicked": True, "code": None,
                                  "message": "Session kicked"})
        self.assertEqual(phone.session.closed, ("policy-violation", "maintenance"))
        self.assertIsNone(laptop.session.closed)
        self.assertEqual(self.node.sessions.count("localhost"), 1)
        await self.fails("not_found", "kickUserSession", {"user": "alice@localhost/phone"})
        await self.fails("bad_request", "kickUserSession", {"user": "alice@localhost"})

    async def test_kick_user(self):
        """Every session of the user is kicked with the default reason."""
        clients = [await self.login("alice", r) for r in ("a", "b")]
        result = await self.run_command("kickUser", {"user": "alice@localhost"})
        self.assertEqual(sorted(r["jid"] for r in result),
                         ["alice@localhost/a", "alice@localhost/b"])
        for client in clients:
            self.assertEqual(client.session.closed, ("policy-violation", KICK_REASON))
        self.assertEqual(self.node.sessions.count(), 0)

    async def test_kicked_session_announced_unavailable(self):
        """Contacts see a kicked session go unavailable."""
        store = self.node.stores.roster
        await store.update_item("localhost", "alice", "bob@localhost",
                                lambda before: RosterItem("bob@localhost", subscription="from"))
        bob = await self.login("bob")
        await bob.available()
        alice = await self.login("alice")
        await alice.available()
        bob.take()
        await self.run_command("kickUser", {"user": "alice@localhost"})
        self.assertEqual([s.getAttribute("type") for s in bob.take()], ["unavailable"])


class SetPresenceTests(SessionCommandTestCase):
    """setPresence."""

    async def test_set_available_then_unavailable(self):
        """The session's presence changes and is broadcast as if the client sent it."""
        alice = await self.login("alice")
        result = await self.run_command("setPresence", {
            "user": "alice@localhost/res", "type": "available", "show": "dnd",
            "status": "busy", "priority": 7})
        self.assertEqual(result["jid"], "alice@localhost/res")
        self.assertEqual(alice.session.priority, 7)
        (own,) = [s for s in alice.take() if s.name == "presence"]
        self.assertEqual([(c.name, str(c)) for c in own.elements()],
                         [("show", "dnd"), ("status", "busy"), ("priority", "7")])
        listed = await self.run_command("listUsersWithStatus", {"status": "dnd"})
        self.assertEqual(listed[0]["text"], "busy")
        await self.run_command("setPresence", {"user": "alice@localhost/res",
                                               "type": "unavailable"})
        self.assertIsNone(alice.session.priority)
        await self.fails("bad_request", "setPresence", {"user": "alice@localhost/res",
                                                        "type": "subscribe"})
        await self.fails("not_found", "setPresence", {"user": "alice@localhost/none",
                                                      "type": "available"})
