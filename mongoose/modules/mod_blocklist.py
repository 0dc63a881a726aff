"""``mod_blocklist``: users an administrator bars from logging in (MongooseIM ``blocklist``).

The ``blocklist`` commands (GraphQL ``BlocklistAdminQuery``/``Mutation``)
add a user with an optional reason, remove one, count and list them.  A
barred user's sessions are closed with the ``not-authorized`` stream error
when the bar is added and whenever a new session binds
(``sm_register_connection``).  Unlike XEP-0191 blocking (``mod_blocking``),
this is not a user's own choice but an administrative ban.
"""

from __future__ import annotations

from typing import Any

from zope.interface import implementer, provider

from mongoose.commands.defs.blocklist import blocklist_commands
from mongoose.config.schema import Section
from mongoose.hooks import Stop
from mongoose.interfaces import IModule, IModuleFactory

__all__ = ["BlocklistModule"]


@provider(IModuleFactory)
@implementer(IModule)
class BlocklistModule:
    """Keeps barred users out."""

    name = "mod_blocklist"
    dependencies = ()
    options_spec = Section({}, doc="Users barred from logging in by an administrator.")

    def start(self, ctx) -> None:
        """Watch new sessions and register the commands."""
        self.ctx = ctx
        self.store = ctx.stores.blocklist
        ctx.hook("sm_register_connection", self.on_session)
        ctx.hook("blocklist_service", lambda acc: Stop(self))
        for command in blocklist_commands(self._find_service):
            try:
                ctx.add_command(command)
            except ValueError:
                pass  # registered by this module on another host already

    def stop(self) -> None:
        """Nothing beyond the registrations the framework removes."""

    def _find_service(self, domain: str):
        return self.ctx.hooks.fold("blocklist_service", domain, None)

    def _kick(self, session: Any, reason: str | None) -> None:
        text = "your account is blocked" + (f": {reason}" if reason else "")
        session.close("not-authorized", text)

    async def on_session(self, session: Any) -> None:
        """Close a new session of a barred user."""
        barred, reason = await self.store.get_block(self.ctx.host, session.jid.user)
        if barred:
            self._kick(session, reason)

    async def count(self) -> int:
        """How many users of this host are barred."""
        return await self.store.count_blocks(self.ctx.host)

    async def list(self, limit: int | None, offset: int) -> list[tuple[str, str | None]]:
        """Barred users and reasons, sorted and paged."""
        return await self.store.list_blocks(self.ctx.host, limit, offset)

    async def add(self, user: str, reason: str | None) -> None:
        """Bar ``user`` and close the user's sessions."""
        await self.store.add_block(self.ctx.host, user, reason)
        for session in list(self.ctx.sessions.sessions_of(user, self.ctx.host)):
            self._kick(session, reason)

    async def remove(self, user: str) -> bool:
        """Lift the bar; whether there was one."""
        return await self.store.remove_block(self.ctx.host, user)
