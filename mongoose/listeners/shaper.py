"""Traffic shapers (``[shaper]``): a token bucket per connection.

Used by every XMPP listener (c2s, components, s2s): after each read the
listener asks the bucket how long to stop reading, so a flooding peer is
slowed down rather than buffered.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["Shaper", "shaper_rate"]


class Shaper:
    """A token bucket of ``max_rate`` bytes per second.

    Args:
        max_rate: bytes per second allowed on average.
        now: the current time in seconds (``reactor.seconds``).
    """

    __slots__ = ("max_rate", "_tokens", "_stamp", "_now")

    def __init__(self, max_rate: int, now: Callable[[], float]):
        if max_rate < 1:
            raise ValueError("max_rate must be at least 1 byte per second")
        self.max_rate = max_rate
        self._now = now
        self._tokens = float(max_rate)
        self._stamp = now()

    def update(self, size: int) -> float:
        """Account for ``size`` bytes just read.

        Returns:
            How many seconds reading must stop so the average stays at the
            rate (0.0 when it may go on at once).
        """
        now = self._now()
        tokens = self._tokens + (now - self._stamp) * self.max_rate
        if tokens > self.max_rate:
            tokens = float(self.max_rate)
        tokens -= size
        self._tokens = tokens
        self._stamp = now
        if tokens >= 0:
            return 0.0
        return -tokens / self.max_rate


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
