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
        """Run the chain; fires False if a handler returned STOP, else True."""
        return defer.ensureDeferred(self._run(self.handlers(name, host), name, args))

    async def _run(self, entries, name, args) -> bool:
        for entry in entries:
            result = await self._call(entry, name, args)
            if result is STOP:
                return False
        return True

    def fold(self, name: str, host: str | None, acc: Any, *args: Any) -> defer.Deferred:
        """Thread ``acc`` through the chain; fires the final accumulator."""
        entries = self.handlers(name, host)
        if not entries:
            return defer.succeed(acc)
        return defer.ensureDeferred(self._fold(entries, name, acc, args))

    async def _fold(self, entries, name, acc, args) -> Any:
        for entry in entries:
            result = await self._call(entry, name, (acc, *args))
            if isinstance(result, Stop):
                return result.value
            if result is not None and result is not STOP:
                acc = result
            elif result is STOP:
                return acc
        return acc

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
