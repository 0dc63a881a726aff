"""Global services (service_*) and how other code finds a running one."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["find_running"]


def find_running(
    service: Callable[[str], Any] | None, name: str, interface: Any, ready: str
) -> Any | None:
    """A running global service adapted to ``interface``, or None.

    Args:
        service: a ``service(name)`` lookup (a module or service context's,
            or the node's module runner's), or None.
        name: the service's configuration name, e.g. ``service_cache``.
        interface: the zope interface the caller wants.
        ready: an attribute the service sets once started (None before).
    """
    if service is None:
        return None
    instance = service(name)
    if instance is None or getattr(instance, ready, True) is None:
        return None
    return interface(instance, None)
