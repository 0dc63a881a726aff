"""Waiting in trial tests that run on the real reactor."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from twisted.internet import defer, reactor

__all__ = ["later", "until"]


def later(seconds: float, value: Any = None) -> defer.Deferred:
    """A Deferred firing ``value`` after ``seconds``."""
    d: defer.Deferred = defer.Deferred()
    reactor.callLater(seconds, d.callback, value)
    return d


async def until(predicate: Callable[[], Any], timeout: float = 10.0, step: float = 0.02) -> None:
    """Wait until ``predicate()`` is true (fails after ``timeout`` seconds)."""
    waited = 0.0
    while not predicate():
        if waited > timeout:
            raise AssertionError("condition not reached in time")
        await later(step)
        waited += step
