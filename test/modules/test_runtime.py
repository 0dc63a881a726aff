"""Tests for mongoose.modules.runtime: dependency order and leak-free stop."""

from types import SimpleNamespace

from twisted.internet import defer
from twisted.trial.unittest import TestCase

from mongoose.extensions import ExtensionRegistry
from mongoose.hooks import HookRegistry
from mongoose.modules.runtime import DependencyError, ModuleRunner, order_by_dependencies
from test.support.fakemodules import make_module_class


class FakeCommands:
    """Records registered commands like a CommandRegistry."""

    def __init__(self):
        self.names = set()

    def register(self, command):
        self.names.add((command.category, command.name))

    def unregister(self, category, name):
        self.names.discard((category, name))


def fake_node():
    """The parts of a Node that module contexts use."""
    return SimpleNamespace(
        hooks=HookRegistry(),
        commands=FakeCommands(),
        features={},
        stores=None,
        auth=None,
        reactor=None,
        config=SimpleNamespace(hosts=("a.example", "b.example")),
    )


class OrderTests(TestCase):
    """order_by_dependencies puts every module after what it needs."""

    def test_dependencies_first(self):
        """A module starts after the modules it depends on."""
        deps = {"mod_c": ("mod_a",), "mod_a": ("mod_b",), "mod_b": ()}
        order = order_by_dependencies(dict.fromkeys(["mod_c", "mod_a", "mod_b"]), deps.get)
        self.assertEqual(order, ["mod_b", "mod_a", "mod_c"])

    def test_missing_dependency(self):
        """A dependency that is not configured is a clear error naming both modules."""
        with self.assertRaises(DependencyError) as raised:
            order_by_dependencies({"mod_x": {}}, lambda name: ("mod_y",))
        self.assertEqual(
            str(raised.exception), "modules.mod_x: needs modules.mod_y, which is not configured"
        )

    def test_cycle(self):
        """Modules depending on each other are refused."""
        deps = {"mod_a": ("mod_b",), "mod_b": ("mod_a",)}
        with self.assertRaises(DependencyError) as raised:
            order_by_dependencies(dict.fromkeys(deps), deps.get)
        self.assertIn("cycle", str(raised.exception))


class RunnerTests(TestCase):
    """ModuleRunner starts modules per host and removes their registrations on stop."""

    async def test_start_and_stop_per_host(self):
        """Each host gets its own instance; stop removes hooks, commands and features."""
        node = fake_node()
        registry = ExtensionRegistry(builtin={}, use_entry_points=False)
        mod_a = make_module_class("mod_a")
        mod_b = make_module_class("mod_b", dependencies=("mod_a",))
        registry.add("modules", "mod_a", mod_a)
        registry.add("modules", "mod_b", mod_b)
        runner = ModuleRunner(node, registry)
        for host in node.config.hosts:
            await runner.start_modules(host, {"mod_b": {}, "mod_a": {}})
        self.assertEqual(
            [(e[0], e[1]) for e in mod_a.events + mod_b.events],
            [
                ("start", "a.example"),
                ("start", "b.example"),
                ("start", "a.example"),
                ("start", "b.example"),
            ],
        )
        self.assertEqual(node.hooks.count("ping", "a.example"), 2)
        self.assertIn(("test", "mod_a_a.example"), node.commands.names)
        self.assertEqual(node.features["b.example"], ["urn:test:mod_a", "urn:test:mod_b"])
        await runner.stop_all()
        self.assertEqual(node.hooks.count("ping", "a.example"), 0)
        self.assertEqual(node.commands.names, set())
        self.assertEqual(node.features["b.example"], [])
        self.assertEqual([e[0] for e in mod_b.events][-2:], ["stop", "stop"])

    async def test_failing_stop_still_releases(self):
        """A module whose stop raises is logged and its registrations are still removed."""
        node = fake_node()
        registry = ExtensionRegistry(builtin={}, use_entry_points=False)
        broken = make_module_class("mod_broken", fail_stop=True)
        registry.add("modules", "mod_broken", broken)
        runner = ModuleRunner(node, registry)
        await runner.start_modules("a.example", {"mod_broken": {}})
        await runner.stop_all()
        self.assertEqual(node.hooks.count("ping", "a.example"), 0)
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)

    async def test_async_start(self):
        """A module whose start returns a Deferred is awaited before the next one."""
        node = fake_node()
        registry = ExtensionRegistry(builtin={}, use_entry_points=False)
        gate = defer.Deferred()
        slow = make_module_class("mod_slow", start_result=gate)
        after = make_module_class("mod_after", dependencies=("mod_slow",))
        registry.add("modules", "mod_slow", slow)
        registry.add("modules", "mod_after", after)
        started = defer.ensureDeferred(
            ModuleRunner(node, registry).start_modules("a.example", {"mod_after": {}, "mod_slow": {}})
        )
        self.assertEqual(after.events, [])
        gate.callback(None)
        await started
        self.assertEqual(after.events[0][0], "start")
