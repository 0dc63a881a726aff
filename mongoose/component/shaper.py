"""Traffic shaping of incoming bytes ("Options: Shaper" of the MongooseIM docs).

A ``[shaper.NAME]`` table gives ``max_rate`` in bytes per second.  The
:class:`Shaper` is a token bucket holding at most one second of traffic:
reading is never slowed while a connection stays under the rate, and once it
goes over, :meth:`Shaper.update` says how long to stop reading so that the
average falls back to ``max_rate``.  The connection pauses its transport for
that long (TCP flow control then slows the sender down).
"""

from __future__ import annotations

from typing import Any

__all__ = ["Shaper", "shaper_rate"]


class Shaper:
    """A token bucket of ``max_rate`` bytes per second.

    Args:
        max_rate: bytes per second allowed on average.
        clock: provides ``seconds()`` (the reactor, or ``task.Clock`` in tests).
    """

    __slots__ = ("max_rate", "clock", "_tokens", "_last")

    def __init__(self, max_rate: int, clock: Any):
        if max_rate < 1:
            raise ValueError("max_rate must be positive")
        self.max_rate = max_rate
        self.clock = clock
        self._tokens = float(max_rate)
        self._last = clock.seconds()

    def update(self, size: int) -> float:
        """Account for ``size`` bytes just read.

        Args:
            size: bytes read from the peer.

        Returns:
            Seconds to stop reading (0.0 when under the rate).
        """
        now = self.clock.seconds()
        elapsed = max(0.0, now - self._last)
        self._last = now
        self._tokens = min(float(self.max_rate), self._tokens + elapsed * self.max_rate)
        self._tokens -= size
        if self._tokens >= 0:
            return 0.0
        return -self._tokens / self.max_rate


def shaper_rate(shapers: Any, name: str) -> int | None:
    """The ``max_rate`` of the shaper called ``name``, or None for no shaping.

    Args:
        shapers: the ``[shaper]`` options (name -> table with ``max_rate``).
        name: a shaper name; ``"none"`` (or an unknown name) means no shaping.

    Returns:
        Bytes per second, or None.
    """
    if name == "none":
        return None
    table = shapers.get(name) if shapers is not None else None
    if table is None:
        return None
    return int(table["max_rate"])
