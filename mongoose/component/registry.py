"""The component table of one node: which connection serves which domain.

MongooseIM keeps external components in a table (domain -> connection, with
the ``hidden`` flag from ``hidden_components``).  :class:`ComponentRegistry`
is that table; it also installs the router's route for each domain, so a
stanza for a component domain reaches its connection, and ``mod_disco`` sees
the connection's ``hidden`` flag through ``router.routes``.

Conflicts follow the listener's ``conflict_behaviour``: ``disconnect``
refuses a second connection for a domain that is taken, ``kick_old`` closes
the old connection (``conflict`` stream error) and registers the new one.
A domain served by the node itself, or routed to something that is not an
external component (an internal service), is never given to a component.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from zope.interface import Attribute, Interface

__all__ = [
    "CONFLICT_BEHAVIOURS",
    "ComponentConflict",
    "ComponentRegistry",
    "IComponentConnection",
]

#: Values of the listener option ``conflict_behaviour``.
CONFLICT_BEHAVIOURS = ("disconnect", "kick_old")


class IComponentConnection(Interface):
    """One authenticated external component connection, as the table sees it."""

    domains = Attribute("Tuple of the domains the connection serves (set when registered).")
    hidden = Attribute("True when the component is left out of disco items.")
    info = Attribute(
        "Dict of facts for commands: 'listener' (option path), 'address' "
        "(peer 'ip:port'), 'connected' (a timezone-aware datetime)."
    )

    def send(stanza):
        """Write one stanza (a domish.Element in jabber:client) to the component."""

    def close(condition, text=None):
        """End the stream with a stream error (``conflict``, ``system-shutdown`` ...)."""


class ComponentConflict(Exception):
    """A domain cannot be given to a component; the message is one line.

    Attributes:
        domain: the domain that is taken.
    """

    def __init__(self, domain: str, reason: str):
        super().__init__(f"{domain} {reason}")
        self.domain = domain


class ComponentRegistry:
    """Domain -> component connection for one node, kept in step with the router.

    Args:
        router: the node's router (``routes``, ``add_route``, ``remove_route``).
        is_local: callable(domain) -> True for the node's own XMPP domains.
    """

    def __init__(self, router: Any, is_local: Callable[[str], bool]):
        self.router = router
        self.is_local = is_local
        self._table: dict[str, Any] = {}

    def register(
        self, connection: Any, domains: Iterable[str], conflict_behaviour: str = "disconnect"
    ) -> list[Any]:
        """Give ``domains`` to ``connection`` and route them to it.

        Nothing is registered when a domain cannot be given.

        Args:
            connection: provides :class:`IComponentConnection`.
            domains: the domains, already prepared (lowercase).
            conflict_behaviour: ``disconnect`` or ``kick_old``.

        Returns:
            The old connections that were closed (``kick_old``).

        Raises:
            ComponentConflict: a domain is the node's own, belongs to an
                internal service, or (``disconnect``) to another component.
            ValueError: unknown ``conflict_behaviour``.
        """
        if conflict_behaviour not in CONFLICT_BEHAVIOURS:
            raise ValueError(f"unknown conflict_behaviour {conflict_behaviour!r}")
        wanted = tuple(dict.fromkeys(domains))
        old: list[Any] = []
        for domain in wanted:
            if self.is_local(domain):
                raise ComponentConflict(domain, "is a domain of this server")
            current = self._table.get(domain)
            routed = self.router.routes.get(domain)
            if current is None and routed is not None and routed is not connection:
                raise ComponentConflict(domain, "is served by an internal service")
            if current is not None and current is not connection and current not in old:
                old.append(current)
        if old and conflict_behaviour == "disconnect":
            taken = next(d for d in wanted if self._table.get(d) in old)
            raise ComponentConflict(taken, "is already served by a connected component")
        for previous in old:
            self.unregister(previous)
            previous.close("conflict", "replaced by a new connection for the same domain")
        for domain in wanted:
            self._table[domain] = connection
            self.router.add_route(domain, connection)
        connection.domains = wanted
        return old

    def unregister(self, connection: Any) -> list[str]:
        """Forget every domain of ``connection`` and remove its routes.

        Args:
            connection: a registered connection (unknown ones are ignored).

        Returns:
            The domains that were removed.
        """
        removed = [d for d, c in self._table.items() if c is connection]
        for domain in removed:
            del self._table[domain]
            self.router.remove_route(domain, connection)
        return removed

    def get(self, domain: str) -> Any | None:
        """The connection serving ``domain``, or None."""
        return self._table.get(domain)

    def domains(self) -> list[str]:
        """Every registered component domain, sorted."""
        return sorted(self._table)

    def connections(self) -> list[Any]:
        """Every registered connection once, in registration order."""
        return list(dict.fromkeys(self._table.values()))

    def entries(self) -> list[tuple[str, Any]]:
        """(domain, connection) pairs sorted by domain."""
        return sorted(self._table.items(), key=lambda item: item[0])

    def __len__(self) -> int:
        return len(self._table)
