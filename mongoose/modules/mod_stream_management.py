"""``mod_stream_management``: Stream Management (XEP-0198), acks and resumption.

Follows MongooseIM's "mod_stream_management" module documentation.  After
resource binding a client may ``<enable/>`` stream management; from then on
the server counts the stanzas it handled from the client (``h``, answered
to ``<r/>`` with ``<a h=''/>``) and keeps every stanza it sent until the
client acknowledges it.  ``ack_freq`` sets how often the server asks for an
acknowledgement.  More than ``buffer_max`` unacknowledged stanzas close the
stream with ``resource-constraint`` (MongooseIM's behaviour).

With ``resume='true'`` a session whose connection drops stays bound
(*detached*, still available to its contacts) for ``resume_timeout``
seconds; stanzas for it are kept.  A new connection of the same user may
``<resume/>`` it with the id from ``<enabled/>`` and gets every stanza it
did not acknowledge, exactly once.  When the session ends without being
resumed, its unacknowledged messages run the ``offline_message`` hook
(``mod_offline`` stores them), so none is lost.  With ``stale_h`` enabled
the last ``h`` of ended sessions is kept for ``geriatric`` seconds and given
in ``<failed h=''/>`` to a late resumption.

The module plugs into the client stream through the ``c2s_stream_element``
hook and an :class:`~mongoose.c2s.interfaces.IStreamFilter` per session.
"""

from __future__ import annotations

import secrets
from collections import deque
from typing import Any

from twisted.words.xish.domish import Element
from zope.interface import implementer, provider

from mongoose.c2s.interfaces import IStreamFilter
from mongoose.config.schema import Bool, Enum, Field, Int, Section
from mongoose.config.sections.types import int_or_infinity
from mongoose.hooks import STOP
from mongoose.interfaces import IModule, IModuleFactory
from mongoose.xmpp.namespaces import NS_STANZAS

__all__ = ["NS_SM", "StreamManagementModule", "SessionState"]

NS_SM = "urn:xmpp:sm:3"

_H_LIMIT = 2**32


def _failed(condition: str, h: int | None = None) -> Element:
    el = Element((NS_SM, "failed"))
    if h is not None:
        el["h"] = str(h % _H_LIMIT)
    el.addElement((NS_STANZAS, condition))
    return el


def _parse_h(value: str | None) -> int | None:
    if value is None or not value.isdigit():
        return None
    number = int(value)
    return number if number < _H_LIMIT else None


@implementer(IStreamFilter)
class SessionState:
    """Stream management state of one session; the last filter before the client.

    Args:
        module: the host's StreamManagementModule.
        session: the c2s session.
        resume_id: the id given in ``<enabled/>`` when resumption is on, else None.
    """

    order = 90

    def __init__(self, module: StreamManagementModule, session: Any, resume_id: str | None):
        self.module = module
        self.session = session
        self.resume_id = resume_id
        #: Stanzas handled from the client.
        self.handled = 0
        #: Stanzas sent to the client.
        self.sent = 0
        #: Sent and not acknowledged (the last ``len(buffer)`` of ``sent``).
        self.buffer: deque[Element] = deque()
        self.owns_undelivered = module.buffering
        self._since_request = 0
        self._timer: Any = None

    # -- IStreamFilter ---------------------------------------------------------

    def outgoing(self, stanza: Element) -> None:
        """Count, keep and send a stanza; ask for an ack every ``ack_freq`` stanzas."""
        module = self.module
        self.sent += 1
        session = self.session
        if module.buffering:
            self.buffer.append(stanza)
            limit = module.buffer_max
            if limit is not None and len(self.buffer) > limit:
                module.ctx.log.info(
                    "{jid}: more than {limit} unacknowledged stanzas", jid=session.jid, limit=limit
                )
                if session.detached:
                    session.terminate()
                else:
                    session.close("resource-constraint", "too many unacked stanzas")
                return
        if session.detached:
            return
        session.forward(self, stanza)
        if module.ack:
            self._since_request += 1
            if self._since_request >= module.ack_freq:
                self.request_ack()

    def incoming(self, stanza: Element) -> None:
        """Count a stanza from the client."""
        self.handled += 1

    def connection_lost(self) -> bool:
        """Keep the session for ``resume_timeout`` seconds when it can be resumed."""
        module = self.module
        if self.resume_id is None or not module.resume_timeout:
            return False
        self._timer = module.ctx.clock.callLater(module.resume_timeout, self._timed_out)
        return True

    def session_ended(self) -> None:
        """Forget the session; its unacknowledged messages go to offline storage."""
        self._cancel_timer()
        self.module.forget(self)
        pending = list(self.buffer)
        self.buffer.clear()
        if pending:
            self.session.store_undelivered(pending)

    # -- protocol ---------------------------------------------------------------

    def request_ack(self) -> None:
        """Send ``<r/>``."""
        self._since_request = 0
        self.session.send_element(Element((NS_SM, "r")))

    def answer_request(self) -> None:
        """Send ``<a h=''/>`` with the handled count."""
        answer = Element((NS_SM, "a"))
        answer["h"] = str(self.handled % _H_LIMIT)
        self.session.send_element(answer)

    def acknowledge(self, h: int) -> bool:
        """Drop what the client acknowledged; False when ``h`` is more than was sent.

        ``h`` counts modulo 2^32 (XEP-0198 section 4), so the difference with
        what was already acknowledged is taken modulo 2^32 too: a counter that
        wrapped past zero still acknowledges the right stanzas, and a value
        "behind" the last one (by less than 2^31) is an older acknowledgement.
        """
        acked = self.sent - len(self.buffer)
        done = (h - acked) % _H_LIMIT
        if done > len(self.buffer):
            return done >= _H_LIMIT // 2  # an older acknowledgement, else too high
        for _ in range(done):
            self.buffer.popleft()
        return True

    def resumed(self) -> None:
        """The session got a connection again: stop the timeout."""
        self._cancel_timer()

    def _timed_out(self) -> None:
        self._timer = None
        self.module.ctx.log.info("{jid} was not resumed in time", jid=self.session.jid)
        self.session.terminate()

    def _cancel_timer(self) -> None:
        timer, self._timer = self._timer, None
        if timer is not None and timer.active():
            timer.cancel()


@provider(IModuleFactory)
@implementer(IModule)
class StreamManagementModule:
    """XEP-0198 for the client streams of one host."""

    name = "mod_stream_management"
    dependencies = ()
    options_spec = Section(
        {
            "backend": Field(
                Enum("mnesia", "cets"), default="mnesia",
                doc="Where MongooseIM keeps session ids.",
                compat="accepted; resumable sessions are kept in the node's memory",
            ),
            "buffer": Field(Bool(), default=True,
                            doc="Keep sent stanzas until acknowledged (needed to resume)."),
            "buffer_max": Field(
                int_or_infinity(), default=100,
                doc="Most unacknowledged stanzas per session; more close the stream "
                "with `resource-constraint`.",
            ),
            "ack": Field(Bool(), default=True, doc="Ask clients for acknowledgements."),
            "ack_freq": Field(Int(min=1), default=1,
                              doc="Ask for an acknowledgement after this many stanzas."),
            "resume_timeout": Field(
                Int(min=0), default=600,
                doc="Seconds a dropped session waits to be resumed (0: no resumption).",
            ),
            "stale_h": Field(
                Section(
                    {
                        "enabled": Field(Bool(), default=False,
                                         doc="Keep the h of sessions that timed out."),
                        "repeat_after": Field(Int(min=1), default=1800,
                                              doc="Seconds between clean-ups of kept h values."),
                        "geriatric": Field(Int(min=1), default=3600,
                                           doc="Seconds a kept h value lives."),
                    },
                    doc="Stale h values for late resumptions.",
                ),
                default={},
                doc="Stale h values for late resumptions.",
            ),
        },
        doc="Stream Management (XEP-0198): acknowledgements and session resumption.",
    )

    def start(self, ctx: Any) -> None:
        """Advertise ``<sm/>`` and take the ``urn:xmpp:sm:3`` elements of client streams."""
        self.ctx = ctx
        options = ctx.options
        self.buffering = bool(options["buffer"])
        buffer_max = options["buffer_max"]
        self.buffer_max = None if buffer_max == "infinity" else int(buffer_max)
        self.ack = bool(options["ack"])
        self.ack_freq = int(options["ack_freq"])
        self.resume_timeout = int(options["resume_timeout"]) if self.buffering else 0
        stale = options["stale_h"]
        self.stale_enabled = bool(stale["enabled"])
        self.stale_repeat = int(stale["repeat_after"])
        self.stale_lifetime = int(stale["geriatric"])
        self._last_prune = 0.0
        #: resume id -> SessionState of live and detached resumable sessions.
        self.resumable: dict[str, SessionState] = {}
        #: resume id -> (h, expiry) of ended sessions (stale_h).
        self.stale: dict[str, tuple[int, float]] = {}
        ctx.add_stream_feature(Element((NS_SM, "sm")))
        ctx.hook("c2s_stream_element", self.on_element)

    def stop(self) -> None:
        """End every detached session (their messages go to offline storage)."""
        for state in list(self.resumable.values()):
            if state.session.detached:
                state.session.terminate()
        self.resumable.clear()

    def state_of(self, session: Any) -> SessionState | None:
        """The stream management state of a session, if it enabled it."""
        for stream_filter in getattr(session, "filters", ()):
            if isinstance(stream_filter, SessionState):
                return stream_filter
        return None

    def forget(self, state: SessionState) -> None:
        """A session ended: it can no longer be resumed."""
        resume_id = state.resume_id
        if resume_id is None or self.resumable.get(resume_id) is not state:
            return
        del self.resumable[resume_id]
        if self.stale_enabled:
            now = self.ctx.clock.seconds()
            if now - self._last_prune >= self.stale_repeat:
                self._last_prune = now
                self.stale = {k: v for k, v in self.stale.items() if v[1] > now}
            self.stale[resume_id] = (state.handled, now + self.stale_lifetime)

    # -- c2s_stream_element ------------------------------------------------------

    def on_element(self, session: Any, el: Element) -> Any:
        """Handle ``enable``, ``r``, ``a`` and ``resume``; other elements are not ours."""
        if el.uri != NS_SM:
            return None
        name = el.name
        state = self.state_of(session)
        if name == "r":
            if state is None:
                session.send_element(_failed("unexpected-request"))
            else:
                state.answer_request()
        elif name == "a":
            if state is not None:
                h = _parse_h(el.getAttribute("h"))
                if h is None or not state.acknowledge(h):
                    self._too_high(session, state, el.getAttribute("h"))
        elif name == "enable":
            self._enable(session, el, state)
        elif name == "resume":
            self._resume(session, el)
        else:
            session.send_element(_failed("feature-not-implemented"))
        return STOP

    def _too_high(self, session: Any, state: SessionState, h: str | None) -> None:
        self.ctx.log.info("{jid} acknowledged {h} of {sent} stanzas", jid=session.jid, h=h,
                          sent=state.sent)
        session.close("undefined-condition", f"h attribute {h!r} is not a count of sent stanzas")

    def _enable(self, session: Any, el: Element, state: SessionState | None) -> None:
        if state is not None or session.jid is None:
            session.send_element(_failed("unexpected-request"))
            return
        wants_resume = el.getAttribute("resume") in ("true", "1")
        resume_id = None
        if wants_resume and self.resume_timeout:
            resume_id = secrets.token_urlsafe(18)
        state = SessionState(self, session, resume_id)
        enabled = Element((NS_SM, "enabled"))
        if resume_id is not None:
            self.resumable[resume_id] = state
            enabled["id"] = resume_id
            enabled["resume"] = "true"
            enabled["max"] = str(self.resume_timeout)
        session.send_element(enabled)
        session.add_filter(state)

    def _resume(self, session: Any, el: Element) -> None:
        if not session.authenticated or session.jid is not None:
            session.send_element(_failed("unexpected-request"))
            return
        resume_id = el.getAttribute("previd") or ""
        state = self.resumable.get(resume_id)
        old = state.session if state is not None else None
        if old is None or old.jid.user != session.username or old.jid.host != session.host:
            stale = self.stale.get(resume_id)
            h = None
            if stale is not None and stale[1] > self.ctx.clock.seconds():
                h = stale[0]
            session.send_element(_failed("item-not-found", h))
            return
        h = _parse_h(el.getAttribute("h"))
        if h is None or not state.acknowledge(h):
            session.send_element(_failed("bad-request"))
            return
        state.resumed()
        old.adopt(session)
        resumed = Element((NS_SM, "resumed"))
        resumed["previd"] = resume_id
        resumed["h"] = str(state.handled % _H_LIMIT)
        old.send_element(resumed)
        for stanza in list(state.buffer):
            old.forward(state, stanza)
        if self.ack and state.buffer:
            state.request_ack()
        self.ctx.log.info("{jid} resumed", jid=old.jid)
