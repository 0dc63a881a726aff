"""Tests for mongoose.hooks: priorities, hosts, run/fold, async and failing handlers."""

from twisted.internet import defer
from twisted.trial.unittest import SynchronousTestCase, TestCase

from mongoose.hooks import STOP, HookRegistry, Stop


class RunTests(SynchronousTestCase):
    """HookRegistry.run calls handlers in order until one stops the chain."""

    def test_priority_order(self):
        """Lower priorities run first; equal priorities keep registration order."""
        hooks, calls = HookRegistry(), []
        hooks.add("h", lambda: calls.append("late"), priority=90, host="a")
        hooks.add("h", lambda: calls.append("first"), priority=10, host="a")
        hooks.add("h", lambda: calls.append("mid1"), priority=50, host="a")
        hooks.add("h", lambda: calls.append("mid2"), priority=50, host="a")
        self.assertTrue(self.successResultOf(hooks.run("h", "a")))
        self.assertEqual(calls, ["first", "mid1", "mid2", "late"])

    def test_hosts_are_separate(self):
        """A handler for one host does not run for another; host=None runs for all."""
        hooks, calls = HookRegistry(), []
        hooks.add("h", lambda: calls.append("a"), host="a")
        hooks.add("h", lambda: calls.append("b"), host="b")
        hooks.add("h", lambda: calls.append("global"), priority=60)
        self.successResultOf(hooks.run("h", "b"))
        self.assertEqual(calls, ["b", "global"])
        self.assertEqual(hooks.count("h", "a"), 2)

    def test_stop(self):
        """A handler returning STOP ends the chain and run fires False."""
        hooks, calls = HookRegistry(), []
        hooks.add("h", lambda x: STOP, priority=10, host="a")
        hooks.add("h", lambda x: calls.append(x), priority=20, host="a")
        self.assertFalse(self.successResultOf(hooks.run("h", "a", 1)))
        self.assertEqual(calls, [])

    def test_remove(self):
        """A removed handler no longer runs, and removing twice is harmless."""
        hooks, calls = HookRegistry(), []
        reg = hooks.add("h", lambda: calls.append(1), host="a")
        reg.remove()
        reg.remove()
        self.successResultOf(hooks.run("h", "a"))
        self.assertEqual(calls, [])

    def test_failing_handler_is_skipped(self):
        """An exception in one handler is logged and the next handler still runs."""
        hooks, calls = HookRegistry(), []

        def broken():
            raise RuntimeError("boom")

        hooks.add("h", broken, priority=1, host="a")
        hooks.add("h", lambda: calls.append("ok"), priority=2, host="a")
        self.assertTrue(self.successResultOf(hooks.run("h", "a")))
        self.assertEqual(calls, ["ok"])
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)


class FoldTests(SynchronousTestCase):
    """HookRegistry.fold threads an accumulator through the handlers."""

    def test_fold(self):
        """Each handler returns the new accumulator; None keeps it."""
        hooks = HookRegistry()
        hooks.add("f", lambda acc, n: acc + [n], priority=1, host="a")
        hooks.add("f", lambda acc, n: None, priority=2, host="a")
        hooks.add("f", lambda acc, n: acc + [n * 10], priority=3, host="a")
        self.assertEqual(self.successResultOf(hooks.fold("f", "a", [], 2)), [2, 20])

    def test_fold_stop_with_value(self):
        """Stop(value) ends the fold with that value (e.g. a dropped stanza)."""
        hooks = HookRegistry()
        hooks.add("f", lambda acc: Stop("dropped"), priority=1, host="a")
        hooks.add("f", lambda acc: "never", priority=2, host="a")
        self.assertEqual(self.successResultOf(hooks.fold("f", "a", "stanza")), "dropped")

    def test_fold_without_handlers(self):
        """Folding a hook nobody registered returns the accumulator unchanged."""
        self.assertEqual(self.successResultOf(HookRegistry().fold("none", "a", 5)), 5)


class AsyncHandlerTests(TestCase):
    """Handlers may be coroutines or return Deferreds."""

    async def test_async_handlers(self):
        """Coroutine and Deferred handlers are awaited in order."""
        hooks = HookRegistry()

        async def double(acc):
            return acc * 2

        hooks.add("f", double, priority=1, host="a")
        hooks.add("f", lambda acc: defer.succeed(acc + 1), priority=2, host="a")
        self.assertEqual(await hooks.fold("f", "a", 5), 11)
