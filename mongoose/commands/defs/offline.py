"""The ``offline`` commands (MongooseIM GraphQL ``OfflineAdminMutation``).

``mod_offline`` registers them; each works on the offline store of one
domain through that domain's module, and fails with ``unavailable`` when
``mod_offline`` does not run there.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from mongoose.commands.defs.addresses import module_missing
from mongoose.commands.registry import Arg, Command
from mongoose.commands.types import DOMAIN, STRING, Int

__all__ = ["offline_commands"]

CATEGORY = "offline"


def offline_commands(find_service: Callable[[str], Awaitable[Any]]) -> list[Command]:
    """Build the ``offline`` commands.

    Args:
        find_service: ``domain -> awaitable`` of the domain's ``mod_offline``
            instance (with ``delete_expired()`` and ``delete_old(days)``), or
            None when the module does not run there.

    Returns:
        The commands, ready for :meth:`CommandRegistry.register`.
    """

    async def service_for(domain: str) -> Any:
        service = await find_service(domain)
        if service is None:
            raise module_missing("mod_offline", domain)
        return service

    async def delete_expired_messages(domain: str) -> str:
        removed = await (await service_for(domain)).delete_expired()
        return f"Removed {removed} messages"

    async def delete_old_messages(domain: str, days: int) -> str:
        removed = await (await service_for(domain)).delete_old(days)
        return f"Removed {removed} messages"

    domain_arg = Arg("domain", DOMAIN, "The XMPP domain", example="localhost")
    return [
        Command(
            category=CATEGORY, name="deleteExpiredMessages", action="delete",
            description="Delete offline messages whose date has expired",
            security_policy="domain_admin", domain_arg="domain",
            args=(domain_arg,), result=STRING, handler=delete_expired_messages,
        ),
        Command(
            category=CATEGORY, name="deleteOldMessages", action="delete",
            description="Delete messages at least as old as the number of days specified "
            "in the parameter",
            security_policy="domain_admin", domain_arg="domain",
            args=(domain_arg, Arg("days", Int(min=1), "Minimum age in days", example=31)),
            result=STRING, handler=delete_old_messages,
        ),
    ]
