"""The last commands (mongoose.commands.defs.last) on a running node with mod_last."""

from __future__ import annotations

from twisted.internet import defer
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase, TestCase

from mongoose.commands.caller import Caller
from mongoose.commands.defs.last import last_commands
from mongoose.commands.errors import CommandError
from mongoose.commands.registry import CommandRegistry
from mongoose.storage.interfaces import LastActivity
from test.support.sessions import IM_MODULES, connect, module_instance, start_im_node

T0 = 1_700_000_000  # 2023-11-14T22:13:20Z


class LastCommandTests(TestCase):
    """getLast, setLast, countActiveUsers, listOldUsers and removeOldUsers."""

    async def node(self):
        """A node with mod_last on a fake clock at T0 and users alice, bob and carol."""
        node = await start_im_node(self, IM_MODULES + "[modules.mod_last]\n")
        clock = Clock()
        clock.advance(T0)
        module_instance(node, "mod_last").ctx.clock = clock
        for user in ("alice", "bob", "carol"):
            await node.auth.register(user, "localhost", "pw")
        return node

    def run_command(self, node, name, args, caller=None):
        """Run a last command."""
        return node.commands.execute(caller or Caller.admin(), "last", name, args)

    async def test_set_and_get(self):
        """setLast stores a time and status that getLast returns."""
        node = await self.node()
        result = await self.run_command(node, "setLast", {
            "user": "alice@localhost", "status": "away", "timestamp": "2024-01-02T03:04:05Z"})
        self.assertEqual(result, {"user": "alice@localhost",
                                  "timestamp": "2024-01-02T03:04:05Z", "status": "away"})
        got = await self.run_command(node, "getLast", {"user": "alice@localhost"})
        self.assertEqual(got, result)

    async def test_set_defaults_to_now(self):
        """setLast without a timestamp uses the module's current time."""
        node = await self.node()
        result = await self.run_command(node, "setLast", {"user": "bob@localhost", "status": ""})
        self.assertEqual(result["timestamp"], "2023-11-14T22:13:20Z")
        self.assertEqual(await node.stores.last.get_last("localhost", "bob"), LastActivity(T0, ""))

    async def test_not_found(self):
        """A missing account or a missing record is not_found."""
        node = await self.node()
        with self.assertRaises(CommandError) as ghost:
            await self.run_command(node, "getLast", {"user": "ghost@localhost"})
        self.assertEqual(ghost.exception.code, "not_found")
        with self.assertRaises(CommandError) as never:
            await self.run_command(node, "getLast", {"user": "alice@localhost"})
        self.assertEqual(never.exception.code, "not_found")
        with self.assertRaises(CommandError) as bad:
            await self.run_command(node, "getLast", {"user": "localhost"})
        self.assertEqual(bad.exception.code, "bad_request")

    async def test_count_active(self):
        """countActiveUsers counts records at or after the timestamp (all when absent)."""
        node = await self.node()
        await node.stores.last.set_last("localhost", "alice", T0 - 100, "")
        await node.stores.last.set_last("localhost", "bob", T0, "")
        since = "2023-11-14T22:13:20Z"
        self.assertEqual(await self.run_command(
            node, "countActiveUsers", {"domain": "localhost", "timestamp": since}), 1)
        self.assertEqual(await self.run_command(
            node, "countActiveUsers", {"domain": "localhost"}), 2)

    async def test_list_and_remove_old(self):
        """Old users are those never seen or seen before the timestamp, online ones excluded."""
        node = await self.node()
        await node.stores.last.set_last("localhost", "alice", T0 - 100, "")
        await node.stores.last.set_last("localhost", "bob", T0 + 100, "")
        await node.auth.register("dave", "localhost", "pw")
        await connect(node, "dave", register=False)
        args = {"domain": "localhost", "timestamp": "2023-11-14T22:13:20Z"}
        old = await self.run_command(node, "listOldUsers", args)
        self.assertEqual(old, [
            {"jid": "alice@localhost", "timestamp": "2023-11-14T22:11:40Z"},
            {"jid": "carol@localhost", "timestamp": None},
        ])
        removed = await self.run_command(node, "removeOldUsers", args)
        self.assertEqual(removed, old)
        self.assertEqual(sorted(await node.auth.list_users("localhost")), ["bob", "dave"])
        self.assertIsNone(await node.stores.last.get_last("localhost", "alice"))

    async def test_list_all_domains(self):
        """Without a domain, old users of every domain running mod_last are listed."""
        node = await self.node()
        await node.auth.register("erin", "other.test", "pw")
        await node.stores.last.set_last("localhost", "alice", T0, "")
        await node.stores.last.set_last("localhost", "bob", T0, "")
        await node.stores.last.set_last("localhost", "carol", T0, "")
        old = await self.run_command(node, "listOldUsers", {"timestamp": "2023-11-14T22:00:00Z"})
        self.assertEqual(old, [{"jid": "erin@other.test", "timestamp": None}])

    async def test_permissions(self):
        """A user reads only their own record; a domain admin needs a domain of their own."""
        node = await self.node()
        await node.stores.last.set_last("localhost", "alice", T0, "hi")
        own = await self.run_command(node, "getLast", {}, Caller.user("alice@localhost"))
        self.assertEqual(own["status"], "hi")
        with self.assertRaises(CommandError) as other:
            await self.run_command(node, "getLast", {"user": "bob@localhost"},
                                   Caller.user("alice@localhost"))
        self.assertEqual(other.exception.code, "forbidden")
        with self.assertRaises(CommandError) as foreign:
            await self.run_command(node, "countActiveUsers", {"domain": "localhost"},
                                   Caller.domain_admin("other.test"))
        self.assertEqual(foreign.exception.code, "forbidden")


class ModuleMissingTests(SynchronousTestCase):
    """A domain where mod_last does not run."""

    def test_unavailable(self):
        """Commands on such a domain fail with unavailable naming the module."""
        registry = CommandRegistry()

        async def nowhere(domain):
            return None

        for command in last_commands(nowhere, lambda: ("localhost",)):
            registry.register(command)
        failure = self.failureResultOf(defer.ensureDeferred(registry.execute(
            Caller.admin(), "last", "countActiveUsers", {"domain": "localhost"})), CommandError)
        self.assertEqual(failure.value.code, "unavailable")
        self.assertIn("mod_last", failure.value.message)
        listed = self.successResultOf(defer.ensureDeferred(registry.execute(
            Caller.admin(), "last", "listOldUsers", {"timestamp": "2024-01-01T00:00:00Z"})))
        self.assertEqual(listed, [])
