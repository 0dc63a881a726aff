"""mod_privacy (XEP-0016): list management, pushes and enforcement through a real node."""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase, TestCase

from mongoose.modules.mod_privacy import stanza_kind
from mongoose.modules.privacy.items import NS_PRIVACY, list_element, parse_items
from mongoose.modules.privacy.rules import decide, jid_matches
from mongoose.storage.interfaces import PrivacyItem, RosterItem
from mongoose.xmpp.errors import StanzaError
from mongoose.xmpp.jid import JID
from test.support.sessions import IM_MODULES, connect, start_im_node, xml

MODULES = IM_MODULES + "\n[modules.mod_privacy]\n"


def condition(stanza) -> str:
    """The defined condition of an error stanza."""
    error = next(e for e in stanza.elements() if e.name == "error")
    return next(error.elements()).name


def query(payload: str, kind: str = "set", iq_id: str = "p") -> str:
    """A privacy IQ."""
    return f"<iq type='{kind}' id='{iq_id}'><query xmlns='{NS_PRIVACY}'>{payload}</query></iq>"


class RuleTests(SynchronousTestCase):
    """Matching and deciding, without a node."""

    def test_jid_forms(self):
        """user@domain/resource, user@domain, domain/resource and domain match as XEP-0016 says."""
        contact = JID.parse("bob@example.com/phone")
        self.assertTrue(jid_matches("bob@example.com/phone", contact))
        self.assertTrue(jid_matches("bob@example.com", contact))
        self.assertTrue(jid_matches("example.com", contact))
        self.assertFalse(jid_matches("example.com/phone", contact))
        self.assertFalse(jid_matches("bob@example.com/pc", contact))
        self.assertFalse(jid_matches("carol@example.com", contact))

    def test_first_match_wins_and_kinds(self):
        """The lowest-order matching item decides; items limited to kinds skip others."""
        items = [
            PrivacyItem("allow", 1, "jid", "bob@example.com", frozenset({"iq"})),
            PrivacyItem("deny", 2, "subscription", "none"),
            PrivacyItem("deny", 3, "group", "Work", frozenset({"message"})),
        ]
        bob = JID.parse("bob@example.com")
        self.assertEqual(decide(items, "iq", bob), "allow")
        self.assertEqual(decide(items, "message", bob), "deny")
        friend = RosterItem("bob@example.com", subscription="both", groups=("Work",))
        self.assertEqual(decide(items, "message", bob, friend), "deny")
        self.assertEqual(decide(items, "presence-in", bob, friend), "allow")

    def test_parse_refuses_bad_items(self):
        """Unknown actions, duplicate orders and bad subscriptions are bad-request."""
        for text in (
            "<list name='x'><item action='maybe' order='1'/></list>",
            "<list name='x'><item action='deny' order='1'/><item action='allow' order='1'/></list>",
            "<list name='x'><item type='subscription' value='all' action='deny' order='1'/></list>",
            "<list name='x'><item action='deny' order='-3'/></list>",
        ):
            with self.assertRaises(StanzaError) as caught:
                parse_items(xml(text))
            self.assertEqual(caught.exception.condition, "bad-request")

    def test_round_trip(self):
        """A list written with list_element parses back to the same items."""
        items = [PrivacyItem("deny", 5, "jid", "bob@example.com", frozenset({"message", "iq"})),
                 PrivacyItem("allow", 9)]
        self.assertEqual(parse_items(list_element("x", items)), items)

    def test_stanza_kind(self):
        """Subscriptions fall outside the presence-in/out kinds."""
        self.assertEqual(stanza_kind(xml("<presence/>"), True), "presence-in")
        self.assertEqual(stanza_kind(xml("<presence type='unavailable'/>"), False), "presence-out")
        self.assertEqual(stanza_kind(xml("<presence type='subscribe'/>"), True), "other")


class PrivacyListTests(TestCase):
    """alice manages lists on two resources; bob talks to her."""

    async def setUp(self):
        """A node with mod_privacy; alice on a and b, bob online."""
        self.node = await start_im_node(self, MODULES)
        self.alice = await connect(self.node, "alice", "a")
        self.alice2 = await connect(self.node, "alice", "b")
        self.bob = await connect(self.node, "bob")
        for client in (self.alice, self.alice2, self.bob):
            await client.available()
            client.take()

    async def set_list(self, name: str, items: str, iq_id: str = "p"):
        """alice sets a list from resource a; return the reply."""
        await self.alice.send(query(f"<list name='{name}'>{items}</list>", iq_id=iq_id))
        return self.alice.last("iq", id=iq_id)

    async def test_set_get_and_push(self):
        """A stored list comes back on get and is pushed to both resources."""
        reply = await self.set_list(
            "work", "<item type='jid' value='bob@localhost' action='deny' order='1'><message/></item>"
        )
        self.assertEqual(reply["type"], "result")
        for client in (self.alice, self.alice2):
            pushes = [s for s in client.session.received
                      if s.name == "iq" and s.getAttribute("type") == "set"]
            self.assertEqual(next(next(pushes[-1].elements()).elements())["name"], "work")
        await self.alice.send(query("<list name='work'/>", "get", "g"))
        got = next(next(self.alice.last("iq", id="g").elements()).elements())
        item = next(got.elements())
        self.assertEqual((item["value"], item["action"], [c.name for c in item.elements()]),
                         ("bob@localhost", "deny", ["message"]))
        await self.alice.send(query("", "get", "names"))
        names = next(self.alice.last("iq", id="names").elements())
        self.assertEqual([(c.name, c.getAttribute("name")) for c in names.elements()],
                         [("active", None), ("default", None), ("list", "work")])

    async def test_missing_list(self):
        """Getting, activating or defaulting an unknown list is item-not-found."""
        await self.alice.send(query("<list name='nope'/>", "get", "g"))
        self.assertEqual(condition(self.alice.last("iq", id="g")), "item-not-found")
        await self.alice.send(query("<active name='nope'/>", iq_id="a"))
        self.assertEqual(condition(self.alice.last("iq", id="a")), "item-not-found")
        await self.alice.send(query("<default name='nope'/>", iq_id="d"))
        self.assertEqual(condition(self.alice.last("iq", id="d")), "item-not-found")

    async def test_two_changes_is_bad_request(self):
        """A set with both <active/> and <default/> is refused."""
        await self.alice.send(query("<active/><default/>", iq_id="x"))
        self.assertEqual(condition(self.alice.last("iq", id="x")), "bad-request")

    async def test_active_list_is_per_session(self):
        """A list active on resource a denies bob's messages there only."""
        await self.set_list("quiet", "<item action='deny' order='1'><message/></item>")
        await self.alice.send(query("<active name='quiet'/>", iq_id="act"))
        self.assertEqual(self.alice.last("iq", id="act")["type"], "result")
        self.alice.take()
        self.alice2.take()
        await self.bob.send("<message to='alice@localhost/a' type='chat' id='m1'><body>1</body></message>")
        await self.bob.send("<message to='alice@localhost/b' type='chat' id='m2'><body>2</body></message>")
        self.assertEqual([s for s in self.alice.take() if s.name == "message"], [])
        self.assertEqual([s["id"] for s in self.alice2.take() if s.name == "message"], ["m2"])
        self.assertEqual(condition(self.bob.last("message", id="m1")), "service-unavailable")

    async def test_default_list_applies_and_cannot_be_removed(self):
        """The default list guards every resource; removing it is a conflict."""
        await self.set_list("def", "<item type='jid' value='bob@localhost' action='deny' order='1'/>")
        await self.alice.send(query("<default name='def'/>", iq_id="d"))
        self.assertEqual(self.alice.last("iq", id="d")["type"], "result")
        await self.bob.send("<message to='alice@localhost' type='chat' id='m'><body>x</body></message>")
        self.assertEqual([s for s in self.alice.take() + self.alice2.take()
                          if s.name == "message"], [])
        errors = [s for s in self.bob.take() if s.name == "message"]
        self.assertEqual(len(errors), 1, "refused once, not once per resource")
        reply = await self.set_list("def", "", "rm")
        self.assertEqual(condition(reply), "conflict")

    async def test_remove_list_active_elsewhere_is_conflict(self):
        """A list active on another resource cannot be removed; an unused one can."""
        await self.set_list("l", "<item action='allow' order='1'/>")
        await self.alice2.send(query("<active name='l'/>", iq_id="act"))
        self.assertEqual(condition(await self.set_list("l", "", "rm")), "conflict")
        await self.alice2.send(query("<active/>", iq_id="off"))
        self.assertEqual((await self.set_list("l", "", "rm2"))["type"], "result")
        await self.alice.send(query("<list name='l'/>", "get", "g"))
        self.assertEqual(condition(self.alice.last("iq", id="g")), "item-not-found")

    async def test_outgoing_presence_out_rule(self):
        """A presence-out deny keeps alice's directed presence from bob, with an error."""
        await self.set_list("p", "<item action='deny' order='1'><presence-out/></item>")
        await self.alice.send(query("<active name='p'/>", iq_id="act"))
        self.bob.take()
        await self.alice.send("<presence to='bob@localhost/res' id='pr'/>")
        self.assertEqual(self.bob.take(), [])
        self.assertEqual(condition(self.alice.last("presence", id="pr")), "not-acceptable")

    async def test_someone_elses_lists_are_forbidden(self):
        """bob cannot read alice's lists."""
        await self.bob.send(
            f"<iq type='get' id='f' to='alice@localhost'><query xmlns='{NS_PRIVACY}'/></iq>"
        )
        self.assertEqual(condition(self.bob.last("iq", id="f")), "forbidden")

    async def test_account_removal_deletes_lists(self):
        """remove_user drops the user's lists."""
        await self.set_list("gone", "<item action='allow' order='1'/>")
        await self.node.hooks.run("remove_user", "localhost", "alice", "localhost")
        self.assertEqual(await self.node.stores.privacy.list_names("localhost", "alice"), ([], None))
