"""slixmpp against ``twistd -n mongooseim``: carbons to a second resource and blocking.

Uses the server process and STARTTLS set-up of ``test_slixmpp_c2s``; the
client script is ``test/integration/clients/carbons_blocking.py``.
"""

from __future__ import annotations

from test.integration.test_slixmpp_c2s import PASSWORD, SlixmppTestCase


class SlixmppCarbonsBlockingTests(SlixmppTestCase):
    """mod_carboncopy, mod_privacy and mod_blocking seen by a real client library."""

    modules = "\n".join(
        f"[modules.{name}]"
        for name in ("mod_roster", "mod_presence", "mod_offline", "mod_carboncopy",
                     "mod_privacy", "mod_blocking")
    )

    def test_carbons_then_block_and_unblock(self):
        """Carbons reach alice/two; blocked bob bounces; unblocked bob gets through."""
        script = self.client(
            "carbons_blocking", "--alice", "alice@localhost", "--bob", "bob@localhost",
            "--password", PASSWORD,
        )
        received = script.event("carbon", timeout=60)
        self.assertEqual((received["direction"], received["body"]), ("received", "carbon me"))
        sent = script.event("carbon")
        self.assertEqual((sent["direction"], sent["body"]), ("sent", "sent by one"))
        self.assertEqual(script.event("blocklist")["jids"], ["bob@localhost"])
        self.assertEqual(script.event("bounced")["condition"], "service-unavailable")
        self.assertEqual(script.event("done")["bodies"], ["carbon me", "welcome back"])
        self.assertEqual(script.wait(), 0, script.stderr())
        self.assertServerClean()
