"""The client stream state machine: RFC 6120 negotiation, then RFC 6121 stanza handling.

One :class:`C2SSession` per client connection, whatever the transport
(DESIGN.md principle 2): the adapter (:mod:`mongoose.c2s.tcp`, later BOSH and
WebSocket) feeds it stream events and gives it an
:class:`~mongoose.c2s.interfaces.IC2STransport` to answer through.

Negotiation (RFC 6120 sections 4 to 7)::

    header -> features -> [STARTTLS -> header -> features] -> SASL
           -> header -> features -> [compression (XEP-0138) -> header -> features]
           -> resource binding -> established

Stream errors it sends: ``host-unknown`` (a domain not served here, or a
domain change on restart), ``unsupported-version``, ``invalid-from``,
``not-authorized`` (a stanza before authentication, or a user the listener's
``access`` rule denies), ``policy-violation`` (STARTTLS required, too many
failed logins, a second SASL negotiation), ``unsupported-stanza-type``,
``connection-timeout`` (a negotiation step slower than ``c2s_state_timeout``),
plus whatever the parser reports (``not-well-formed``, ``restricted-xml``,
``invalid-namespace``, ``policy-violation`` for ``max_stanza_size``) and what
``close()`` is asked for (``conflict``, ``system-shutdown``).

Hooks run during negotiation: ``auth_succeeded(host, username, mechanism)``
and ``auth_failed(host, username, mechanism, condition)`` (metrics count
them; ``username`` is None when the client never named one).

Hook points for modules (each documented in ``doc/modules.md``):

* ``c2s_stream_features(features, session)`` (fold, synchronous handlers):
  extra ``<stream:features/>`` children; ``session.authenticated`` tells the
  stage (``mod_register`` advertises in-band registration before SASL).
* ``c2s_unauthenticated_iq(reply, session, iq)`` (fold): an IQ sent before
  authentication; a handler returns the reply element, else the stream is
  closed with ``not-authorized`` (``mod_register``).
* ``c2s_stream_element(session, element)`` (run): a first-level element that
  is neither a stanza nor part of the negotiation, after authentication; a
  handler that takes it returns ``STOP``, else the stream is closed with
  ``unsupported-stanza-type`` (``mod_stream_management``, ``mod_csi``).
* stream filters (:class:`~mongoose.c2s.interfaces.IStreamFilter`), added
  with :meth:`C2SSession.add_filter`: they see every stanza going to the
  client (and may hold it back), every stanza coming from it, the loss of
  the connection (and may keep the session bound, *detached*, until
  :meth:`C2SSession.terminate`) and the session's end.  A detached session
  can be taken over by a new connection with :meth:`C2SSession.adopt`.

Once bound, the session is an :class:`~mongoose.router.interfaces.ISession`:
every stanza gets the full JID as 'from' (RFC 6120 section 8.1.2.1), runs
through the ``user_send_packet`` hook (fold; None drops it), then broadcast
presence updates ``priority``/``presence`` and runs
``user_presence_broadcast``; everything else goes to the router, addressed to
the user's bare JID when it has no 'to' (RFC 6120 section 10.3.3).  The
input is paused only while a hook or the auth backend answers asynchronously,
so stanza order is kept without a Deferred chain per stanza.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from twisted.internet.defer import Deferred
from twisted.logger import Logger
from twisted.words.xish.domish import Element
from zope.interface import implementer

from mongoose.c2s.authentication import advertised, binding_types, sasl_context
from mongoose.c2s.context import MAX_AUTH_FAILURES, C2SContext
from mongoose.c2s.features import (
    NS_COMPRESS,
    bind_feature,
    channel_binding_element,
    compression_feature,
    features,
    mechanisms_element,
    session_feature,
    starttls_feature,
)
from mongoose.hooks import STOP
from mongoose.router.interfaces import ISession
from mongoose.xmpp.errors import StreamError, error_reply
from mongoose.xmpp.jid import JID, InvalidJID, prep_domainpart
from mongoose.xmpp.namespaces import NS_BIND, NS_CLIENT, NS_SASL, NS_SESSION, NS_STARTTLS
from mongoose.xmpp.sasl.core import Challenge, Failure, ISASLMechanism, Success
from mongoose.xmpp.sasl.mechanisms import create_mechanism
from mongoose.xmpp.sasl.wire import PayloadError, failure_element, outcome_element, read_payload
from mongoose.xmpp.serialize import copy_element

__all__ = ["C2SSession"]

log = Logger()

_STANZAS = frozenset({"message", "presence", "iq"})
_PRE_AUTH, _POST_AUTH, _ESTABLISHED, _GONE = 0, 1, 2, 3
# Message types that are stored offline when they cannot be delivered.
_OFFLINE_TYPES = frozenset({"normal", "chat"})
_MAX_LANG = 35


def _priority(presence: Element) -> int:
    """The <priority/> of an available presence (RFC 6121 section 4.7.2.3), 0 by default."""
    for child in presence.elements():
        if child.name == "priority":
            try:
                value = int(str(child).strip())
            except ValueError:
                return 0
            return max(-128, min(127, value))
    return 0


def _first_child(el: Element) -> Element | None:
    for child in el.elements():
        return child
    return None


def _to_client_namespace(el: Element) -> Element:
    """Copy a stanza from another stream namespace (jabber:server ...) into jabber:client."""
    old = el.uri
    copy = copy_element(el)
    stack = [copy]
    while stack:
        node = stack.pop()
        if node.uri == old:
            node.uri = NS_CLIENT
        if node.defaultUri == old:
            node.defaultUri = NS_CLIENT
        stack.extend(node.elements())
    return copy


@implementer(ISession)
class C2SSession:
    """One client stream, from its first header to its end.

    Args:
        ctx: the listener's shared context.
        transport: the connection (an IC2STransport).
        peer: the client's (ip, port).
    """

    __slots__ = (
        "jid",
        "priority",
        "presence",
        "roster_requested",
        "info",
        "_ctx",
        "_transport",
        "_stage",
        "_closed",
        "_header_sent",
        "_host",
        "_lang",
        "_user",
        "_jid_str",
        "_sasl",
        "_offered",
        "_plus_advertised",
        "_bindings",
        "_failures",
        "_timer",
        "_filters",
        "_detached",
        "_delegate",
    )

    def __init__(self, ctx: C2SContext, transport: Any, peer: tuple[str, int]):
        self.jid: JID | None = None
        self.priority: int | None = None
        self.presence: Element | None = None
        self.roster_requested = False
        self.info: dict[str, Any] = {"ip": peer[0], "port": peer[1], "transport": transport.kind}
        self._ctx = ctx
        self._transport = transport
        self._stage = _PRE_AUTH
        self._closed = False
        self._header_sent = False
        self._host: str | None = None
        self._lang = "en"
        self._user: str | None = None
        self._jid_str: str | None = None
        self._sasl: ISASLMechanism | None = None
        self._offered: tuple[str, ...] = ()
        self._plus_advertised = False
        self._bindings: dict[str, bytes] | None = None
        self._failures = 0
        self._timer: Any = None
        self._filters: tuple[Any, ...] = ()
        self._detached = False
        self._delegate: C2SSession | None = None
        self._start_timer()

    # -- what the transport calls ---------------------------------------------

    @property
    def closed(self) -> bool:
        """True once the stream is closing or gone."""
        return self._closed

    @property
    def established(self) -> bool:
        """True while the session is bound to a full JID."""
        return self._stage == _ESTABLISHED and not self._closed

    @property
    def host(self) -> str | None:
        """The domain the client opened its stream to, once known."""
        return self._host

    def stream_opened(self, attributes: dict[str, str]) -> None:
        """The client opened a stream (the first one or after a restart).

        Args:
            attributes: the header's attributes (``to``, ``from``,
                ``version``, ``xml:lang`` ...).
        """
        if self._delegate is not None:
            self._delegate.stream_opened(attributes)
            return
        if self._closed:
            return
        if self._host is None:
            lang = attributes.get("xml:lang")
            if lang:
                self._lang = lang[:_MAX_LANG]
        to = attributes.get("to")
        host = None
        if to:
            try:
                host = prep_domainpart(to)
            except InvalidJID:
                host = None
        if host is None or not self._ctx.serves(host):
            self._close_error("host-unknown", f"{to or 'no domain'} is not served here")
            return
        if self._host is not None and host != self._host:
            self._close_error("host-unknown", f"the stream must stay on {self._host}")
            return
        self._host = host
        sender = attributes.get("from")
        sender_jid = None
        if sender is not None:
            try:
                sender_jid = JID.parse(sender)
            except InvalidJID:
                sender_jid = None
        self._send_header(sender_jid.full() if sender_jid is not None else None)
        version = attributes.get("version")
        if version is None or version.split(".", 1)[0] != "1":
            self._close_error("unsupported-version", "only XMPP version 1.0 is supported")
            return
        if sender is not None and (
            sender_jid is None
            or sender_jid.host != host
            or (self._user is not None and sender_jid.user != self._user)
        ):
            self._close_error("invalid-from", "the 'from' of the stream header is not yours")
            return
        if self._stage == _PRE_AUTH:
            self._transport.shape(self._ctx.settings.shaper.rate(host))
        self._send_features()
        self._start_timer()

    def element_received(self, el: Element) -> None:
        """One first-level element of the client's stream arrived."""
        if self._delegate is not None:
            self._delegate.element_received(el)
            return
        if self._closed:
            return
        stage = self._stage
        if stage == _ESTABLISHED:
            if el.name in _STANZAS and el.uri == NS_CLIENT:
                for stream_filter in self._filters:
                    stream_filter.incoming(el)
                self._client_stanza(el)
            else:
                self._established_other(el)
        elif stage == _PRE_AUTH:
            self._pre_auth(el)
        elif stage == _POST_AUTH:
            self._post_auth(el)

    def stream_closed(self) -> None:
        """The client ended its stream (``</stream:stream>``)."""
        if self._delegate is not None:
            self._delegate.stream_closed()
            return
        self._close_with(None)

    def stream_failed(self, error: StreamError) -> None:
        """The input broke a stream rule; close with that error."""
        if self._delegate is not None:
            self._delegate.stream_failed(error)
            return
        self._close_with(error)

    def connection_lost(self, undelivered: Sequence[Element] = (), transport: Any = None) -> None:
        """The connection is gone.

        A stream filter may keep an established session bound without a
        connection (detached) instead of ending it.

        Args:
            undelivered: stanzas that were queued for the client and never
                written; messages among them go to offline storage (unless a
                stream filter owns them, e.g. stream management's buffer).
            transport: the transport that lost its connection; when given
                and it is no longer this session's transport (the session
                was taken over by a new connection), nothing happens.
        """
        if self._delegate is not None:
            self._delegate.connection_lost(undelivered, transport)
            return
        if transport is not None and transport is not self._transport:
            return
        if self._detached:
            return
        was_closed = self._closed
        self._closed = True
        self._stop_timer()
        self._sasl = None
        filters = self._filters
        if filters and self._stage == _ESTABLISHED and not was_closed:
            keep = False
            for stream_filter in filters:
                keep = bool(stream_filter.connection_lost()) or keep
            if keep:
                self._detached = True
                log.debug("{jid} detached", jid=self._jid_str)
                return
        owned = any(getattr(f, "owns_undelivered", False) for f in filters)
        self._end()
        if undelivered and not owned:
            self.store_undelivered(undelivered)

    # -- for modules -------------------------------------------------------------

    @property
    def authenticated(self) -> bool:
        """True once SASL succeeded."""
        return self._stage != _PRE_AUTH

    @property
    def username(self) -> str | None:
        """The authenticated user's localpart (before binding too), else None."""
        return self._user

    @property
    def detached(self) -> bool:
        """True while the session is bound without a connection (kept by a stream filter)."""
        return self._detached

    @property
    def filters(self) -> tuple[Any, ...]:
        """The stream filters, farthest from the client first."""
        return self._filters

    def add_filter(self, stream_filter: Any) -> None:
        """Add an IStreamFilter; filters run by ascending ``order``."""
        self._filters = tuple(
            sorted((*self._filters, stream_filter), key=lambda f: f.order)
        )

    def remove_filter(self, stream_filter: Any) -> None:
        """Remove a stream filter (nothing happens when it is not there)."""
        self._filters = tuple(f for f in self._filters if f is not stream_filter)

    def forward(self, stream_filter: Any, stanza: Element) -> None:
        """Pass ``stanza`` from ``stream_filter`` on to the next filter, or to the client."""
        filters = self._filters
        for index, candidate in enumerate(filters):
            if candidate is stream_filter:
                if index + 1 < len(filters):
                    filters[index + 1].outgoing(stanza)
                    return
                break
        if not self._closed:
            self._transport.send(stanza)

    def send_element(self, el: Element) -> None:
        """Write a non-stanza element (``<a/>``, ``<enabled/>`` ...) past the filters."""
        if not self._closed:
            self._transport.send(el)

    def adopt(self, other: C2SSession) -> None:
        """Take over the connection of ``other`` (stream resumption, XEP-0198).

        ``other`` is an authenticated, unbound session of the same user; from
        now on its events are handled here.  A connection this session still
        had is closed with ``conflict``.
        """
        old = None if self._detached else self._transport
        self._transport = other._transport
        self._header_sent = True
        self._closed = False
        self._detached = False
        self._stage = _ESTABLISHED
        for key in ("ip", "port", "transport"):
            if key in other.info:
                self.info[key] = other.info[key]
        other._stop_timer()
        other._stage = _GONE
        other._delegate = self
        if old is not None and old is not self._transport:
            old.close(StreamError("conflict", "resumed by a new connection").to_element())

    def terminate(self) -> None:
        """End a detached session for good (its resumption timed out)."""
        if self._detached:
            self._detached = False
            self._end()

    def store_undelivered(self, stanzas: Sequence[Element]) -> None:
        """Messages that never reached the client: offline storage, else bounce."""
        self._undelivered(stanzas)

    # -- ISession ---------------------------------------------------------------

    def deliver(self, stanza: Element) -> None:
        """Write one stanza to the client (ISession), through the stream filters."""
        if self._closed and not self._detached:
            return
        uri = stanza.uri
        if uri is not None and uri != NS_CLIENT:
            stanza = _to_client_namespace(stanza)
        self._output(stanza)

    def close(self, condition: str, text: str | None = None) -> None:
        """End the stream with a stream error (ISession); a detached session just ends."""
        if self._delegate is not None:
            self._delegate.close(condition, text)
        elif self._detached:
            self.terminate()
        elif not self._closed:
            self._close_with(StreamError(condition, text))

    def _output(self, stanza: Element) -> None:
        filters = self._filters
        if filters:
            filters[0].outgoing(stanza)
        elif not self._closed:
            self._transport.send(stanza)

    # -- stream plumbing -------------------------------------------------------

    def _send_header(self, to: str | None) -> None:
        self._header_sent = True
        self._transport.send_header(self._host or self._ctx.default_host, to, None, self._lang)

    def _restart(self) -> None:
        """The client will send a new header; the next one needs our header again."""
        self._header_sent = False

    def _close_error(self, condition: str, text: str | None = None) -> None:
        self._close_with(StreamError(condition, text))

    def _close_with(self, error: StreamError | None) -> None:
        if self._closed:
            return
        self._closed = True
        self._stop_timer()
        self._sasl = None
        if error is not None:
            if not self._header_sent:
                self._send_header(None)
            log.debug("closing c2s stream from {ip}: {error}", ip=self.info.get("ip"), error=error)
        self._transport.close(error.to_element() if error is not None else None)
        self._end()

    def _end(self) -> None:
        """The session is over: leave the session manager, then tell the filters."""
        established = self._stage == _ESTABLISHED
        self._unbind()
        if established:
            for stream_filter in self._filters:
                stream_filter.session_ended()

    def _unbind(self) -> None:
        if self._stage == _ESTABLISHED:
            self._stage = _GONE
            self._ctx.sessions.unbind(self)

    def _start_timer(self) -> None:
        timeout = self._ctx.settings.state_timeout
        if timeout is None:
            return
        timer = self._timer
        if timer is not None and timer.active():
            timer.reset(timeout)
        else:
            self._timer = self._ctx.reactor.callLater(timeout, self._timed_out)

    def _stop_timer(self) -> None:
        timer = self._timer
        if timer is not None:
            self._timer = None
            if timer.active():
                timer.cancel()

    def _timed_out(self) -> None:
        self._timer = None
        self._close_error("connection-timeout", "stream negotiation took too long")

    def _wait(self, d: Deferred, then: Any = None) -> None:
        """Run ``then(result)`` when ``d`` fires; pause the input meanwhile if it has not."""
        ran = False
        waiting = False

        def done(result: Any) -> None:
            nonlocal ran
            ran = True
            if then is not None and not self._closed:
                then(result)
            if waiting and not self._closed:
                self._transport.resume()

        def failed(failure: Any) -> None:
            nonlocal ran
            ran = True
            log.failure("c2s session of {ip} failed", failure, ip=self.info.get("ip"))
            self._close_error("internal-server-error")

        d.addCallback(done).addErrback(failed)
        if not ran:
            waiting = True
            self._transport.pause()

    # -- features --------------------------------------------------------------

    def _send_features(self) -> None:
        transport = self._transport
        children: list[Element] = []
        if self._stage == _PRE_AUTH:
            if not transport.secure and transport.can_starttls:
                required = self._ctx.settings.tls_mode == "starttls_required"
                children.append(starttls_feature(required))
                if required:
                    transport.send(features(children))
                    return
            host_auth = self._ctx.host_auth(self._host)
            bindings = transport.channel_bindings() if transport.secure else {}
            certificate = (
                transport.peer_certificate() if transport.secure and host_auth.external else None
            )
            names = advertised(host_auth, transport.secure, bindings, certificate)
            self._offered = tuple(names)
            self._plus_advertised = any(name.endswith("-PLUS") for name in names)
            self._bindings = bindings
            if names:
                children.append(mechanisms_element(names))
            if bindings:
                children.append(channel_binding_element(binding_types(bindings)))
        else:
            methods = transport.compression_methods
            if methods:
                children.append(compression_feature(methods))
            children.append(bind_feature())
            if self._ctx.settings.backwards_compatible_session:
                children.append(session_feature())
            stream_features = getattr(self._ctx.node, "stream_features", None)
            if stream_features:
                children.extend(stream_features.get(self._host, ()))
        hooks = self._ctx.hooks
        if hooks.count("c2s_stream_features", self._host):
            # Handlers answer synchronously, so the fold has fired already.
            hooks.fold("c2s_stream_features", self._host, [], self).addCallback(children.extend)
        transport.send(features(children))

    # -- before authentication ---------------------------------------------------

    def _pre_auth(self, el: Element) -> None:
        uri = el.uri
        if uri == NS_STARTTLS and el.name == "starttls":
            self._starttls()
            return
        transport = self._transport
        if (
            not transport.secure
            and transport.can_starttls
            and self._ctx.settings.tls_mode == "starttls_required"
        ):
            self._close_error("policy-violation", "Use of STARTTLS is required")
        elif uri == NS_SASL:
            self._sasl_element(el)
        elif (
            uri == NS_CLIENT
            and el.name == "iq"
            and self._ctx.hooks.count("c2s_unauthenticated_iq", self._host)
        ):
            self._wait(
                self._ctx.hooks.fold("c2s_unauthenticated_iq", self._host, None, self, el),
                self._unauthenticated_reply,
            )
        elif uri == NS_CLIENT and el.name in _STANZAS:
            self._close_error("not-authorized", "authenticate before sending stanzas")
        else:
            self._unsupported(el)

    def _unauthenticated_reply(self, reply: Element | None) -> None:
        if reply is None or reply is STOP:
            self._close_error("not-authorized", "authenticate before sending stanzas")
        else:
            self._transport.send(reply)
            self._start_timer()

    def _other_element(self, el: Element) -> None:
        """Offer a non-stanza element to ``c2s_stream_element``; unsupported if nobody takes it."""
        hooks = self._ctx.hooks
        if not hooks.count("c2s_stream_element", self._host):
            self._unsupported(el)
            return

        def taken(every_handler_ran: bool) -> None:
            if every_handler_ran:
                self._unsupported(el)

        self._wait(hooks.run("c2s_stream_element", self._host, self, el), taken)

    def _unsupported(self, el: Element) -> None:
        self._close_error("unsupported-stanza-type", f"<{el.name}/> in {el.uri} is not supported")

    def _starttls(self) -> None:
        transport = self._transport
        if transport.secure or not transport.can_starttls:
            transport.send(Element((NS_STARTTLS, "failure")))
            self._close_with(None)
            return
        transport.send(Element((NS_STARTTLS, "proceed")))
        self._restart()
        transport.start_tls()
        self.info["transport"] = transport.kind
        self._start_timer()

    def _sasl_element(self, el: Element) -> None:
        name = el.name
        if name == "abort":
            mechanism = self._sasl
            self._sasl = None
            self._auth_failed(Failure("aborted"), mechanism.name if mechanism else None)
            return
        if name == "auth":
            mechanism_name = el.getAttribute("mechanism")
            if not mechanism_name or mechanism_name not in self._offered:
                self._sasl = None
                self._auth_failed(
                    Failure("invalid-mechanism", "that mechanism is not offered"), mechanism_name
                )
                return
            try:
                mechanism = create_mechanism(
                    mechanism_name,
                    sasl_context(
                        self._ctx,
                        self._host,
                        self._bindings or {},
                        self._plus_advertised,
                        self._transport.peer_certificate() if self._transport.secure else None,
                    ),
                )
            except ValueError:
                self._auth_failed(Failure("invalid-mechanism"), mechanism_name)
                return
            self._sasl = mechanism
        elif name == "response":
            mechanism = self._sasl
            if mechanism is None:
                self._auth_failed(
                    Failure("malformed-request", "no authentication exchange is in progress"),
                    None,
                )
                return
        else:
            self._unsupported(el)
            return
        try:
            data = read_payload(el)
        except PayloadError as error:
            self._sasl = None
            self._auth_failed(Failure("incorrect-encoding", str(error)), mechanism.name)
            return
        self._start_timer()
        self._wait(Deferred.fromCoroutine(self._sasl_step(mechanism, data)))

    async def _sasl_step(self, mechanism: ISASLMechanism, data: bytes | None) -> None:
        outcome = await mechanism.step(data)
        if self._closed or self._sasl is not mechanism:
            return
        if isinstance(outcome, Challenge):
            self._transport.send(outcome_element(outcome))
            return
        self._sasl = None
        if isinstance(outcome, Success):
            self._auth_succeeded(mechanism, outcome)
        else:
            self._auth_failed(outcome, mechanism.name)

    def _auth_succeeded(self, mechanism: ISASLMechanism, outcome: Success) -> None:
        host = self._host
        try:
            bare = JID.from_parts(outcome.username, host)
        except InvalidJID:
            self._auth_failed(Failure("not-authorized", username=outcome.username), mechanism.name)
            return
        ctx = self._ctx
        if not ctx.access.allowed(ctx.settings.access, host, bare, self.info.get("ip")):
            log.info("{jid} denied by access rule {rule}", jid=bare, rule=ctx.settings.access)
            if ctx.hooks.count("auth_failed", host):
                ctx.hooks.run(
                    "auth_failed", host, host, bare.user, mechanism.name, "not-authorized"
                )
            self._transport.send(failure_element("not-authorized", "access denied"))
            self._close_error("not-authorized", "you are not allowed to connect")
            return
        self._user = bare.user
        self.info["auth_mechanism"] = mechanism.name
        hooks = ctx.hooks
        if hooks.count("auth_succeeded", host):
            hooks.run("auth_succeeded", host, host, bare.user, mechanism.name)
        if mechanism.name == "ANONYMOUS":
            self.info["anonymous"] = True
        self._transport.send(outcome_element(outcome))
        self._stage = _POST_AUTH
        self._offered = ()
        self._bindings = None
        self._restart()
        self._transport.restart()
        self._transport.shape(ctx.settings.shaper.rate(host, bare))
        self._start_timer()

    def _auth_failed(self, failure: Failure, mechanism: str | None) -> None:
        """Answer a failed attempt; the last allowed one also ends the stream.

        Runs ``auth_failed(host, username, mechanism, condition)``.
        """
        self._failures += 1
        host = self._host
        hooks = self._ctx.hooks
        if hooks.count("auth_failed", host):
            hooks.run("auth_failed", host, host, failure.username, mechanism, failure.condition)
        self._transport.send(failure_element(failure.condition, failure.text))
        if self._failures >= MAX_AUTH_FAILURES:
            self._close_error("policy-violation", "too many failed authentication attempts")
        else:
            self._start_timer()

    # -- after authentication, before binding ---------------------------------------

    def _post_auth(self, el: Element) -> None:
        uri = el.uri
        name = el.name
        if uri == NS_CLIENT and name == "iq":
            child = _first_child(el)
            if (
                el.getAttribute("type") == "set"
                and child is not None
                and child.uri == NS_BIND
                and child.name == "bind"
            ):
                self._bind(el, child)
            else:
                self._reply_error(el, "not-allowed", "bind a resource first")
        elif uri == NS_CLIENT and name in _STANZAS:
            self._reply_error(el, "not-allowed", "bind a resource first")
        elif uri == NS_COMPRESS and name == "compress":
            self._compress(el)
        elif uri in (NS_SASL, NS_STARTTLS):
            self._close_error("policy-violation", "the stream is already authenticated")
        else:
            self._other_element(el)

    def _compress(self, el: Element) -> None:
        transport = self._transport
        methods = transport.compression_methods
        method = None
        for child in el.elements():
            if child.name == "method":
                method = str(child).strip()
                break
        if not methods:
            failure = Element((NS_COMPRESS, "failure"))
            failure.addElement("setup-failed")
            transport.send(failure)
            return
        if method not in methods:
            failure = Element((NS_COMPRESS, "failure"))
            failure.addElement("unsupported-method")
            transport.send(failure)
            return
        transport.send(Element((NS_COMPRESS, "compressed")))
        self._restart()
        transport.start_compression(method)
        self.info["compressed"] = method
        self._start_timer()

    def _bind(self, iq: Element, bind: Element) -> None:
        resource = None
        for child in bind.elements():
            if child.name == "resource":
                resource = str(child).strip() or None
                break
        try:
            jid = self._ctx.sessions.bind(self, self._user, self._host, resource)
        except InvalidJID as error:
            self._reply_error(iq, "bad-request", f"invalid resource: {error.reason}")
            return
        self._jid_str = jid.full()
        self._stage = _ESTABLISHED
        self._stop_timer()
        reply = Element((NS_CLIENT, "iq"))
        reply["type"] = "result"
        if iq.hasAttribute("id"):
            reply["id"] = iq["id"]
        reply.addElement((NS_BIND, "bind")).addElement("jid", content=self._jid_str)
        self._transport.send(reply)

    def _reply_error(self, stanza: Element, condition: str, text: str | None = None) -> None:
        kind = stanza.getAttribute("type")
        if kind == "error" or (stanza.name == "iq" and kind == "result"):
            return
        try:
            reply = error_reply(stanza, condition, text=text)
        except ValueError:
            return
        if self._stage == _ESTABLISHED:
            self._output(reply)
        else:
            self._transport.send(reply)

    # -- established ---------------------------------------------------------

    def _established_other(self, el: Element) -> None:
        uri = el.uri
        if uri == NS_COMPRESS and el.name == "compress":
            failure = Element((NS_COMPRESS, "failure"))
            failure.addElement("setup-failed")
            self._transport.send(failure)
        elif uri in (NS_SASL, NS_STARTTLS):
            self._close_error("policy-violation", "the stream is already authenticated")
        else:
            self._other_element(el)

    def _client_stanza(self, el: Element) -> None:
        attributes = el.attributes
        sender = attributes.get("from")
        if sender is not None and sender != self._jid_str and not self._own_address(sender):
            self._close_error("invalid-from", f"{sender!r} is not your address")
            return
        attributes["from"] = self._jid_str
        if el.name == "iq" and self._session_iq(el):
            return
        host = self._host
        hooks = self._ctx.hooks
        if hooks.count("user_send_packet", host):
            self._wait(hooks.fold("user_send_packet", host, el, self), self._dispatch)
        else:
            self._dispatch(el)

    def _own_address(self, sender: str) -> bool:
        try:
            jid = JID.parse(sender)
        except InvalidJID:
            return False
        return jid == self.jid or jid == self.jid.bare()

    def _session_iq(self, iq: Element) -> bool:
        """Answer the legacy session IQ (RFC 3921 section 3); True when it was one."""
        if not self._ctx.settings.backwards_compatible_session:
            return False
        if iq.getAttribute("type") != "set":
            return False
        child = _first_child(iq)
        if child is None or child.uri != NS_SESSION or child.name != "session":
            return False
        to = iq.getAttribute("to")
        if to is not None and to != self._host:
            return False
        reply = Element((NS_CLIENT, "iq"))
        reply["type"] = "result"
        if iq.hasAttribute("id"):
            reply["id"] = iq["id"]
        reply["to"] = self._jid_str
        self._output(reply)
        return True

    def _dispatch(self, el: Any) -> None:
        if el is None or el is STOP or self._closed:
            return
        to = el.attributes.get("to")
        if to is None:
            if el.name == "presence":
                kind = el.attributes.get("type")
                if kind is None or kind == "unavailable":
                    self._broadcast(el, kind)
                    return
            to_jid = self.jid.bare()
        else:
            try:
                to_jid = JID.parse(to)
            except InvalidJID as error:
                self._reply_error(el, "jid-malformed", error.reason)
                return
        self._ctx.router.route(el, self.jid, to_jid)

    def _broadcast(self, presence: Element, kind: str | None) -> None:
        was_available = self.priority is not None
        if kind is None:
            self.priority = _priority(presence)
            self.presence = presence
        else:
            self.priority = None
            self.presence = None
        hooks = self._ctx.hooks
        host = self._host
        if hooks.count("user_presence_broadcast", host):
            self._wait(hooks.run("user_presence_broadcast", host, self, presence, was_available))

    def _undelivered(self, stanzas: Sequence[Element]) -> None:
        """Messages queued for a client that went away: offline storage, else bounce."""
        if self.jid is None:
            return
        to_bare = self.jid.bare()
        for stanza in stanzas:
            if stanza.name != "message":
                continue
            if (stanza.getAttribute("type") or "normal") not in _OFFLINE_TYPES:
                continue
            sender = stanza.getAttribute("from")
            try:
                from_jid = JID.parse(sender) if sender else None
            except InvalidJID:
                from_jid = None
            d = self._ctx.hooks.run("offline_message", to_bare.host, from_jid, to_bare, stanza)
            d.addCallback(self._offline_done, stanza)

    def _offline_done(self, every_handler_ran: bool, stanza: Element) -> None:
        if every_handler_ran:
            self._ctx.router.bounce(stanza, "service-unavailable")
