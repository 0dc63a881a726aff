"""slixmpp against ``twistd -n mongooseim``: disco, ping, vCard and private storage.

Uses the server process and STARTTLS set-up of ``test_slixmpp_c2s``; the
client script is ``test/integration/clients/im_queries.py``.
"""

from __future__ import annotations

from test.integration.test_slixmpp_c2s import PASSWORD, SlixmppTestCase


class SlixmppIMQueryTests(SlixmppTestCase):
    """mod_disco, mod_ping, mod_vcard and mod_private seen by a real client library."""

    modules = "\n".join(
        f"[modules.{name}]"
        for name in ("mod_disco", "mod_ping", "mod_vcard", "mod_private", "mod_roster",
                     "mod_presence")
    )

    def test_disco_ping_vcard_private(self):
        """The server is discoverable and pingable; vCards and private XML round-trip."""
        script = self.client(
            "im_queries", "--alice", "alice@localhost", "--bob", "bob@localhost",
            "--password", PASSWORD,
        )
        disco = script.event("disco", timeout=60)
        self.assertIn(["server", "im"], disco["identities"])
        for feature in ("urn:xmpp:ping", "vcard-temp", "jabber:iq:private",
                        "http://jabber.org/protocol/disco#info"):
            self.assertIn(feature, disco["features"])
        self.assertIsInstance(script.event("ping")["seconds"], float)
        own = script.event("vcard")
        # slixmpp gives NICKNAME as a list of nicknames.
        self.assertEqual((own["who"], own["fn"], own["nickname"]),
                         ("alice", "Alice Liddell", ["ali"]))
        seen = script.event("vcard")
        self.assertEqual((seen["who"], seen["fn"]), ("bob", "Alice Liddell"))
        self.assertEqual(script.event("private")["text"], "remember the tea party")
        self.assertEqual(script.event("private_error")["condition"], "not-acceptable")
        script.event("done")
        self.assertEqual(script.wait(), 0, script.stderr())
        self.assertServerClean()
