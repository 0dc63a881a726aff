"""The stanza commands (mongoose.commands.defs.stanza) routing through a node."""

from __future__ import annotations

import itertools

from twisted.trial.unittest import TestCase

from mongoose.commands.caller import Caller
from mongoose.commands.defs.stanza import stanza_commands
from mongoose.commands.errors import CommandError
from mongoose.commands.registry import CommandRegistry
from test.support.sessions import connect, settle, start_im_node

ADMIN = Caller.admin()


class StanzaCommandTestCase(TestCase):
    """A node with alice and bob and a registry holding the stanza commands."""

    async def setUp(self):
        """Start the node and register the stanza commands with predictable ids."""
        self.node = await start_im_node(self)
        for user in ("alice", "bob"):
            await self.node.auth.register(user, "localhost", "pw")
        counter = itertools.count(1)
        self.registry = CommandRegistry()
        for command in stanza_commands(
            self.node.router, self.node.serves_domain,
            lambda user, host: self.node.auth.user_exists(user, host),
            new_id=lambda: f"id{next(counter)}",
        ):
            self.registry.register(command)
        self.bob = await connect(self.node, "bob")
        await self.bob.available()
        self.bob.take()

    async def run_command(self, name, args, caller=ADMIN):
        """Run a stanza command; return its JSON result."""
        result = await self.registry.execute(caller, "stanza", name, args)
        await settle(self.node)
        return result

    async def fails(self, code, name, args, caller=ADMIN):
        """Run a command that must fail with ``code``; return the error."""
        with self.assertRaises(CommandError) as caught:
            await self.run_command(name, args, caller)
        self.assertEqual(caught.exception.code, code, caught.exception.message)
        return caught.exception

    async def test_send_message(self):
        """sendMessage delivers a chat message from the user and answers its id."""
        result = await self.run_command(
            "sendMessage", {"from": "alice@localhost", "to": "bob@localhost", "body": "Hi!"})
        self.assertEqual(result, {"id": "id1"})
        (message,) = self.bob.take()
        self.assertEqual((message["type"], message["from"], message["id"]),
                         ("chat", "alice@localhost", "id1"))
        self.assertEqual([(c.name, str(c)) for c in message.elements()], [("body", "Hi!")])

    async def test_send_message_to_offline_user_is_stored(self):
        """A message to a user without sessions goes to offline storage like any other."""
        await self.run_command(
            "sendMessage", {"from": "bob@localhost", "to": "alice@localhost", "body": "later"})
        self.assertEqual(
            await self.node.stores.offline.count_messages("localhost", "alice"), 1)

    async def test_headline(self):
        """sendMessageHeadLine sends subject and body; it needs one of them."""
        await self.run_command("sendMessageHeadLine", {
            "from": "alice@localhost", "to": "bob@localhost/res", "subject": "News"})
        (message,) = self.bob.take()
        self.assertEqual(message["type"], "headline")
        self.assertEqual([(c.name, str(c)) for c in message.elements()], [("subject", "News")])
        await self.fails("bad_request", "sendMessageHeadLine",
                         {"from": "alice@localhost", "to": "bob@localhost"})

    async def test_sender_checks(self):
        """The sender must be an existing user of a served domain; domain admins stay home."""
        await self.fails("not_found", "sendMessage",
                         {"from": "ghost@localhost", "to": "bob@localhost", "body": "x"})
        await self.fails("not_found", "sendMessage",
                         {"from": "a@elsewhere.test", "to": "bob@localhost", "body": "x"})
        await self.fails("forbidden", "sendMessage",
                         {"from": "alice@localhost", "to": "bob@localhost", "body": "x"},
                         caller=Caller.domain_admin("other.test"))

    async def test_send_stanza(self):
        """sendStanza routes any stanza from a served domain, keeping or adding its id."""
        result = await self.run_command("sendStanza", {"stanza":
            "<message from='alice@localhost/x' to='bob@localhost' id='given'>"
            "<body>raw</body></message>"})
        self.assertEqual(result, {"id": "given"})
        result = await self.run_command("sendStanza", {"stanza":
            "<presence from='localhost' to='bob@localhost/res'/>"})
        self.assertEqual(result, {"id": "id1"})
        self.assertEqual([s.name for s in self.bob.take()], ["message", "presence"])

    async def test_send_stanza_refusals(self):
        """Bad XML, non-stanzas, missing addresses and foreign senders are refused."""
        bad = [
            "<message from='alice@localhost' to='bob@localhost'>",
            "<foo from='alice@localhost' to='bob@localhost'/>",
            "<message to='bob@localhost'/>",
            "<message from='al@@ice' to='bob@localhost'/>",
        ]
        for text in bad:
            error = await self.fails("bad_request", "sendStanza", {"stanza": text})
            self.assertNotIn("\n", error.message)
        await self.fails("not_found", "sendStanza",
                         {"stanza": "<message from='x@remote.test' to='bob@localhost'/>"})
        await self.fails("forbidden", "sendStanza",
                         {"stanza": "<message from='alice@localhost' to='bob@localhost'/>"},
                         caller=Caller.domain_admin("localhost"))
        self.assertEqual(self.bob.take(), [])
