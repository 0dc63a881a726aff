"""``mod_offline``: messages for users with no available resource (XEP-0160).

A message of type ``normal`` or ``chat`` that the router cannot deliver
(``offline_message`` hook) is stored when it carries content: a body or any
element other than chat states (XEP-0085), processing hints (XEP-0334) and
a thread id.  Messages holding only chat states are dropped silently;
messages asking not to be stored (``<no-store/>``, ``<no-permanent-store/>``)
are left to the router, which answers ``service-unavailable``.  A message
with an XEP-0023 ``<x xmlns='jabber:x:expire' seconds='N'/>`` expires after
N seconds.

The number of waiting messages per user is limited by the access rule named
in ``access_max_user_messages`` (MongooseIM's default rule name:
``max_user_offline_messages``; a number, or no limit when the rule is absent
or answers ``infinity``).  Over the limit the sender gets a
``resource-constraint`` error, and a storage failure an
``internal-server-error``: a message is never dropped without the sender
being told.

When a session with non-negative priority becomes available
(``user_available``, run by ``mod_presence`` after initial presence) the
stored messages are delivered to it oldest first, each with an XEP-0203
``<delay/>`` stamped with the time it was stored, and deleted once
delivered.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from twisted.words.xish.domish import Element
from zope.interface import implementer, provider

from mongoose.commands.defs.offline import offline_commands
from mongoose.config.schema import Bool, Enum, Field, Section, Str
from mongoose.hooks import STOP, Stop
from mongoose.interfaces import IModule, IModuleFactory
from mongoose.storage.errors import StorageError
from mongoose.storage.interfaces import OfflineMessage
from mongoose.xmpp.errors import StreamError
from mongoose.xmpp.framing import parse_element
from mongoose.xmpp.jid import JID
from mongoose.xmpp.namespaces import NS_CLIENT
from mongoose.xmpp.serialize import element_to_str

__all__ = ["OfflineModule", "NS_DELAY", "worth_storing", "expiry"]

NS_DELAY = "urn:xmpp:delay"
NS_EXPIRE = "jabber:x:expire"
NS_CHATSTATES = "http://jabber.org/protocol/chatstates"
NS_HINTS = "urn:xmpp:hints"

_NO_STORE = frozenset({"no-store", "no-permanent-store"})
#: The most seconds an XEP-0023 expiry may ask for (about ten years).
_MAX_EXPIRE = 10 * 365 * 24 * 3600


def worth_storing(message: Element) -> bool | None:
    """Whether a message for an offline user is kept.

    Returns:
        True to store it; False to drop it silently (chat states only);
        None when it asks not to be stored (the router then bounces it).
    """
    content = False
    for child in message.elements():
        if child.uri == NS_HINTS:
            if child.name in _NO_STORE:
                return None
            continue
        if child.uri == NS_CHATSTATES or child.name == "thread":
            continue
        content = True
    return content


def expiry(message: Element, now: datetime) -> datetime | None:
    """When a message asking to expire (XEP-0023) may be discarded, or None."""
    for child in message.elements():
        if child.uri == NS_EXPIRE and child.name == "x":
            try:
                seconds = int(child.getAttribute("seconds") or "")
            except ValueError:
                return None
            if seconds < 0:
                return None
            return now + timedelta(seconds=min(seconds, _MAX_EXPIRE))
    return None


def _stamp(moment: datetime) -> str:
    """XEP-0082 DateTime in UTC with milliseconds."""
    text = moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")
    return text[:-3] + "Z"


@provider(IModuleFactory)
@implementer(IModule)
class OfflineModule:
    """Stores messages for offline users and delivers them at the next login."""

    name = "mod_offline"
    dependencies = ()
    options_spec = Section(
        {
            "access_max_user_messages": Field(
                Str(nonempty=True), default="max_user_offline_messages",
                doc="Access rule giving the most messages kept per user.",
            ),
            "backend": Field(
                Enum("mnesia", "rdbms"), default="mnesia", doc="Storage backend of MongooseIM.",
                compat="accepted; messages are kept in the node's SQL database "
                "(outgoing_pools.rdbms)",
            ),
            "store_groupchat_messages": Field(
                Bool(), default=False, doc="Also store groupchat messages (MUC Light).",
                compat="accepted; groupchat messages to offline users are refused until "
                "MUC Light is available",
            ),
        },
        doc="Offline message storage (XEP-0160) with XEP-0203 delays on delivery.",
    )

    def start(self, ctx) -> None:
        """Hook into undeliverable messages and session availability."""
        self.ctx = ctx
        self.store = ctx.stores.offline
        self._delivering: set[str] = set()
        ctx.hook("offline_message", self.on_offline_message)
        ctx.hook("user_available", self.on_user_available)
        ctx.hook("remove_user", self.on_remove_user)
        ctx.hook("offline_service", lambda acc: Stop(self))
        for command in offline_commands(self._find_service):
            try:
                ctx.add_command(command)
            except ValueError:
                pass  # registered by this module on another host already

    def stop(self) -> None:
        """Nothing beyond the registrations the framework removes."""

    def _find_service(self, domain: str):
        return self.ctx.hooks.fold("offline_service", domain, None)

    def now(self) -> datetime:
        """The current time from the module's clock."""
        return datetime.fromtimestamp(self.ctx.clock.seconds(), UTC)

    def limit_for(self, user: JID) -> int | None:
        """The most messages ``user`` may have waiting, or None for no limit."""
        access = self.ctx.access
        if access is None:
            return None
        value = access.match(
            self.ctx.options["access_max_user_messages"], self.ctx.host, user, default="infinity"
        )
        if isinstance(value, bool) or not isinstance(value, int):
            return None
        return max(value, 0)

    # -- storing --------------------------------------------------------------

    async def on_offline_message(self, from_jid: JID | None, to_jid: JID, stanza: Element):
        """Keep a message the router could not deliver; STOP when it is taken care of."""
        if stanza.name != "message" or to_jid.user is None:
            return None
        if (stanza.getAttribute("type") or "normal") not in ("normal", "chat"):
            return None
        verdict = worth_storing(stanza)
        if verdict is None:
            return None
        if not verdict:
            return STOP
        if any(
            s.priority >= 0
            for s in self.ctx.sessions.available_sessions(to_jid.user, self.ctx.host)
        ):
            # A resource became available meanwhile (or the message comes back
            # from a session that went away while others stay): deliver it.
            await self.ctx.router.route(stanza)
            return STOP
        now = self.now()
        sender = from_jid.full() if from_jid is not None else stanza.getAttribute("from", "")
        message = OfflineMessage(
            sender=sender,
            stamp=now,
            packet=element_to_str(stanza, default_uri=stanza.uri),
            expire=expiry(stanza, now),
        )
        try:
            stored = await self.store.store_message(
                self.ctx.host, to_jid.user, message, self.limit_for(to_jid.bare())
            )
        except StorageError as exc:
            self.ctx.log.error("cannot store an offline message for {user}: {error}",
                               user=to_jid.userhost, error=str(exc))
            self.ctx.router.bounce(stanza, "internal-server-error",
                                   "The message could not be stored")
            return STOP
        if not stored:
            self.ctx.router.bounce(stanza, "resource-constraint",
                                   "The recipient's offline message queue is full")
        return STOP

    # -- delivering -----------------------------------------------------------

    async def on_user_available(self, session) -> None:
        """Deliver the stored messages to a session that became available."""
        if session.priority is None or session.priority < 0:
            return
        user = session.jid.user
        if user in self._delivering:
            return  # another session of the user is being served right now
        self._delivering.add(user)
        try:
            await self._deliver(session, user)
        finally:
            self._delivering.discard(user)

    async def _deliver(self, session, user: str) -> None:
        host = self.ctx.host
        messages = await self.store.fetch_messages(host, user, self.now())
        done: list[int] = []
        try:
            for message in messages:
                if self.ctx.sessions.get(session.jid) is not session:
                    break  # the session ended; keep the rest for the next one
                done.append(message.id)  # type: ignore[arg-type]
                try:
                    stanza = parse_element(message.packet, default_namespace=NS_CLIENT)
                except StreamError as exc:
                    self.ctx.log.error("dropping an unreadable offline message for {user}: "
                                       "{error}", user=f"{user}@{host}", error=str(exc))
                    continue
                delay = stanza.addElement((NS_DELAY, "delay"), content="Offline Storage")
                delay["from"] = host
                delay["stamp"] = _stamp(message.stamp)
                await self.ctx.router.deliver(session, stanza)
        finally:
            if done:
                await self.store.delete_messages(host, user, done)

    async def on_remove_user(self, user: str, host: str) -> None:
        """Delete the messages of a removed account."""
        await self.store.remove_user(host, user)

    # -- commands -------------------------------------------------------------

    async def delete_expired(self) -> int:
        """Delete this host's expired messages; return how many."""
        return await self.store.delete_expired(self.ctx.host, self.now())

    async def delete_old(self, days: int) -> int:
        """Delete this host's messages at least ``days`` days old; return how many."""
        return await self.store.delete_older_than(
            self.ctx.host, self.now() - timedelta(days=days)
        )
