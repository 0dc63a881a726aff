"""service_admin_extra: submods, config errors and legacy commands run on a real node."""

from twisted.trial.unittest import SynchronousTestCase, TestCase

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


class CheckPasswordHashTests(TestCase):
    """accounts check_password_hash: possible with plain storage only."""

    def run_cmd(self, node, command, /, **args):
        """Run a legacy command as the admin, with CLI-style text arguments."""
        return node.commands.execute(Caller.admin(), "accounts", command, args, source="cli")

    async def test_plain_storage(self):
        """With plain passwords an md5 or sha hex hash is checked; a wrong one is forbidden."""
        import hashlib

        node = await start_node(self, ALL + '[auth.password]\nformat = "plain"\n')
        await node.auth.register("ivy", "localhost", "kot")
        for method, fun in (("md5", hashlib.md5), ("sha", hashlib.sha1)):
            digest = fun(b"kot").hexdigest().upper()
            self.assertEqual(await self.run_cmd(node, "check_password_hash", user="ivy",
                                                host="localhost", passwordhash=digest,
                                                hashmethod=method), "Password hash is correct")
        with self.assertRaises(CommandError) as caught:
            await self.run_cmd(node, "check_password_hash", user="ivy", host="localhost",
                               passwordhash=hashlib.md5(b"dog").hexdigest(), hashmethod="md5")
        self.assertEqual(caught.exception.code, "forbidden")
        with self.assertRaises(CommandError) as caught:
            await self.run_cmd(node, "check_password_hash", user="ivy", host="localhost",
                               passwordhash="00", hashmethod="sha512")
        self.assertEqual((caught.exception.code, caught.exception.arg),
                         ("bad_request", "hashmethod"))

    async def test_scram_storage(self):
        """With SCRAM storage the check is not_allowed and says why; a ghost is not_found."""
        node = await start_node(self, ALL)
        await node.auth.register("ivy", "localhost", "kot")
        with self.assertRaises(CommandError) as caught:
            await self.run_cmd(node, "check_password_hash", user="ivy", host="localhost",
                               passwordhash="00", hashmethod="md5")
        self.assertEqual(caught.exception.code, "not_allowed")
        self.assertIn("SCRAM", caught.exception.message)
        with self.assertRaises(CommandError) as caught:
            await self.run_cmd(node, "check_password_hash", user="ghost", host="localhost",
                               passwordhash="00", hashmethod="md5")
        self.assertEqual(caught.exception.code, "not_found")


class RosterFileTests(SynchronousTestCase):
    """The push_roster file formats."""

    def test_csv(self):
        """CSV lines jid,name,groups with an optional header and comments."""
        from mongoose.commands.defs.admin_extra import parse_roster_file

        text = "jid,name,groups\n# a comment\nbob@localhost,Bob,Work;Friends\ncarol@localhost\n"
        self.assertEqual(parse_roster_file(text), [
            {"jid": "bob@localhost", "name": "Bob", "groups": ["Work", "Friends"]},
            {"jid": "carol@localhost", "name": "carol", "groups": []},
        ])

    def test_erlang_terms(self):
        """MongooseIM's Erlang term files, with strings or binaries."""
        from mongoose.commands.defs.admin_extra import parse_roster_file

        text = '[{<<"bob">>, <<"localhost">>, <<"Workers">>, <<"Bob B">>},\n' \
               ' {"carol", "localhost", "", "Carol"}].\n'
        self.assertEqual(parse_roster_file(text), [
            {"jid": "bob@localhost", "name": "Bob B", "groups": ["Workers"]},
            {"jid": "carol@localhost", "name": "Carol", "groups": []},
        ])

    def test_bad_lines(self):
        """A line without a user JID, or terms of the wrong shape, are ValueError."""
        from mongoose.commands.defs.admin_extra import parse_roster_file

        for text in ("localhost,Server\n", '[{"bob", "localhost"}].'):
            with self.assertRaises(ValueError):
                parse_roster_file(text)


class RosterAndVcardExtraTests(TestCase):
    """process_rosteritems, push_roster*, and the vcard2 commands on a real node."""

    async def setUp(self):
        """A node with admin_extra, mod_roster and mod_vcard, and users."""
        self.node = await start_node(
            self, ALL + "[modules.mod_roster]\n[modules.mod_vcard]\n")
        for user in ("alice", "bob", "carol"):
            await self.node.auth.register(user, "localhost", "pw")

    def run_cmd(self, category, command, /, **args):
        """Run a legacy command as the admin, with CLI-style text arguments."""
        return self.node.commands.execute(Caller.admin(), category, command, args, source="cli")

    def modern(self, category, command, **args):
        """Run a modern command as the admin."""
        return self.node.commands.execute(Caller.admin(), category, command, args)

    async def contacts(self, user):
        """JID -> subscription of a user's roster."""
        items = await self.modern("roster", "listContacts", user=f"{user}@localhost")
        return {item["jid"]: item["subscription"] for item in items}

    async def test_process_rosteritems(self):
        """Filters select items to list; delete removes only the matching ones."""
        await self.modern("roster", "addContact", user="alice@localhost",
                          contact="bob@localhost")
        await self.modern("roster", "setMutualSubscription", userA="alice@localhost",
                          userB="carol@localhost", action="connect")
        listed = await self.run_cmd("roster", "process_rosteritems", action="list",
                                    subs="both", asks="any", users="any", contacts="any")
        self.assertEqual(sorted(listed), ["alice@localhost carol@localhost",
                                          "carol@localhost alice@localhost"])
        listed = await self.run_cmd("roster", "process_rosteritems", action="list",
                                    subs="none:to", asks="none", users="alice@*",
                                    contacts="b*@localhost")
        self.assertEqual(listed, ["alice@localhost bob@localhost"])
        deleted = await self.run_cmd("roster", "process_rosteritems", action="delete",
                                     subs="any", asks="any", users="alice@localhost",
                                     contacts="bob@*")
        self.assertEqual(deleted, ["alice@localhost bob@localhost"])
        self.assertEqual(await self.contacts("alice"), {"carol@localhost": "both"})
        with self.assertRaises(CommandError) as caught:
            await self.run_cmd("roster", "process_rosteritems", action="list", subs="maybe",
                               asks="any", users="any", contacts="any")
        self.assertEqual((caught.exception.code, caught.exception.arg), ("bad_request", "subs"))

    async def test_push_roster_files(self):
        """push_roster and push_roster_all read a file; push_roster_alltoall a domain."""
        path = self.mktemp()
        with open(path, "w") as handle:
            handle.write("bob@localhost,Bob,Work\n")
        await self.run_cmd("roster", "push_roster", file=path, user="alice", host="localhost")
        self.assertEqual(await self.contacts("alice"), {"bob@localhost": "both"})
        self.assertEqual(await self.contacts("bob"), {"alice@localhost": "both"})
        with open(path, "w") as handle:
            handle.write('[{"bob", "localhost", "W", "Bob"}, {"carol", "localhost", "W", "C"}].')
        await self.run_cmd("roster", "push_roster_all", file=path)
        self.assertEqual(await self.contacts("carol"), {"bob@localhost": "both"})
        result = await self.run_cmd("roster", "push_roster_alltoall", host="localhost",
                                    group="Everyone")
        self.assertEqual(len(result), 3)
        self.assertEqual(set(await self.contacts("carol")), {"alice@localhost", "bob@localhost"})
        with self.assertRaises(CommandError) as caught:
            await self.run_cmd("roster", "push_roster_all", file="/no/such/roster.csv")
        self.assertEqual((caught.exception.code, caught.exception.arg), ("bad_request", "file"))

    async def test_vcard2(self):
        """set_vcard2/get_vcard2 on N, the _multi forms on EMAIL and ORG ORGUNIT."""
        await self.run_cmd("vcard", "set_vcard2", user="alice", host="localhost", name="N",
                           subname="FAMILY", content="Smith")
        self.assertEqual(await self.run_cmd("vcard", "get_vcard2", user="alice",
                                            host="localhost", name="n", subname="family"),
                         "Smith")
        await self.run_cmd("vcard", "set_vcard2_multi", user="alice", host="localhost",
                           name="EMAIL", subname="USERID", contents='["a@x.test", "b@x.test"]')
        self.assertEqual(await self.run_cmd("vcard", "get_vcard2_multi", user="alice",
                                            host="localhost", name="EMAIL", subname="USERID"),
                         ["a@x.test", "b@x.test"])
        await self.run_cmd("vcard", "set_vcard2", user="alice", host="localhost", name="ORG",
                           subname="ORGNAME", content="ACME")
        await self.run_cmd("vcard", "set_vcard2_multi", user="alice", host="localhost",
                           name="ORG", subname="ORGUNIT", contents='["R&D", "Ops"]')
        self.assertEqual(await self.run_cmd("vcard", "get_vcard2_multi", user="alice",
                                            host="localhost", name="ORG", subname="ORGUNIT"),
                         ["R&D", "Ops"])
        self.assertEqual(await self.run_cmd("vcard", "get_vcard2", user="alice",
                                            host="localhost", name="N", subname="FAMILY"),
                         "Smith")  # earlier fields kept
        card = await self.modern("vcard", "getVcard", user="alice@localhost")
        self.assertEqual(card["org"][0]["orgname"], "ACME")

    async def test_vcard2_errors(self):
        """Unknown element or subfield is bad_request; an empty subfield is not_found."""
        for name, subname, arg in (("FN", "X", "name"), ("ADR", "PLANET", "subname")):
            with self.assertRaises(CommandError) as caught:
                await self.run_cmd("vcard", "get_vcard2", user="bob", host="localhost",
                                   name=name, subname=subname)
            self.assertEqual((caught.exception.code, caught.exception.arg), ("bad_request", arg))
        with self.assertRaises(CommandError) as caught:
            await self.run_cmd("vcard", "get_vcard2", user="bob", host="localhost",
                               name="ADR", subname="LOCALITY")
        self.assertEqual(caught.exception.code, "not_found")
        with self.assertRaises(CommandError) as caught:
            await self.run_cmd("vcard", "set_vcard2", user="ghost", host="localhost",
                               name="N", subname="FAMILY", content="X")
        self.assertEqual(caught.exception.code, "not_found")

    async def test_over_graphql_socket(self):
        """The legacy vcard2 commands answer MongooseIM-style GraphQL over a real socket."""
        import base64
        import json

        import treq
        from twisted.internet import reactor
        from twisted.web.client import HTTPConnectionPool
        from twisted.web.server import Site

        from mongoose.api.graphql.handler import GraphQLHandler

        port = reactor.listenTCP(0, Site(GraphQLHandler(
            {"schema_endpoint": "admin", "username": "admin", "password": "secret"}, self.node)),
            interface="127.0.0.1")
        self.addCleanup(port.stopListening)
        url = f"http://127.0.0.1:{port.getHost().port}/api/graphql"
        pool = HTTPConnectionPool(reactor, persistent=False)

        async def gql(query):
            response = await treq.post(url, json.dumps({"query": query}).encode(), headers={
                "Content-Type": ["application/json"],
                "Authorization": ["Basic " + base64.b64encode(b"admin:secret").decode()]},
                pool=pool)
            return json.loads(await response.content())

        body = await gql('mutation { vcard { set_vcard2(user: "bob", host: "localhost", '
                         'name: "ADR", subname: "LOCALITY", content: "Krakow") } }')
        self.assertNotIn("errors", body, body)
        body = await gql('query { vcard { get_vcard2(user: "bob", host: "localhost", '
                         'name: "ADR", subname: "LOCALITY") } }')
        self.assertEqual(body["data"]["vcard"]["get_vcard2"], "Krakow")
        body = await gql('query { vcard { get_vcard2(user: "bob", host: "localhost", '
                         'name: "ADR", subname: "PLANET") } }')
        self.assertEqual(body["errors"][0]["extensions"]["code"], "bad_request")
