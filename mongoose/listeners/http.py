"""The ``[[listen.http]]`` listener: handlers matched by host and path.

Each ``[[listen.http.handlers.NAME]]`` entry mounts one handler (a twisted.web
resource built by its IHTTPHandlerFactory) at ``path`` for ``host`` (``"_"``
matches any Host header).  The longest matching path wins, so REST at ``/api``
and GraphQL at ``/api/graphql`` can share a port.  A request that matches no
handler gets a JSON 404.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from twisted.web.resource import IResource, Resource
from twisted.web.server import Site

__all__ = ["Mount", "HandlerDispatch", "split_path", "make_site", "build_http_factory"]


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


class _NotFound(Resource):
    isLeaf = True

    def render(self, request):
        request.setResponseCode(404)
        request.setHeader(b"content-type", b"application/json")
        return json.dumps({"error": "not_found", "message": "no handler for this path"}).encode()


class HandlerDispatch(Resource):
    """Root resource that hands each request to the best matching mount."""

    def __init__(self, mounts: Sequence[Mount]):
        super().__init__()
        # Longest path first; among equal paths a specific host before "_".
        self.mounts = sorted(mounts, key=lambda m: (-len(m.path), m.host == "_"))

    def _select(self, host: str, segments: Sequence[bytes]) -> Mount | None:
        parts = tuple(s.decode("utf-8", "replace") for s in segments if s)
        for mount in self.mounts:
            if mount.matches_host(host) and parts[: len(mount.path)] == mount.path:
                return mount
        return None

    def getChildWithDefault(self, name: bytes, request):
        """Route on the whole path at the first segment."""
        segments = [name, *request.postpath]
        mount = self._select(_request_host(request), segments)
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
        mount = self._select(_request_host(request), [])
        if mount is None:
            return _NotFound().render(request)
        return mount.resource.render(request)


def make_site(mounts: Sequence[Mount], options: Mapping[str, Any] | None = None) -> Site:
    """A Site serving ``mounts``, with twisted.web's access log silenced."""
    site = Site(HandlerDispatch(mounts))
    site.displayTracebacks = False
    site.noisy = False
    site.log = lambda request: None  # access logging belongs to metrics, not the text log
    return site


def build_http_factory(index: int, options: Mapping[str, Any], node) -> Site:
    """The Site for ``listen.http[index]``: its handlers mounted by host and path."""
    return make_site(node.http_mounts(options), options)
