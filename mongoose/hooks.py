"""Named hooks with priorities, per host (MongooseIM's ``ejabberd_hooks``).

A module registers a handler on a hook name for one host (or for every host
with ``host=None``).  Handlers run in priority order, lowest first; equal
priorities run in registration order.  Two ways to run a hook:

* :meth:`HookRegistry.run` calls ``handler(*args)`` on each handler until one
  returns :data:`STOP`; it fires ``True`` when every handler ran, ``False``
  when one stopped the chain.
* :meth:`HookRegistry.fold` threads an accumulator: ``handler(acc, *args)``
  returns the new accumulator, or :class:`Stop` to end the chain with a final
  value.  ``None`` from a handler keeps the accumulator unchanged.

Handlers may be plain functions, return Deferreds, or be ``async def``.  A
handler that raises is logged and skipped: one broken module must not take
routing down with it.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import count
from typing import Any

from twisted.internet import defer
from twisted.logger import Logger

__all__ = ["STOP", "Stop", "HookRegistry", "HookRegistration"]

log = Logger()


class _StopSignal:
    def __repr__(self) -> str:
        return "STOP"


#: Returned by a ``run`` handler to end the chain.
STOP: Any = _StopSignal()


@dataclass(frozen=True)
class Stop:
    """Returned by a ``fold`` handler to end the chain with ``value``."""

    value: Any


_order = count()


@dataclass(order=True)
class _Entry:
    priority: int
    sequence: int
    handler: Callable[..., Any] = field(compare=False)
    host: str | None = field(compare=False)


@dataclass
class HookRegistration:
    """What :meth:`HookRegistry.add` returns; call :meth:`remove` to undo it."""

    registry: "HookRegistry"
    name: str
    entry: _Entry

    def remove(self) -> None:
        """Unregister the handler (idempotent)."""
        self.registry._remove(self.name, self.entry)


class HookRegistry:
    """All hooks of one node."""

    def __init__(self) -> None:
        self._hooks: dict[str, list[_Entry]] = {}
        self._cache: dict[tuple[str, str | None], tuple[_Entry, ...]] = {}

    def add(
        self,
        name: str,
        handler: Callable[..., Any],
        priority: int = 50,
        host: str | None = None,
    ) -> HookRegistration:
        """Register ``handler`` on hook ``name`` for ``host`` (None: every host)."""
        entry = _Entry(priority, next(_order), handler, host)
        entries = self._hooks.setdefault(name, [])
        entries.append(entry)
        entries.sort()
        self._invalidate(name)
        return HookRegistration(self, name, entry)

    def _remove(self, name: str, entry: _Entry) -> None:
        entries = self._hooks.get(name, [])
        if entry in entries:
            entries.remove(entry)
            self._invalidate(name)

    def _invalidate(self, name: str) -> None:
        for key in [k for k in self._cache if k[0] == name]:
            del self._cache[key]

    def handlers(self, name: str, host: str | None) -> tuple[_Entry, ...]:
        """The handlers that run for ``name`` on ``host``, in order."""
        key = (name, host)
        cached = self._cache.get(key)
        if cached is None:
            cached = tuple(
                e for e in self._hooks.get(name, ()) if e.host is None or e.host == host
            )
            self._cache[key] = cached
        return cached

    def count(self, name: str, host: str | None = None) -> int:
        """How many handlers would run for ``name`` on ``host``."""
        return len(self.handlers(name, host))

    def run(self, name: str, host: str | None, *args: Any) -> defer.Deferred:
        """Run the chain; fires False if a handler returned STOP, else True.

        Handlers that return plain values run synchronously (the Deferred has
        already fired); the chain only becomes asynchronous from the first
        handler that returns an awaitable.
        """
        entries = self.handlers(name, host)
        for index, entry in enumerate(entries):
            result = self._call_sync(entry, name, args)
            if inspect.isawaitable(result):
                return defer.ensureDeferred(self._run_rest(entries, index, result, name, args))
            if result is STOP:
                return defer.succeed(False)
        return defer.succeed(True)

    async def _run_rest(self, entries, index, pending, name, args) -> bool:
        result = await self._settle(pending, entries[index], name)
        if result is STOP:
            return False
        for entry in entries[index + 1 :]:
            result = await self._call(entry, name, args)
            if result is STOP:
                return False
        return True

    def fold(self, name: str, host: str | None, acc: Any, *args: Any) -> defer.Deferred:
        """Thread ``acc`` through the chain; fires the final accumulator.

        Synchronous while handlers return plain values, like :meth:`run`.
        """
        entries = self.handlers(name, host)
        for index, entry in enumerate(entries):
            result = self._call_sync(entry, name, (acc, *args))
            if inspect.isawaitable(result):
                return defer.ensureDeferred(
                    self._fold_rest(entries, index, result, name, acc, args)
                )
            done, acc = _fold_step(result, acc)
            if done:
                return defer.succeed(acc)
        return defer.succeed(acc)

    async def _fold_rest(self, entries, index, pending, name, acc, args) -> Any:
        result = await self._settle(pending, entries[index], name)
        done, acc = _fold_step(result, acc)
        if done:
            return acc
        for entry in entries[index + 1 :]:
            result = await self._call(entry, name, (acc, *args))
            done, acc = _fold_step(result, acc)
            if done:
                return acc
        return acc

    def _call_sync(self, entry: _Entry, name: str, args: tuple) -> Any:
        try:
            return entry.handler(*args)
        except Exception:
            self._log_failure(name, entry)
            return None

    async def _settle(self, pending, entry: _Entry, name: str) -> Any:
        try:
            return await pending
        except Exception:
            self._log_failure(name, entry)
            return None

    def _log_failure(self, name: str, entry: _Entry) -> None:
        log.failure(
            "hook {hook} handler {handler!r} failed; skipping it",
            hook=name,
            handler=entry.handler,
        )

    async def _call(self, entry: _Entry, name: str, args: tuple) -> Any:
        try:
            result = entry.handler(*args)
            if inspect.isawaitable(result):
                result = await result
            return result
        except Exception:
            log.failure(
                "hook {hook} handler {handler!r} failed; skipping it",
                hook=name,
                handler=entry.handler,
            )
            return None


def _fold_step(result: Any, acc: Any) -> tuple[bool, Any]:
    """(chain ends?, new accumulator) for one fold handler's result."""
    if isinstance(result, Stop):
        return True, result.value
    if result is STOP:
        return True, acc
    if result is None:
        return False, acc
    return False, result
