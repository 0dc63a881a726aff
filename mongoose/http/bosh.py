"""``mongoose_bosh_handler`` (alias ``mod_bosh``): XMPP over BOSH, XEP-0124 and XEP-0206.

Mounted like every ``[[listen.http.handlers.*]]`` entry (MongooseIM
"HTTP-based services")::

    [[listen.http.handlers.mod_bosh]]
      host = "_"
      path = "/http-bind"

Session settings come from ``[modules.mod_bosh]`` of the domain the client
names in ``to`` (:mod:`mongoose.modules.mod_bosh`; defaults when the module
is not configured): ``inactivity``, ``max_wait``, ``server_acks``,
``max_pause`` (``backend`` names where sessions are kept; this node keeps
them in memory).

Each BOSH session runs the ordinary client state machine
(:class:`mongoose.c2s.session.C2SSession`) through :class:`BoshSession`, its
:class:`~mongoose.c2s.interfaces.IC2STransport`:

* session creation (a ``<body/>`` without ``sid``) opens the stream; the
  first response carries ``sid``, ``wait``, ``hold``, ``requests``,
  ``inactivity``, ``maxpause`` and the stream features (XEP-0206 section 5);
* requests are handled in ``rid`` order: one that arrives early waits for
  the missing ones (up to ``requests`` ahead), a repeated ``rid`` gets the
  response already sent for it again (a client retrying after a dropped
  connection keeps its session), an unknown or too old ``rid`` ends the
  session with ``item-not-found``;
* at most ``hold`` requests are held; each is answered when there is data
  for the client or after ``wait`` seconds (at most ``max_wait``);
* ``xmpp:restart="true"`` restarts the stream after SASL, ``pause`` (up to
  ``max_pause`` seconds) answers the held requests and allows a longer
  silence, ``type="terminate"`` ends the stream;
* without a request for ``inactivity`` seconds (or the pause), the session
  is gone as if its TCP connection had dropped.

Errors: a body that is not well-formed XML, not a ``<body/>`` of
``http://jabber.org/protocol/httpbind``, or without a valid ``rid`` gets
HTTP 400 with a ``type="terminate" condition="bad-request"`` body; an
unknown ``sid`` gets ``item-not-found``; a stream error from the session is
sent as ``remote-stream-error`` (or the BOSH condition of the same name)
with the ``<stream:error/>`` inside.  Bodies larger than
:data:`MAX_BODY_BYTES` are refused by the listener with a JSON 413.
"""

from __future__ import annotations

import secrets
from collections import OrderedDict, deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from twisted.logger import Logger
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET
from twisted.words.xish.domish import Element
from zope.interface import implementer, provider

from mongoose.c2s.interfaces import IC2STransport
from mongoose.c2s.session import C2SSession
from mongoose.http.common import handler_context, peer_of
from mongoose.interfaces import IHTTPHandlerFactory
from mongoose.xmpp.errors import StreamError
from mongoose.xmpp.framing import DEFAULT_MAX_STANZA_SIZE, parse_element
from mongoose.xmpp.namespaces import NS_CLIENT, NS_STREAMS, NS_XML, NS_XMPP_STREAMS
from mongoose.xmpp.serialize import element_to_str, escape_attribute

__all__ = [
    "NS_HTTPBIND",
    "NS_XBOSH",
    "MAX_BODY_BYTES",
    "BoshOptions",
    "BoshSession",
    "BoshResource",
    "BoshHandler",
]

log = Logger()

NS_HTTPBIND = "http://jabber.org/protocol/httpbind"
NS_XBOSH = "urn:xmpp:xbosh"

#: Largest request body accepted.
MAX_BODY_BYTES = DEFAULT_MAX_STANZA_SIZE + 64 * 1024

#: Protocol version spoken (XEP-0124).
BOSH_VERSION = "1.11"

#: Longest wait and most held requests a client may ask for.
_MAX_HOLD = 2
_DEFAULT_WAIT = 60

_BOSH_CONDITIONS = frozenset(
    """bad-request host-gone host-unknown improper-addressing internal-server-error
    item-not-found other-request policy-violation remote-connection-failed
    remote-stream-error see-other-uri system-shutdown undefined-condition""".split()
)

_CORS = (
    (b"access-control-allow-origin", b"*"),
    (b"access-control-allow-methods", b"POST, OPTIONS"),
    (b"access-control-allow-headers", b"Content-Type"),
    (b"access-control-max-age", b"86400"),
)


def _seconds(value: Any) -> float | None:
    return None if value in (None, "infinity") else float(value)


@dataclass(frozen=True)
class BoshOptions:
    """``[modules.mod_bosh]`` of one domain, as the handler uses them.

    Attributes:
        inactivity: seconds without a request before the session is gone
            (None: never).
        max_wait: longest ``wait`` granted, in seconds (None: no cap).
        server_acks: responses carry ``ack`` (XEP-0124 section 9).
        max_pause: longest ``pause`` granted, in seconds.
    """

    inactivity: float | None = 30.0
    max_wait: float | None = None
    server_acks: bool = False
    max_pause: float = 120.0

    @classmethod
    def from_module_options(cls, options: Mapping[str, Any] | None) -> BoshOptions:
        """Read ``[modules.mod_bosh]`` (None: the defaults)."""
        if options is None:
            return cls()
        return cls(
            inactivity=_seconds(options.get("inactivity", 30)),
            max_wait=_seconds(options.get("max_wait", "infinity")),
            server_acks=bool(options.get("server_acks", False)),
            max_pause=float(options.get("max_pause", 120)),
        )


def _int_attribute(body: Element, name: str, default: int | None = None) -> int | None:
    value = body.getAttribute(name)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        return None
    return number if number >= 0 else None


def _body_bytes(attributes: Mapping[str, str], payload: str) -> bytes:
    attrs = "".join(f" {k}='{escape_attribute(str(v))}'" for k, v in attributes.items())
    head = f"<body xmlns='{NS_HTTPBIND}' xmlns:stream='{NS_STREAMS}'{attrs}"
    if not payload:
        return (head + "/>").encode("utf-8")
    return (head + ">" + payload + "</body>").encode("utf-8")


def _finish(request: Any, status: int, data: bytes) -> None:
    if request is None or request.finished or getattr(request, "_disconnected", False):
        return
    request.setResponseCode(status)
    request.setHeader(b"content-type", b"text/xml; charset=utf-8")
    for name, value in _CORS:
        request.setHeader(name, value)
    request.write(data)
    request.finish()


def _terminal(request: Any, condition: str, status: int = 200) -> None:
    _finish(request, status, _body_bytes({"type": "terminate", "condition": condition}, ""))


class _Held:
    """A request waiting for data to carry back."""

    __slots__ = ("rid", "request", "timer")

    def __init__(self, rid: int, request: Any):
        self.rid = rid
        self.request = request
        self.timer: Any = None


@implementer(IC2STransport)
class BoshSession:
    """One BOSH session: the transport of one C2SSession.

    Args:
        resource: the handler's resource (registry and context).
        sid: the session id.
        rid: the ``rid`` of the creation request.
        wait: seconds a request may be held.
        hold: most requests held at once.
        options: the domain's ``mod_bosh`` options.
        peer: the client's (ip, port).
        secure: the creation request came over HTTPS.
    """

    kind = "bosh"
    can_starttls = False
    compression_methods: tuple[str, ...] = ()

    def __init__(
        self,
        resource: BoshResource,
        sid: str,
        rid: int,
        wait: float,
        hold: int,
        options: BoshOptions,
        peer: tuple[str, int],
        secure: bool,
    ):
        self.resource = resource
        self.sid = sid
        self.wait = wait
        self.hold = hold
        self.requests = hold + 1
        self.options = options
        self.peer = peer
        self.secure = secure
        self.reactor = resource.context.reactor
        self.last_rid = rid - 1
        self.held: list[_Held] = []
        self.early: dict[int, tuple[Any, Element]] = {}
        self.responses: OrderedDict[int, bytes] = OrderedDict()
        self.out: list[Element] = []
        self.stream_from = resource.context.default_host
        self.stream_id = secrets.token_hex(8)
        self.created = False
        self.ended = False
        self._closing = False
        self._terminal_error: Element | None = None
        self._events: deque[tuple[str, Any]] = deque()
        self._paused = False
        self._flush_call: Any = None
        self._idle: Any = None
        self._idle_seconds = options.inactivity
        #: The domain the session was created for (its ``to``), for metrics.
        self.host = ""
        self.session = C2SSession(resource.context, self, peer)

    # -- requests -------------------------------------------------------------

    def handle(self, request: Any, body: Element) -> None:
        """A request for this session (its ``rid`` is valid)."""
        rid = _int_attribute(body, "rid")
        if self.ended:
            _terminal(request, "item-not-found")
            return
        if rid <= self.last_rid:
            self._repeat(request, rid)
            return
        if rid > self.last_rid + self.requests:
            _terminal(request, "item-not-found")
            self._end("item-not-found")
            return
        if rid > self.last_rid + 1:
            self.early[rid] = (request, body)
            request.notifyFinish().addErrback(lambda _: self.early.pop(rid, None))
            return
        self._process(request, body, rid)
        while self.last_rid + 1 in self.early and not self.ended:
            rid = self.last_rid + 1
            request, body = self.early.pop(rid)
            self._process(request, body, rid)

    def _repeat(self, request: Any, rid: int) -> None:
        cached = self.responses.get(rid)
        if cached is not None:
            _finish(request, 200, cached)
            return
        for held in self.held:
            if held.rid == rid:
                # A retry of a request that is still held: answer through the new one.
                _finish(held.request, 200, _body_bytes({}, ""))
                held.request = request
                self._watch(held)
                return
        _terminal(request, "item-not-found")
        self._end("item-not-found")

    def _process(self, request: Any, body: Element, rid: int) -> None:
        self.last_rid = rid
        self._stop_idle()
        held = _Held(rid, request)
        self.held.append(held)
        self._watch(held)
        wait = self.wait
        held.timer = self.reactor.callLater(wait, self._expire, held)
        pause = _int_attribute(body, "pause")
        if body.getAttribute("pause") is not None:
            if pause is None or pause > self.options.max_pause:
                self._terminate_with("policy-violation")
                return
            self._idle_seconds = float(pause)
            self._answer_all()
            return
        self._idle_seconds = self.options.inactivity
        for child in body.elements():
            if child.uri == NS_HTTPBIND:
                continue
            if child.uri is None or child.uri == "":
                child.uri = NS_CLIENT
            self._events.append(("element", child))
        if body.getAttribute((NS_XBOSH, "restart")) in ("true", "1"):
            attributes = {"to": body.getAttribute("to") or self.session.host or "", "version": "1.0"}
            lang = body.getAttribute((NS_XML, "lang"))
            if lang:
                attributes["xml:lang"] = lang
            self._events.append(("open", attributes))
        if body.getAttribute("type") == "terminate":
            self._events.append(("close", None))
        self._pump()
        while len(self.held) > self.hold and not self.ended:
            self._answer(self.held[0])
        self._schedule_flush()

    def open_stream(self, body: Element) -> None:
        """Feed the stream header of the creation request."""
        attributes = {"to": body.getAttribute("to") or "", "version": "1.0"}
        lang = body.getAttribute((NS_XML, "lang"))
        if lang:
            attributes["xml:lang"] = lang
        self._events.appendleft(("open", attributes))

    def _watch(self, held: _Held) -> None:
        request = held.request

        def gone(_: Any) -> None:
            if held.request is request:
                held.request = None

        request.notifyFinish().addErrback(gone)

    def _expire(self, held: _Held) -> None:
        held.timer = None
        if held in self.held:
            self._answer(held)
            self._after_answer()

    # -- input events -----------------------------------------------------------

    def _pump(self) -> None:
        events = self._events
        session = self.session
        while events and not self._paused and not self._closing:
            kind, value = events.popleft()
            try:
                if kind == "element":
                    session.element_received(value)
                elif kind == "open":
                    session.stream_opened(value)
                else:
                    session.stream_closed()
            except Exception:
                log.failure("BOSH session {sid} failed", sid=self.sid)
                session.close("internal-server-error")

    # -- responses --------------------------------------------------------------

    def _schedule_flush(self) -> None:
        if self._flush_call is None and not self.ended:
            self._flush_call = self.reactor.callLater(0, self._flush)

    def _flush(self) -> None:
        self._flush_call = None
        if self.ended:
            return
        if self._closing:
            self._answer_terminal()
            return
        if self.out and self.held:
            self._answer(self.held[0])
        self._after_answer()

    def _after_answer(self) -> None:
        if not self.held and not self.ended:
            self._start_idle()

    def _attributes(self) -> dict[str, str]:
        attributes: dict[str, str] = {}
        if not self.created:
            self.created = True
            attributes.update(
                {
                    "sid": self.sid,
                    "wait": str(int(self.wait)),
                    "hold": str(self.hold),
                    "requests": str(self.requests),
                    "polling": "2",
                    "ver": BOSH_VERSION,
                    "from": self.stream_from,
                    "authid": self.stream_id,
                    "secure": "true" if self.secure else "false",
                    "maxpause": str(int(self.options.max_pause)),
                    "xmpp:version": "1.0",
                    "xmlns:xmpp": NS_XBOSH,
                    "xmpp:restartlogic": "true",
                }
            )
            inactivity = self.options.inactivity
            if inactivity is not None:
                attributes["inactivity"] = str(int(inactivity))
        if self.options.server_acks:
            attributes["ack"] = str(self.last_rid)
        return attributes

    def _payload(self) -> str:
        out, self.out = self.out, []
        return "".join(
            element_to_str(el, default_uri=NS_HTTPBIND, prefixes={NS_STREAMS: "stream"})
            for el in out
        )

    def _answer(self, held: _Held, extra: Mapping[str, str] | None = None) -> None:
        self.held.remove(held)
        if held.timer is not None and held.timer.active():
            held.timer.cancel()
        held.timer = None
        attributes = self._attributes()
        if extra:
            attributes.update(extra)
        data = _body_bytes(attributes, self._payload())
        self.responses[held.rid] = data
        while len(self.responses) > self.requests + 1:
            self.responses.popitem(last=False)
        _finish(held.request, 200, data)

    def _answer_all(self) -> None:
        while self.held:
            self._answer(self.held[0])
        self._after_answer()

    def _answer_terminal(self) -> None:
        """Deliver what is left and ``type="terminate"`` once a request is there."""
        if not self.held:
            return
        while len(self.held) > 1:
            self._answer(self.held[0])
        extra = {"type": "terminate"}
        error = self._terminal_error
        if error is not None:
            condition = "remote-stream-error"
            for child in error.elements():
                if child.uri == NS_XMPP_STREAMS and child.name in _BOSH_CONDITIONS:
                    condition = child.name
                    break
            extra["condition"] = condition
            self.out.append(error)
        self._answer(self.held[0], extra)
        self._end(None)

    def _terminate_with(self, condition: str) -> None:
        self._closing = True
        self._terminal_error = StreamError(condition).to_element()
        self._answer_terminal()
        self.session.connection_lost((), self)

    # -- lifetime ---------------------------------------------------------------

    def _start_idle(self) -> None:
        seconds = self._idle_seconds
        if seconds is None or self._idle is not None:
            return
        self._idle = self.reactor.callLater(seconds, self._inactive)

    def _stop_idle(self) -> None:
        idle, self._idle = self._idle, None
        if idle is not None and idle.active():
            idle.cancel()

    def _inactive(self) -> None:
        self._idle = None
        log.debug("BOSH session {sid} inactive", sid=self.sid)
        undelivered = [el for el in self.out if el.name == "message"]
        self.out = []
        self._end(None)
        self.session.connection_lost(undelivered, self)

    def _end(self, condition: str | None) -> None:
        """Forget the session; answer what is still held or waiting."""
        if self.ended:
            return
        self.ended = True
        self._closing = True
        self._stop_idle()
        if self._flush_call is not None and self._flush_call.active():
            self._flush_call.cancel()
        self._flush_call = None
        for held in self.held:
            if held.timer is not None and held.timer.active():
                held.timer.cancel()
            _terminal(held.request, condition or "item-not-found")
        self.held = []
        for request, _ in self.early.values():
            _terminal(request, condition or "item-not-found")
        self.early.clear()
        self.resource.sessions.pop(self.sid, None)
        metrics = self.resource.metrics
        if metrics is not None:
            metrics.bosh_session_closed(self.host)
        if condition is not None:
            self.session.connection_lost((), self)

    # -- IC2STransport --------------------------------------------------------

    def send_header(self, from_: str, to: str | None, stream_id: str | None, lang: str) -> None:
        """Remember the stream's domain and id for the creation response."""
        self.stream_from = from_
        if stream_id:
            self.stream_id = stream_id

    def send(self, element: Element) -> bool:
        """Queue one element for the next response."""
        if self._closing:
            return False
        self.out.append(element)
        self._schedule_flush()
        return True

    def close(self, error: Element | None) -> None:
        """End the session with ``type="terminate"`` (carrying ``error``)."""
        if self._closing:
            return
        self._closing = True
        self._terminal_error = error
        self._events.clear()
        if self.held:
            self._schedule_flush()
            self._flush_call_now()
        elif self.created:
            # No request to carry the news: the session is over anyway.
            self._end(None)
        self.session.connection_lost((), self)

    def _flush_call_now(self) -> None:
        call, self._flush_call = self._flush_call, None
        if call is not None and call.active():
            call.cancel()
        self._answer_terminal()

    def restart(self) -> None:
        """The client restarts with ``xmpp:restart``: nothing to reset."""

    def start_tls(self) -> None:
        """Never offered: TLS belongs to the HTTP listener."""

    def start_compression(self, method: str) -> None:
        """Never offered over BOSH."""

    def pause(self) -> None:
        """Hold input events until :meth:`resume`."""
        self._paused = True

    def resume(self) -> None:
        """Deliver held input events."""
        self._paused = False
        self._pump()

    def shape(self, max_rate: int | None) -> None:
        """No shaping on BOSH sessions."""

    def channel_bindings(self) -> dict[str, bytes]:
        """No channel binding over BOSH."""
        return {}

    def peer_certificate(self) -> Any:
        """No client certificates over BOSH."""
        return None


class BoshResource(Resource):
    """Serves the BOSH sessions of one handler table.

    Args:
        node: the mongoose.node.Node.
        options: the handler's options.
    """

    isLeaf = True
    max_body_bytes = MAX_BODY_BYTES

    def __init__(self, node: Any, options: Mapping[str, Any]):
        super().__init__()
        self.node = node
        self.context = handler_context(node, "mongoose_bosh_handler", options)
        self.sessions: dict[str, BoshSession] = {}
        self.metrics = getattr(node, "metrics", None)
        if self.metrics is not None:
            self.metrics.http_transports.add_bosh(self._open_hosts)

    def _open_hosts(self) -> list[str]:
        """The host of every open session (read by the ``mongoose_bosh_sessions`` gauge)."""
        return [session.host for session in self.sessions.values()]

    def render_OPTIONS(self, request: Any) -> bytes:
        """CORS pre-flight."""
        for name, value in _CORS:
            request.setHeader(name, value)
        return b""

    def render_GET(self, request: Any) -> bytes:
        """BOSH is POST only; say so in JSON."""
        request.setResponseCode(405)
        request.setHeader(b"allow", b"POST, OPTIONS")
        request.setHeader(b"content-type", b"application/json")
        return b'{"error": "method_not_allowed", "message": "BOSH requests are POSTed"}'

    def render_POST(self, request: Any) -> Any:
        """One BOSH request; see the module docstring."""
        data = request.content.read()
        try:
            body = parse_element(data, max_size=MAX_BODY_BYTES)
        except StreamError:
            _terminal(request, "bad-request", 400)
            return NOT_DONE_YET
        rid = _int_attribute(body, "rid")
        if body.uri != NS_HTTPBIND or body.name != "body" or rid is None:
            _terminal(request, "bad-request", 400)
            return NOT_DONE_YET
        sid = body.getAttribute("sid")
        if sid is None:
            self._create(request, body, rid)
            return NOT_DONE_YET
        session = self.sessions.get(sid)
        if session is None:
            _terminal(request, "item-not-found")
            return NOT_DONE_YET
        try:
            session.handle(request, body)
        except Exception:
            log.failure("BOSH request for {sid} failed", sid=sid)
            _terminal(request, "internal-server-error")
        return NOT_DONE_YET

    def _create(self, request: Any, body: Element, rid: int) -> None:
        to = (body.getAttribute("to") or "").lower()
        try:
            module = self.node.config.modules_for(to).get("mod_bosh")
        except KeyError:
            module = None
        options = BoshOptions.from_module_options(module)
        wait = float(_int_attribute(body, "wait", _DEFAULT_WAIT) or 0)
        if options.max_wait is not None:
            wait = min(wait, options.max_wait)
        hold = min(_int_attribute(body, "hold", 1) or 0, _MAX_HOLD)
        sid = secrets.token_hex(16)
        session = BoshSession(
            self, sid, rid, wait, max(hold, 1), options,
            peer_of(request.getClientAddress()), request.isSecure(),
        )
        session.host = to
        self.sessions[sid] = session
        if self.metrics is not None:
            self.metrics.bosh_session_created(to)
        session.open_stream(body)
        session.handle(request, body)

    def shutdown(self, *args: Any) -> None:
        """Close every session with ``system-shutdown`` (the ``node_stopping`` hook)."""
        for session in list(self.sessions.values()):
            session.session.close("system-shutdown", "the server is stopping")
            session._end("system-shutdown")


@provider(IHTTPHandlerFactory)
class BoshHandler(BoshResource):
    """The ``mongoose_bosh_handler`` HTTP handler kind.

    ``BoshHandler(options, node)`` is the resource of one handler table.
    """

    name = "mongoose_bosh_handler"
    #: None: the table is declared in mongoose.config.sections.http_handlers.
    options_spec = None

    def __init__(self, options: Mapping[str, Any], node: Any):
        super().__init__(node, options)
        node.hooks.add("node_stopping", self.shutdown)
