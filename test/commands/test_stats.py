"""Tests for mongoose.commands.defs.stats: the ``stat`` commands through the registry."""

from __future__ import annotations

from twisted.internet import defer
from twisted.trial.unittest import SynchronousTestCase

from mongoose.commands.caller import Caller
from mongoose.commands.defs.stats import stats_commands
from mongoose.commands.registry import CommandRegistry


class StatsTests(SynchronousTestCase):
    """globalStats and domainStats over fake sources."""

    def setUp(self):
        users = {"localhost": 2, "dyn.test": 5}
        sessions = {"localhost": 1, "dyn.test": 3}
        self.registry = CommandRegistry()
        for command in stats_commands(
            uptime=lambda: 42.7,
            domains=lambda: ["localhost", "dyn.test", "localhost"],
            serves_domain=lambda d: d in users,
            count_users=lambda d: defer.succeed(users[d]),
            count_sessions=lambda d: sum(sessions.values()) if d is None else sessions[d],
            s2s_counts=lambda: (2, 1),
        ):
            self.registry.register(command)

    def run_command(self, caller, name, args):
        """Execute a stat command; return the Deferred's result or failure."""
        return defer.ensureDeferred(self.registry.execute(caller, "stat", name, args))

    def test_global_stats(self):
        """Totals over every served domain (each counted once)."""
        result = self.successResultOf(self.run_command(Caller.admin(), "globalStats", {}))
        self.assertEqual(result, {"uptimeSeconds": 42, "registeredUsers": 7,
                                  "onlineUsersNode": 4, "onlineUsers": 4,
                                  "incomingS2S": 2, "outgoingS2S": 1})

    def test_domain_stats_and_rights(self):
        """A domain admin reads its own domain only; unknown domains are not_found."""
        admin = Caller.domain_admin("dyn.test")
        result = self.successResultOf(
            self.run_command(admin, "domainStats", {"domain": "dyn.test"}))
        self.assertEqual(result, {"registeredUsers": 5, "onlineUsers": 3})
        for name, args in [("domainStats", {"domain": "localhost"}), ("globalStats", {})]:
            failure = self.failureResultOf(self.run_command(admin, name, args))
            self.assertEqual(failure.value.code, "forbidden")
        failure = self.failureResultOf(
            self.run_command(Caller.admin(), "domainStats", {"domain": "nowhere.test"}))
        self.assertEqual(failure.value.code, "not_found")
