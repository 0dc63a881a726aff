"""mod_version (XEP-0092) over real client sockets."""

from __future__ import annotations

from twisted.trial.unittest import TestCase

import mongoose
from mongoose.modules.mod_version import SERVER_NAME, os_description
from test.c2s.support import logged_in, start_node

VERSION = """
[modules.mod_version]
  os_info = true
"""


def child_text(element, name):
    for child in element.elements():
        if child.name == name:
            return str(child)
    return None


class VersionTests(TestCase):
    """The server tells its name and version to a logged-in client."""

    async def test_version_with_os(self):
        """A get to the domain returns name, version and, with os_info, the OS."""
        node = await start_node(self, extra=VERSION)
        client, _ = await logged_in(self, node.c2s_port)
        client.send("<iq type='get' id='v1' to='localhost'>"
                    "<query xmlns='jabber:iq:version'/></iq>")
        reply = await client.element()
        self.assertEqual((reply["type"], reply["id"], reply["from"]), ("result", "v1", "localhost"))
        query = reply.firstChildElement()
        self.assertEqual(query.uri, "jabber:iq:version")
        self.assertEqual(child_text(query, "name"), SERVER_NAME)
        self.assertEqual(child_text(query, "version"), mongoose.__version__)
        self.assertEqual(child_text(query, "os"), os_description())

    async def test_version_without_os(self):
        """By default (os_info = false) the OS is not disclosed."""
        node = await start_node(self, extra="[modules.mod_version]\n")
        client, _ = await logged_in(self, node.c2s_port)
        client.send("<iq type='get' id='v2' to='localhost'>"
                    "<query xmlns='jabber:iq:version'/></iq>")
        query = (await client.element()).firstChildElement()
        self.assertIsNone(child_text(query, "os"))
        self.assertEqual(child_text(query, "name"), SERVER_NAME)

    async def test_set_is_not_implemented(self):
        """Setting the server's version is answered with feature-not-implemented."""
        node = await start_node(self, extra="[modules.mod_version]\n")
        client, _ = await logged_in(self, node.c2s_port)
        client.send("<iq type='set' id='v3' to='localhost'>"
                    "<query xmlns='jabber:iq:version'/></iq>")
        reply = await client.element()
        self.assertEqual(reply["type"], "error")
        self.assertIn("feature-not-implemented", reply.toXml())

    async def test_not_loaded(self):
        """Without mod_version the query gets service-unavailable."""
        node = await start_node(self)
        client, _ = await logged_in(self, node.c2s_port)
        client.send("<iq type='get' id='v4' to='localhost'>"
                    "<query xmlns='jabber:iq:version'/></iq>")
        reply = await client.element()
        self.assertIn("service-unavailable", reply.toXml())
