"""Tests for the account commands (mongoose.commands.defs.account) through the registry."""

from __future__ import annotations

from twisted.internet import defer
from twisted.trial.unittest import SynchronousTestCase
from zope.interface.verify import verifyObject

from mongoose.commands.caller import Caller
from mongoose.commands.defs.account import account_commands
from mongoose.commands.errors import CommandError
from mongoose.commands.registry import CommandRegistry
from mongoose.interfaces import IAuthBackend
from test.support.fakeauth import FakeAuth

ADMIN = Caller.admin()


class AccountTestCase(SynchronousTestCase):
    """A registry with the account commands over an in-memory auth backend."""

    def setUp(self):
        self.auth = FakeAuth()
        self.registry = CommandRegistry()
        for command in account_commands(self.auth, domain_exists=lambda d: d != "unknown.org"):
            self.registry.register(command)

    def run_command(self, name, args, caller=ADMIN, source="json"):
        """Run an account command; return its JSON result."""
        return self.successResultOf(defer.ensureDeferred(
            self.registry.execute(caller, "account", name, args, source=source)))

    def fail_command(self, code, name, args, caller=ADMIN):
        """Run an account command expected to fail with ``code``; return the error."""
        failure = self.failureResultOf(defer.ensureDeferred(
            self.registry.execute(caller, "account", name, args)), CommandError)
        self.assertEqual(failure.value.code, code, failure.value.message)
        return failure.value

    def register(self, user="alice", password="secret", domain="localhost"):
        """Register a user through the command."""
        return self.run_command(
            "registerUser", {"domain": domain, "username": user, "password": password})


class FakeAuthTests(SynchronousTestCase):
    """The test support backend honours the interface."""

    def test_provides_interface(self):
        """FakeAuth provides IAuthBackend."""
        self.assertTrue(verifyObject(IAuthBackend, FakeAuth()))


class RegisterTests(AccountTestCase):
    """registerUser."""

    def test_register(self):
        """A new user is created and the payload names its JID."""
        result = self.register("Alice")
        self.assertEqual(result, {"jid": "alice@localhost",
                                  "message": "User alice@localhost successfully registered"})
        self.assertEqual(self.auth.users, {("alice", "localhost"): "secret"})

    def test_existing_user_is_conflict(self):
        """Registering an existing user is a conflict and keeps the old password."""
        self.register()
        error = self.fail_command("conflict", "registerUser",
                                  {"domain": "localhost", "username": "alice", "password": "x"})
        self.assertIn("already registered", error.message)
        self.assertEqual(self.auth.users[("alice", "localhost")], "secret")

    def test_generated_username(self):
        """Without a username one is generated."""
        result = self.run_command("registerUser", {"domain": "localhost", "password": "p"})
        name, _, domain = result["jid"].partition("@")
        self.assertEqual(domain, "localhost")
        self.assertTrue(name)
        self.assertEqual(self.auth.users[(name, "localhost")], "p")

    def test_empty_password(self):
        """An empty password is bad_request naming the argument."""
        error = self.fail_command("bad_request", "registerUser",
                                  {"domain": "localhost", "username": "a", "password": ""})
        self.assertEqual(error.message, "password: must not be empty")

    def test_invalid_username(self):
        """A username that is not a valid JID local part is bad_request."""
        error = self.fail_command("bad_request", "registerUser",
                                  {"domain": "localhost", "username": "a b", "password": "p"})
        self.assertTrue(error.message.startswith("username:"))

    def test_unknown_domain(self):
        """A domain the node does not serve is not_found."""
        self.fail_command("not_found", "registerUser",
                          {"domain": "unknown.org", "username": "a", "password": "p"})

    def test_backend_value_error_is_bad_request(self):
        """A ValueError from the backend becomes bad_request, not internal."""

        def refuse(*args, **kwargs):
            raise ValueError("user name too exotic")

        self.auth.register = refuse
        error = self.fail_command("bad_request", "registerUser",
                                  {"domain": "localhost", "username": "a", "password": "p"})
        self.assertEqual(error.message, "user name too exotic")


class RemoveTests(AccountTestCase):
    """removeUser and the user's own unregister."""

    def test_remove(self):
        """An existing user is removed."""
        self.register()
        result = self.run_command("removeUser", {"user": "alice@localhost"})
        self.assertEqual(result["jid"], "alice@localhost")
        self.assertEqual(self.auth.users, {})

    def test_remove_absent_user(self):
        """Removing a user that does not exist is not_found."""
        error = self.fail_command("not_found", "removeUser", {"user": "ghost@localhost"})
        self.assertIn("ghost@localhost", error.message)

    def test_remove_needs_user_jid(self):
        """A bare domain is not a user."""
        self.fail_command("bad_request", "removeUser", {"user": "localhost"})

    def test_user_unregisters_itself(self):
        """A user removes its own account without naming it."""
        self.register()
        result = self.run_command("unregister", {}, caller=Caller.user("alice@localhost/r"))
        self.assertIn("alice@localhost", result)
        self.assertEqual(self.auth.users, {})

    def test_user_cannot_remove_others(self):
        """A user cannot run removeUser nor unregister someone else."""
        self.register("bob")
        alice = Caller.user("alice@localhost")
        self.fail_command("forbidden", "removeUser", {"user": "bob@localhost"}, caller=alice)
        self.fail_command("forbidden", "unregister", {"user": "bob@localhost"}, caller=alice)
        self.assertIn(("bob", "localhost"), self.auth.users)


class QueryTests(AccountTestCase):
    """listUsers, countUsers, checkUser and checkPassword."""

    def test_list_and_count(self):
        """Users are listed as JIDs, sorted, with limit and index; and counted."""
        for name in ("carol", "alice", "bob"):
            self.register(name)
        self.register("dave", domain="example.com")
        self.assertEqual(self.run_command("listUsers", {"domain": "localhost"}),
                         ["alice@localhost", "bob@localhost", "carol@localhost"])
        self.assertEqual(
            self.run_command("listUsers", {"domain": "localhost", "limit": 1, "index": 1}),
            ["bob@localhost"])
        self.assertEqual(self.run_command("countUsers", {"domain": "localhost"}), 3)
        self.assertEqual(self.run_command("countUsers", {"domain": "empty.org"}), 0)

    def test_list_limit_must_be_positive(self):
        """limit 0 is refused (PosInt in the GraphQL schema)."""
        self.fail_command("bad_request", "listUsers", {"domain": "localhost", "limit": 0})

    def test_check_user(self):
        """checkUser reports existence either way."""
        self.register()
        self.assertEqual(self.run_command("checkUser", {"user": "alice@localhost"}),
                         {"exist": True, "message": "User alice@localhost exists"})
        self.assertFalse(self.run_command("checkUser", {"user": "bob@localhost"})["exist"])

    def test_check_password(self):
        """checkPassword says whether the password is right; unknown user is not_found."""
        self.register()
        self.assertTrue(self.run_command(
            "checkPassword", {"user": "alice@localhost", "password": "secret"})["correct"])
        self.assertEqual(
            self.run_command("checkPassword", {"user": "alice@localhost", "password": "no"}),
            {"correct": False, "message": "Password is incorrect"})
        self.fail_command("not_found", "checkPassword",
                          {"user": "bob@localhost", "password": "x"})


class PasswordTests(AccountTestCase):
    """changeUserPassword and the user's own changePassword."""

    def test_admin_changes_password(self):
        """The new password replaces the old one."""
        self.register()
        result = self.run_command("changeUserPassword",
                                  {"user": "alice@localhost", "newPassword": "new"})
        self.assertEqual(result, {"jid": "alice@localhost", "message": "Password changed"})
        self.assertEqual(self.auth.users[("alice", "localhost")], "new")

    def test_absent_user_and_empty_password(self):
        """Unknown users are not_found; empty passwords bad_request."""
        self.fail_command("not_found", "changeUserPassword",
                          {"user": "bob@localhost", "newPassword": "x"})
        self.register()
        error = self.fail_command("bad_request", "changeUserPassword",
                                  {"user": "alice@localhost", "newPassword": ""})
        self.assertTrue(error.message.startswith("newPassword:"))

    def test_user_changes_own_password(self):
        """A user changes its own password without naming itself."""
        self.register()
        self.run_command("changePassword", {"newPassword": "mine"},
                         caller=Caller.user("alice@localhost"))
        self.assertEqual(self.auth.users[("alice", "localhost")], "mine")

    def test_domain_admin_limited_to_domain(self):
        """A domain admin manages its own domain's users only."""
        self.register()
        self.register("eve", domain="example.com")
        admin = Caller.domain_admin("localhost")
        self.run_command("changeUserPassword", {"user": "alice@localhost", "newPassword": "n"},
                         caller=admin)
        self.fail_command("forbidden", "changeUserPassword",
                          {"user": "eve@example.com", "newPassword": "n"}, caller=admin)
        self.fail_command("forbidden", "listUsers", {"domain": "example.com"}, caller=admin)
        self.assertEqual(self.auth.users[("eve", "example.com")], "secret")


class NamesTests(AccountTestCase):
    """The command names and arguments follow MongooseIM's GraphQL schema."""

    def test_names_and_args(self):
        """Admin and user account commands with the schema's argument names."""
        args = {c.name: [a.name for a in c.args] for c in self.registry.list()}
        self.assertEqual(args, {
            "registerUser": ["domain", "username", "password"],
            "removeUser": ["user"],
            "listUsers": ["domain", "limit", "index"],
            "countUsers": ["domain"],
            "checkPassword": ["user", "password"],
            "checkUser": ["user"],
            "changeUserPassword": ["user", "newPassword"],
            "banUser": ["user", "reason"],
            "unregister": ["user"],
            "changePassword": ["user", "newPassword"],
        })
        user_commands = [c.name for c in self.registry.list(Caller.user("a@b"))]
        self.assertEqual(user_commands, ["changePassword", "unregister"])
