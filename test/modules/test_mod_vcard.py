"""mod_vcard (XEP-0054): own and others' vCards, the server's vCard, limits and refusals."""

from __future__ import annotations

from twisted.internet import reactor
from twisted.internet.task import deferLater
from twisted.trial.unittest import TestCase

from test.c2s.support import logged_in, start_node
from test.support.sessions import IM_MODULES, connect, start_im_node

VCARD = IM_MODULES + "[modules.mod_vcard]\n"
CARD = ("<vCard xmlns='vcard-temp'><FN>Alice Liddell</FN><NICKNAME>al</NICKNAME>"
        "<EMAIL><INTERNET/><USERID>alice@example.com</USERID></EMAIL></vCard>")


def vcard_iq(kind: str, payload: str = "<vCard xmlns='vcard-temp'/>", id: str = "v1",
             to: str = "") -> str:
    """A vcard-temp IQ."""
    attr = f" to='{to}'" if to else ""
    return f"<iq type='{kind}' id='{id}'{attr}>{payload}</iq>"


def field(vcard, name):
    """The text of the first child called ``name``, or None."""
    for child in vcard.elements():
        if child.name == name:
            return str(child)
    return None


class UserVCardTests(TestCase):
    """vCards of users through the router."""

    async def test_set_and_get_own(self):
        """A user stores a vCard and gets it back without 'to'."""
        node = await start_im_node(self, VCARD)
        alice = await connect(node, "alice")
        await alice.send(vcard_iq("set", CARD))
        self.assertEqual(alice.last("iq", id="v1")["type"], "result")
        await alice.send(vcard_iq("get", id="v2"))
        card = alice.last("iq", id="v2").firstChildElement()
        self.assertEqual((card.uri, card.name), ("vcard-temp", "vCard"))
        self.assertEqual(field(card, "FN"), "Alice Liddell")
        self.assertIn("alice@example.com", card.toXml())

    async def test_get_other_user(self):
        """Anyone may read another user's vCard through the bare JID."""
        node = await start_im_node(self, VCARD)
        alice = await connect(node, "alice")
        await alice.send(vcard_iq("set", CARD))
        bob = await connect(node, "bob")
        await bob.send(vcard_iq("get", to="alice@localhost"))
        reply = bob.last("iq", id="v1")
        self.assertEqual((reply["type"], reply["from"]), ("result", "alice@localhost"))
        self.assertEqual(field(reply.firstChildElement(), "NICKNAME"), "al")

    async def test_empty_when_none_stored(self):
        """A user without a vCard yields an empty vCard element."""
        node = await start_im_node(self, VCARD)
        await node.auth.register("bob", "localhost", "pw")
        alice = await connect(node, "alice")
        await alice.send(vcard_iq("get", to="bob@localhost"))
        card = alice.last("iq", id="v1").firstChildElement()
        self.assertEqual((card.name, list(card.children)), ("vCard", []))

    async def test_unknown_user(self):
        """Asking for the vCard of a JID without an account gives item-not-found."""
        node = await start_im_node(self, VCARD)
        alice = await connect(node, "alice")
        await alice.send(vcard_iq("get", to="ghost@localhost"))
        reply = alice.last("iq", id="v1")
        self.assertEqual(reply["type"], "error")
        self.assertIn("item-not-found", reply.toXml())

    async def test_set_other_forbidden(self):
        """Setting another user's vCard is forbidden and changes nothing."""
        node = await start_im_node(self, VCARD)
        await node.auth.register("bob", "localhost", "pw")
        alice = await connect(node, "alice")
        await alice.send(vcard_iq("set", CARD, to="bob@localhost"))
        self.assertIn("forbidden", alice.last("iq", id="v1").toXml())
        self.assertIsNone(await node.stores.vcard.get_vcard("localhost", "bob"))

    async def test_wrong_payload_bad_request(self):
        """A vcard-temp payload that is not a vCard element is a bad-request."""
        node = await start_im_node(self, VCARD)
        alice = await connect(node, "alice")
        await alice.send(vcard_iq("set", "<card xmlns='vcard-temp'/>"))
        self.assertIn("bad-request", alice.last("iq", id="v1").toXml())

    async def test_size_limit(self):
        """A vCard larger than max_size is refused with resource-constraint."""
        node = await start_im_node(self, IM_MODULES + "[modules.mod_vcard]\n  max_size = 100\n")
        alice = await connect(node, "alice")
        big = "<vCard xmlns='vcard-temp'><DESC>" + "x" * 200 + "</DESC></vCard>"
        await alice.send(vcard_iq("set", big))
        reply = alice.last("iq", id="v1")
        self.assertEqual(reply["type"], "error")
        self.assertIn("resource-constraint", reply.toXml())
        self.assertIsNone(await node.stores.vcard.get_vcard("localhost", "alice"))
        await alice.send(vcard_iq("set", "<vCard xmlns='vcard-temp'><FN>A</FN></vCard>", id="v2"))
        self.assertEqual(alice.last("iq", id="v2")["type"], "result")

    async def test_account_removal_drops_vcard(self):
        """Removing the account deletes its vCard."""
        node = await start_im_node(self, VCARD)
        alice = await connect(node, "alice")
        await alice.send(vcard_iq("set", CARD))
        await alice.disconnect()
        await node.auth.remove("alice", "localhost")
        await node.user_removed("alice", "localhost")
        self.assertIsNone(await node.stores.vcard.get_vcard("localhost", "alice"))


class ServerVCardTests(TestCase):
    """The server's own vCard."""

    async def test_server_vcard(self):
        """A get to the domain returns the server's vCard; a set is not-allowed."""
        node = await start_im_node(self, VCARD)
        alice = await connect(node, "alice")
        await alice.send(vcard_iq("get", to="localhost"))
        card = alice.last("iq", id="v1").firstChildElement()
        self.assertEqual(field(card, "FN"), "mongoose")
        await alice.send(vcard_iq("set", CARD, id="v2", to="localhost"))
        reply = alice.last("iq", id="v2")
        self.assertEqual(reply["type"], "error")
        self.assertIn("not-allowed", reply.toXml())


class VCardSocketTests(TestCase):
    """vCards over real client connections."""

    async def test_set_and_read_by_other(self):
        """Alice publishes a vCard; Bob, on his own connection, reads it."""
        node = await start_node(self, extra="[modules.mod_vcard]\n")
        alice, _ = await logged_in(self, node.c2s_port, "alice")
        alice.send(vcard_iq("set", CARD))
        self.assertEqual((await alice.element())["type"], "result")
        bob, _ = await logged_in(self, node.c2s_port, "bob")
        bob.send(vcard_iq("get", to="alice@localhost", id="v2"))
        reply = await bob.element()
        self.assertEqual(reply["id"], "v2")
        self.assertEqual(field(reply.firstChildElement(), "FN"), "Alice Liddell")


SEARCH_SUBMIT = (
    "<iq type='set' id='s1' to='vjud.localhost'><query xmlns='jabber:iq:search'>"
    "<x xmlns='jabber:x:data' type='submit'>"
    "<field var='FORM_TYPE' type='hidden'><value>jabber:iq:search</value></field>"
    "{fields}</x></query></iq>"
)


def submit(**fields) -> str:
    """A search form submission with the given field values."""
    return SEARCH_SUBMIT.format(fields="".join(
        f"<field var='{var}'><value>{value}</value></field>" for var, value in fields.items()))


async def answer(client, id):
    """Wait (up to two seconds) for the IQ answer ``id``; the directory answers from a thread."""
    for _ in range(200):
        for stanza in client.session.received:
            if stanza.name == "iq" and stanza.getAttribute("id") == id:
                client.session.received.remove(stanza)
                return stanza
        await deferLater(reactor, 0.01, lambda: None)
    raise AssertionError(f"no answer {id!r} among {client.dump()}")


def items(reply):
    """The (jid, fn, nick) rows of a search result."""
    form = reply.firstChildElement().firstChildElement()
    rows = []
    for item in form.elements():
        if item.name == "item":
            values = {f["var"]: str(f.firstChildElement()) for f in item.elements()}
            rows.append((values["jid"], values["fn"], values["nick"]))
    return rows


class DirectorySearchTests(TestCase):
    """The XEP-0055 user directory on vjud.@HOST@."""

    async def node_with_cards(self, extra=""):
        """A node with mod_vcard (and disco) where alice and alfred published vCards."""
        node = await start_im_node(
            self, IM_MODULES + "[modules.mod_disco]\n[modules.mod_vcard]\n" + extra)
        alice = await connect(node, "alice")
        await alice.send(vcard_iq("set", CARD))
        alfred = await connect(node, "alfred")
        await alfred.send(vcard_iq("set", "<vCard xmlns='vcard-temp'><FN>Alfred</FN>"
                                          "<NICKNAME>alf</NICKNAME></vCard>"))
        return node, alice

    async def test_form_and_disco(self):
        """The directory is discoverable and offers a search form."""
        node, alice = await self.node_with_cards()
        await alice.send("<iq type='get' id='d1' to='localhost'>"
                         "<query xmlns='http://jabber.org/protocol/disco#items'/></iq>")
        self.assertIn("vjud.localhost", alice.last("iq", id="d1").toXml())
        await alice.send("<iq type='get' id='d2' to='vjud.localhost'>"
                         "<query xmlns='http://jabber.org/protocol/disco#info'/></iq>")
        info = alice.last("iq", id="d2").toXml()
        self.assertIn("jabber:iq:search", info)
        self.assertIn("directory", info)
        await alice.send("<iq type='get' id='f' to='vjud.localhost'>"
                         "<query xmlns='jabber:iq:search'/></iq>")
        form = alice.last("iq", id="f")
        self.assertEqual(form["from"], "vjud.localhost")
        self.assertIn("var='nick'", form.toXml().replace('"', "'"))

    async def test_search_by_nick_and_name(self):
        """Prefixes of nickname or formatted name find the users, ignoring case."""
        node, alice = await self.node_with_cards()
        await alice.send(submit(nick="AL"))
        self.assertEqual(items(await answer(alice, "s1")), [
            ("alfred@localhost", "Alfred", "alf"),
            ("alice@localhost", "Alice Liddell", "al"),
        ])
        await alice.send(submit(fn="alice l", nick="al"))
        self.assertEqual(items(await answer(alice, "s1")),
                         [("alice@localhost", "Alice Liddell", "al")])

    async def test_matches_limit(self):
        """At most `matches` results come back."""
        node, alice = await self.node_with_cards("  matches = 1\n")
        await alice.send(submit(nick="al"))
        self.assertEqual(len(items(await answer(alice, "s1"))), 1)

    async def test_bad_searches(self):
        """An empty form is not-acceptable; an unknown field or no form is bad-request."""
        node, alice = await self.node_with_cards()
        await alice.send(submit())
        self.assertIn("not-acceptable", (await answer(alice, "s1")).toXml())
        await alice.send(submit(email="x"))
        self.assertIn("bad-request", (await answer(alice, "s1")).toXml())
        await alice.send("<iq type='set' id='s2' to='vjud.localhost'>"
                         "<query xmlns='jabber:iq:search'><nick>al</nick></query></iq>")
        self.assertIn("bad-request", (await answer(alice, "s2")).toXml())

    async def test_search_disabled(self):
        """With search = false the directory domain is not served."""
        node = await start_im_node(self, IM_MODULES + "[modules.mod_vcard]\n  search = false\n")
        self.assertNotIn("vjud.localhost", node.router.routes)
        self.assertIn("vjud.localhost", await self.node_routes())

    async def node_routes(self):
        """The routes of a node with the default options (search on)."""
        node = await start_im_node(self, IM_MODULES + "[modules.mod_vcard]\n")
        return set(node.router.routes)
