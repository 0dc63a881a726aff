"""The offline commands (mongoose.commands.defs.offline), with and without a node."""

from __future__ import annotations

from twisted.internet import defer
from twisted.trial.unittest import SynchronousTestCase

from mongoose.commands.caller import Caller
from mongoose.commands.defs.offline import offline_commands
from mongoose.commands.errors import CommandError
from mongoose.commands.registry import CommandRegistry


class FakeOffline:
    """Stands for mod_offline on one domain, recording the calls."""

    def __init__(self):
        self.calls = []

    async def delete_expired(self):
        """Pretend four messages expired."""
        self.calls.append(("expired",))
        return 4

    async def delete_old(self, days):
        """Pretend seven messages were old enough."""
        self.calls.append(("old", days))
        return 7


class OfflineCommandTests(SynchronousTestCase):
    """The commands reach the module of the named domain only."""

    def setUp(self):
        """A registry whose offline commands find the fake module on localhost only."""
        self.module = FakeOffline()
        self.registry = CommandRegistry()

        async def find(domain):
            return self.module if domain == "localhost" else None

        for command in offline_commands(find):
            self.registry.register(command)

    def run_command(self, name, args, caller=None):
        """Run an offline command and return its result or failure."""
        return defer.ensureDeferred(
            self.registry.execute(caller or Caller.admin(), "offline", name, args))

    def test_delete_expired(self):
        """deleteExpiredMessages reports how many messages the module removed."""
        result = self.successResultOf(
            self.run_command("deleteExpiredMessages", {"domain": "LocalHost"}))
        self.assertEqual(result, "Removed 4 messages")
        self.assertEqual(self.module.calls, [("expired",)])

    def test_delete_old(self):
        """deleteOldMessages passes the age in days; it must be at least 1."""
        result = self.successResultOf(
            self.run_command("deleteOldMessages", {"domain": "localhost", "days": 30}))
        self.assertEqual(result, "Removed 7 messages")
        self.assertEqual(self.module.calls, [("old", 30)])
        failure = self.failureResultOf(
            self.run_command("deleteOldMessages", {"domain": "localhost", "days": 0}),
            CommandError)
        self.assertEqual(failure.value.code, "bad_request")

    def test_module_not_running(self):
        """A domain without mod_offline answers unavailable naming the module."""
        failure = self.failureResultOf(
            self.run_command("deleteExpiredMessages", {"domain": "other.test"}), CommandError)
        self.assertEqual(failure.value.code, "unavailable")
        self.assertIn("mod_offline", failure.value.message)

    def test_domain_admin(self):
        """A domain admin may clean its own domain only."""
        caller = Caller.domain_admin("other.test")
        failure = self.failureResultOf(
            self.run_command("deleteExpiredMessages", {"domain": "localhost"}, caller),
            CommandError)
        self.assertEqual(failure.value.code, "forbidden")
