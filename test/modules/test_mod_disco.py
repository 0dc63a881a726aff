"""mod_disco through the real router: server and account disco#info/items (XEP-0030)."""

from twisted.trial.unittest import TestCase

from test.modules.nodes import login, start_node, xml

DISCO = """
[modules.mod_disco]
  extra_domains = ["extra.localhost"]
  server_info = [{name = "abuse-addresses", urls = ["mailto:abuse@localhost"]}]
[modules.mod_ping]
"""


def features(reply):
    """The feature vars of a disco#info reply."""
    query = next(reply.elements())
    return [f["var"] for f in query.elements() if f.name == "feature"]


class ServerDiscoTests(TestCase):
    """disco#info and disco#items of the domain."""

    async def test_server_info(self):
        """The server is an im server with disco, ping and the XEP-0157 form."""
        node = await start_node(self, DISCO)
        alice = await login(node, "alice")
        await node.router.route(xml(
            "<iq type='get' id='d1' from='alice@localhost/res' to='localhost'>"
            "<query xmlns='http://jabber.org/protocol/disco#info'/></iq>"
        ))
        reply = alice.received[-1]
        self.assertEqual((reply["type"], reply["id"]), ("result", "d1"))
        query = next(reply.elements())
        identity = next(e for e in query.elements() if e.name == "identity")
        self.assertEqual((identity["category"], identity["type"]), ("server", "im"))
        self.assertIn("urn:xmpp:ping", features(reply))
        self.assertIn("http://jabber.org/protocol/disco#items", features(reply))
        form = next(e for e in query.elements() if e.name == "x")
        self.assertIn("mailto:abuse@localhost", form.toXml())

    async def test_server_items(self):
        """extra_domains are listed as items."""
        node = await start_node(self, DISCO)
        alice = await login(node, "alice")
        await node.router.route(xml(
            "<iq type='get' id='d2' from='alice@localhost/res' to='localhost'>"
            "<query xmlns='http://jabber.org/protocol/disco#items'/></iq>"
        ))
        items = [i["jid"] for i in next(alice.received[-1].elements()).elements()]
        self.assertEqual(items, ["extra.localhost"])

    async def test_unknown_node(self):
        """disco#info on an unknown node is item-not-found."""
        node = await start_node(self, DISCO)
        alice = await login(node, "alice")
        await node.router.route(xml(
            "<iq type='get' id='d3' from='alice@localhost/res' to='localhost'>"
            "<query xmlns='http://jabber.org/protocol/disco#info' node='nope'/></iq>"
        ))
        reply = alice.received[-1]
        self.assertEqual(reply["type"], "error")
        self.assertIn("item-not-found", reply.toXml())

    async def test_set_not_allowed(self):
        """disco#info is read-only: a set gets not-allowed."""
        node = await start_node(self, DISCO)
        alice = await login(node, "alice")
        await node.router.route(xml(
            "<iq type='set' id='d4' from='alice@localhost/res' to='localhost'>"
            "<query xmlns='http://jabber.org/protocol/disco#info'/></iq>"
        ))
        self.assertIn("not-allowed", alice.received[-1].toXml())


class AccountDiscoTests(TestCase):
    """disco#info of users' bare JIDs, answered by the server."""

    async def test_account_identity(self):
        """An existing account is an account/registered identity."""
        node = await start_node(self, DISCO)
        alice = await login(node, "alice")
        await node.auth.register("bob", "localhost", "pw")
        await node.router.route(xml(
            "<iq type='get' id='a1' from='alice@localhost/res' to='bob@localhost'>"
            "<query xmlns='http://jabber.org/protocol/disco#info'/></iq>"
        ))
        reply = alice.received[-1]
        self.assertEqual(reply["type"], "result")
        self.assertIn("category=\"account\"", reply.toXml().replace("'", '"'))

    async def test_unknown_account(self):
        """A user that does not exist answers service-unavailable."""
        node = await start_node(self, DISCO)
        alice = await login(node, "alice")
        await node.router.route(xml(
            "<iq type='get' id='a2' from='alice@localhost/res' to='ghost@localhost'>"
            "<query xmlns='http://jabber.org/protocol/disco#info'/></iq>"
        ))
        self.assertIn("service-unavailable", alice.received[-1].toXml())
