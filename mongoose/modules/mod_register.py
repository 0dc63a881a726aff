"""``mod_register``: In-Band Registration (XEP-0077), as MongooseIM's "mod_register".

Before authentication a client stream may ask for the registration form
and create an account (the c2s ``c2s_unauthenticated_iq`` hook; the
``<register xmlns='http://jabber.org/features/iq-register'/>`` stream
feature is advertised through ``c2s_stream_features``).  After
authentication a user may change the password or cancel the account.

Creating an account must pass, in this order: ``ip_access`` (the first
entry whose network holds the client's address decides; none: allowed),
the ``access`` rule for the new JID, the ``general.registration_timeout``
limit (one registration per client address per that many seconds),
``password_strength`` (estimated entropy in bits; 0 means any password).
A new account gets ``welcome_message`` (when it has a subject or a body)
and every JID of ``registration_watchers`` is told.

Errors (RFC 6120 section 8.3.3): ``bad-request`` (missing or empty fields),
``conflict`` (the account exists), ``not-acceptable`` (invalid user name or
weak password), ``forbidden`` (``access`` denies), ``not-allowed``
(``ip_access`` denies, or another account's data), ``resource-constraint``
(too soon after the last registration from the address).
"""

from __future__ import annotations

import ipaddress
import math
import time
from typing import Any

from twisted.internet import defer
from twisted.words.xish.domish import Element
from zope.interface import implementer, provider

from mongoose.config.schema import Enum, Field, Int, ListOf, Section, Str
from mongoose.hooks import Stop
from mongoose.interfaces import IModule, IModuleFactory
from mongoose.modules.options import iqdisc_field
from mongoose.router.router import iq_result
from mongoose.xmpp.errors import StanzaError, error_reply
from mongoose.xmpp.jid import JID, InvalidJID

__all__ = ["NS_REGISTER", "NS_FEATURE_REGISTER", "RegisterModule", "password_entropy"]

NS_REGISTER = "jabber:iq:register"
NS_FEATURE_REGISTER = "http://jabber.org/features/iq-register"

_INSTRUCTIONS = "Choose a user name and password to register with this server."


def password_entropy(password: str) -> float:
    """Estimated entropy of a password in bits: its length times log2 of its alphabet.

    The alphabet is the sum of the character classes it uses: lower-case
    letters (26), upper-case letters (26), digits (10), other printable
    ASCII (33) and anything else (128).
    """
    if not password:
        return 0.0
    classes = {
        "lower": 0,
        "upper": 0,
        "digit": 0,
        "printable": 0,
        "other": 0,
    }
    for char in password:
        if "a" <= char <= "z":
            classes["lower"] = 26
        elif "A" <= char <= "Z":
            classes["upper"] = 26
        elif "0" <= char <= "9":
            classes["digit"] = 10
        elif "!" <= char <= "~":
            classes["printable"] = 33
        else:
            classes["other"] = 128
    return len(password) * math.log2(sum(classes.values()))


def _child(el: Element, name: str) -> Element | None:
    for child in el.elements():
        if child.name == name:
            return child
    return None


def _text(el: Element, name: str) -> str | None:
    child = _child(el, name)
    return None if child is None else str(child)


def _query(iq: Element) -> Element:
    for child in iq.elements():
        return child
    raise StanzaError("bad-request", text="no query")


@provider(IModuleFactory)
@implementer(IModule)
class RegisterModule:
    """In-band registration, password change and cancellation for one host."""

    name = "mod_register"
    dependencies = ()
    options_spec = Section(
        {
            "iqdisc": iqdisc_field(),
            "access": Field(Str(nonempty=True), default="all",
                            doc="Access rule that must allow a new account."),
            "registration_watchers": Field(
                ListOf(Str(nonempty=True)), default=[],
                doc="JIDs told about every new account.",
            ),
            "password_strength": Field(
                Int(min=0), default=0,
                doc="Least estimated entropy (bits) of a new password; 0: no check.",
            ),
            "ip_access": Field(
                ListOf(
                    Section(
                        {
                            "address": Field(Str(nonempty=True), required=True,
                                             doc="An address or network (CIDR)."),
                            "policy": Field(Enum("allow", "deny"), required=True,
                                            doc="allow or deny."),
                        },
                        doc="One IP rule.",
                    )
                ),
                default=[],
                doc="Client networks allowed or denied to register; the first match decides.",
            ),
            "welcome_message": Field(
                Section(
                    {
                        "subject": Field(Str(), default="", doc="Subject of the message."),
                        "body": Field(Str(), default="", doc="Body of the message."),
                    },
                    doc="Message sent to new accounts.",
                ),
                default={},
                doc="Message sent to new accounts (none when subject and body are empty).",
            ),
        },
        doc="In-Band Registration (XEP-0077).",
    )

    def start(self, ctx: Any) -> None:
        """Register the IQ handlers, the disco feature and the c2s hooks."""
        self.ctx = ctx
        options = ctx.options
        self.networks: list[tuple[Any, bool]] = []
        for rule in options["ip_access"]:
            try:
                network = ipaddress.ip_network(rule["address"], strict=False)
            except ValueError:
                ctx.log.warn("mod_register: ip_access address {a} is not valid; ignored",
                             a=rule["address"])
                continue
            self.networks.append((network, rule["policy"] == "allow"))
        #: client address -> time of its last registration.
        self.last_registration: dict[str, float] = {}
        ctx.add_feature(NS_REGISTER)
        ctx.iq_handler(NS_REGISTER, self.on_iq, scope="server")
        ctx.iq_handler(NS_REGISTER, self.on_iq, scope="user")
        ctx.hook("c2s_stream_features", self.on_stream_features)
        ctx.hook("c2s_unauthenticated_iq", self.on_unauthenticated_iq)

    def stop(self) -> None:
        """Nothing beyond the registrations the framework removes."""

    # -- c2s hooks ---------------------------------------------------------------

    def on_stream_features(self, features: list, session: Any) -> list:
        """Advertise in-band registration before authentication."""
        if not session.authenticated:
            features.append(Element((NS_FEATURE_REGISTER, "register")))
        return features

    async def on_unauthenticated_iq(self, reply: Any, session: Any, iq: Element) -> Any:
        """Answer a registration IQ on a stream that did not authenticate."""
        query = None
        for child in iq.elements():
            query = child
            break
        if query is None or query.uri != NS_REGISTER or query.name != "query":
            return None
        try:
            answer = await self._unauthenticated(iq, query, session)
        except StanzaError as error:
            answer = error_reply(iq, error.condition, text=error.text)
        return Stop(answer)

    async def _unauthenticated(self, iq: Element, query: Element, session: Any) -> Element:
        kind = iq.getAttribute("type")
        if kind == "get":
            return self._form(iq)
        if kind != "set":
            raise StanzaError("bad-request", text="use an IQ get or set")
        if _child(query, "remove") is not None:
            raise StanzaError("not-allowed", text="log in before cancelling an account")
        await self.create(_text(query, "username"), _text(query, "password"),
                          session.info.get("ip"))
        return iq_result(iq)

    def _form(self, iq: Element, registered: str | None = None) -> Element:
        query = Element((NS_REGISTER, "query"))
        if registered is not None:
            query.addElement("registered")
            query.addElement("username", content=registered)
        else:
            query.addElement("instructions", content=_INSTRUCTIONS)
            query.addElement("username")
        query.addElement("password")
        return iq_result(iq, query)

    # -- creating ------------------------------------------------------------

    def ip_allowed(self, ip: str | None) -> bool:
        """Whether ``ip_access`` lets ``ip`` register."""
        if not self.networks or ip is None:
            return True
        try:
            address = ipaddress.ip_address(ip)
        except ValueError:
            return True
        if address.version == 6 and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        for network, allow in self.networks:
            if address.version == network.version and address in network:
                return allow
        return True

    async def create(self, username: str | None, password: str | None, ip: str | None) -> JID:
        """Create an account after every check; raise StanzaError when one fails."""
        ctx = self.ctx
        if not username or not password:
            raise StanzaError("bad-request", text="username and password are required")
        try:
            jid = JID.from_parts(username, ctx.host)
        except InvalidJID:
            raise StanzaError("not-acceptable", text="invalid user name") from None
        if not self.ip_allowed(ip):
            raise StanzaError("not-allowed", text="registration from your address is not allowed")
        if not ctx.access.allowed(ctx.options["access"], ctx.host, jid, ip):
            raise StanzaError("forbidden", text="access denied by service policy")
        timeout = ctx.config.options["general"].get("registration_timeout", 600)
        now = ctx.clock.seconds()
        if ip is not None and timeout != "infinity":
            last = self.last_registration.get(ip)
            if last is not None and now - last < timeout:
                raise StanzaError(
                    "resource-constraint",
                    text="users are not allowed to register accounts so quickly",
                )
        self._check_strength(password)
        try:
            created = await defer.maybeDeferred(ctx.auth.register, jid.user, jid.host, password)
        except ValueError as exc:
            raise StanzaError("not-acceptable", text=str(exc) or "invalid password") from None
        if not created:
            raise StanzaError("conflict", text="the account exists already")
        if ip is not None and timeout != "infinity":
            self.last_registration = {
                k: v for k, v in self.last_registration.items() if now - v < timeout
            }
            self.last_registration[ip] = now
        ctx.log.info("{jid} registered from {ip}", jid=jid.userhost, ip=ip)
        self._welcome(jid)
        self._tell_watchers(jid, ip)
        return jid

    def _check_strength(self, password: str) -> None:
        wanted = self.ctx.options["password_strength"]
        if wanted and password_entropy(password) < wanted:
            raise StanzaError("not-acceptable", text="the password is too weak")

    def _welcome(self, jid: JID) -> None:
        welcome = self.ctx.options["welcome_message"]
        subject, body = welcome.get("subject", ""), welcome.get("body", "")
        if not subject and not body:
            return
        message = Element((None, "message"))
        message["type"] = "normal"
        message["from"] = self.ctx.host
        message["to"] = jid.userhost
        if subject:
            message.addElement("subject", content=subject)
        if body:
            message.addElement("body", content=body)
        self.ctx.route(message)

    def _tell_watchers(self, jid: JID, ip: str | None) -> None:
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())
        for watcher in self.ctx.options["registration_watchers"]:
            message = Element((None, "message"))
            message["type"] = "chat"
            message["from"] = self.ctx.host
            message["to"] = watcher
            message.addElement(
                "body",
                content=f"[{stamp}] The account {jid.userhost} was registered from "
                f"IP address {ip or 'unknown'} on node {self.ctx.host} using mod_register.",
            )
            self.ctx.route(message)

    # -- after authentication --------------------------------------------------

    async def on_iq(self, iq: Element, from_jid: JID, to_jid: JID) -> Element | None:
        """Registration IQs of authenticated users: form, password change, cancel."""
        query = _query(iq)
        if from_jid is None or from_jid.user is None or from_jid.host != self.ctx.host:
            raise StanzaError("not-allowed", text="only local users may manage their account")
        if to_jid.user is not None and to_jid.user != from_jid.user:
            raise StanzaError("forbidden", text="this is not your account")
        kind = iq.getAttribute("type")
        if kind == "get":
            return self._form(iq, registered=from_jid.user)
        if _child(query, "remove") is not None:
            return await self._cancel(iq, from_jid)
        username, password = _text(query, "username"), _text(query, "password")
        if not password:
            raise StanzaError("bad-request", text="a password is required")
        if username is not None and username != from_jid.user:
            raise StanzaError("not-allowed", text="you can only change your own password")
        self._check_strength(password)
        try:
            changed = await defer.maybeDeferred(
                self.ctx.auth.set_password, from_jid.user, from_jid.host, password
            )
        except ValueError as exc:
            raise StanzaError("not-acceptable", text=str(exc) or "invalid password") from None
        if not changed:
            raise StanzaError("item-not-found", text="the account does not exist")
        return iq_result(iq)

    async def _cancel(self, iq: Element, user: JID) -> None:
        ctx = self.ctx
        removed = await defer.maybeDeferred(ctx.auth.remove, user.user, user.host)
        if not removed:
            raise StanzaError("item-not-found", text="the account does not exist")
        ctx.log.info("{jid} cancelled its account", jid=user.userhost)
        await ctx.hooks.run("remove_user", user.host, user.user, user.host)
        reply = iq_result(iq)
        # The reply goes first; the sessions end right after it.
        ctx.route(reply)
        for session in ctx.sessions.sessions_of(user.user, user.host):
            ctx.clock.callLater(0, session.close, "not-authorized", "Account removed")
        return None
