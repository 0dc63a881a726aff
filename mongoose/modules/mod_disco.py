"""``mod_disco``: service discovery (XEP-0030) and server contact info (XEP-0157).

The server's ``disco#info`` lists the server identity and the features every
loaded module registered (``ctx.add_feature``) plus the namespaces of the
server's IQ handlers; ``disco#items`` lists ``extra_domains`` and the routed
components that are not hidden.  Other modules extend the answers through
fold hooks: ``disco_local_features``, ``disco_local_items``,
``disco_local_identity``, ``disco_info`` (extra XEP-0128 forms) for the
server, and ``disco_sm_features``/``disco_sm_items``/``disco_sm_identity``
for users' bare JIDs.
"""

from __future__ import annotations

from twisted.words.xish.domish import Element
from zope.interface import implementer, provider

from mongoose.config.schema import Bool, Field, ListOf, Section, Str
from mongoose.interfaces import IModule, IModuleFactory
from mongoose.modules.options import iqdisc_field
from mongoose.router.router import iq_result
from mongoose.xmpp.errors import StanzaError

__all__ = ["DiscoModule", "NS_DISCO_INFO", "NS_DISCO_ITEMS"]

NS_DISCO_INFO = "http://jabber.org/protocol/disco#info"
NS_DISCO_ITEMS = "http://jabber.org/protocol/disco#items"
NS_DATA = "jabber:x:data"
NS_SERVER_INFO = "http://jabber.org/network/serverinfo"

#: XEP-0157 field names MongooseIM accepts in ``server_info``.
SERVER_INFO_FIELDS = (
    "abuse-addresses", "admin-addresses", "feedback-addresses", "sales-addresses",
    "security-addresses", "status-addresses", "support-addresses",
)

_SERVER_INFO_ENTRY = Section(
    {
        "name": Field(Str(nonempty=True), required=True, doc="XEP-0157 field name."),
        "urls": Field(ListOf(Str(nonempty=True), nonempty=True), required=True,
                      doc="Addresses (mailto:, xmpp:, https: ...)."),
        "modules": Field(ListOf(Str(nonempty=True)),
                         doc="Only advertise when all these modules are loaded."),
    }
)


@provider(IModuleFactory)
@implementer(IModule)
class DiscoModule:
    """Answers disco#info and disco#items for the server and for user accounts."""

    name = "mod_disco"
    dependencies = ()
    options_spec = Section(
        {
            "iqdisc": iqdisc_field(),
            "extra_domains": Field(ListOf(Str(nonempty=True)), default=[],
                                   doc="Domains to list as items of the server."),
            "server_info": Field(ListOf(_SERVER_INFO_ENTRY), default=[],
                                 doc="XEP-0157 contact addresses in the server's disco#info."),
            "users_can_see_hidden_services": Field(
                Bool(), default=True,
                doc="Whether users see hidden components in the server's items.",
            ),
        },
        doc="Service discovery (XEP-0030) and contact addresses (XEP-0157).",
    )

    def start(self, ctx) -> None:
        """Register the server and account disco handlers."""
        self.ctx = ctx
        ctx.add_feature(NS_DISCO_INFO)
        ctx.add_feature(NS_DISCO_ITEMS)
        ctx.iq_handler(NS_DISCO_INFO, self.server_info, scope="server")
        ctx.iq_handler(NS_DISCO_ITEMS, self.server_items, scope="server")
        ctx.iq_handler(NS_DISCO_INFO, self.account_info, scope="user")
        ctx.iq_handler(NS_DISCO_ITEMS, self.account_items, scope="user")

    def stop(self) -> None:
        """Nothing beyond the registrations, which the framework removes."""

    # -- the server ------------------------------------------------------

    async def server_info(self, iq: Element, from_jid, to_jid) -> Element:
        """disco#info of the domain: identity, features, XEP-0157 form."""
        query = _query(iq, NS_DISCO_INFO)
        node = query.getAttribute("node")
        if iq["type"] != "get":
            raise StanzaError("not-allowed", text="disco#info is read-only")
        hooks, host = self.ctx.hooks, self.ctx.host
        identities = await hooks.fold(
            "disco_local_identity", host,
            [] if node else [("server", "im", "MongooseIM")], from_jid, to_jid, node,
        )
        features = await hooks.fold(
            "disco_local_features", host,
            [] if node else self._server_features(), from_jid, to_jid, node,
        )
        if node and not identities and not features:
            raise StanzaError("item-not-found")
        forms = [] if node else self._server_info_forms()
        forms = await hooks.fold("disco_info", host, forms, from_jid, to_jid, node)
        return iq_result(iq, _info_payload(node, identities, features, forms))

    def _server_features(self) -> list[str]:
        host = self.ctx.host
        features = set(self.ctx.router.iq_handlers.namespaces(host, "server"))
        features.update(self.ctx.host_features())
        features.update((NS_DISCO_INFO, NS_DISCO_ITEMS))
        return sorted(features)

    def _server_info_forms(self) -> list[Element]:
        entries = self.ctx.options["server_info"]
        if not entries:
            return []
        form = Element((NS_DATA, "x"))
        form["type"] = "result"
        _field(form, "FORM_TYPE", [NS_SERVER_INFO], "hidden")
        for entry in entries:
            _field(form, entry["name"], list(entry["urls"]))
        return [form]

    async def server_items(self, iq: Element, from_jid, to_jid) -> Element:
        """disco#items of the domain: extra domains and visible components."""
        query = _query(iq, NS_DISCO_ITEMS)
        node = query.getAttribute("node")
        if iq["type"] != "get":
            raise StanzaError("not-allowed", text="disco#items is read-only")
        items: list[tuple[str, str | None, str | None]] = []
        if not node:
            items.extend((domain, None, None) for domain in self.ctx.options["extra_domains"])
            items.extend((domain, None, None) for domain in self._visible_components(from_jid))
        items = await self.ctx.hooks.fold(
            "disco_local_items", self.ctx.host, items, from_jid, to_jid, node
        )
        if node and not items:
            raise StanzaError("item-not-found")
        return iq_result(iq, _items_payload(node, items))

    def _visible_components(self, from_jid) -> list[str]:
        router = self.ctx.router
        show_hidden = self.ctx.options["users_can_see_hidden_services"]
        found = []
        for domain, sink in sorted(router.routes.items()):
            if getattr(sink, "hidden", False) and not show_hidden:
                continue
            found.append(domain)
        return found

    # -- user accounts ----------------------------------------------------

    async def account_info(self, iq: Element, from_jid, to_jid) -> Element:
        """disco#info of a user's bare JID (answered by the server, XEP-0030 section 4)."""
        query = _query(iq, NS_DISCO_INFO)
        node = query.getAttribute("node")
        if iq["type"] != "get":
            raise StanzaError("not-allowed", text="disco#info is read-only")
        if not await self._account_exists(to_jid):
            raise StanzaError("service-unavailable")
        hooks, host = self.ctx.hooks, self.ctx.host
        identities = await hooks.fold(
            "disco_sm_identity", host,
            [] if node else [("account", "registered", None)], from_jid, to_jid, node,
        )
        features = await hooks.fold(
            "disco_sm_features", host,
            [] if node else [NS_DISCO_INFO, NS_DISCO_ITEMS], from_jid, to_jid, node,
        )
        if node and not identities and not features:
            raise StanzaError("item-not-found")
        return iq_result(iq, _info_payload(node, identities, sorted(set(features)), []))

    async def account_items(self, iq: Element, from_jid, to_jid) -> Element:
        """disco#items of a user's bare JID (filled by modules such as PEP)."""
        query = _query(iq, NS_DISCO_ITEMS)
        node = query.getAttribute("node")
        if iq["type"] != "get":
            raise StanzaError("not-allowed", text="disco#items is read-only")
        if not await self._account_exists(to_jid):
            raise StanzaError("service-unavailable")
        items = await self.ctx.hooks.fold(
            "disco_sm_items", self.ctx.host, [], from_jid, to_jid, node
        )
        return iq_result(iq, _items_payload(node, items))

    async def _account_exists(self, jid) -> bool:
        if self.ctx.sessions is not None and self.ctx.sessions.sessions_of(jid.user, jid.host):
            return True
        return bool(await self.ctx.auth.user_exists(jid.user, jid.host))


def _query(iq: Element, ns: str) -> Element:
    for child in iq.elements():
        if child.uri == ns and child.name == "query":
            return child
    raise StanzaError("bad-request", text="expected a query element")


def _info_payload(node, identities, features, forms) -> Element:
    query = Element((NS_DISCO_INFO, "query"))
    if node:
        query["node"] = node
    for category, kind, name in identities:
        identity = query.addElement("identity")
        identity["category"] = category
        identity["type"] = kind
        if name:
            identity["name"] = name
    for feature in features:
        query.addElement("feature")["var"] = feature
    for form in forms:
        query.addChild(form)
    return query


def _items_payload(node, items) -> Element:
    query = Element((NS_DISCO_ITEMS, "query"))
    if node:
        query["node"] = node
    for jid, item_node, name in items:
        item = query.addElement("item")
        item["jid"] = jid
        if item_node:
            item["node"] = item_node
        if name:
            item["name"] = name
    return query


def _field(form: Element, var: str, values: list[str], kind: str | None = None) -> None:
    field = form.addElement("field")
    field["var"] = var
    if kind:
        field["type"] = kind
    for value in values:
        field.addElement("value", content=value)
