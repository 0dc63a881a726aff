"""``mongoose_prometheus_handler``: the node's metrics for a Prometheus scraper.

Mounted like every ``[[listen.http.handlers.*]]`` entry (MongooseIM
"HTTP-based services", ``mongoose_prometheus_handler``)::

    [[listen.http.handlers.mongoose_prometheus_handler]]
      host = "_"
      path = "/metrics"

``GET`` (and ``HEAD``) on the path answers with the Prometheus text
exposition format 0.0.4, or OpenMetrics when the scraper's ``Accept`` header
asks for it (prometheus-client's content negotiation).  Probes registered with
:meth:`mongoose.metrics.metrics.Metrics.add_probe` are read first.  The handler
serves whether or not ``[instrumentation.prometheus]`` is present.  Other
methods get a JSON 405, other paths under the mount a JSON 404.
"""

from __future__ import annotations

import json
from typing import Any

from twisted.internet import defer
from twisted.logger import Logger
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET
from zope.interface import implementer

from mongoose.config.schema import Section
from mongoose.interfaces import IHTTPHandlerFactory
from mongoose.metrics.metrics import Metrics

__all__ = ["PrometheusHandler", "PrometheusHandlerFactory", "MetricsResource", "PROMETHEUS_OPTIONS"]

#: The handler has no options of its own (host and path are added).
PROMETHEUS_OPTIONS = Section({}, doc="Prometheus metrics exposition.")


def _json_error(request, status: int, error: str, message: str) -> bytes:
    request.setResponseCode(status)
    request.setHeader(b"content-type", b"application/json")
    return json.dumps({"error": error, "message": message}).encode("utf-8")


class MetricsResource(Resource):
    """Serves one :class:`Metrics` in the Prometheus exposition format.

    Args:
        metrics: the metrics to expose.
    """

    isLeaf = True
    log = Logger()
    #: Scrapes have no body; refuse any above this while it is read.
    max_body_bytes = 4096

    def __init__(self, metrics: Metrics):
        super().__init__()
        self.metrics = metrics

    def render(self, request) -> Any:
        """Answer a scrape; see the module docstring."""
        if any(request.postpath):
            return _json_error(request, 404, "not_found", "metrics are served at the mount path")
        if request.method not in (b"GET", b"HEAD"):
            request.setHeader(b"allow", b"GET, HEAD")
            return _json_error(
                request, 405, "method_not_allowed", "only GET and HEAD are allowed here"
            )
        gone: list[bool] = []
        request.notifyFinish().addErrback(lambda _: gone.append(True))
        defer.ensureDeferred(self._answer(request, gone))
        return NOT_DONE_YET

    async def _answer(self, request, gone: list[bool]) -> None:
        try:
            await self.metrics.refresh()
            accept = (request.getHeader(b"accept") or b"").decode("latin-1")
            body, content_type = self.metrics.exposition(accept)
        except Exception:
            self.log.failure("metrics exposition failed")
            body = _json_error(request, 500, "internal_error", "metrics could not be collected")
            content_type = "application/json"
        if gone:
            return
        request.setHeader(b"content-type", content_type.encode("latin-1"))
        request.setHeader(b"content-length", b"%d" % len(body))
        request.write(body)
        request.finish()


@implementer(IHTTPHandlerFactory)
class PrometheusHandlerFactory:
    """The ``mongoose_prometheus_handler`` HTTP handler kind.

    Calling it with ``(options, node)`` returns the resource exposing
    ``node.metrics``; :data:`PrometheusHandler` is the instance the
    extension registry loads.
    """

    name = "mongoose_prometheus_handler"
    options_spec = PROMETHEUS_OPTIONS

    def __call__(self, options: Any, node: Any) -> MetricsResource:
        """Build the resource for ``node`` (``options`` holds only host and path)."""
        return MetricsResource(node.metrics)


#: What ``mongoose.extensions.BUILTIN`` names.
PrometheusHandler = PrometheusHandlerFactory()
