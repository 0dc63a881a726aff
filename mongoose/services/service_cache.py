"""``service_cache``: a bounded, expiring cache other services and modules share.

A consumer asks ``cache.lookup(key, fun)``: a fresh cached value is returned
at once; otherwise ``fun()`` is called (it may return a value, a Deferred or
a coroutine) and a *successful* result is kept for ``ttl`` seconds.  A
failure is passed to the caller and not cached, so the next lookup tries
again.  Concurrent lookups of the same missing key share one call of
``fun``.  At most ``max_size`` entries are kept; the least recently used
(``strategy = "lru"``) or the oldest (``"fifo"``) goes first.

How a consumer finds the cache: every service and module context has
``service(name)`` (the running instance of a global service, or None), and
the service provides :class:`ICache`::

    cache = ICache(ctx.service("service_cache"), None)
    if cache is not None:
        value = await cache.lookup(("mod_x", jid), compute)

Keys are shared by every consumer: prefix them with the consumer's name.
"""

from __future__ import annotations

import inspect
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

from twisted.internet import defer
from twisted.python.failure import Failure
from zope.interface import Interface, implementer, provider

from mongoose.config.schema import Enum, Field, Int, OneOf, Section
from mongoose.interfaces import IGlobalService, IServiceFactory
from mongoose.services import find_running

__all__ = ["ICache", "Cache", "CacheService", "find_cache", "SERVICE_NAME"]

SERVICE_NAME = "service_cache"


class ICache(Interface):
    """A key -> value cache whose misses are filled by the caller's function."""

    def lookup(key, fun):
        """The cached value of ``key``, or ``fun()``'s result (cached on success).

        Args:
            key: a hashable key; prefix it with the consumer's name.
            fun: a callable with no arguments returning a value, a Deferred
                or a coroutine.

        Returns:
            A Deferred firing the value, or failing as ``fun`` did.
        """

    def invalidate(key):
        """Forget ``key`` (a lookup running for it does not store its result)."""

    def clear():
        """Forget every key."""


def _call(fun: Callable[[], Any]) -> defer.Deferred:
    """Run ``fun`` and return its result as a Deferred, whatever it returns."""
    try:
        result = fun()
    except Exception:
        return defer.fail(Failure())
    if isinstance(result, defer.Deferred):
        return result
    if inspect.isawaitable(result):
        return defer.ensureDeferred(result)
    return defer.succeed(result)


class _Pending:
    """A call of ``fun`` in progress and the callers waiting for it."""

    __slots__ = ("waiters", "store")

    def __init__(self) -> None:
        self.waiters: list[defer.Deferred] = []
        self.store = True


@implementer(ICache)
class Cache:
    """An in-memory :class:`ICache`.

    Args:
        clock: an ``IReactorTime`` (``task.Clock`` in tests).
        max_size: the most entries kept (at least 1).
        ttl: seconds an entry stays fresh, or None for no expiry; 0 keeps
            nothing (lookups still share one call).
        strategy: ``lru`` (a hit makes the entry the most recent) or ``fifo``
            (entries leave in insertion order).
    """

    def __init__(self, clock: Any, max_size: int = 1000, ttl: float | None = 60,
                 strategy: str = "lru"):
        if max_size < 1:
            raise ValueError("max_size must be at least 1")
        if ttl is not None and ttl < 0:
            raise ValueError("ttl must not be negative")
        if strategy not in ("lru", "fifo"):
            raise ValueError("strategy must be 'lru' or 'fifo'")
        self.clock = clock
        self.max_size = max_size
        self.ttl = ttl
        self.strategy = strategy
        self._entries: OrderedDict[Hashable, tuple[Any, float | None]] = OrderedDict()
        self._pending: dict[Hashable, _Pending] = {}
        #: Counters for operators and tests.
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: Hashable) -> bool:
        return self._fresh(key)

    def _fresh(self, key: Hashable) -> bool:
        entry = self._entries.get(key)
        if entry is None:
            return False
        expires = entry[1]
        if expires is not None and self.clock.seconds() >= expires:
            del self._entries[key]
            return False
        return True

    def lookup(self, key: Hashable, fun: Callable[[], Any]) -> defer.Deferred:
        """See :meth:`ICache.lookup`."""
        if self._fresh(key):
            self.hits += 1
            if self.strategy == "lru":
                self._entries.move_to_end(key)
            return defer.succeed(self._entries[key][0])
        self.misses += 1
        waiter: defer.Deferred = defer.Deferred()
        pending = self._pending.get(key)
        if pending is not None:
            pending.waiters.append(waiter)
            return waiter
        pending = self._pending[key] = _Pending()
        pending.waiters.append(waiter)
        _call(fun).addBoth(self._finished, key, pending)
        return waiter

    def _finished(self, result: Any, key: Hashable, pending: _Pending) -> None:
        if self._pending.get(key) is pending:
            del self._pending[key]
        if not isinstance(result, Failure) and pending.store:
            self._store(key, result)
        # Each waiter gets the value or the failure; handling it is the caller's job.
        for waiter in pending.waiters:
            waiter.callback(result)

    def _store(self, key: Hashable, value: Any) -> None:
        if self.ttl == 0:
            return
        expires = None if self.ttl is None else self.clock.seconds() + self.ttl
        self._entries.pop(key, None)
        self._entries[key] = (value, expires)
        while len(self._entries) > self.max_size:
            self._entries.popitem(last=False)

    def invalidate(self, key: Hashable) -> None:
        """See :meth:`ICache.invalidate`."""
        self._entries.pop(key, None)
        pending = self._pending.pop(key, None)
        if pending is not None:
            pending.store = False

    def clear(self) -> None:
        """See :meth:`ICache.clear`."""
        self._entries.clear()
        for pending in self._pending.values():
            pending.store = False
        self._pending.clear()


def _ttl_value(value: Any) -> float | None:
    return None if value == "infinity" else value


@provider(IServiceFactory)
@implementer(IGlobalService, ICache)
class CacheService:
    """The ``service_cache`` global service: one shared :class:`Cache`."""

    name = SERVICE_NAME
    options_spec = Section(
        {
            "max_size": Field(Int(min=1), default=1000,
                              doc="The most entries kept; the least recently used "
                                  "(or oldest, see strategy) is dropped first."),
            "ttl": Field(OneOf(Int(min=0), Enum("infinity")), default=60,
                         doc='Seconds an entry stays fresh; "infinity": until evicted; '
                             "0: nothing is kept (concurrent lookups still share one call)."),
            "strategy": Field(Enum("lru", "fifo"), default="lru",
                              doc="Eviction order: lru (a hit keeps an entry) or fifo."),
        },
        doc="A shared bounded cache with expiry, used by other services and modules "
            "(e.g. GDPR data retrieval). See doc/services.md.",
    )

    def __init__(self) -> None:
        self.cache: Cache | None = None

    def start(self, ctx) -> None:
        """Create the cache from the options."""
        options = ctx.options
        self.cache = Cache(ctx.clock, max_size=options["max_size"],
                           ttl=_ttl_value(options["ttl"]), strategy=options["strategy"])

    def stop(self) -> None:
        """Drop every entry."""
        if self.cache is not None:
            self.cache.clear()

    def _running(self) -> Cache:
        if self.cache is None:
            raise RuntimeError("service_cache is not started")
        return self.cache

    def lookup(self, key: Hashable, fun: Callable[[], Any]) -> defer.Deferred:
        """See :meth:`ICache.lookup`."""
        return self._running().lookup(key, fun)

    def invalidate(self, key: Hashable) -> None:
        """See :meth:`ICache.invalidate`."""
        self._running().invalidate(key)

    def clear(self) -> None:
        """See :meth:`ICache.clear`."""
        self._running().clear()


def find_cache(service: Callable[[str], Any] | None) -> ICache | None:
    """The running ``service_cache`` as an :class:`ICache`, or None.

    Args:
        service: a ``service(name)`` lookup (a context's or the node's
            module runner's), or None.
    """
    return find_running(service, SERVICE_NAME, ICache, "cache")
