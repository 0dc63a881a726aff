"""``mod_roster``: rosters (RFC 6121 section 2), subscriptions (section 3), versions (XEP-0237).

What the module does on its host:

* answers ``jabber:iq:roster`` gets and sets from the user's own sessions
  (other senders get ``forbidden``); a get marks the session as an
  interested resource that receives roster pushes from then on; with
  ``versioning = true`` results and pushes carry ``ver`` and a get whose
  ``ver`` is current is answered with an empty result;
* processes subscription presence the user's client sends
  (``user_send_packet``): the roster changes, the stanza is stamped with the
  user's bare JID and routed, or kept as a pre-approval;
* processes subscription presence arriving for a user
  (``presence_subscription_in``); requests the user has not answered are
  stored and shown again whenever a session becomes available
  (``user_available``), across restarts;
* answers the ``roster_get_subscription_lists`` fold hook (accumulator:
  ``{"from": set, "to": set}`` of bare JID strings, extended with the
  user's contacts) that ``mod_presence`` uses;
* on ``remove_user(user, host)`` cancels the account's subscriptions and
  deletes its roster;
* registers the ``roster`` admin commands (once per node; each command finds
  the module of the user's domain through the ``roster_service`` fold hook).
"""

from __future__ import annotations

from twisted.words.xish.domish import Element
from zope.interface import implementer, provider

from mongoose.commands.defs.roster import roster_commands
from mongoose.config.schema import Bool, Enum, Field, Section
from mongoose.hooks import Stop
from mongoose.interfaces import IModule, IModuleFactory
from mongoose.modules.options import iqdisc_field
from mongoose.modules.roster.service import NotInRoster, RosterService
from mongoose.modules.roster.state import SUBSCRIPTION_TYPES
from mongoose.modules.roster.xml import NS_ROSTER, item_element, parse_set, query_element
from mongoose.router.router import iq_result
from mongoose.xmpp.errors import StanzaError
from mongoose.xmpp.jid import JID, InvalidJID

__all__ = ["RosterModule", "NS_ROSTER"]

_BACKEND_COMPAT = "accepted; rosters are kept in the node's SQL database (outgoing_pools.rdbms)"


@provider(IModuleFactory)
@implementer(IModule)
class RosterModule:
    """Rosters, roster pushes, versioning and the presence subscription state machine."""

    name = "mod_roster"
    dependencies = ()
    options_spec = Section(
        {
            "iqdisc": iqdisc_field(),
            "versioning": Field(Bool(), default=False,
                                doc="Roster versioning (XEP-0237): 'ver' in results and pushes."),
            "store_current_id": Field(
                Bool(), default=False,
                doc="Keep the roster version in the database.",
                compat="accepted; the version is always a counter kept in the database",
            ),
            "backend": Field(Enum("mnesia", "rdbms"), default="mnesia",
                             doc="Storage backend of MongooseIM.", compat=_BACKEND_COMPAT),
        },
        doc="Rosters and presence subscriptions (RFC 6121), roster versioning (XEP-0237).",
    )

    def start(self, ctx) -> None:
        """Register the roster IQ handler, the subscription hooks and the commands."""
        self.ctx = ctx
        auth = ctx.auth
        self.service = RosterService(
            ctx.host,
            ctx.stores.roster,
            ctx.sessions,
            ctx.router,
            versioning=ctx.options["versioning"],
            user_exists=(lambda user, host: auth.user_exists(user, host)) if auth else None,
        )
        ctx.iq_handler(NS_ROSTER, self.handle_iq, scope="user")
        if hasattr(ctx, "add_stream_feature"):
            # RFC 6121 2.6 (versioning) and 3.4 (pre-approval) stream features.
            if ctx.options["versioning"]:
                ctx.add_stream_feature(Element(("urn:xmpp:features:rosterver", "ver")))
            ctx.add_stream_feature(Element(("urn:xmpp:features:pre-approval", "sub")))
        ctx.hook("user_send_packet", self.on_user_send_packet, priority=80)
        ctx.hook("presence_subscription_in", self.on_subscription_in)
        ctx.hook("user_available", self.on_user_available)
        ctx.hook("roster_get_subscription_lists", self.on_get_subscription_lists)
        ctx.hook("remove_user", self.on_remove_user)
        ctx.hook("roster_service", self._provide_service)
        for command in roster_commands(self._find_service, self._user_exists):
            try:
                ctx.add_command(command)
            except ValueError:
                pass  # registered by this module on another host already

    def stop(self) -> None:
        """Nothing beyond the registrations the framework removes."""

    # -- lookup for commands --------------------------------------------------

    def _provide_service(self, acc):
        return Stop(self.service)

    def _find_service(self, domain: str):
        return self.ctx.hooks.fold("roster_service", domain, None)

    def _user_exists(self, user: str, host: str):
        return self.ctx.auth.user_exists(user, host)

    # -- IQ -------------------------------------------------------------------

    async def handle_iq(self, iq: Element, from_jid: JID | None, to_jid: JID) -> Element:
        """Answer a roster get or set (RFC 6121 sections 2.1.3 and 2.1.5)."""
        if from_jid is None or to_jid.user is None or from_jid.bare() != to_jid.bare():
            raise StanzaError("forbidden", text="only the account itself may use its roster")
        user = to_jid.user
        query = next(iq.elements())
        if iq["type"] == "get":
            session = self.ctx.sessions.get(from_jid)
            if session is not None:
                session.roster_requested = True
            items, version = await self.service.roster(user)
            if self.service.versioning and query.getAttribute("ver") == version:
                return iq_result(iq)
            result = query_element(version if self.service.versioning else None)
            for item in items:
                result.addChild(item_element(item))
            return iq_result(iq, result)
        request = parse_set(query)
        if request.remove:
            try:
                await self.service.remove_item(user, request.contact)
            except NotInRoster:
                raise StanzaError(
                    "item-not-found", text="the contact is not in the roster"
                ) from None
        else:
            await self.service.set_item(user, request.contact, request.name, request.groups)
        return iq_result(iq)

    # -- hooks ----------------------------------------------------------------

    def on_user_send_packet(self, stanza: Element, session):
        """Take over subscription presence a client sends (RFC 6121 section 3)."""
        if stanza.name != "presence" or stanza.getAttribute("type") not in SUBSCRIPTION_TYPES:
            return None
        return self._outbound(stanza, session)

    async def _outbound(self, stanza: Element, session):
        to = stanza.getAttribute("to")
        if not to:
            return None
        try:
            contact = JID.parse(to).bare()
        except InvalidJID:
            return None  # the router answers jid-malformed
        user = session.jid if session is not None else JID.parse(stanza["from"])
        if contact == user.bare():
            return Stop(None)
        await self.service.outbound(user.user, contact, stanza["type"], stanza)
        return Stop(None)

    async def on_subscription_in(self, from_jid: JID | None, to_jid: JID, stanza: Element):
        """Process subscription presence for a user of this host."""
        if from_jid is None or to_jid.user is None or from_jid.bare() == to_jid.bare():
            return None
        await self.service.inbound(to_jid.user, from_jid, stanza["type"], stanza)
        return None

    async def on_user_available(self, session) -> None:
        """Show a newly available session the requests still unanswered."""
        await self.service.redeliver_requests(session)

    async def on_get_subscription_lists(self, acc, user: str, host: str):
        """Add the user's contacts to the ``{"from": set, "to": set}`` accumulator."""
        subscribed_from, subscribed_to = await self.service.subscription_lists(user)
        acc = acc if acc is not None else {"from": set(), "to": set()}
        acc.setdefault("from", set()).update(subscribed_from)
        acc.setdefault("to", set()).update(subscribed_to)
        return acc

    async def on_remove_user(self, user: str, host: str) -> None:
        """Cancel the subscriptions of a removed account and delete its roster."""
        await self.service.remove_user(user)
