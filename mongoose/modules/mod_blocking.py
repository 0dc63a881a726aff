"""``mod_blocking``: simple communications blocking (XEP-0191).

The blocklist is kept by ``mod_privacy`` as deny-everything rules of the
user's default privacy list (as MongooseIM does), so blocked contacts are
stopped by the one privacy enforcement point: messages and IQs from them
are answered ``service-unavailable``, presence is dropped, and stanzas to
them come back ``not-acceptable`` with ``<blocked xmlns='urn:xmpp:blocking:errors'/>``.

IQs (``urn:xmpp:blocking``): get ``<blocklist/>``; set ``<block/>`` with at
least one item; set ``<unblock/>`` with items, or empty to unblock
everyone.  Every change is pushed to all of the user's resources.  When a
contact becomes blocked, each available resource of the user sends it
unavailable presence (XEP-0191 section 3.3).

A blocklist holds at most ``max_blocked`` JIDs (every routed stanza is
checked against it): a ``<block/>`` that would pass the bound is refused
whole with ``policy-violation`` and a text naming the limit.
"""

from __future__ import annotations

from typing import Any

from twisted.words.xish.domish import Element
from zope.interface import implementer, provider

from mongoose.config.schema import Field, Int, Section
from mongoose.interfaces import IModule, IModuleFactory
from mongoose.modules.options import iqdisc_field
from mongoose.modules.privacy.items import NS_BLOCKING
from mongoose.router.router import iq_result
from mongoose.xmpp.errors import StanzaError
from mongoose.xmpp.jid import JID, InvalidJID

__all__ = ["BlockingModule", "NS_BLOCKING"]


def _item_jids(element: Element) -> list[str]:
    """The prepared JIDs of a block/unblock element's items (bad-request if one is bad)."""
    jids = []
    for item in element.elements():
        if item.name != "item":
            continue
        try:
            jids.append(JID.parse(item.getAttribute("jid") or "").full())
        except InvalidJID as exc:
            raise StanzaError("jid-malformed", text=exc.reason) from None
    return jids


@provider(IModuleFactory)
@implementer(IModule)
class BlockingModule:
    """The XEP-0191 protocol over mod_privacy's lists."""

    name = "mod_blocking"
    dependencies = ("mod_privacy",)
    options_spec = Section(
        {
            "iqdisc": iqdisc_field(),
            "max_blocked": Field(
                Int(min=1), default=1000,
                doc="Most JIDs one user's blocklist may hold; a block past it is refused "
                "with policy-violation. *mongoose extension*",
            ),
        },
        doc="Blocking Command (XEP-0191); needs mod_privacy, which enforces the blocks.",
    )

    def start(self, ctx) -> None:
        """Register the IQ handler and the feature."""
        self.ctx = ctx
        self._push_counter = 0
        ctx.add_feature(NS_BLOCKING)
        ctx.iq_handler(NS_BLOCKING, self.handle_iq, scope="user")

    def stop(self) -> None:
        """Nothing beyond the registrations the framework removes."""

    async def _privacy(self) -> Any:
        service = await self.ctx.hooks.fold("privacy_service", self.ctx.host, None)
        if service is None:
            raise StanzaError("service-unavailable", text="mod_privacy does not run here")
        return service

    async def handle_iq(self, iq: Element, from_jid: JID, to_jid: JID) -> Element:
        """Answer a blocking IQ from the user's own session."""
        if from_jid is None or from_jid.bare() != to_jid.bare():
            raise StanzaError("forbidden", text="a blocklist belongs to its owner")
        payload = next(iq.elements())
        privacy = await self._privacy()
        user = from_jid.user
        if iq["type"] == "get":
            if payload.name != "blocklist":
                raise StanzaError("bad-request", text="expected <blocklist/>")
            answer = Element((NS_BLOCKING, "blocklist"))
            for jid in await privacy.blocklist(user):
                answer.addElement("item")["jid"] = jid
            return iq_result(iq, answer)
        if payload.name == "block":
            jids = _item_jids(payload)
            if not jids:
                raise StanzaError("bad-request", text="<block/> needs at least one item")
            await self.block(user, jids)
        elif payload.name == "unblock":
            jids = _item_jids(payload)
            await self.unblock(user, jids or None)
        else:
            raise StanzaError("bad-request", text="expected <block/> or <unblock/>")
        return iq_result(iq)

    async def block(self, user: str, jids: list[str]) -> list[str]:
        """Block ``jids`` for ``user``; push and send unavailable presence; fire the new blocks."""
        privacy = await self._privacy()
        already = set(await privacy.blocklist(user))
        limit = self.ctx.options["max_blocked"]
        if len(already | set(jids)) > limit:
            raise StanzaError("policy-violation", "modify",
                              text=f"a blocklist holds at most {limit} JIDs; "
                              f"{len(already)} are blocked already")
        # Before the block takes effect, or the presence would be stopped too.
        await self._hide_from(user, [jid for jid in dict.fromkeys(jids) if jid not in already])
        changed = await privacy.change_blocklist(user, block=jids, unblock=())
        if changed:
            self._push(user, "block", changed)
        return changed

    async def unblock(self, user: str, jids: list[str] | None) -> list[str]:
        """Unblock ``jids`` (None: everyone) for ``user`` and push; fire those unblocked."""
        privacy = await self._privacy()
        changed = await privacy.change_blocklist(user, block=(), unblock=jids)
        if changed or jids is None:
            self._push(user, "unblock", [] if jids is None else changed)
        return changed

    def _push(self, user: str, action: str, jids: list[str]) -> None:
        for session in self.ctx.sessions.sessions_of(user, self.ctx.host):
            self._push_counter += 1
            push = Element((None, "iq"))
            push["type"] = "set"
            push["id"] = f"block-push-{self._push_counter}"
            push["to"] = session.jid.full()
            change = push.addElement((NS_BLOCKING, action))
            for jid in jids:
                change.addElement("item")["jid"] = jid
            session.deliver(push)

    async def _hide_from(self, user: str, jids: list[str]) -> None:
        for session in self.ctx.sessions.available_sessions(user, self.ctx.host):
            for jid in jids:
                presence = Element((None, "presence"))
                presence["type"] = "unavailable"
                presence["from"] = session.jid.full()
                presence["to"] = jid
                await self.ctx.router.route(presence, session.jid, JID.parse(jid))
