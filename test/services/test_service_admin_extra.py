"""service_admin_extra: submods, config errors and legacy commands run on a real node."""

from twisted.trial.unittest import TestCase

from mongoose.commands.caller import Caller
from mongoose.commands.errors import CommandError
from mongoose.config.loader import ConfigErrors
from test.modules.nodes import login, start_node

ALL = "[services.service_admin_extra]\n"


class SubmodTests(TestCase):
    """Which commands each submods setting registers."""

    async def test_default_registers_every_submod(self):
        """Without submods every category is present."""
        node = await start_node(self, ALL)
        categories = set(node.commands.categories())
        self.assertTrue({"accounts", "sessions", "stanza", "stats", "vcard", "roster",
                         "last", "private"} <= categories)

    async def test_only_listed_submods(self):
        """A submod not listed registers nothing."""
        node = await start_node(self, ALL + 'submods = ["stats"]\n')
        names = {c.name for c in node.commands.list()}
        self.assertIn("stats_host", names)
        self.assertNotIn("change_password", names)
        self.assertEqual(node.commands.list(category="accounts"), [])

    async def test_unknown_submod_is_config_error(self):
        """An unknown submod fails the configuration with a message naming it."""
        with self.assertRaises(ConfigErrors) as caught:
            await start_node(self, ALL + 'submods = ["accounts", "wat"]\n')
        text = str(caught.exception)
        self.assertIn("wat", text)
        self.assertIn("submods", text)


class LegacyCommandTests(TestCase):
    """The legacy commands act through the modern ones."""

    async def setUp(self):
        """A node with service_admin_extra (all submods)."""
        self.node = await start_node(self, ALL)

    def run_cmd(self, category, command, /, **args):
        """Run a legacy command as the admin, with CLI-style text arguments."""
        return self.node.commands.execute(Caller.admin(), category, command, args, source="cli")

    async def test_register_change_and_check_password(self):
        """register_user, change_password and check_password work in sequence."""
        await self.run_cmd("accounts", "register_user", user="dave", host="localhost",
                           password="one")
        await self.run_cmd("accounts", "change_password", user="dave", host="localhost",
                           newpass="two")
        self.assertTrue(await self.node.auth.check_password("dave", "localhost", "two"))
        message = await self.run_cmd("accounts", "check_password", user="dave",
                                     host="localhost", password="two")
        self.assertIsInstance(message, str)
        with self.assertRaises(CommandError) as caught:
            await self.run_cmd("accounts", "check_password", user="dave", host="localhost",
                               password="bad")
        self.assertEqual(caught.exception.code, "forbidden")

    async def test_check_account_missing_user(self):
        """check_account of a missing user is not_found."""
        with self.assertRaises(CommandError) as caught:
            await self.run_cmd("accounts", "check_account", user="ghost", host="localhost")
        self.assertEqual(caught.exception.code, "not_found")

    async def test_ban_account_closes_sessions(self):
        """ban_account replaces the password and closes the user's sessions."""
        session = await login(self.node, "eve", password="pw")
        await self.run_cmd("accounts", "ban_account", user="eve", host="localhost",
                           reason="spam")
        self.assertFalse(await self.node.auth.check_password("eve", "localhost", "pw"))
        self.assertIsNotNone(session.closed)

    async def test_sessions_and_stats(self):
        """num_resources, connected_users and stats count a logged-in user."""
        await login(self.node, "frank", resource="phone")
        self.assertEqual(await self.run_cmd("sessions", "num_resources", user="frank",
                                            host="localhost"), 1)
        self.assertEqual(await self.run_cmd("sessions", "connected_users"),
                         ["frank@localhost/phone"])
        self.assertEqual(await self.run_cmd("stats", "stats", name="onlineusers"), 1)
        self.assertEqual(await self.run_cmd("stats", "stats_host", name="registeredusers",
                                            host="localhost"), 1)

    async def test_bad_number_is_bad_request(self):
        """A non-numeric day count is a bad_request naming the argument."""
        with self.assertRaises(CommandError) as caught:
            await self.run_cmd("sessions", "resource_num", user="a", host="localhost",
                               num="x")
        self.assertEqual(caught.exception.code, "bad_request")
        self.assertIn("num", caught.exception.message)

    async def test_module_command_missing_is_unknown(self):
        """A legacy command whose module is not loaded says the modern command is unknown."""
        with self.assertRaises(CommandError) as caught:
            await self.run_cmd("vcard", "get_vcard", user="a", host="localhost", name="FN")
        self.assertEqual(caught.exception.code, "unknown_command")


class LegacyModuleCommandTests(TestCase):
    """Legacy commands backed by module commands (roster, vcard, last)."""

    async def setUp(self):
        """A node with admin_extra and the roster, vCard and last modules."""
        self.node = await start_node(
            self, ALL + "[modules.mod_roster]\n[modules.mod_vcard]\n[modules.mod_last]\n")
        for user in ("gina", "hank"):
            await self.node.auth.register(user, "localhost", "pw")

    def run_cmd(self, category, command, /, **args):
        """Run a legacy command as the admin, with CLI-style text arguments."""
        return self.node.commands.execute(Caller.admin(), category, command, args, source="cli")

    async def test_roster_item_round_trip(self):
        """add_rosteritem then get_roster shows the contact; delete_rosteritem removes it."""
        await self.run_cmd("roster", "add_rosteritem", localuser="gina", localserver="localhost",
                           user="hank", server="localhost", nick="Hank", group="a;b",
                           subs="none")
        roster = await self.run_cmd("roster", "get_roster", user="gina", host="localhost")
        self.assertEqual(len(roster), 1)
        self.assertTrue(roster[0].startswith("hank@localhost Hank"))
        await self.run_cmd("roster", "delete_rosteritem", localuser="gina",
                           localserver="localhost", user="hank", server="localhost")
        self.assertEqual(await self.run_cmd("roster", "get_roster", user="gina",
                                            host="localhost"), [])

    async def test_vcard_field(self):
        """set_vcard then get_vcard returns the field; an unknown field is bad_request."""
        await self.run_cmd("vcard", "set_vcard", user="gina", host="localhost", name="FN",
                           content="Gina G")
        self.assertEqual(await self.run_cmd("vcard", "get_vcard", user="gina",
                                            host="localhost", name="fn"), "Gina G")
        with self.assertRaises(CommandError) as caught:
            await self.run_cmd("vcard", "get_vcard", user="gina", host="localhost",
                               name="SHOE")
        self.assertEqual(caught.exception.code, "bad_request")

    async def test_set_last_and_active_users(self):
        """set_last records activity that num_active_users counts."""
        import time

        await self.run_cmd("last", "set_last", user="gina", host="localhost",
                           timestamp=str(int(time.time())), status="fishing")
        self.assertEqual(await self.run_cmd("accounts", "num_active_users", host="localhost",
                                            days="1"), 1)
