"""The ``[[listen.http]]`` listener: handlers matched by host and path.

Follows "HTTP-based services" (``listen-http``) of the MongooseIM 6.x
documentation.  Each ``[[listen.http.handlers.NAME]]`` entry mounts one
handler (a twisted.web resource built by its IHTTPHandlerFactory) at ``path``
for ``host`` (``"_"`` matches any Host header).  The longest matching path
wins, so REST at ``/api`` and GraphQL at ``/api/graphql`` can share a port.
A request that matches no handler gets a JSON 404.

Listener options:

* ``transport.max_connections``: with that many connections open, the next
  one gets a JSON 503 (plain HTTP) or is closed at once (HTTPS); the listener
  goes on serving.  ``transport.num_acceptors`` is accepted and has no effect
  (Twisted accepts in its one reactor thread).
* ``tls``: serve HTTPS, the context built by
  :func:`mongoose.xmpp.tls.server_connection_creator`.
* ``protocol.compress``: gzip response bodies for clients that send
  ``Accept-Encoding: gzip`` (not ``101``, ``204``, ``304`` or WebSocket
  upgrades, nor bodies the handler encoded itself).

Limits and errors (RFC 9110/9112): a request body longer than the handler's
``max_body_bytes`` attribute (default :data:`DEFAULT_MAX_BODY_BYTES`) is
refused with a JSON 413 as soon as the ``Content-Length`` (or the chunked
stream so far) shows it, without reading the rest; a malformed request line,
header or chunk gets a JSON 400; a handler that fails gets a JSON 500.  Each
of them closes the connection and none ever shows a traceback.  Requests are
counted in the node's metrics (:mod:`mongoose.metrics`).
"""

from __future__ import annotations

import json
import re
import time
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_to_bytes

from twisted.internet.protocol import Protocol
from twisted.protocols.policies import WrappingFactory
from twisted.protocols.tls import TLSMemoryBIOFactory
from twisted.web.http import HTTPChannel
from twisted.web.resource import IResource, Resource
from twisted.web.server import Request, Site

__all__ = [
    "DEFAULT_MAX_BODY_BYTES",
    "REFUSED_LINGER_SECONDS",
    "Mount",
    "HandlerDispatch",
    "HTTPRequest",
    "HTTPChannelWithLimits",
    "HTTPSite",
    "ConnectionLimit",
    "split_path",
    "make_site",
    "build_http_factory",
]

#: Largest request body a handler accepts unless its resource sets ``max_body_bytes``.
DEFAULT_MAX_BODY_BYTES = 1024 * 1024

#: After refusing a request or a connection, how long unread input is
#: drained before closing, so the client reads the error instead of a reset.
REFUSED_LINGER_SECONDS = 2.0

#: ``handler`` label of requests no handler matched.
NO_HANDLER = "none"

_NO_BODY_CODES = frozenset((101, 204, 304))
_GZIP_CODING = re.compile(r"^\s*(x-)?gzip\s*(;\s*q\s*=\s*([0-9.]+))?\s*$", re.IGNORECASE)


def split_path(path: str) -> tuple[str, ...]:
    """``"/api/graphql/"`` -> ``("api", "graphql")``."""
    return tuple(part for part in path.split("/") if part)


@dataclass(frozen=True)
class Mount:
    """One handler mounted at a path for a host."""

    host: str
    path: tuple[str, ...]
    resource: IResource
    name: str

    def matches_host(self, host: str) -> bool:
        """True when this mount serves requests for ``host``."""
        return self.host == "_" or self.host.lower() == host


def _request_host(request) -> str:
    raw = request.getHeader(b"host") or b""
    host = raw.decode("latin-1").strip().lower()
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if ":" in host else host


def _json_body(error: str, message: str) -> bytes:
    return json.dumps({"error": error, "message": message}).encode("utf-8")


def _raw_response(status: int, reason: bytes, error: str, message: str) -> bytes:
    """A complete HTTP/1.1 response with a JSON error body that closes the connection."""
    body = _json_body(error, message)
    return (
        b"HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
        b"Connection: close\r\n\r\n%s" % (status, reason, len(body), body)
    )


class _NotFound(Resource):
    isLeaf = True

    def render(self, request):
        """Answer a JSON 404."""
        request.setResponseCode(404)
        request.setHeader(b"content-type", b"application/json")
        return _json_body("not_found", "no handler for this path")


class HandlerDispatch(Resource):
    """Root resource that hands each request to the best matching mount."""

    def __init__(self, mounts: Sequence[Mount]):
        super().__init__()
        # Longest path first; among equal paths a specific host before "_".
        self.mounts = sorted(mounts, key=lambda m: (-len(m.path), m.host == "_"))

    def select(self, host: str, segments: Sequence[bytes]) -> Mount | None:
        """The mount serving ``segments`` (the URL-decoded path) on ``host``, or None."""
        parts = tuple(s.decode("utf-8", "replace") for s in segments if s)
        for mount in self.mounts:
            if mount.matches_host(host) and parts[: len(mount.path)] == mount.path:
                return mount
        return None

    def getChildWithDefault(self, name: bytes, request):
        """Route on the whole path at the first segment."""
        segments = [name, *request.postpath]
        mount = self.select(_request_host(request), segments)
        if mount is None:
            return _NotFound()
        # The traversal already moved `name` to prepath; consume the rest of
        # the mount's path (or give `name` back for a root mount).
        consumed = len(mount.path)
        if consumed == 0:
            request.prepath.pop()
            request.postpath.insert(0, name)
        else:
            for _ in range(consumed - 1):
                request.prepath.append(request.postpath.pop(0))
        if consumed and not request.postpath:
            # Klein and friends expect at least the empty segment of "/x/".
            request.postpath.append(b"")
        return mount.resource

    def render(self, request):
        """A request for exactly ``/`` (no segment) goes to a root mount."""
        mount = self.select(_request_host(request), [])
        if mount is None:
            return _NotFound().render(request)
        return mount.resource.render(request)


def _accepts_gzip(request) -> bool:
    header = b",".join(request.requestHeaders.getRawHeaders(b"accept-encoding", []))
    for coding in header.decode("latin-1").split(","):
        match = _GZIP_CODING.match(coding)
        if match:
            try:
                return match.group(3) is None or float(match.group(3)) > 0
            except ValueError:
                return False
    return False


class HTTPRequest(Request):
    """A request that knows its handler early, limits its body, may gzip and is counted.

    Attributes:
        handler_name: the kind of the mount serving it (``"none"``: no match).
        max_body_bytes: the largest body accepted for that mount.
    """

    handler_name = NO_HANDLER
    max_body_bytes = DEFAULT_MAX_BODY_BYTES

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._gzip: Any = None
        self._received = 0
        self._refused = False
        self._started = time.perf_counter()

    def select_handler(self, raw_path: bytes) -> None:
        """Find the mount for ``raw_path`` once the headers are in (limit and metrics)."""
        self._started = time.perf_counter()
        site = getattr(self.channel, "site", None)
        dispatch = getattr(site, "dispatch", None)
        if dispatch is None:
            return
        path = raw_path.split(b"?", 1)[0]
        segments = [unquote_to_bytes(s) for s in path[1:].split(b"/")]
        mount = dispatch.select(_request_host(self), segments)
        if mount is None:
            self.max_body_bytes = site.max_body_bytes
            return
        self.handler_name = mount.name
        self.max_body_bytes = int(getattr(mount.resource, "max_body_bytes", site.max_body_bytes))

    def handleContentChunk(self, data: bytes) -> None:
        """Store a body chunk, or refuse the request once the body is too long."""
        if self._refused:
            return
        self._received += len(data)
        if self._received > self.max_body_bytes:
            self._refused = True
            self.channel.refuse_too_large(self)
            return
        super().handleContentChunk(data)

    def process(self) -> None:
        """Count the request when it ends, then dispatch it."""
        site = self.channel.site
        if getattr(site, "metrics", None) is not None:
            self.notifyFinish().addBoth(self._count, site)
        super().process()

    def _count(self, result: Any, site: HTTPSite) -> None:
        status = self.code if result is None else 499
        site.metrics.http_request(
            site.listener_name, self.handler_name, self.method, status,
            time.perf_counter() - self._started,
        )

    # -- compression ------------------------------------------------------

    def _should_compress(self) -> bool:
        if self.code in _NO_BODY_CODES or getattr(self, "_inFakeHead", False):
            return False
        if self.method == b"HEAD" or self.requestHeaders.hasHeader(b"upgrade"):
            return False
        if self.responseHeaders.hasHeader(b"content-encoding"):
            return False
        return _accepts_gzip(self)

    def write(self, data: bytes) -> None:
        """Write body bytes, gzip-compressed when the listener and the client agree."""
        if not self.startedWriting and getattr(self.channel.site, "compress", False):
            if data and self._gzip is None and self._should_compress():
                self._gzip = zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
                self.responseHeaders.setRawHeaders(b"content-encoding", [b"gzip"])
                self.responseHeaders.removeHeader(b"content-length")
            vary = b",".join(self.responseHeaders.getRawHeaders(b"vary", [])).lower()
            if b"accept-encoding" not in vary:
                self.responseHeaders.addRawHeader(b"vary", b"Accept-Encoding")
        if self._gzip is not None:
            data = self._gzip.compress(data)
        super().write(data)

    def finish(self) -> None:
        """End the response (flushing the gzip stream first)."""
        if self._gzip is not None and not self._disconnected:
            compressor, self._gzip = self._gzip, None
            tail = compressor.flush()
            if tail:
                self.write(tail)
        return super().finish()

    # -- errors -----------------------------------------------------------

    def processingFailed(self, reason):
        """Log the failure and answer a JSON 500 (never a traceback)."""
        self._log.failure(
            "HTTP handler {handler} failed on {path}",
            failure=reason,
            handler=self.handler_name,
            path=self.path.decode("latin-1", "replace") if self.path else "",
        )
        if self.finished or self._disconnected:
            return reason
        if self.startedWriting:
            # Part of a response is out; the only honest end is to close.
            self.channel.loseConnection()
            return reason
        body = _json_body("internal_error", "the request could not be processed")
        self._gzip = None
        self.setResponseCode(500)
        self.responseHeaders.removeHeader(b"content-encoding")
        self.setHeader(b"content-type", b"application/json")
        self.setHeader(b"content-length", b"%d" % len(body))
        self.setHeader(b"connection", b"close")
        self.write(body)
        self.finish()
        return reason


class HTTPChannelWithLimits(HTTPChannel):
    """An HTTP/1.1 channel that refuses oversized bodies while reading them.

    Bad requests get a JSON 400 instead of twisted.web's bare one.  After a
    refusal the rest of the input is read and dropped for up to
    :data:`REFUSED_LINGER_SECONDS`, then the connection closes.
    """

    _refused = False
    _linger: Any = None

    def dataReceived(self, data: bytes) -> None:
        """Parse input, or drop it once a request was refused."""
        if self._refused:
            return
        super().dataReceived(data)

    def rawDataReceived(self, data: bytes) -> None:
        """Body bytes (dropped once a request was refused)."""
        if self._refused:
            return
        super().rawDataReceived(data)

    def allHeadersReceived(self) -> None:
        """Pick the handler; refuse a declared body larger than it accepts."""
        request = self.requests[-1]
        if isinstance(request, HTTPRequest):
            request.select_handler(getattr(self, "_path", b"/"))
            if self.length is not None and self.length > request.max_body_bytes:
                self.refuse_too_large(request)
                return
        super().allHeadersReceived()

    def allContentReceived(self) -> None:
        """Hand the complete request over, unless it was refused."""
        if self._refused:
            return
        super().allContentReceived()

    def refuse_too_large(self, request: HTTPRequest) -> None:
        """Answer 413 for ``request`` and stop reading requests on this connection."""
        self._refuse(
            request, 413, b"Content Too Large", "too_large",
            f"request body is larger than {request.max_body_bytes} bytes",
        )

    def _respondToBadRequestAndDisconnect(self) -> None:
        request = self.requests[-1] if self.requests else None
        self._refuse(request, 400, b"Bad Request", "bad_request", "malformed HTTP request")

    def _refuse(self, request, status: int, reason: bytes, error: str, message: str) -> None:
        if self._refused:
            return
        self._refused = True
        self.setTimeout(None)
        self.transport.write(_raw_response(status, reason, error, message))
        site = getattr(self, "site", None)
        metrics = getattr(site, "metrics", None)
        if metrics is not None:
            handler = getattr(request, "handler_name", NO_HANDLER)
            method = getattr(self, "_command", None)
            metrics.http_request(site.listener_name, handler, method, status)
        if status == 400:
            self.loseConnection()
        else:
            self._linger = self.callLater(REFUSED_LINGER_SECONDS, self.loseConnection)

    def connectionLost(self, reason) -> None:
        """Stop lingering and clean up the channel."""
        if self._linger is not None and self._linger.active():
            self._linger.cancel()
        self._linger = None
        super().connectionLost(reason)


class HTTPSite(Site):
    """The Site of one ``[[listen.http]]`` entry.

    Args:
        dispatch: the root resource choosing the handler.
        listener_name: label of the listener in metrics (``listen.http[0]``).
        metrics: the node's :class:`mongoose.metrics.metrics.Metrics`, or None.
        compress: gzip responses for clients that accept it.
        max_body_bytes: body limit of handlers that set none.
    """

    protocol = HTTPChannelWithLimits
    requestFactory = HTTPRequest

    def __init__(
        self,
        dispatch: HandlerDispatch,
        *,
        listener_name: str = "listen.http",
        metrics: Any = None,
        compress: bool = False,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        reactor: Any = None,
    ):
        super().__init__(dispatch, reactor=reactor)
        self.dispatch = dispatch
        self.listener_name = listener_name
        self.metrics = metrics
        self.compress = compress
        self.max_body_bytes = max_body_bytes
        self.displayTracebacks = False
        self.noisy = False

    def log(self, request) -> None:
        """No text access log: requests are counted in the metrics."""


class _Refusal(Protocol):
    """Says 503 (or nothing, for TLS) to a connection over the limit, then closes it."""

    def __init__(self, refusal: bytes, reactor: Any):
        self.refusal = refusal
        self.reactor = reactor
        self._close_call: Any = None

    def connectionMade(self) -> None:
        """Send the refusal (or close at once when there is none)."""
        if not self.refusal:
            self.transport.loseConnection()
            return
        self.transport.write(self.refusal)
        self._close_call = self.reactor.callLater(REFUSED_LINGER_SECONDS, self._close)

    def dataReceived(self, data: bytes) -> None:
        """The request head is in: close now, the client has our answer."""
        self._close()

    def _close(self) -> None:
        if self._close_call is not None and self._close_call.active():
            self._close_call.cancel()
        self._close_call = None
        self.transport.loseConnection()

    def connectionLost(self, reason: Any = None) -> None:
        """Cancel the pending close."""
        if self._close_call is not None and self._close_call.active():
            self._close_call.cancel()
        self._close_call = None


class ConnectionLimit(WrappingFactory):
    """Keeps at most ``limit`` connections of a factory open (``transport.max_connections``).

    Args:
        wrapped: the factory serving accepted connections.
        limit: most open connections; None for no limit.
        listener_name: label in metrics.
        metrics: the node's Metrics, or None.
        refusal: bytes sent to a connection over the limit before closing it.
        reactor: for the refusal's linger timer.
    """

    noisy = False

    def __init__(
        self,
        wrapped: Any,
        limit: int | None,
        *,
        listener_name: str = "listen.http",
        metrics: Any = None,
        refusal: bytes = b"",
        reactor: Any = None,
    ):
        super().__init__(wrapped)
        if reactor is None:
            from twisted.internet import reactor as default_reactor

            reactor = default_reactor
        self.limit = limit
        self.listener_name = listener_name
        self.metrics = metrics
        self.refusal = refusal
        self.reactor = reactor

    @property
    def open_connections(self) -> int:
        """Connections open now."""
        return len(self.protocols)

    def buildProtocol(self, addr: Any) -> Any:
        """A wrapped protocol, or a refusal when ``limit`` connections are open."""
        if self.limit is not None and len(self.protocols) >= self.limit:
            if self.metrics is not None:
                self.metrics.http_connection_refused(self.listener_name)
            refusal = _Refusal(self.refusal, self.reactor)
            refusal.factory = self
            return refusal
        return super().buildProtocol(addr)

    def registerProtocol(self, p: Any) -> None:
        """Count an accepted connection."""
        super().registerProtocol(p)
        if self.metrics is not None:
            self.metrics.http_connection_opened(self.listener_name)

    def unregisterProtocol(self, p: Any) -> None:
        """Forget a closed connection."""
        known = p in self.protocols
        super().unregisterProtocol(p)
        if known and self.metrics is not None:
            self.metrics.http_connection_closed(self.listener_name)


def make_site(
    mounts: Sequence[Mount],
    options: Mapping[str, Any] | None = None,
    *,
    metrics: Any = None,
    listener_name: str = "listen.http",
    reactor: Any = None,
) -> HTTPSite:
    """A Site serving ``mounts`` with the listener's ``protocol`` options.

    Args:
        mounts: the handlers.
        options: the ``[[listen.http]]`` options (only ``protocol.compress``
            is read here).
        metrics: the node's Metrics, or None.
        listener_name: label of the listener in metrics.
        reactor: the reactor (default: the global one).

    Returns:
        The site (no TLS, no connection limit).
    """
    protocol = (options or {}).get("protocol") or {}
    return HTTPSite(
        HandlerDispatch(mounts),
        listener_name=listener_name,
        metrics=metrics,
        compress=bool(protocol.get("compress", False)),
        reactor=reactor,
    )


def _limit(options: Mapping[str, Any]) -> int | None:
    value = (options.get("transport") or {}).get("max_connections", "infinity")
    if value is None or value == "infinity":
        return None
    return int(value)


def build_http_factory(index: int, options: Mapping[str, Any], node) -> ConnectionLimit:
    """The protocol factory for ``listen.http[index]``.

    Its handlers are mounted by host and path; HTTPS when ``tls`` is set;
    ``transport.max_connections`` enforced.

    Raises:
        mongoose.node.StartupError: the TLS options cannot be used (one line
            naming the option or file).
    """
    name = f"listen.http[{index}]"
    metrics = getattr(node, "metrics", None)
    reactor = getattr(node, "reactor", None)
    site = make_site(
        node.http_mounts(options), options, metrics=metrics, listener_name=name, reactor=reactor
    )
    factory: Any = site
    refusal = _raw_response(
        503, b"Service Unavailable", "too_many_connections",
        "the server has too many open connections; try again later",
    )
    tls = options.get("tls")
    if tls is not None:
        from mongoose.node import StartupError
        from mongoose.xmpp.tls import TLSConfigError, server_connection_creator

        try:
            creator = server_connection_creator(tls)
        except TLSConfigError as exc:
            raise StartupError(f"{name}.tls: {exc}") from None
        factory = TLSMemoryBIOFactory(creator, False, site)
        factory.noisy = False
        refusal = b""
    return ConnectionLimit(
        factory, _limit(options), listener_name=name, metrics=metrics, refusal=refusal,
        reactor=reactor,
    )
