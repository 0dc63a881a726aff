"""``mod_private``: Private XML Storage (XEP-0049).

A user stores arbitrary XML fragments on the server, each qualified by its
own namespace, and reads them back by namespace:

* ``<iq type='set'><query xmlns='jabber:iq:private'>`` with one or more
  elements replaces, per namespace, what was stored under it (all in one
  transaction); ``<iq type='get'>`` with an empty element per namespace
  returns what was stored, or the empty element when nothing was;
* only the account itself may do this (no ``to``, or its own bare JID):
  anyone else gets ``forbidden``;
* a query without a child element is a ``bad-request`` (XEP-0049's "Bad
  Format"); an element without its own namespace, or in one of the
  reserved ``jabber:*`` namespaces, is ``not-acceptable``.

The data of a removed account is dropped (``remove_user``), and the
``private`` admin commands are registered.
"""

from __future__ import annotations

from collections.abc import Iterable

from twisted.words.xish.domish import Element
from zope.interface import implementer, provider

from mongoose.commands.defs.private import private_commands
from mongoose.config.schema import Enum, Field, Section
from mongoose.hooks import Stop
from mongoose.interfaces import IModule, IModuleFactory
from mongoose.modules.options import iqdisc_field
from mongoose.router.router import iq_result
from mongoose.xmpp.errors import StanzaError, StreamError
from mongoose.xmpp.framing import parse_element
from mongoose.xmpp.serialize import element_to_str

__all__ = ["PrivateModule", "NS_PRIVATE", "check_namespace", "group_by_namespace"]

NS_PRIVATE = "jabber:iq:private"
#: Largest stored data parsed back (bytes): well above any stanza limit.
_MAX_STORED = 16 * 1024 * 1024


def check_namespace(namespace: str | None) -> str:
    """Return ``namespace`` if private data may be stored under it.

    Raises:
        ValueError: it is empty, ``jabber:iq:private`` or another reserved
            ``jabber:*`` namespace; the message says which.
    """
    if not namespace or namespace == NS_PRIVATE:
        raise ValueError("each stored element needs its own namespace")
    if namespace.startswith("jabber:"):
        raise ValueError(f"the namespace {namespace} is reserved (jabber:*)")
    return namespace


def group_by_namespace(elements: Iterable[Element]) -> dict[str, list[Element]]:
    """Group elements by namespace, checking each namespace.

    Raises:
        ValueError: from :func:`check_namespace`.
    """
    groups: dict[str, list[Element]] = {}
    for element in elements:
        groups.setdefault(check_namespace(element.uri), []).append(element)
    return groups


def stored_elements(data: str) -> list[Element]:
    """The elements of stored private data (one or more serialised elements)."""
    wrapper = parse_element(
        f"<query xmlns='{NS_PRIVATE}'>{data}</query>", max_size=_MAX_STORED, max_depth=10_000
    )
    return list(wrapper.elements())


@provider(IModuleFactory)
@implementer(IModule)
class PrivateModule:
    """Private XML storage for the users of one host."""

    name = "mod_private"
    dependencies = ()
    options_spec = Section(
        {
            "iqdisc": iqdisc_field(),
            "backend": Field(
                Enum("mnesia", "rdbms"), default="mnesia", doc="Storage backend of MongooseIM.",
                compat="accepted; private data is kept in the node's SQL database "
                "(outgoing_pools.rdbms)",
            ),
        },
        doc="Private XML Storage (XEP-0049).",
    )

    def start(self, ctx) -> None:
        """Register the IQ handler, the account removal hook and the commands."""
        self.ctx = ctx
        self.store = ctx.stores.private
        ctx.add_feature(NS_PRIVATE)
        ctx.iq_handler(NS_PRIVATE, self.handle_iq, scope="user")
        ctx.hook("remove_user", self.on_remove_user)
        ctx.hook("private_service", lambda acc: Stop(self))
        for command in private_commands(self._find_service):
            try:
                ctx.add_command(command)
            except ValueError:
                pass  # registered by this module on another host already

    def stop(self) -> None:
        """Nothing beyond the registrations the framework removes."""

    def _find_service(self, domain: str):
        return self.ctx.hooks.fold("private_service", domain, None)

    async def handle_iq(self, iq: Element, from_jid, to_jid) -> Element:
        """Answer a private storage get or set from the account itself."""
        if from_jid is None or to_jid.user is None or from_jid.bare() != to_jid.bare():
            raise StanzaError(
                "forbidden", text="only the account itself may use its private storage"
            )
        query = next(iq.elements())
        children = list(query.elements())
        if not children:
            raise StanzaError("bad-request", text="the query needs a child element")
        try:
            groups = group_by_namespace(children)
        except ValueError as exc:
            raise StanzaError("not-acceptable", text=str(exc)) from None
        if iq["type"] == "set":
            await self.set_private(to_jid.user, children)
            return iq_result(iq)
        stored = await self.store.get_private(self.ctx.host, to_jid.user, list(groups))
        result = Element((NS_PRIVATE, "query"))
        for namespace, requested in groups.items():
            data = stored.get(namespace)
            if data is None:
                for element in requested:
                    result.addChild(element)
            else:
                for element in stored_elements(data):
                    result.addChild(element)
        return iq_result(iq, result)

    async def on_remove_user(self, user: str, host: str) -> None:
        """Delete the private data of a removed account."""
        await self.store.remove_user(host, user)

    # -- service for commands and the IQ handler ------------------------------

    async def set_private(self, user: str, elements: list[Element]) -> None:
        """Store elements, replacing the earlier data of each of their namespaces.

        Raises:
            ValueError: an element's namespace cannot be stored.
        """
        groups = group_by_namespace(elements)
        items = {
            namespace: "".join(element_to_str(e, default_uri=None) for e in elements)
            for namespace, elements in groups.items()
        }
        await self.store.set_private(self.ctx.host, user, items)

    async def get_private(self, user: str, namespace: str) -> list[Element] | None:
        """The elements stored under ``namespace``, or None."""
        stored = await self.store.get_private(self.ctx.host, user, [namespace])
        data = stored.get(namespace)
        if data is None:
            return None
        try:
            return stored_elements(data)
        except StreamError:
            return None

    async def user_exists(self, user: str) -> bool:
        """Whether ``user`` has an account on this host."""
        auth = self.ctx.auth
        return bool(auth is not None and await auth.user_exists(user, self.ctx.host))
