"""mod_offline through a real node: storing, limits, delivery with XEP-0203 delays."""

from __future__ import annotations

from datetime import UTC, datetime

from twisted.internet.task import Clock
from twisted.trial.unittest import TestCase

from mongoose.commands.caller import Caller
from mongoose.commands.errors import CommandError
from mongoose.modules.mod_offline import NS_DELAY, expiry, worth_storing
from test.support.sessions import IM_MODULES, connect, module_instance, start_im_node, xml

LIMITED = IM_MODULES + """
[access]
  max_user_offline_messages = [
    {acl = "all", value = 2}
  ]
"""

CUSTOM_RULE = IM_MODULES.replace(
    "[modules.mod_offline]", "[modules.mod_offline]\n  access_max_user_messages = \"tight\""
) + """
[access]
  tight = [
    {acl = "all", value = 1}
  ]
"""


def messages(client) -> list:
    """Message stanzas the client received."""
    return [s for s in client.session.received if s.name == "message"]


def errors(client) -> list:
    """(type, condition) of the error messages the client received."""
    found = []
    for stanza in messages(client):
        if stanza.getAttribute("type") == "error":
            error = next(e for e in stanza.elements() if e.name == "error")
            found.append((error["type"], next(error.elements()).name))
    return found


def body(stanza) -> str | None:
    """The text of a message's body."""
    for child in stanza.elements():
        if child.name == "body":
            return str(child)
    return None


class OfflineTestCase(TestCase):
    """A node with the IM modules, a fixed clock for mod_offline, alice and bob."""

    modules = IM_MODULES

    async def setUp(self):
        """Start the node and give mod_offline a controllable clock."""
        self.node = await start_im_node(self, self.modules)
        self.clock = Clock()
        self.clock.advance(1_714_564_800.5)  # 2024-05-01T12:00:00.5Z
        module_instance(self.node, "mod_offline").ctx.clock = self.clock
        await self.node.auth.register("bob", "localhost", "pw")
        self.alice = await connect(self.node, "alice")
        await self.alice.available()

    async def send(self, text: str, to: str = "bob@localhost", kind: str = "chat"):
        """alice sends a message."""
        await self.alice.send(f"<message to='{to}' type='{kind}' id='m'>{text}</message>")

    async def stored(self, user: str = "bob") -> int:
        """How many messages wait for user@localhost."""
        return await self.node.stores.offline.count_messages("localhost", user)


class StoreAndDeliverTests(OfflineTestCase):
    """The basic cycle."""

    async def test_delivered_at_initial_presence_with_delay(self):
        """Messages for an offline user arrive at login, in order, stamped, then are gone."""
        await self.send("<body>one</body>")
        self.clock.advance(2)
        await self.send("<body>two</body>")
        self.assertEqual(errors(self.alice), [])
        self.assertEqual(await self.stored(), 2)
        bob = await connect(self.node, "bob")
        self.assertEqual(messages(bob), [])
        await bob.available()
        got = messages(bob)
        self.assertEqual([body(m) for m in got], ["one", "two"])
        self.assertEqual(got[0]["from"], "alice@localhost/res")
        delay = next(c for c in got[0].elements() if c.uri == NS_DELAY)
        self.assertEqual((delay["from"], delay["stamp"], str(delay)),
                         ("localhost", "2024-05-01T12:00:00.500Z", "Offline Storage"))
        self.assertEqual(next(c for c in got[1].elements() if c.uri == NS_DELAY)["stamp"],
                         "2024-05-01T12:00:02.500Z")
        self.assertEqual(await self.stored(), 0)
        again = await connect(self.node, "bob", "second")
        await again.available()
        self.assertEqual(messages(again), [])

    async def test_bound_but_unavailable_user(self):
        """A user whose sessions sent no presence yet gets messages stored, then delivered."""
        bob = await connect(self.node, "bob")
        await self.send("<body>hi</body>")
        self.assertEqual(messages(bob), [])
        await bob.available()
        self.assertEqual([body(m) for m in messages(bob)], ["hi"])

    async def test_negative_priority_session_skipped(self):
        """A session with negative priority does not take the stored messages."""
        await self.send("<body>hi</body>")
        shy = await connect(self.node, "bob", "shy")
        await shy.available(priority=-1)
        self.assertEqual(messages(shy), [])
        self.assertEqual(await self.stored(), 1)
        main = await connect(self.node, "bob", "main")
        await main.available(priority=1)
        self.assertEqual(len(messages(main)), 1)

    async def test_normal_messages_stored(self):
        """Messages without a type (normal) are stored like chat messages."""
        await self.alice.send("<message to='bob@localhost'><body>note</body></message>")
        self.assertEqual(await self.stored(), 1)

    async def test_what_is_not_stored(self):
        """Headlines vanish, chat states alone are dropped silently, no-store is refused."""
        await self.send("<body>news</body>", kind="headline")
        await self.send("<composing xmlns='http://jabber.org/protocol/chatstates'/>")
        self.assertEqual(errors(self.alice), [])
        await self.send("<body>secret</body><no-store xmlns='urn:xmpp:hints'/>")
        self.assertEqual(errors(self.alice), [("cancel", "service-unavailable")])
        self.assertEqual(await self.stored(), 0)

    async def test_expired_message_not_delivered(self):
        """A message asking to expire (XEP-0023) is not delivered after its time."""
        await self.send("<body>soon gone</body><x xmlns='jabber:x:expire' seconds='30'/>")
        await self.send("<body>kept</body>")
        self.clock.advance(31)
        bob = await connect(self.node, "bob")
        await bob.available()
        self.assertEqual([body(m) for m in messages(bob)], ["kept"])

    async def test_unknown_user_bounced(self):
        """A message to an account that does not exist is not stored but refused."""
        await self.send("<body>hello?</body>", to="ghost@localhost")
        self.assertEqual(errors(self.alice), [("cancel", "service-unavailable")])
        self.assertEqual(await self.stored("ghost"), 0)

    async def test_session_gone_keeps_rest(self):
        """Messages not delivered because the session ended stay for the next login."""
        await self.send("<body>one</body>")
        bob = await connect(self.node, "bob")
        self.node.sessions.unbind(bob.session)
        module = module_instance(self.node, "mod_offline")
        bob.session.priority = 0
        await module.on_user_available(bob.session)
        self.assertEqual(messages(bob), [])
        self.assertEqual(await self.stored(), 1)

    async def test_undelivered_message_of_online_user_rerouted(self):
        """A message handed back by a session that went away reaches the user's other one."""
        bob = await connect(self.node, "bob")
        await bob.available()
        stanza = xml("<message from='alice@localhost/res' to='bob@localhost/gone' type='chat'>"
                     "<body>again</body></message>")
        handled = not await self.node.hooks.run(
            "offline_message", "localhost", self.alice.jid, bob.jid.bare(), stanza)
        self.assertTrue(handled)
        self.assertEqual([body(m) for m in messages(bob)], ["again"])
        self.assertEqual(await self.stored(), 0)

    async def test_remove_user_hook(self):
        """remove_user deletes the account's waiting messages."""
        await self.send("<body>one</body>")
        await self.node.hooks.run("remove_user", "localhost", "bob", "localhost")
        self.assertEqual(await self.stored(), 0)


class LimitTests(OfflineTestCase):
    """access_max_user_messages."""

    modules = LIMITED

    async def test_over_limit_resource_constraint(self):
        """Past the limit the sender gets resource-constraint and nothing more is stored."""
        for n in range(3):
            await self.send(f"<body>{n}</body>")
        self.assertEqual(errors(self.alice), [("wait", "resource-constraint")])
        self.assertEqual(await self.stored(), 2)

    def test_limit_value(self):
        """The limit comes from the access rule named by the option."""
        module = module_instance(self.node, "mod_offline")
        self.assertEqual(module.limit_for(self.alice.jid.bare()), 2)


class CustomRuleTests(OfflineTestCase):
    """A custom rule name."""

    modules = CUSTOM_RULE

    async def test_custom_rule(self):
        """access_max_user_messages names the rule that limits the queue."""
        await self.send("<body>1</body>")
        await self.send("<body>2</body>")
        self.assertEqual(errors(self.alice), [("wait", "resource-constraint")])


class NoRuleTests(OfflineTestCase):
    """Without the access rule there is no limit."""

    def test_unlimited(self):
        """limit_for is None when the rule does not exist."""
        module = module_instance(self.node, "mod_offline")
        self.assertIsNone(module.limit_for(self.alice.jid.bare()))


class CommandTests(OfflineTestCase):
    """The offline commands registered by the module."""

    async def test_delete_old_and_expired(self):
        """deleteOldMessages and deleteExpiredMessages remove what they say and report it."""
        await self.send("<body>old</body>")
        await self.send("<body>expiring</body><x xmlns='jabber:x:expire' seconds='10'/>")
        self.clock.advance(3 * 86400)
        await self.send("<body>new</body>")
        run = self.node.commands.execute
        admin = Caller.admin()
        self.assertEqual(
            await run(admin, "offline", "deleteExpiredMessages", {"domain": "localhost"}),
            "Removed 1 messages",
        )
        self.assertEqual(
            await run(admin, "offline", "deleteOldMessages", {"domain": "localhost", "days": 2}),
            "Removed 1 messages",
        )
        self.assertEqual(await self.stored(), 1)

    async def test_domain_without_module(self):
        """A domain where mod_offline does not run answers unavailable."""
        with self.assertRaises(CommandError) as caught:
            await self.node.commands.execute(
                Caller.admin(), "offline", "deleteExpiredMessages", {"domain": "nowhere.test"})
        self.assertEqual(caught.exception.code, "unavailable")


class HelperTests(TestCase):
    """worth_storing and expiry."""

    def test_worth_storing(self):
        """Content decides: body or other payload yes, chat states and thread alone no."""
        cases = {
            "<message><body>x</body></message>": True,
            "<message><subject>s</subject></message>": True,
            "<message><x xmlns='jabber:x:oob'/></message>": True,
            "<message><thread>t</thread><active xmlns='http://jabber.org/protocol/chatstates'/>"
            "</message>": False,
            "<message/>": False,
            "<message><body>x</body><no-permanent-store xmlns='urn:xmpp:hints'/></message>": None,
        }
        for text, expected in cases.items():
            self.assertEqual(worth_storing(xml(text)), expected, text)

    def test_expiry(self):
        """jabber:x:expire seconds become an expiry time; junk is ignored."""
        now = datetime(2024, 1, 1, tzinfo=UTC)
        self.assertEqual(
            expiry(xml("<message><x xmlns='jabber:x:expire' seconds='60'/></message>"), now),
            datetime(2024, 1, 1, 0, 1, tzinfo=UTC),
        )
        self.assertIsNone(
            expiry(xml("<message><x xmlns='jabber:x:expire' seconds='soon'/></message>"), now))
        self.assertIsNone(expiry(xml("<message/>"), now))
