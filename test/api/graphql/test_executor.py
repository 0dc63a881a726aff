"""Tests for mongoose.api.graphql.executor: requests run through the command registry."""

from __future__ import annotations

from twisted.internet import defer
from twisted.trial.unittest import SynchronousTestCase

from mongoose.api.graphql.executor import (
    MAX_COMMANDS,
    GraphQLAPI,
    MessageSubscription,
    TrafficSubscription,
)
from mongoose.commands.caller import Caller
from mongoose.commands.defs.account import account_commands
from mongoose.commands.registry import Arg, Command, CommandRegistry
from mongoose.commands.types import JID, STRING
from test.support.fakeauth import FakeAuth

REGISTER = """mutation { account { registerUser(domain: "localhost", username: "alice",
  password: "secret") { jid message } } }"""


class ExecutorTestCase(SynchronousTestCase):
    """Account commands over an in-memory auth backend."""

    def setUp(self):
        self.auth = FakeAuth()
        self.auth.users[("bob", "localhost")] = "pw"
        self.auth.users[("carol", "other.test")] = "pw"
        self.calls: list[str] = []
        self.registry = CommandRegistry()
        for command in account_commands(self.auth):
            self.registry.register(command)

        async def whoami(user):
            self.calls.append(user.userhost())
            return user.userhost()

        self.registry.register(Command(
            category="demo", name="whoami", description="Who am I", action="read",
            security_policy="user", handler=whoami, args=(Arg("user", JID),), result=STRING))

    def run_query(self, caller, query, variables=None, endpoint="admin", allowed=None,
                  **kwargs):
        """Execute a request; return (status, body)."""
        api = GraphQLAPI(self.registry, endpoint, allowed)
        response = self.successResultOf(defer.ensureDeferred(
            api.execute(caller, query, variables, **kwargs)))
        return response.status, response.body

    def test_register_user_mongooseim_style(self):
        """MongooseIM's registerUser mutation registers the user and answers jid/message."""
        status, body = self.run_query(Caller.admin(), REGISTER)
        self.assertEqual(status, 200)
        self.assertEqual(body["data"]["account"]["registerUser"]["jid"], "alice@localhost")
        self.assertEqual(self.auth.users[("alice", "localhost")], "secret")
        self.assertNotIn("errors", body)

    def test_error_code_from_error_table(self):
        """A failing command yields null data and extensions.code from the error table."""
        self.run_query(Caller.admin(), REGISTER)
        _, body = self.run_query(Caller.admin(), REGISTER)
        self.assertIsNone(body["data"]["account"]["registerUser"])
        [error] = body["errors"]
        self.assertEqual(error["extensions"]["code"], "already_exists")
        self.assertEqual(error["path"], ["account", "registerUser"])

    def test_variables_reach_the_registry_validation(self):
        """A malformed JID in a variable is a bad_request naming the argument."""
        _, body = self.run_query(
            Caller.admin(), "query Q($u: JID!) { account { checkUser(user: $u) { exist } } }",
            {"u": "not a jid@"})
        [error] = body["errors"]
        self.assertEqual(error["extensions"]["code"], "bad_request")
        self.assertTrue(error["message"].startswith("user:"), error["message"])

    def test_syntax_and_validation_errors_are_400(self):
        """Unknown fields and bad syntax answer 400 with bad_request and run nothing."""
        status, body = self.run_query(Caller.admin(), "query { account { nope } }")
        self.assertEqual(status, 400)
        self.assertEqual(body["errors"][0]["extensions"]["code"], "bad_request")
        status, body = self.run_query(Caller.admin(), "query {")
        self.assertEqual(status, 400)
        status, body = self.run_query(Caller.admin(), "")
        self.assertEqual(status, 400)

    def test_mutations_run_once_in_order(self):
        """Two aliased mutations run once each, in document order."""
        query = """mutation { account {
            a: registerUser(domain: "localhost", username: "x", password: "1") { jid }
            b: changeUserPassword(user: "x@localhost", newPassword: "2") { jid } } }"""
        _, body = self.run_query(Caller.admin(), query)
        self.assertNotIn("errors", body)
        self.assertEqual(self.auth.users[("x", "localhost")], "2")

    def test_domain_admin_denied_another_domain(self):
        """A domain admin naming another domain gets no_permissions and nothing runs."""
        caller = Caller.domain_admin("localhost")
        _, body = self.run_query(caller, 'query { account { countUsers(domain: "localhost") } }')
        self.assertEqual(body["data"]["account"]["countUsers"], 1)
        _, body = self.run_query(
            caller, 'mutation { account { removeUser(user: "carol@other.test") { jid } } }')
        self.assertEqual(body["errors"][0]["extensions"]["code"], "no_permissions")
        self.assertIn(("carol", "other.test"), self.auth.users)

    def test_user_denied_another_users_data(self):
        """Through the admin schema a user cannot name someone else."""
        caller = Caller.user("bob@localhost")
        _, body = self.run_query(caller, 'query { demo { whoami(user: "carol@other.test") } }')
        self.assertEqual(body["errors"][0]["extensions"]["code"], "no_permissions")
        self.assertEqual(self.calls, [])

    def test_user_schema_implies_the_caller(self):
        """On the user schema the command acts on the authenticated user."""
        _, body = self.run_query(Caller.user("bob@localhost"), "{ demo { whoami } }",
                                 endpoint="user")
        self.assertEqual(body, {"data": {"demo": {"whoami": "bob@localhost"}}})

    def test_allowed_categories(self):
        """A category not listed answers 'category disabled' without running anything."""
        status, body = self.run_query(
            Caller.admin(), REGISTER, allowed=["checkAuth", "demo"])
        self.assertEqual(status, 200)
        self.assertEqual(body["errors"][0]["message"], "Category disabled")
        self.assertEqual(body["errors"][0]["extensions"]["code"], "category_disabled")
        self.assertNotIn(("alice", "localhost"), self.auth.users)
        _, body = self.run_query(Caller.admin(), "{ checkAuth { authStatus } }",
                                 allowed=["account"])
        self.assertEqual(body["errors"][0]["extensions"]["code"], "category_disabled")

    def test_check_auth(self):
        """checkAuth tells who the request runs as on each endpoint."""
        query = "{ checkAuth { domain authStatus authType } }"
        _, body = self.run_query(Caller.admin(), query)
        self.assertEqual(body["data"]["checkAuth"],
                         {"domain": None, "authStatus": "AUTHORIZED", "authType": "ADMIN"})
        _, body = self.run_query(Caller.domain_admin("localhost"), query)
        self.assertEqual(body["data"]["checkAuth"], {
            "domain": "localhost", "authStatus": "AUTHORIZED", "authType": "DOMAIN_ADMIN"})
        _, body = self.run_query(None, query)
        self.assertEqual(body["data"]["checkAuth"]["authStatus"], "UNAUTHORIZED")
        _, body = self.run_query(Caller.user("bob@localhost"),
                                 "{ checkAuth { username authStatus } }", endpoint="user")
        self.assertEqual(body["data"]["checkAuth"],
                         {"username": "bob@localhost", "authStatus": "AUTHORIZED"})

    def test_unauthenticated_caller_gets_unauthorized(self):
        """Without credentials only checkAuth answers; commands report unauthorized."""
        _, body = self.run_query(None, 'query { account { countUsers(domain: "localhost") } }')
        self.assertIsNone(body["data"]["account"])
        self.assertEqual(body["errors"][0]["extensions"]["code"], "unauthorized")

    def test_handler_crash_is_internal_without_traceback(self):
        """An unexpected exception becomes internal_server_error with a one-line message."""

        async def boom():
            raise RuntimeError("secret detail")

        self.registry.register(Command(
            category="demo", name="boom", description="Fail", action="read",
            security_policy="admin", handler=boom, result=STRING))
        _, body = self.run_query(Caller.admin(), "{ demo { boom } }")
        [error] = body["errors"]
        self.assertEqual(error["extensions"]["code"], "internal_server_error")
        self.assertNotIn("secret detail", str(body))
        self.assertNotIn("Traceback", str(body))
        self.flushLoggedErrors(RuntimeError)

    def test_get_refuses_mutations(self):
        """With allow_mutations=False (GET) a mutation is refused and not run."""
        status, body = self.run_query(Caller.admin(), REGISTER, allow_mutations=False)
        self.assertEqual(status, 405)
        self.assertNotIn(("alice", "localhost"), self.auth.users)

    def test_too_many_commands_refused(self):
        """A request selecting more than MAX_COMMANDS commands runs none of them."""
        fields = " ".join(
            f'r{i}: registerUser(domain: "localhost", username: "u{i}", password: "p") {{ jid }}'
            for i in range(MAX_COMMANDS + 1))
        status, body = self.run_query(Caller.admin(), f"mutation {{ account {{ {fields} }} }}")
        self.assertEqual(status, 400)
        self.assertIn("at most", body["errors"][0]["message"])
        self.assertNotIn(("u0", "localhost"), self.auth.users)

    def test_subscription_setup_checks_rights(self):
        """subscribeForMessages: own domain gives a subscription, another domain is refused."""
        query = 'subscription { stanza { subscribeForMessages(caller: "%s") { sender } } }'
        api = GraphQLAPI(self.registry, "domain_admin")
        caller = Caller.domain_admin("localhost")
        ok = self.successResultOf(defer.ensureDeferred(
            api.execute(caller, query % "bob@localhost/phone")))
        self.assertIsInstance(ok, MessageSubscription)
        self.assertEqual(ok.target.full(), "bob@localhost")
        event = ok.render({"sender": "carol@other.test/x", "stanza": "<message/>"})
        self.assertEqual(event, {"data": {"stanza": {"subscribeForMessages": {
            "sender": "carol@other.test/x"}}}})
        denied = self.successResultOf(defer.ensureDeferred(
            api.execute(caller, query % "carol@other.test")))
        self.assertEqual(denied.body["errors"][0]["extensions"]["code"], "no_permissions")

    def test_subscription_category_disabled(self):
        """Without 'stanza' in allowed_categories no subscription is set up."""
        status, body = self.run_query(
            Caller.user("bob@localhost"), "subscription { stanza { subscribeForMessages "
            "{ sender } } }", endpoint="user", allowed=["checkAuth"])
        self.assertEqual(body["errors"][0]["extensions"]["code"], "category_disabled")
        status, body = self.run_query(
            Caller.user("bob@localhost"), 'subscription { stanza { subscribeForMessages('
            'caller: "carol@other.test") { sender } } }', endpoint="user")
        self.assertEqual(status, 400)


#: Stands for a running service_traffic (the executor only passes it on).
_SOME_TAP = object()


class TrafficSetupTests(SynchronousTestCase):
    """subscribeForTraffic: who may subscribe, the service check and the limit."""

    QUERY = "subscription { stanza { subscribeForTraffic%s { jid dir stanza } } }"

    def setUp(self):
        self.registry = CommandRegistry()

    def execute(self, caller, query, tap=_SOME_TAP, endpoint="admin"):
        """Run ``query`` on an API whose traffic service is ``tap``."""
        api = GraphQLAPI(self.registry, endpoint, traffic=lambda: tap)
        return self.successResultOf(defer.ensureDeferred(api.execute(caller, query)))

    def test_admin_gets_a_subscription(self):
        """The global admin gets a TrafficSubscription carrying the tap and the limit."""
        tap = object()
        ok = self.execute(Caller.admin(), self.QUERY % "(limit: 5)", tap)
        self.assertIsInstance(ok, TrafficSubscription)
        self.assertIs(ok.tap, tap)
        self.assertEqual(ok.limit, 5)
        event = ok.render({"pid": "c2s-1", "jid": "bob@localhost/pc", "dir": "in",
                           "stanza": "<message/>", "timestamp": "2024-01-01T00:00:00Z"})
        self.assertEqual(event, {"data": {"stanza": {"subscribeForTraffic": {
            "jid": "bob@localhost/pc", "dir": "in", "stanza": "<message/>"}}}})
        self.assertIsNone(self.execute(Caller.admin(), self.QUERY % "").limit)

    def test_service_missing(self):
        """Without service_traffic the field answers service_unavailable, naming it."""
        response = self.execute(Caller.admin(), self.QUERY % "", tap=None)
        [error] = response.body["errors"]
        self.assertEqual(error["extensions"]["code"], "service_unavailable")
        self.assertIn("service_traffic", error["message"])
        api = GraphQLAPI(self.registry, "admin")  # no lookup given at all
        response = self.successResultOf(defer.ensureDeferred(
            api.execute(Caller.admin(), self.QUERY % "")))
        self.assertEqual(response.body["errors"][0]["extensions"]["code"], "service_unavailable")

    def test_only_the_global_admin(self):
        """A domain admin is refused; the user schema has no such field."""
        response = self.execute(Caller.domain_admin("localhost"), self.QUERY % "",
                                endpoint="domain_admin")
        self.assertEqual(response.body["errors"][0]["extensions"]["code"], "no_permissions")
        response = self.execute(Caller.user("bob@localhost"), self.QUERY % "", endpoint="user")
        self.assertEqual(response.status, 400)
        self.assertIn("subscribeForTraffic", response.body["errors"][0]["message"])

    def test_bad_limit(self):
        """A limit below 1 is bad_request."""
        response = self.execute(Caller.admin(), self.QUERY % "(limit: 0)")
        self.assertEqual(response.body["errors"][0]["extensions"]["code"], "bad_request")
        self.assertIn("limit", response.body["errors"][0]["message"])

    def test_one_subscription_field_at_a_time(self):
        """Selecting subscribeForMessages and subscribeForTraffic together is refused."""
        response = self.execute(Caller.admin(), 'subscription { stanza { subscribeForTraffic '
                                '{ dir } subscribeForMessages(caller: "bob@localhost") '
                                '{ sender } } }')
        self.assertEqual(response.status, 400)
        self.assertEqual(response.body["errors"][0]["extensions"]["code"], "bad_request")
