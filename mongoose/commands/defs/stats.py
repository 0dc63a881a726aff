"""The ``stat`` commands (MongooseIM GraphQL ``StatsAdminQuery``, ``admin/stats.gql``).

``globalStats`` (global admin only) and ``domainStats(domain)`` (also the
domain's admin) answer counts read from the node when asked: uptime,
registered users (the auth store), online users (sessions bound on this
node; without a cluster, "on the node" and "in the cluster" are the same)
and s2s connections.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from mongoose.commands.caller import ADMIN, DOMAIN_ADMIN
from mongoose.commands.errors import CommandError
from mongoose.commands.registry import Arg, Command
from mongoose.commands.types import DOMAIN, INT, Field, Object

__all__ = ["GLOBAL_STATS", "DOMAIN_STATS", "stats_commands", "node_stats_commands"]

CATEGORY = "stat"

#: ``GlobalStats`` of the GraphQL schema.
GLOBAL_STATS = Object(
    "GlobalStats",
    [
        Field("uptimeSeconds", INT, "Uptime of the node", optional=True),
        Field("registeredUsers", INT, "Number of registered users", optional=True),
        Field("onlineUsersNode", INT, "Number of online users on the node", optional=True),
        Field("onlineUsers", INT, "Number of online users", optional=True),
        Field("incomingS2S", INT, "Number of all incoming s2s connections", optional=True),
        Field("outgoingS2S", INT, "Number of all outgoing s2s connections", optional=True),
    ],
)

#: ``DomainStats`` of the GraphQL schema.
DOMAIN_STATS = Object(
    "DomainStats",
    [
        Field("registeredUsers", INT, "Number of registered users on a given domain",
              optional=True),
        Field("onlineUsers", INT, "Number of online users on a given domain", optional=True),
    ],
)


async def _value(result: Any) -> Any:
    return await result if inspect.isawaitable(result) else result


def stats_commands(
    uptime: Callable[[], float],
    domains: Callable[[], Iterable[str]],
    serves_domain: Callable[[str], bool],
    count_users: Callable[[str], Awaitable[int] | int],
    count_sessions: Callable[[str | None], int],
    s2s_counts: Callable[[], tuple[int, int]],
) -> list[Command]:
    """Build the ``stat`` commands.

    Args:
        uptime: seconds since the node started.
        domains: every domain the node serves now (static and dynamic).
        serves_domain: whether a domain is served.
        count_users: registered users of one domain (may return a Deferred).
        count_sessions: sessions of one domain, or of all with None.
        s2s_counts: (incoming, outgoing) s2s connections.

    Returns:
        The commands, ready for :meth:`CommandRegistry.register`.
    """

    async def global_stats() -> dict[str, Any]:
        registered = 0
        for domain in sorted(set(domains())):
            registered += int(await _value(count_users(domain)))
        online = count_sessions(None)
        incoming, outgoing = s2s_counts()
        return {
            "uptimeSeconds": int(uptime()),
            "registeredUsers": registered,
            "onlineUsersNode": online,
            "onlineUsers": online,
            "incomingS2S": incoming,
            "outgoingS2S": outgoing,
        }

    async def domain_stats(domain: str) -> dict[str, Any]:
        if not serves_domain(domain):
            raise CommandError("not_found", f"domain {domain} is not served here")
        return {
            "registeredUsers": int(await _value(count_users(domain))),
            "onlineUsers": count_sessions(domain),
        }

    return [
        Command(
            category=CATEGORY, name="globalStats", action="read", security_policy=ADMIN,
            description="Get statistics from all of the nodes. Only for global admin",
            handler=global_stats, result=GLOBAL_STATS,
        ),
        Command(
            category=CATEGORY, name="domainStats", action="read",
            security_policy=DOMAIN_ADMIN, domain_arg="domain",
            description="Get statistics from a specific domain",
            handler=domain_stats, result=DOMAIN_STATS,
            args=(Arg("domain", DOMAIN, "The domain", example="localhost"),),
        ),
    ]


def node_stats_commands(node: Any) -> list[Command]:
    """The ``stat`` commands over a running :class:`mongoose.node.Node`.

    Reads ``node.reactor`` (uptime from now on), ``node.config.hosts`` and
    ``node.domains`` (served domains), ``node.auth`` (user counts),
    ``node.sessions`` and ``node.s2s``.
    """
    started = node.reactor.seconds()

    def domains() -> list[str]:
        found = list(node.config.hosts)
        if node.domains is not None:
            found += [domain for domain, _ in node.domains.enabled()]
        return found

    def s2s_counts() -> tuple[int, int]:
        manager = getattr(node, "s2s", None)
        incoming = getattr(manager, "incoming", None) or ()
        outgoing = getattr(manager, "outgoing", None) or {}
        return len(incoming), len(outgoing)

    def count_users(domain: str) -> Any:
        return 0 if node.auth is None else node.auth.count_users(domain)

    return stats_commands(
        uptime=lambda: node.reactor.seconds() - started,
        domains=domains,
        serves_domain=node.serves_domain,
        count_users=count_users,
        count_sessions=node.sessions.count,
        s2s_counts=s2s_counts,
    )
