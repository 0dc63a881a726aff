"""mod_private (XEP-0049): store and read private XML, and every refusal."""

from __future__ import annotations

from twisted.trial.unittest import TestCase

from test.c2s.support import logged_in, start_node
from test.support.sessions import IM_MODULES, connect, start_im_node

PRIVATE = IM_MODULES + "[modules.mod_private]\n"
BOOKMARKS = "<storage xmlns='storage:bookmarks'><conference jid='room@muc.localhost'/></storage>"


def private(kind: str, payload: str, id: str = "p1", to: str = "") -> str:
    """A jabber:iq:private IQ with ``payload`` inside the query."""
    attr = f" to='{to}'" if to else ""
    return (f"<iq type='{kind}' id='{id}'{attr}>"
            f"<query xmlns='jabber:iq:private'>{payload}</query></iq>")


class PrivateStorageTests(TestCase):
    """Private XML through the router."""

    async def test_set_then_get(self):
        """What a user stores comes back when asked for by namespace, across sessions."""
        node = await start_im_node(self, PRIVATE)
        alice = await connect(node, "alice")
        await alice.send(private("set", BOOKMARKS))
        self.assertEqual(alice.last("iq", id="p1")["type"], "result")
        await alice.disconnect()
        again = await connect(node, "alice", "other")
        await again.send(private("get", "<storage xmlns='storage:bookmarks'/>", id="p2"))
        reply = again.last("iq", id="p2")
        self.assertEqual(reply["type"], "result")
        storage = reply.firstChildElement().firstChildElement()
        self.assertEqual((storage.uri, storage.name), ("storage:bookmarks", "storage"))
        self.assertEqual(storage.firstChildElement()["jid"], "room@muc.localhost")

    async def test_get_nothing_stored(self):
        """Asking for a namespace with no data returns the empty element."""
        node = await start_im_node(self, PRIVATE)
        alice = await connect(node, "alice")
        await alice.send(private("get", "<prefs xmlns='urn:example:prefs'/>"))
        reply = alice.last("iq", id="p1")
        self.assertEqual(reply["type"], "result")
        prefs = reply.firstChildElement().firstChildElement()
        self.assertEqual((prefs.uri, prefs.name, list(prefs.children)),
                         ("urn:example:prefs", "prefs", []))

    async def test_other_user_forbidden(self):
        """Reading or writing another user's private data is forbidden."""
        node = await start_im_node(self, PRIVATE)
        await node.auth.register("bob", "localhost", "pw")
        alice = await connect(node, "alice")
        await alice.send(private("get", "<storage xmlns='storage:bookmarks'/>",
                                 to="bob@localhost"))
        self.assertIn("forbidden", alice.last("iq", id="p1").toXml())
        await alice.send(private("set", BOOKMARKS, id="p2", to="bob@localhost"))
        self.assertIn("forbidden", alice.last("iq", id="p2").toXml())

    async def test_empty_query_bad_request(self):
        """A query without a child element is a bad-request."""
        node = await start_im_node(self, PRIVATE)
        alice = await connect(node, "alice")
        await alice.send(private("get", ""))
        reply = alice.last("iq", id="p1")
        self.assertEqual(reply["type"], "error")
        self.assertIn("bad-request", reply.toXml())

    async def test_reserved_namespace_refused(self):
        """Elements in jabber:* namespaces, or without their own, are not-acceptable."""
        node = await start_im_node(self, PRIVATE)
        alice = await connect(node, "alice")
        await alice.send(private("set", "<query xmlns='jabber:iq:roster'/>"))
        self.assertIn("not-acceptable", alice.last("iq", id="p1").toXml())
        await alice.send(private("set", "<plain/>", id="p2"))
        self.assertIn("not-acceptable", alice.last("iq", id="p2").toXml())
        await alice.send(private("get", "<storage xmlns='storage:bookmarks'/>", id="p3"))
        stored = alice.last("iq", id="p3").firstChildElement().firstChildElement()
        self.assertEqual(list(stored.children), [])

    async def test_set_replaces_per_namespace(self):
        """A set replaces its namespaces only; other namespaces keep their data."""
        node = await start_im_node(self, PRIVATE)
        alice = await connect(node, "alice")
        await alice.send(private("set", BOOKMARKS + "<notes xmlns='urn:example:notes'>n</notes>"))
        await alice.send(private("set", "<storage xmlns='storage:bookmarks'/>", id="p2"))
        await alice.send(private("get", "<notes xmlns='urn:example:notes'/>", id="p3"))
        notes = alice.last("iq", id="p3").firstChildElement().firstChildElement()
        self.assertEqual(str(notes), "n")
        await alice.send(private("get", "<storage xmlns='storage:bookmarks'/>", id="p4"))
        storage = alice.last("iq", id="p4").firstChildElement().firstChildElement()
        self.assertEqual(list(storage.children), [])

    async def test_account_removal_drops_data(self):
        """Removing the account deletes its private data."""
        node = await start_im_node(self, PRIVATE)
        alice = await connect(node, "alice")
        await alice.send(private("set", BOOKMARKS))
        await alice.disconnect()
        await node.auth.remove("alice", "localhost")
        await node.user_removed("alice", "localhost")
        self.assertEqual(
            await node.stores.private.get_private("localhost", "alice", ["storage:bookmarks"]), {}
        )


class PrivateSocketTests(TestCase):
    """Private storage over a real client connection."""

    async def test_round_trip(self):
        """A logged-in client stores bookmarks and reads them back."""
        node = await start_node(self, extra="[modules.mod_private]\n")
        client, _ = await logged_in(self, node.c2s_port)
        client.send(private("set", BOOKMARKS))
        self.assertEqual((await client.element())["type"], "result")
        client.send(private("get", "<storage xmlns='storage:bookmarks'/>", id="p2"))
        reply = await client.element()
        self.assertEqual(reply["id"], "p2")
        self.assertIn("room@muc.localhost", reply.toXml())
