"""The ``blocklist`` commands (MongooseIM GraphQL ``BlocklistAdminQuery``/``Mutation``).

``mod_blocklist`` registers them: an administrator bars users from logging
in, with an optional reason.  Each command works through the module of the
domain concerned and fails with ``unavailable`` where it does not run.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from mongoose.commands.defs.addresses import bare_jid, module_missing
from mongoose.commands.registry import Arg, Command
from mongoose.commands.types import (
    BOOL,
    DOMAIN,
    INT,
    STRING,
    Field,
    Int,
    Jid,
    ListOf,
    Object,
    String,
    bad_request,
)

__all__ = ["blocklist_commands", "BLOCKED_USER"]

CATEGORY = "blocklist"

#: The largest ``limit``/``index`` (larger values overflow the SQL engines' integers).
MAX_PAGE = 2**31 - 1

USER_JID = Jid(require_user=True)

#: ``BlockedUser`` of the GraphQL schema.
BLOCKED_USER = Object(
    "BlockedUser",
    [
        Field("jid", USER_JID, "The JID of the blocked user"),
        Field("reason", STRING, "The reason for the block, if provided", optional=True),
    ],
)


def blocklist_commands(find_service: Callable[[str], Awaitable[Any]]) -> list[Command]:
    """Build the ``blocklist`` commands.

    Args:
        find_service: ``domain -> awaitable`` of the domain's ``mod_blocklist``
            instance (with ``count()``, ``list(limit, offset)``,
            ``add(user, reason)`` and ``remove(user)``), or None.

    Returns:
        The commands, ready for :meth:`CommandRegistry.register`.
    """

    async def service_for(domain: str) -> Any:
        service = await find_service(domain)
        if service is None:
            raise module_missing("mod_blocklist", domain)
        return service

    async def user_count(domain: str) -> int:
        return await (await service_for(domain)).count()

    async def list_blocked_users(
        domain: str, limit: int | None = None, index: int = 0
    ) -> list[dict[str, Any]]:
        rows = await (await service_for(domain)).list(limit, index)
        return [{"jid": f"{user}@{domain}", "reason": reason} for user, reason in rows]

    async def add_user(user: Any, reason: str | None = None) -> bool:
        jid = bare_jid(user, "user")
        if reason is not None and not reason.strip():
            raise bad_request("reason", "must not be empty")
        await (await service_for(jid.host)).add(jid.user, reason)
        return True

    async def remove_user(user: Any) -> bool:
        jid = bare_jid(user, "user")
        return await (await service_for(jid.host)).remove(jid.user)

    domain_arg = Arg("domain", DOMAIN, "The XMPP domain", example="localhost")
    user_arg = Arg("user", USER_JID, "The user's bare JID", example="alice@localhost")
    return [
        Command(
            category=CATEGORY, name="userCount", action="read",
            description="Get number of blocked users per domain",
            security_policy="domain_admin", domain_arg="domain",
            args=(domain_arg,), result=INT, handler=user_count,
        ),
        Command(
            category=CATEGORY, name="listBlockedUsers", action="read",
            description="List blocked users per domain",
            security_policy="domain_admin", domain_arg="domain",
            args=(
                domain_arg,
                Arg("limit", Int(min=1, max=MAX_PAGE),
                    "Maximum number of users to return; all when omitted",
                    default=None, example=100),
                Arg("index", Int(min=0, max=MAX_PAGE),
                    "Zero-based index of the first user to return", default=0, example=0),
            ),
            result=ListOf(BLOCKED_USER), handler=list_blocked_users,
        ),
        Command(
            category=CATEGORY, name="addUser", action="create",
            description="Add a user to the blocklist. If the user is already blocked, "
            "update the reason",
            security_policy="domain_admin", domain_arg="user",
            args=(user_arg, Arg("reason", String(non_empty=True), "Why the user is blocked", default=None,
                                example="spam")),
            result=BOOL, handler=add_user,
        ),
        Command(
            category=CATEGORY, name="removeUser", action="delete",
            description="Remove a user from the blocklist",
            security_policy="domain_admin", domain_arg="user",
            args=(user_arg,), result=BOOL, handler=remove_user,
        ),
    ]
