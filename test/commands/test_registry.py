"""Tests for mongoose.commands.registry: registration, listing, security and execution."""

from __future__ import annotations

from twisted.internet import defer
from twisted.trial.unittest import SynchronousTestCase

from mongoose.commands.caller import Caller
from mongoose.commands.errors import ERRORS, CommandError, error_kind
from mongoose.commands.registry import Arg, Command, CommandRegistry, RestBinding
from mongoose.commands.types import DOMAIN, INT, STRING, Field, Jid, ListOf, Object

USER_JID = Jid(require_user=True)


def make_commands(calls: list) -> list[Command]:
    """A small set of commands covering the three security policies."""

    async def stats(domain, limit):
        calls.append(("stats", domain, limit))
        return {"domain": domain, "limit": limit}

    async def wipe():
        calls.append(("wipe",))
        return "wiped"

    async def set_nick(user, nick):
        calls.append(("set_nick", user.userhost(), nick))
        return user.userhost()

    return [
        Command(
            category="test", name="stats", action="read", description="Stats of a domain",
            security_policy="domain_admin", domain_arg="domain",
            args=(Arg("domain", DOMAIN), Arg("limit", INT, default=10)),
            result=Object("Stats", [Field("domain", DOMAIN), Field("limit", INT)]),
            handler=stats,
        ),
        Command(
            category="test", name="wipe", action="delete", description="Wipe everything",
            security_policy="admin", handler=wipe, result=STRING,
        ),
        Command(
            category="test", name="setNick", action="update", description="Set a nickname",
            security_policy="user", args=(Arg("user", USER_JID), Arg("nick", STRING)),
            handler=set_nick, result=STRING,
        ),
    ]


class RegistryTestCase(SynchronousTestCase):
    """A registry with the test commands."""

    def setUp(self):
        self.calls: list = []
        self.registry = CommandRegistry()
        for command in make_commands(self.calls):
            self.registry.register(command)

    def run_command(self, caller, name, args, source="json", category="test"):
        """Execute and return the Deferred (the handlers fire at once)."""
        return defer.ensureDeferred(
            self.registry.execute(caller, category, name, args, source=source))

    def assertFails(self, code, caller, name, args, source="json", category="test"):
        """Assert execution fails with ``code``; return the error."""
        failure = self.failureResultOf(
            self.run_command(caller, name, args, source, category), CommandError)
        self.assertEqual(failure.value.code, code, failure.value.message)
        return failure.value


class RegistrationTests(RegistryTestCase):
    """register, unregister, get, list and signatures."""

    def test_duplicate_name_in_category_refused(self):
        """Registering the same category/name twice raises ValueError."""
        self.assertRaises(ValueError, self.registry.register, make_commands([])[0])

    def test_same_name_other_category_allowed(self):
        """Names are unique per category only."""
        command = make_commands([])[1]
        other = Command(**{**command.__dict__, "category": "other"})
        self.registry.register(other)
        self.assertEqual(self.registry.get("other", "wipe").category, "other")

    def test_unregister(self):
        """An unregistered command is unknown afterwards."""
        self.registry.unregister("test", "wipe")
        self.assertFails("unknown_command", Caller.admin(), "wipe", {})
        self.assertRaises(KeyError, self.registry.unregister, "test", "wipe")

    def test_list_by_caller(self):
        """Each caller lists only what it may run."""
        names = lambda caller: [c.name for c in self.registry.list(caller)]  # noqa: E731
        self.assertEqual(names(None), ["setNick", "stats", "wipe"])
        self.assertEqual(names(Caller.admin()), ["setNick", "stats", "wipe"])
        self.assertEqual(names(Caller.domain_admin("localhost")), ["setNick", "stats"])
        self.assertEqual(names(Caller.user("alice@localhost")), ["setNick"])

    def test_list_by_category(self):
        """list(category=...) filters by category; categories() names them."""
        self.assertEqual(self.registry.list(category="nothing"), [])
        self.assertEqual(self.registry.categories(), ["test"])
        self.assertEqual(self.registry.categories(Caller.user("a@b")), ["test"])

    def test_signature(self):
        """The signature describes args, types, defaults and the result."""
        sig = self.registry.signature("test", "stats")
        self.assertEqual(sig["action"], "read")
        self.assertEqual(sig["security_policy"], "domain_admin")
        self.assertEqual(
            sig["args"],
            [
                {"name": "domain", "type": {"type": "domain"}, "label": "domain",
                 "description": "", "required": True},
                {"name": "limit", "type": {"type": "int"}, "label": "int",
                 "description": "", "required": False, "default": 10},
            ],
        )
        self.assertEqual(sig["result"]["name"], "Stats")

    def test_observers(self):
        """Observers hear about registrations and removals."""
        events = []
        self.registry.add_observer(lambda event, cmd: events.append((event, cmd.name)))
        self.registry.unregister("test", "wipe")
        self.registry.register(make_commands([])[1])
        self.assertEqual(events, [("unregister", "wipe"), ("register", "wipe")])

    def test_rest_route_conflict(self):
        """Two commands cannot claim the same REST method and path."""
        binding = RestBinding(method="GET", path="/things/{domain}")

        def command(name):
            return Command(category="x", name=name, action="read", description="d",
                           security_policy="admin", args=(Arg("domain", DOMAIN),),
                           handler=lambda domain: None, rest=binding)

        self.registry.register(command("a"))
        self.assertRaises(ValueError, self.registry.register, command("b"))


class DefinitionValidationTests(SynchronousTestCase):
    """Command definitions are checked when built."""

    def build(self, **changes):
        """A valid command with some fields changed."""
        fields = dict(category="c", name="n", action="read", description="d",
                      security_policy="admin", handler=lambda **kw: None)
        fields.update(changes)
        return Command(**fields)

    def test_bad_action_and_policy(self):
        """Unknown actions and policies are refused."""
        self.assertRaises(ValueError, self.build, action="run")
        self.assertRaises(ValueError, self.build, security_policy="root")

    def test_domain_admin_needs_domain_arg(self):
        """A domain_admin command must say which argument holds the domain."""
        self.assertRaises(ValueError, self.build, security_policy="domain_admin",
                          args=(Arg("domain", DOMAIN),))
        self.assertRaises(ValueError, self.build, security_policy="domain_admin",
                          args=(Arg("count", INT),), domain_arg="count")

    def test_user_command_needs_user_arg(self):
        """A user command needs a user/caller JID argument; it is its domain_arg."""
        self.assertRaises(ValueError, self.build, security_policy="user")
        command = self.build(security_policy="user", args=(Arg("caller", USER_JID),))
        self.assertEqual(command.domain_arg, "caller")

    def test_duplicate_and_bad_arg_names(self):
        """Argument names are unique identifiers."""
        self.assertRaises(ValueError, self.build, args=(Arg("a", INT), Arg("a", INT)))
        self.assertRaises(ValueError, Arg, "two words", INT)
        self.assertRaises(TypeError, Arg, "a", int)

    def test_rest_binding_must_bind_required_args(self):
        """A REST binding that cannot supply a required argument is refused."""
        self.assertRaises(
            ValueError, self.build, args=(Arg("domain", DOMAIN), Arg("n", INT)),
            rest=RestBinding(method="GET", path="/x/{domain}"))
        self.assertRaises(
            ValueError, self.build, args=(Arg("domain", DOMAIN),),
            rest=RestBinding(method="GET", path="/x/{domain}", body={"k": "nothing"}))


class ExecuteTests(RegistryTestCase):
    """The fixed execution order and argument validation."""

    def test_admin_runs_with_defaults(self):
        """Absent optional arguments take their default; the result is JSON data."""
        result = self.successResultOf(
            self.run_command(Caller.admin(), "stats", {"domain": "LocalHost"}))
        self.assertEqual(result, {"domain": "localhost", "limit": 10})

    def test_cli_and_form_sources(self):
        """Text values from the CLI and form values are parsed with the same types."""
        result = self.successResultOf(self.run_command(
            Caller.admin(), "stats", {"domain": "localhost", "limit": "5"}, source="cli"))
        self.assertEqual(result["limit"], 5)
        result = self.successResultOf(self.run_command(
            Caller.admin(), "stats", {"domain": ["localhost"], "limit": ["6"]},
            source="form"))
        self.assertEqual(result["limit"], 6)
        result = self.successResultOf(self.run_command(
            Caller.admin(), "stats", {"domain": "localhost", "limit": "7"},
            source={"limit": "cli"}))
        self.assertEqual(result["limit"], 7)

    def test_unknown_command(self):
        """An unknown name or category is unknown_command."""
        self.assertFails("unknown_command", Caller.admin(), "nope", {})
        self.assertFails("unknown_command", Caller.admin(), "stats", {}, category="nope")

    def test_missing_argument(self):
        """A missing required argument is bad_request naming it; null counts as missing."""
        error = self.assertFails("bad_request", Caller.admin(), "stats", {})
        self.assertEqual(error.message, "domain: missing required argument")
        self.assertFails("bad_request", Caller.admin(), "stats", {"domain": None})

    def test_unknown_argument(self):
        """An argument the command does not have is bad_request naming it."""
        error = self.assertFails("bad_request", Caller.admin(), "stats",
                                 {"domain": "localhost", "colour": "red"})
        self.assertTrue(error.message.startswith("colour: unknown argument"))
        self.assertIn("domain, limit", error.message)

    def test_wrong_type(self):
        """A value of the wrong type is bad_request naming the argument."""
        error = self.assertFails("bad_request", Caller.admin(), "stats",
                                 {"domain": "localhost", "limit": "ten"})
        self.assertTrue(error.message.startswith("limit:"))
        self.assertEqual(self.calls, [])

    def test_arguments_not_an_object(self):
        """Arguments must be a mapping."""
        self.assertFails("bad_request", Caller.admin(), "stats", ["localhost"])

    def test_handler_command_error_passes_through(self):
        """A CommandError raised by a handler reaches the caller unchanged."""

        async def refuse():
            raise CommandError("not_allowed", "not today")

        self.registry.register(Command(category="test", name="refuse", action="read",
                                       description="d", security_policy="admin",
                                       handler=refuse))
        error = self.assertFails("not_allowed", Caller.admin(), "refuse", {})
        self.assertEqual(error.message, "not today")

    def test_unexpected_exception_is_internal(self):
        """Any other handler exception is logged and becomes a one-line internal error."""

        async def crash():
            raise ZeroDivisionError("boom")

        self.registry.register(Command(category="test", name="crash", action="read",
                                       description="d", security_policy="admin",
                                       handler=crash))
        error = self.assertFails("internal", Caller.admin(), "crash", {})
        self.assertNotIn("Traceback", error.message)
        self.assertNotIn("boom", error.message)
        self.assertEqual(len(self.flushLoggedErrors(ZeroDivisionError)), 1)

    def test_synchronous_and_deferred_handlers(self):
        """Handlers may also return plain values or Deferreds."""
        self.registry.register(Command(
            category="test", name="plain", action="read", description="d",
            security_policy="admin", result=ListOf(INT), handler=lambda: [1, 2]))
        self.registry.register(Command(
            category="test", name="deferred", action="read", description="d",
            security_policy="admin", result=INT, handler=lambda: defer.succeed(3)))
        self.assertEqual(self.successResultOf(self.run_command(Caller.admin(), "plain", {})),
                         [1, 2])
        self.assertEqual(
            self.successResultOf(self.run_command(Caller.admin(), "deferred", {})), 3)


class SecurityTests(RegistryTestCase):
    """Who may run what, checked before the arguments are validated."""

    def test_user_cannot_run_admin_or_domain_admin_commands(self):
        """A user is refused admin and domain admin commands."""
        alice = Caller.user("alice@localhost")
        self.assertFails("forbidden", alice, "wipe", {})
        self.assertFails("forbidden", alice, "stats", {"domain": "localhost"})
        self.assertEqual(self.calls, [])

    def test_user_acts_as_itself(self):
        """A user command gets the caller's bare JID when the user arg is absent."""
        alice = Caller.user("Alice@LocalHost/phone")
        result = self.successResultOf(self.run_command(alice, "setNick", {"nick": "Al"}))
        self.assertEqual(result, "alice@localhost")
        self.assertEqual(self.calls, [("set_nick", "alice@localhost", "Al")])

    def test_user_may_name_itself(self):
        """Naming one's own JID explicitly is allowed."""
        alice = Caller.user("alice@localhost")
        self.successResultOf(
            self.run_command(alice, "setNick", {"user": "ALICE@localhost", "nick": "A"}))

    def test_user_cannot_name_another_user(self):
        """A user naming another user is forbidden, and nothing runs."""
        alice = Caller.user("alice@localhost")
        error = self.assertFails("forbidden", alice, "setNick",
                                 {"user": "bob@localhost", "nick": "x"})
        self.assertIn("own account", error.message)
        self.assertEqual(self.calls, [])

    def test_domain_admin_on_own_domain(self):
        """A domain admin runs domain admin and user commands on its domain."""
        admin = Caller.domain_admin("LocalHost")
        self.successResultOf(self.run_command(admin, "stats", {"domain": "localhost"}))
        self.successResultOf(
            self.run_command(admin, "setNick", {"user": "bob@localhost", "nick": "B"}))

    def test_domain_admin_on_other_domain(self):
        """A domain admin is refused another domain, by domain or by JID."""
        admin = Caller.domain_admin("localhost")
        self.assertFails("forbidden", admin, "stats", {"domain": "example.com"})
        self.assertFails("forbidden", admin, "setNick",
                         {"user": "bob@example.com", "nick": "B"})
        self.assertEqual(self.calls, [])

    def test_domain_admin_cannot_run_global_commands(self):
        """A domain admin is refused admin-only commands."""
        self.assertFails("forbidden", Caller.domain_admin("localhost"), "wipe", {})

    def test_authorization_before_validation(self):
        """A forbidden caller learns nothing about other arguments' validity."""
        self.assertFails("forbidden", Caller.user("a@b"), "stats",
                         {"domain": "b", "limit": "bad", "extra": 1})
        self.assertFails("forbidden", Caller.domain_admin("b"), "stats",
                         {"domain": "c", "limit": "bad"})

    def test_domain_admin_missing_domain(self):
        """A domain admin must name the domain."""
        self.assertFails("bad_request", Caller.domain_admin("localhost"), "stats", {})

    def test_admin_must_name_user_for_user_commands(self):
        """The global admin runs user commands on behalf of a named user."""
        self.assertFails("bad_request", Caller.admin(), "setNick", {"nick": "x"})
        result = self.successResultOf(self.run_command(
            Caller.admin(), "setNick", {"user": "bob@example.com", "nick": "x"}))
        self.assertEqual(result, "bob@example.com")


class CallerTests(SynchronousTestCase):
    """Caller values."""

    def test_kinds(self):
        """The three constructors normalise their identity."""
        self.assertTrue(Caller.admin().is_admin)
        self.assertEqual(Caller.domain_admin("LocalHost").domain, "localhost")
        user = Caller.user("Alice@LocalHost/res")
        self.assertEqual(user.jid.full(), "alice@localhost")
        self.assertEqual(user.domain, "localhost")
        self.assertEqual(str(user), "alice@localhost")

    def test_invalid(self):
        """Invalid identities raise ValueError."""
        self.assertRaises(ValueError, Caller.user, "localhost")
        self.assertRaises(ValueError, Caller.user, "a b@c")
        self.assertRaises(ValueError, Caller.domain_admin, "alice@localhost")


class ErrorTableTests(SynchronousTestCase):
    """The one error table."""

    def test_every_code_maps_every_surface(self):
        """Every code has an HTTP error status, GraphQL code, stanza error and exit status."""
        for code, kind in ERRORS.items():
            self.assertEqual(kind.code, code)
            self.assertGreaterEqual(kind.http_status, 400)
            self.assertTrue(kind.graphql_code)
            self.assertIn(kind.stanza_type, ("cancel", "modify", "auth", "wait", "continue"))
            self.assertGreater(kind.exit_status, 0)

    def test_required_codes(self):
        """The codes front ends rely on exist with the expected HTTP statuses."""
        expected = {"bad_request": 400, "unauthorized": 401, "forbidden": 403,
                    "not_allowed": 403, "not_found": 404, "conflict": 409,
                    "unknown_command": 404, "internal": 500}
        for code, status in expected.items():
            self.assertEqual(ERRORS[code].http_status, status)

    def test_unknown_code(self):
        """CommandError refuses codes outside the table; lookup falls back to internal."""
        self.assertRaises(ValueError, CommandError, "oops", "x")
        self.assertEqual(error_kind("oops").code, "internal")
        self.assertEqual(CommandError("not_found", "gone").to_json(),
                         {"error": "not_found", "message": "gone"})
