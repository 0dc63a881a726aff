"""The ``last`` commands (MongooseIM GraphQL ``LastAdminQuery``/``LastAdminMutation``).

``mod_last`` registers them.  Each works through the ``mod_last`` instance
of the domain concerned and fails with ``unavailable`` when the module does
not run there.  ``listOldUsers`` and ``removeOldUsers`` without a domain go
over every domain where ``mod_last`` runs (global admin only).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from mongoose.commands.defs.addresses import bare_jid, module_missing
from mongoose.commands.errors import CommandError
from mongoose.commands.registry import Arg, Command
from mongoose.commands.types import DATETIME, DOMAIN, INT, STRING, Field, Jid, ListOf, Object

__all__ = ["last_commands", "LAST_ACTIVITY", "OLD_USER"]

CATEGORY = "last"

USER_JID = Jid(require_user=True)

#: ``LastActivity`` of the GraphQL schema.
LAST_ACTIVITY = Object(
    "LastActivity",
    [
        Field("user", USER_JID, "The user's JID"),
        Field("timestamp", DATETIME, "The activity DateTime"),
        Field("status", STRING, "The status text"),
    ],
)

#: ``OldUser`` of the GraphQL schema.
OLD_USER = Object(
    "OldUser",
    [
        Field("jid", USER_JID, "The user's JID"),
        Field("timestamp", DATETIME, "The latest recorded user activity DateTime",
              optional=True),
    ],
)


def _moment(seconds: int | None) -> datetime | None:
    return None if seconds is None else datetime.fromtimestamp(seconds, UTC)


def last_commands(
    find_service: Callable[[str], Awaitable[Any]],
    hosts: Callable[[], Iterable[str]],
) -> list[Command]:
    """Build the ``last`` commands.

    Args:
        find_service: ``domain -> awaitable`` of the domain's ``mod_last``
            instance, or None when the module does not run there.  The
            instance offers ``user_exists(user)``, ``get_last(user)``,
            ``set_last(user, seconds, status)``, ``now()``,
            ``count_active(since)``, ``old_users(before)`` and
            ``remove_old_users(before)``.
        hosts: the node's domains, for the commands without a domain.

    Returns:
        The commands, ready for :meth:`CommandRegistry.register`.
    """

    async def service_for(domain: str) -> Any:
        service = await find_service(domain)
        if service is None:
            raise module_missing("mod_last", domain)
        return service

    async def existing_user(jid: Any) -> tuple[Any, Any]:
        user = bare_jid(jid, "user")
        service = await service_for(user.host)
        if not await service.user_exists(user.user):
            raise CommandError("not_found", f"user {user.userhost} does not exist")
        return user, service

    async def get_last(user: Any) -> dict[str, Any]:
        jid, service = await existing_user(user)
        last = await service.get_last(jid.user)
        if last is None:
            raise CommandError("not_found", f"no last activity is recorded for {jid.userhost}")
        return {"user": jid.userhost, "timestamp": _moment(last.seconds), "status": last.status}

    async def set_last(user: Any, status: str, timestamp: datetime | None = None) -> dict:
        jid, service = await existing_user(user)
        seconds = int(timestamp.timestamp()) if timestamp is not None else int(service.now())
        await service.set_last(jid.user, seconds, status)
        return {"user": jid.userhost, "timestamp": _moment(seconds), "status": status}

    async def count_active_users(domain: str, timestamp: datetime | None = None) -> int:
        since = 0 if timestamp is None else int(timestamp.timestamp())
        return await (await service_for(domain)).count_active(since)

    async def services(domain: str | None) -> list[tuple[str, Any]]:
        if domain is not None:
            return [(domain, await service_for(domain))]
        found = []
        for host in hosts():
            service = await find_service(host)
            if service is not None:
                found.append((host, service))
        return found

    def old_user(user: str, host: str, seconds: int | None) -> dict[str, Any]:
        return {"jid": f"{user}@{host}", "timestamp": _moment(seconds)}

    async def list_old_users(timestamp: datetime, domain: str | None = None) -> list[dict]:
        before = int(timestamp.timestamp())
        result = []
        for host, service in await services(domain):
            result += [old_user(u, host, s) for u, s in await service.old_users(before)]
        return result

    async def remove_old_users(timestamp: datetime, domain: str | None = None) -> list[dict]:
        before = int(timestamp.timestamp())
        result = []
        for host, service in await services(domain):
            result += [old_user(u, host, s) for u, s in await service.remove_old_users(before)]
        return result

    user_arg = Arg("user", USER_JID, "The user's bare JID", example="alice@localhost")
    domain_arg = Arg("domain", DOMAIN, "The XMPP domain", example="localhost")
    optional_domain = Arg("domain", DOMAIN, "The XMPP domain (all domains when absent)",
                          default=None, example="localhost")
    stamp = Arg("timestamp", DATETIME, "The point in time", example="2024-01-01T00:00:00Z")
    return [
        Command(
            category=CATEGORY, name="getLast", action="read",
            description="Get the user's last status and timestamp",
            security_policy="user", args=(user_arg,), result=LAST_ACTIVITY, handler=get_last,
        ),
        Command(
            category=CATEGORY, name="setLast", action="update",
            description="Set user's last status and timestamp",
            security_policy="user",
            args=(
                user_arg,
                Arg("status", STRING, "The status text", example="Went fishing"),
                Arg("timestamp", DATETIME, "The activity time (now when absent)", default=None,
                    example="2024-01-01T00:00:00Z"),
            ),
            result=LAST_ACTIVITY, handler=set_last,
        ),
        Command(
            category=CATEGORY, name="countActiveUsers", action="read",
            description="Get the number of users active from the given timestamp",
            security_policy="domain_admin", domain_arg="domain",
            args=(
                domain_arg,
                Arg("timestamp", DATETIME, "Count users active at or after this time "
                    "(every recorded user when absent)", default=None,
                    example="2024-01-01T00:00:00Z"),
            ),
            result=INT, handler=count_active_users,
        ),
        Command(
            category=CATEGORY, name="listOldUsers", action="read",
            description="List users that didn't log in the last days or have never logged in, "
            "globally or for a specified domain",
            security_policy="domain_admin", domain_arg="domain",
            args=(optional_domain, stamp), result=ListOf(OLD_USER), handler=list_old_users,
        ),
        Command(
            category=CATEGORY, name="removeOldUsers", action="delete",
            description="Delete users that didn't log in the last days or have never logged in, "
            "globally or for a specified domain",
            security_policy="domain_admin", domain_arg="domain",
            args=(optional_domain, stamp), result=ListOf(OLD_USER), handler=remove_old_users,
        ),
    ]
