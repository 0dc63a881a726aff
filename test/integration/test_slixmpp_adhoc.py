"""slixmpp runs XEP-0050 ad-hoc commands against ``twistd -n mongooseim`` (mod_adhoc).

An admin (allowed by the ``admin`` access rule) lists the commands, runs
XEP-0133 add-user through its data form and then logs in as the new user; a
user the rule does not allow is refused.
"""

from __future__ import annotations

from test.integration.test_slixmpp_c2s import PASSWORD, SlixmppTestCase

ADD_USER = "http://jabber.org/protocol/admin#add-user"

ADMIN_SETUP = """
[acl]
  admin = [{user = "alice", server = "localhost"}]
[access]
  admin = [{acl = "admin", value = "allow"}]
[modules.mod_disco]
[modules.mod_adhoc]
"""


class SlixmppAdhocTests(SlixmppTestCase):
    """A real client lists and executes ad-hoc commands."""

    modules = ADMIN_SETUP

    def test_admin_adds_user_then_it_logs_in(self):
        """alice (admin) sees add-user, fills its form and carol can then log in."""
        admin = self.client(
            "adhoc", "--jid", "alice@localhost", "--password", PASSWORD,
            "--new-user", "carol", "--new-password", "carol-pw",
        )
        self.assertIn(ADD_USER, admin.event("commands")["nodes"])
        form = admin.event("form")
        self.assertEqual(form["status"], "executing")
        self.assertIn("password", form["fields"])
        result = admin.event("result")
        self.assertEqual(result["status"], "completed")
        self.assertEqual(admin.wait(), 0, admin.stderr())
        login = self.client("login", "--jid", "carol@localhost", "--password", "carol-pw")
        self.assertTrue(login.event("session_start")["jid"].startswith("carol@localhost/"))
        self.assertEqual(login.wait(), 0, login.stderr())
        self.assertServerClean()

    def test_non_admin_refused(self):
        """bob (not admin) does not see add-user and is refused with forbidden."""
        user = self.client(
            "adhoc", "--jid", "bob@localhost", "--password", PASSWORD,
            "--new-user", "mallory", "--new-password", "x",
        )
        self.assertNotIn(ADD_USER, user.event("commands")["nodes"])
        self.assertEqual(user.event("refused")["condition"], "forbidden")
        self.assertEqual(user.wait(), 0, user.stderr())
        self.assertServerClean()
