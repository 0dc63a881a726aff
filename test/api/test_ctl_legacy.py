"""Legacy flat ``mongooseimctl`` names (service_admin_extra) with positional arguments."""

from __future__ import annotations

from mongoose.commands.defs.admin_extra import admin_extra_commands
from test.api.test_ctl import CtlTestCase


class LegacyCtlTests(CtlTestCase):
    """``mongooseimctl register_user alice localhost pw`` style calls."""

    def setUp(self):
        """The admin API with the account commands and the accounts and stats submods."""
        super().setUp()
        for command in admin_extra_commands(self.registry, ["accounts", "stats"]):
            self.registry.register(command)

    async def test_register_then_change_password(self):
        """register_user and change_password take positional values in order."""
        status, out, err = await self.ctl("register_user", "alice", "localhost", "pw")
        self.assertEqual((status, err), (0, ""))
        self.assertIn("alice@localhost", out)
        self.assertEqual(self.auth.users, {("alice", "localhost"): "pw"})
        status, _, err = await self.ctl("change_password", "alice", "localhost", "new")
        self.assertEqual((status, err), (0, ""))
        self.assertEqual(self.auth.users[("alice", "localhost")], "new")

    async def test_mongooseim_5_register_and_unregister(self):
        """``mongooseimctl register USER HOST PASSWORD`` and ``unregister USER HOST`` work."""
        status, out, err = await self.ctl("register", "carol", "localhost", "pw")
        self.assertEqual((status, err), (0, ""))
        self.assertEqual(self.auth.users, {("carol", "localhost"): "pw"})
        status, _, err = await self.ctl("unregister", "carol", "localhost")
        self.assertEqual((status, err), (0, ""))
        self.assertEqual(self.auth.users, {})

    async def test_not_found_exit_status(self):
        """check_account of a missing user prints one line and exits 5 (not found)."""
        status, out, err = await self.ctl("check_account", "ghost", "localhost")
        self.assertEqual((status, out), (5, ""))
        self.assertEqual(len(err.splitlines()), 1)
        self.assertIn("ghost@localhost", err)

    async def test_missing_positional_is_usage_error(self):
        """A missing positional value is a usage error (exit 2) naming it."""
        status, _, err = await self.ctl("change_password", "alice", "localhost")
        self.assertEqual(status, 2)
        self.assertIn("newpass", err)

    async def test_help(self):
        """--help after a legacy name shows its positional arguments."""
        status, out, _ = await self.ctl("register_user", "--help")
        self.assertEqual(status, 0)
        self.assertIn("password", out)
        self.assertIn("accounts register_user", out)

    async def test_category_and_legacy_name(self):
        """'stats' is a category and a command: 'stats NAME' runs the legacy command."""
        self.auth.users[("alice", "localhost")] = "p"
        status, out, err = await self.ctl("stats", "uptimeseconds")
        self.assertEqual((status, err), (0, ""))
        self.assertTrue(out.strip().isdigit())
        status, out, _ = await self.ctl("stats", "stats_host", "--name", "registeredusers",
                                        "--host", "localhost")
        self.assertEqual((status, out), (0, "1\n"))

    async def test_modern_form_still_works(self):
        """The same command runs as 'accounts register_user --user ...'."""
        status, _, err = await self.ctl("accounts", "register_user", "--user", "bob",
                                        "--host", "localhost", "--password", "p")
        self.assertEqual((status, err), (0, ""))
        self.assertIn(("bob", "localhost"), self.auth.users)

    async def test_bad_value_is_bad_request(self):
        """A bad value is checked on the node: exit 2 and a message naming the argument."""
        status, _, err = await self.ctl("stats", "nonsense")
        self.assertEqual(status, 2)
        self.assertIn("name", err)
