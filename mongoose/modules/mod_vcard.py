"""``mod_vcard``: vcard-temp (XEP-0054).

What the module does on its host:

* ``<iq type='get'><vCard xmlns='vcard-temp'/></iq>`` without ``to`` (or to
  the user's own bare JID) returns the user's vCard; to another user's bare
  JID returns that user's vCard (vCards are public).  A user without a
  stored vCard gets an empty ``<vCard/>``; a JID without an account gets
  ``item-not-found``;
* ``<iq type='set'>`` stores the user's own vCard; setting another user's
  is ``forbidden``, and a vCard larger than ``max_size`` bytes of XML is
  refused with ``resource-constraint``;
* a get to the domain returns the server's own vCard; a set there is
  ``not-allowed``;
* the vCard of a removed account is dropped (``remove_user``) and the
  ``vcard`` admin commands are registered.

With ``search = true`` (the default) the user directory of XEP-0055 is
served on ``host`` (``vjud.@HOST@``, ``@HOST@`` being the module's domain):
it answers service discovery and ``jabber:iq:search`` with a data form
(XEP-0004) whose fields ``user``, ``fn`` and ``nick`` match the start of the
username, formatted name and nickname of stored vCards, ignoring case; at
most ``matches`` results are returned.
"""

from __future__ import annotations

from twisted.internet import defer
from twisted.words.xish.domish import Element
from zope.interface import implementer, provider

from mongoose.commands.defs.vcard import NS_VCARD, vcard_commands
from mongoose.config.schema import Bool, Enum, Field, Int, OneOf, Section, Str
from mongoose.hooks import Stop
from mongoose.interfaces import IModule, IModuleFactory
from mongoose.modules.options import iqdisc_field
from mongoose.router.router import iq_result
from mongoose.xmpp.errors import StanzaError, StreamError
from mongoose.xmpp.framing import parse_element
from mongoose.xmpp.serialize import element_to_str

__all__ = ["VCardModule", "UserDirectory", "NS_VCARD", "NS_SEARCH", "SERVER_FN"]

NS_SEARCH = "jabber:iq:search"
NS_DATA = "jabber:x:data"
NS_DISCO_INFO = "http://jabber.org/protocol/disco#info"
NS_DISCO_ITEMS = "http://jabber.org/protocol/disco#items"
#: Search form field -> (label, store criterion).
SEARCH_FIELDS = {"user": ("User", "user"), "fn": ("Full Name", "fn"),
                 "nick": ("Nickname", "nickname")}

#: The formatted name in the server's own vCard.
SERVER_FN = "mongoose"
#: Largest stored vCard parsed back (bytes): well above any stanza limit.
_MAX_STORED = 16 * 1024 * 1024


def _first_text(vcard: Element, name: str) -> str:
    for child in vcard.elements():
        if child.name == name:
            return str(child)
    return ""


@provider(IModuleFactory)
@implementer(IModule)
class VCardModule:
    """Stores and serves the vCards of one host's users."""

    name = "mod_vcard"
    dependencies = ()
    options_spec = Section(
        {
            "iqdisc": iqdisc_field(),
            "host": Field(Str(nonempty=True), default="vjud.@HOST@",
                          doc="Domain of the vCard user directory (@HOST@ is the served domain)."),
            "search": Field(Bool(), default=True,
                            doc="Serve the user directory search (XEP-0055) on host."),
            "matches": Field(OneOf(Int(min=0), Enum("infinity")), default=30,
                             doc="Most search results returned."),
            "backend": Field(
                Enum("mnesia", "rdbms"), default="mnesia", doc="Storage backend of MongooseIM.",
                compat="accepted; vCards are kept in the node's SQL database "
                "(outgoing_pools.rdbms); the read-only ldap backend is not available",
            ),
            "max_size": Field(
                OneOf(Int(min=1), Enum("infinity")), default="infinity",
                doc="Largest vCard a user may store, in bytes of XML (mongoose extension); "
                "larger ones are refused with resource-constraint.",
            ),
        },
        doc="vCards (XEP-0054).",
    )

    def start(self, ctx) -> None:
        """Register the IQ handlers, the account removal hook and the commands."""
        self.ctx = ctx
        self.store = ctx.stores.vcard
        ctx.add_feature(NS_VCARD)
        ctx.iq_handler(NS_VCARD, self.handle_server_iq, scope="server")
        ctx.iq_handler(NS_VCARD, self.handle_user_iq, scope="user")
        ctx.hook("remove_user", self.on_remove_user)
        ctx.hook("vcard_service", lambda acc: Stop(self))
        self.directory: UserDirectory | None = None
        if ctx.options["search"]:
            self.directory = UserDirectory(self, ctx.options["host"].replace("@HOST@", ctx.host))
            ctx.router.add_route(self.directory.domain, self.directory)
        for command in vcard_commands(self._find_service):
            try:
                ctx.add_command(command)
            except ValueError:
                pass  # registered by this module on another host already

    def stop(self) -> None:
        """Stop serving the user directory."""
        if self.directory is not None:
            self.ctx.router.remove_route(self.directory.domain, self.directory)
            self.directory = None

    def _find_service(self, domain: str):
        return self.ctx.hooks.fold("vcard_service", domain, None)

    # -- IQ -------------------------------------------------------------------

    def handle_server_iq(self, iq: Element, from_jid, to_jid) -> Element:
        """Answer with the server's vCard; it cannot be changed."""
        if iq["type"] != "get":
            raise StanzaError("not-allowed", text="the server's vCard cannot be changed")
        vcard = Element((NS_VCARD, "vCard"))
        vcard.addElement("FN", content=SERVER_FN)
        vcard.addElement("DESC", content="XMPP server (MongooseIM compatible)")
        return iq_result(iq, vcard)

    async def handle_user_iq(self, iq: Element, from_jid, to_jid) -> Element:
        """Answer a vCard get for any user, or a set of the user's own vCard."""
        payload = next(iq.elements())
        if payload.name != "vCard":
            raise StanzaError("bad-request", text="the payload must be a vCard element")
        user = to_jid.user
        if iq["type"] == "set":
            if from_jid is None or user is None or from_jid.bare() != to_jid.bare():
                raise StanzaError("forbidden", text="a user may change only their own vCard")
            try:
                await self.set_vcard(user, payload)
            except ValueError as exc:
                raise StanzaError("resource-constraint", text=str(exc)) from None
            return iq_result(iq)
        if user is None or not await self.user_exists(user):
            raise StanzaError("item-not-found", text="no such user")
        vcard = await self.get_vcard(user)
        return iq_result(iq, vcard if vcard is not None else Element((NS_VCARD, "vCard")))

    async def on_remove_user(self, user: str, host: str) -> None:
        """Delete the vCard of a removed account."""
        await self.store.remove_user(host, user)

    # -- service for commands and the IQ handlers -----------------------------

    @property
    def max_size(self) -> int | None:
        """The largest vCard accepted in bytes, or None for no limit."""
        value = self.ctx.options["max_size"]
        return None if value == "infinity" else int(value)

    async def user_exists(self, user: str) -> bool:
        """Whether ``user`` has an account on this host."""
        auth = self.ctx.auth
        return bool(auth is not None and await auth.user_exists(user, self.ctx.host))

    async def get_vcard(self, user: str) -> Element | None:
        """The user's stored vCard element, or None."""
        text = await self.store.get_vcard(self.ctx.host, user)
        if text is None:
            return None
        try:
            return parse_element(text, max_size=_MAX_STORED, max_depth=10_000)
        except StreamError as exc:
            self.ctx.log.error("unreadable stored vCard of {user}: {error}",
                               user=f"{user}@{self.ctx.host}", error=str(exc))
            return None

    async def set_vcard(self, user: str, vcard: Element) -> None:
        """Store the user's vCard.

        Raises:
            ValueError: it is larger than ``max_size``.
        """
        text = element_to_str(vcard, default_uri=None)
        limit = self.max_size
        size = len(text.encode("utf-8"))
        if limit is not None and size > limit:
            raise ValueError(f"the vCard is {size} bytes; at most {limit} are allowed")
        await self.store.set_vcard(
            self.ctx.host, user, text,
            fn=_first_text(vcard, "FN"), nickname=_first_text(vcard, "NICKNAME"),
        )

    async def search(self, criteria: dict[str, str]) -> list[tuple[str, Element]]:
        """Users whose vCards match the criteria, with their vCards, at most ``matches``."""
        matches = self.ctx.options["matches"]
        limit = None if matches == "infinity" else int(matches)
        found = []
        for user, text in await self.store.search(self.ctx.host, criteria, limit):
            try:
                found.append((user, parse_element(text, max_size=_MAX_STORED, max_depth=10_000)))
            except StreamError:
                continue
        return found


def _field(parent: Element, var: str, label: str | None = None, kind: str | None = None,
           value: str | None = None) -> Element:
    field = parent.addElement("field")
    field["var"] = var
    if label:
        field["label"] = label
    if kind:
        field["type"] = kind
    if value is not None:
        field.addElement("value", content=value)
    return field


def _form_values(form: Element) -> dict[str, str]:
    values = {}
    for field in form.elements():
        if field.name != "field" or field.uri != NS_DATA:
            continue
        texts = [str(v) for v in field.elements() if v.name == "value"]
        values[field.getAttribute("var", "")] = texts[0] if texts else ""
    return values


class UserDirectory:
    """The XEP-0055 user directory of one host, routed as its own domain.

    Args:
        module: the host's :class:`VCardModule`.
        domain: the directory's domain, e.g. ``vjud.localhost``.
    """

    hidden = False

    def __init__(self, module: VCardModule, domain: str):
        self.module = module
        self.domain = domain

    def send(self, stanza: Element) -> None:
        """Take a stanza routed to the directory's domain."""
        if stanza.name != "iq" or stanza.getAttribute("type") not in ("get", "set"):
            if stanza.name == "message" and stanza.getAttribute("type") != "error":
                self.module.ctx.router.bounce(stanza, "service-unavailable")
            return
        d = defer.ensureDeferred(self._answer(stanza))
        d.addErrback(self._failed, stanza)

    def _failed(self, failure, stanza: Element) -> None:
        if failure.check(StanzaError):
            error = failure.value
            self.module.ctx.router.bounce(stanza, error.condition, error.text)
            return
        self.module.ctx.log.failure("user directory search failed", failure)
        self.module.ctx.router.bounce(stanza, "internal-server-error")

    async def _answer(self, iq: Element) -> None:
        children = list(iq.elements())
        if len(children) != 1:
            raise StanzaError("bad-request", text="an IQ get or set has exactly one payload")
        payload = children[0]
        kind = iq["type"]
        if payload.uri == NS_DISCO_INFO and kind == "get":
            reply = self._disco_info()
        elif payload.uri == NS_DISCO_ITEMS and kind == "get":
            reply = Element((NS_DISCO_ITEMS, "query"))
        elif payload.uri == NS_SEARCH and kind == "get":
            reply = self._search_form()
        elif payload.uri == NS_SEARCH:
            reply = await self._search(payload)
        else:
            raise StanzaError("service-unavailable")
        await self.module.ctx.router.route(iq_result(iq, reply))

    def _disco_info(self) -> Element:
        query = Element((NS_DISCO_INFO, "query"))
        identity = query.addElement("identity")
        identity["category"] = "directory"
        identity["type"] = "user"
        identity["name"] = "vCard User Search"
        for feature in (NS_DISCO_INFO, NS_SEARCH):
            query.addElement("feature")["var"] = feature
        return query

    def _search_form(self) -> Element:
        query = Element((NS_SEARCH, "query"))
        query.addElement("instructions",
                         content="Fill in the form to search for users (prefixes match).")
        form = query.addElement((NS_DATA, "x"))
        form["type"] = "form"
        form.addElement("title", content=f"Search users in {self.module.ctx.host}")
        _field(form, "FORM_TYPE", kind="hidden", value=NS_SEARCH)
        for var, (label, _) in SEARCH_FIELDS.items():
            _field(form, var, label=label, kind="text-single")
        return query

    async def _search(self, payload: Element) -> Element:
        forms = [c for c in payload.elements() if c.uri == NS_DATA and c.name == "x"]
        if not forms or forms[0].getAttribute("type") != "submit":
            raise StanzaError("bad-request", text="submit the search data form (jabber:x:data)")
        values = _form_values(forms[0])
        unknown = sorted(set(values) - set(SEARCH_FIELDS) - {"FORM_TYPE"})
        if unknown:
            raise StanzaError("bad-request", text=f"unknown search fields: {', '.join(unknown)}")
        criteria = {SEARCH_FIELDS[var][1]: text for var, text in values.items()
                    if var in SEARCH_FIELDS and text}
        if not criteria:
            raise StanzaError("not-acceptable", text="fill in at least one search field")
        host = self.module.ctx.host
        query = Element((NS_SEARCH, "query"))
        result = query.addElement((NS_DATA, "x"))
        result["type"] = "result"
        _field(result, "FORM_TYPE", kind="hidden", value=NS_SEARCH)
        reported = result.addElement("reported")
        _field(reported, "jid", label="JID", kind="jid-single")
        _field(reported, "fn", label="Full Name", kind="text-single")
        _field(reported, "nick", label="Nickname", kind="text-single")
        for user, vcard in await self.module.search(criteria):
            item = result.addElement("item")
            _field(item, "jid", value=f"{user}@{host}")
            _field(item, "fn", value=_first_text(vcard, "FN"))
            _field(item, "nick", value=_first_text(vcard, "NICKNAME"))
        return query
