"""``mod_last``: Last Activity (XEP-0012).

What the module does on its host:

* answers ``jabber:iq:last`` gets to the domain with the seconds since the
  module started (the server's uptime);
* answers gets to a user's bare JID with the seconds since the user last
  logged out and the status text of their last unavailable presence, or
  ``seconds='0'`` while the user has an available session.  Only the user
  and contacts with a presence subscription to the user (``from`` or
  ``both``, found through the ``roster_get_subscription_lists`` fold hook
  of ``mod_roster``) may ask; others get ``forbidden``.  A user without an
  account or without a record gives ``item-not-found``; an IQ set
  ``feature-not-implemented``;
* records the time and status when a user's last session ends
  (``sm_remove_connection``), the status taken from the unavailable
  presence the session sent (``user_presence_broadcast``);
* drops the record of a removed account (``remove_user``);
* registers the ``last`` admin commands.
"""

from __future__ import annotations

from twisted.words.xish.domish import Element
from zope.interface import implementer, provider

from mongoose.commands.defs.last import last_commands
from mongoose.config.schema import Enum, Field, Section
from mongoose.hooks import Stop
from mongoose.interfaces import IModule, IModuleFactory
from mongoose.modules.options import iqdisc_field
from mongoose.router.router import iq_result
from mongoose.storage.interfaces import LastActivity
from mongoose.xmpp.errors import StanzaError

__all__ = ["LastModule", "NS_LAST"]

NS_LAST = "jabber:iq:last"


def _status_text(presence: Element) -> str:
    for child in presence.elements():
        if child.name == "status":
            return str(child)
    return ""


@provider(IModuleFactory)
@implementer(IModule)
class LastModule:
    """Server uptime and users' last logout (XEP-0012)."""

    name = "mod_last"
    dependencies = ()
    options_spec = Section(
        {
            "iqdisc": iqdisc_field(),
            "backend": Field(
                Enum("mnesia", "rdbms"), default="mnesia", doc="Storage backend of MongooseIM.",
                compat="accepted; last activity is kept in the node's SQL database "
                "(outgoing_pools.rdbms)",
            ),
        },
        doc="Last Activity (XEP-0012): server uptime and users' last logout.",
    )

    def start(self, ctx) -> None:
        """Register the IQ handlers, the session hooks and the commands."""
        self.ctx = ctx
        self.store = ctx.stores.last
        self.started = ctx.clock.seconds()
        #: id(session) -> status text of the unavailable presence it sent.
        self._statuses: dict[int, str] = {}
        ctx.add_feature(NS_LAST)
        ctx.iq_handler(NS_LAST, self.answer_server, scope="server")
        ctx.iq_handler(NS_LAST, self.answer_user, scope="user")
        ctx.hook("user_presence_broadcast", self.on_presence_broadcast)
        ctx.hook("sm_remove_connection", self.on_session_end)
        ctx.hook("remove_user", self.on_remove_user)
        ctx.hook("last_service", lambda acc: Stop(self))
        for command in last_commands(self._find_service, lambda: tuple(ctx.config.hosts)):
            try:
                ctx.add_command(command)
            except ValueError:
                pass  # registered by this module on another host already

    def stop(self) -> None:
        """Forget remembered statuses."""
        self._statuses.clear()

    def _find_service(self, domain: str):
        return self.ctx.hooks.fold("last_service", domain, None)

    def now(self) -> int:
        """The current Unix time in whole seconds from the module's clock."""
        return int(self.ctx.clock.seconds())

    # -- IQ -------------------------------------------------------------------

    def answer_server(self, iq: Element, from_jid, to_jid) -> Element:
        """Reply with the seconds since the server (this module) started."""
        if iq["type"] != "get":
            raise StanzaError("feature-not-implemented", text="last activity cannot be set")
        query = Element((NS_LAST, "query"))
        query["seconds"] = str(max(int(self.ctx.clock.seconds() - self.started), 0))
        return iq_result(iq, query)

    async def answer_user(self, iq: Element, from_jid, to_jid) -> Element:
        """Reply with a user's last logout time and status, to those allowed to see it."""
        if iq["type"] != "get":
            raise StanzaError("feature-not-implemented", text="last activity cannot be set")
        user = to_jid.user
        if user is None:
            raise StanzaError("bad-request", text="ask a user's bare JID or the server")
        if not await self.user_exists(user):
            raise StanzaError("item-not-found", text="no such user")
        if from_jid is None or not await self._may_see(from_jid, user):
            raise StanzaError(
                "forbidden", text="only the user's contacts with a subscription may ask"
            )
        query = Element((NS_LAST, "query"))
        if self.ctx.sessions.available_sessions(user, self.ctx.host):
            query["seconds"] = "0"
            return iq_result(iq, query)
        last = await self.store.get_last(self.ctx.host, user)
        if last is None:
            raise StanzaError("item-not-found", text="no last activity is recorded for the user")
        query["seconds"] = str(max(self.now() - last.seconds, 0))
        if last.status:
            query.addContent(last.status)
        return iq_result(iq, query)

    async def _may_see(self, asker, user: str) -> bool:
        if asker.user == user and asker.host == self.ctx.host:
            return True
        lists = await self.ctx.hooks.fold(
            "roster_get_subscription_lists", self.ctx.host, None, user, self.ctx.host
        )
        subscribed_from = (lists or {}).get("from", set())
        return asker.userhost in subscribed_from

    # -- hooks ----------------------------------------------------------------

    def on_presence_broadcast(self, session, stanza: Element, was_available: bool) -> None:
        """Remember the status text of unavailable presence a session sends."""
        kind = stanza.getAttribute("type")
        if kind == "unavailable":
            self._statuses[id(session)] = _status_text(stanza)
        elif kind is None:
            self._statuses.pop(id(session), None)  # available again: the status is stale

    async def on_session_end(self, session) -> None:
        """Record the logout when the user's last session ends."""
        status = self._statuses.pop(id(session), "")
        jid = getattr(session, "jid", None)
        if jid is None or jid.user is None:
            return
        if self.ctx.sessions.sessions_of(jid.user, jid.host):
            return  # another session of the user remains
        try:
            await self.store.set_last(jid.host, jid.user, self.now(), status)
        except Exception as exc:
            self.ctx.log.error("cannot record the last activity of {user}: {error}",
                               user=jid.userhost, error=str(exc))

    async def on_remove_user(self, user: str, host: str) -> None:
        """Drop the record of a removed account."""
        await self.store.remove_user(host, user)

    # -- service for commands -------------------------------------------------

    async def user_exists(self, user: str) -> bool:
        """Whether ``user`` has an account on this host."""
        auth = self.ctx.auth
        return bool(auth is not None and await auth.user_exists(user, self.ctx.host))

    async def get_last(self, user: str) -> LastActivity | None:
        """The user's recorded last activity, or None."""
        return await self.store.get_last(self.ctx.host, user)

    async def set_last(self, user: str, seconds: int, status: str) -> None:
        """Record a last activity for the user."""
        await self.store.set_last(self.ctx.host, user, seconds, status)

    async def count_active(self, since: int) -> int:
        """How many users were active at or after ``since`` (Unix seconds)."""
        return await self.store.count_active(self.ctx.host, since)

    async def old_users(self, before: int) -> list[tuple[str, int | None]]:
        """Users without a session whose last activity is before ``before``, or never recorded.

        Returns:
            (username, seconds or None) pairs sorted by username.
        """
        host = self.ctx.host
        users = await self.ctx.auth.list_users(host)
        recent = await self.store.active_users(host, before)
        older = await self.store.older_than(host, before)
        return [
            (user, older.get(user))
            for user in sorted(users)
            if user not in recent and not self.ctx.sessions.sessions_of(user, host)
        ]

    async def remove_old_users(self, before: int) -> list[tuple[str, int | None]]:
        """Remove the accounts :meth:`old_users` lists, with their data; return them."""
        host = self.ctx.host
        removed = []
        for user, seconds in await self.old_users(before):
            if await self.ctx.auth.remove(user, host):
                await self.ctx.hooks.run("remove_user", host, user, host)
                removed.append((user, seconds))
        return removed
