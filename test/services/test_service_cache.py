"""service_cache: lookups, shared misses, failures, LRU/FIFO eviction, TTL, config, the seam."""

from __future__ import annotations

from twisted.internet import defer, task
from twisted.trial.unittest import SynchronousTestCase, TestCase
from zope.interface.verify import verifyObject

from mongoose.config.loader import ConfigErrors
from mongoose.services.service_cache import Cache, CacheService, ICache, find_cache
from test.modules.nodes import start_node


class Counter:
    """A filler function that counts its calls and returns a Deferred the test fires."""

    def __init__(self):
        self.calls = 0
        self.pending: list[defer.Deferred] = []

    def __call__(self):
        self.calls += 1
        d = defer.Deferred()
        self.pending.append(d)
        return d


class CacheTests(SynchronousTestCase):
    """The Cache on a fake clock."""

    def setUp(self):
        """A cache of 3 entries kept 10 seconds."""
        self.clock = task.Clock()
        self.cache = Cache(self.clock, max_size=3, ttl=10)

    def test_provides_interface(self):
        """Cache provides ICache."""
        self.assertTrue(verifyObject(ICache, self.cache))

    def test_hit_does_not_call_again(self):
        """A second lookup within the TTL returns the cached value without calling fun."""
        calls = []
        first = self.successResultOf(self.cache.lookup("k", lambda: calls.append(1) or "v"))
        second = self.successResultOf(self.cache.lookup("k", lambda: calls.append(1) or "w"))
        self.assertEqual((first, second, len(calls)), ("v", "v", 1))
        self.assertEqual((self.cache.hits, self.cache.misses), (1, 1))

    def test_coroutine_fun(self):
        """fun may be a coroutine function."""
        async def make():
            return 42

        self.assertEqual(self.successResultOf(self.cache.lookup("k", make)), 42)
        self.assertIn("k", self.cache)

    def test_concurrent_lookups_share_one_call(self):
        """Lookups of a key being computed wait for the same call."""
        fun = Counter()
        a = self.cache.lookup("k", fun)
        b = self.cache.lookup("k", fun)
        self.assertNoResult(a)
        self.assertEqual(fun.calls, 1)
        fun.pending[0].callback("value")
        self.assertEqual((self.successResultOf(a), self.successResultOf(b)), ("value", "value"))

    def test_failure_is_not_cached(self):
        """A failing fun fails every waiter; the next lookup calls fun again."""
        fun = Counter()
        a = self.cache.lookup("k", fun)
        b = self.cache.lookup("k", fun)
        fun.pending[0].errback(ValueError("boom"))
        self.failureResultOf(a, ValueError)
        self.failureResultOf(b, ValueError)
        self.assertNotIn("k", self.cache)
        c = self.cache.lookup("k", fun)
        self.assertEqual(fun.calls, 2)
        fun.pending[1].callback("ok")
        self.assertEqual(self.successResultOf(c), "ok")

    def test_raising_fun(self):
        """fun raising synchronously fails the lookup and caches nothing."""
        def boom():
            raise KeyError("x")

        self.failureResultOf(self.cache.lookup("k", boom), KeyError)
        self.assertEqual(len(self.cache), 0)

    def test_ttl_expiry(self):
        """After ttl seconds the entry is stale and fun runs again."""
        self.successResultOf(self.cache.lookup("k", lambda: 1))
        self.clock.advance(9.9)
        self.assertEqual(self.successResultOf(self.cache.lookup("k", lambda: 2)), 1)
        self.clock.advance(0.1)
        self.assertEqual(self.successResultOf(self.cache.lookup("k", lambda: 2)), 2)

    def test_lru_eviction(self):
        """Beyond max_size the least recently used entry goes."""
        for key in "abc":
            self.cache.lookup(key, lambda key=key: key)
        self.cache.lookup("a", lambda: "again")  # a becomes the most recent
        self.cache.lookup("d", lambda: "d")
        self.assertEqual(len(self.cache), 3)
        self.assertNotIn("b", self.cache)
        self.assertIn("a", self.cache)

    def test_fifo_eviction(self):
        """With strategy fifo the oldest entry goes even if it was just used."""
        cache = Cache(self.clock, max_size=2, ttl=None, strategy="fifo")
        cache.lookup("a", lambda: 1)
        cache.lookup("b", lambda: 2)
        cache.lookup("a", lambda: 3)
        cache.lookup("c", lambda: 4)
        self.assertNotIn("a", cache)
        self.assertIn("b", cache)
        self.clock.advance(10 ** 9)
        self.assertIn("c", cache)  # ttl None: no expiry

    def test_ttl_zero_keeps_nothing(self):
        """ttl 0 stores nothing but concurrent lookups still share one call."""
        cache = Cache(self.clock, ttl=0)
        fun = Counter()
        a, b = cache.lookup("k", fun), cache.lookup("k", fun)
        fun.pending[0].callback(5)
        self.assertEqual((self.successResultOf(a), self.successResultOf(b)), (5, 5))
        self.assertEqual((fun.calls, len(cache)), (1, 0))

    def test_invalidate_while_running(self):
        """Invalidating a key being computed: its result is returned but not stored."""
        fun = Counter()
        a = self.cache.lookup("k", fun)
        self.cache.invalidate("k")
        fun.pending[0].callback("old")
        self.assertEqual(self.successResultOf(a), "old")
        self.assertNotIn("k", self.cache)

    def test_clear(self):
        """clear() forgets every entry."""
        self.cache.lookup("a", lambda: 1)
        self.cache.clear()
        self.assertEqual(len(self.cache), 0)

    def test_bad_arguments(self):
        """Invalid sizes, TTLs and strategies are refused."""
        for kwargs in ({"max_size": 0}, {"ttl": -1}, {"strategy": "random"}):
            with self.assertRaises(ValueError):
                Cache(self.clock, **kwargs)


class ServiceTests(TestCase):
    """The service on a started node: options, config errors and how consumers find it."""

    async def test_found_through_contexts(self):
        """A started node exposes the service to contexts as an ICache with its options."""
        node = await start_node(self, '[services.service_cache]\nmax_size = 2\nttl = 5\n'
                                '[modules.mod_ping]\n')
        cache = find_cache(node.modules.service)
        self.assertIsNotNone(cache)
        self.assertTrue(verifyObject(ICache, cache))
        inner = node.modules.service("service_cache").cache
        self.assertEqual((inner.max_size, inner.ttl, inner.strategy), (2, 5, "lru"))
        self.assertEqual(await cache.lookup(("test", 1), lambda: "x"), "x")
        # A module's context reaches the same instance.
        module_ctx = [ctx for name, host, _, ctx in node.modules.running if host][0]
        self.assertIs(module_ctx.service("service_cache"), node.modules.service("service_cache"))

    async def test_absent(self):
        """Without [services.service_cache] find_cache gives None."""
        node = await start_node(self, "")
        self.assertIsNone(find_cache(node.modules.service))
        self.assertIsNone(find_cache(None))

    async def test_infinity(self):
        """ttl = "infinity" means no expiry."""
        node = await start_node(self, '[services.service_cache]\nttl = "infinity"\n'
                                'strategy = "fifo"\n')
        inner = node.modules.service("service_cache").cache
        self.assertEqual((inner.ttl, inner.strategy), (None, "fifo"))

    async def test_config_errors_name_the_option(self):
        """Bad options fail the config with their path."""
        for bad, option in (("max_size = 0", "max_size"), ('ttl = "forever"', "ttl"),
                            ('strategy = "random"', "strategy"), ("size = 3", "size")):
            with self.assertRaises(ConfigErrors) as caught:
                await start_node(self, f"[services.service_cache]\n{bad}\n")
            self.assertIn(f"services.service_cache.{option}", str(caught.exception))

    def test_stopped_service_refuses(self):
        """Using the service before start is a clear error, not a None dereference."""
        with self.assertRaises(RuntimeError):
            CacheService().lookup("k", lambda: 1)
