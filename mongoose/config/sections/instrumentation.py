"""The ``[instrumentation]`` table: metrics and event logging.

Follows "Options: Instrumentation" of the MongooseIM 6.x documentation.
Prometheus metrics are served by ``mongoose_prometheus_handler``; Exometer
is Erlang-only and accepted for compatibility.
"""

from __future__ import annotations

from mongoose.config.schema import Bool, Enum, Field, Int, ListOf, Section, Str
from mongoose.config.sections.types import LOG_LEVELS, PORT, non_empty

__all__ = ["instrumentation_section"]


def _graphite() -> Section:
    return Section(
        {
            "host": Field(non_empty(), required=True, doc="Graphite host."),
            "port": Field(PORT, default=2003, doc="Graphite port."),
            "interval": Field(Int(min=1), default=60000, doc="Milliseconds between reports."),
            "connect_timeout": Field(Int(min=1), default=5000, doc="Milliseconds to connect."),
            "prefix": Field(Str(), doc="Prefix of metric names."),
            "env_prefix": Field(Str(), doc="Environment variable holding the prefix."),
            "api_key": Field(Str(), default="", doc="API key sent to the service."),
        },
        doc="One Graphite reporter.",
    )


def instrumentation_section() -> Section:
    """The ``[instrumentation]`` table.

    Returns:
        The section; a handler is enabled when its table is present.
    """
    exometer = Section(
        {
            "all_metrics_are_global": Field(
                Bool(), default=False, doc="Report per-host metrics as global ones."
            ),
            "report": Field(
                Section(
                    {"graphite": Field(ListOf(_graphite()), default=[], doc="Graphite reporters.")},
                    doc="Metric reporters.",
                ),
                default={},
                doc="Reporters.",
            ),
        },
        doc="Exometer metrics.",
    )
    log = Section(
        {
            "level": Field(
                Enum(*LOG_LEVELS[1:]),
                default="debug",
                doc="Log level of instrumentation events.",
            ),
        },
        doc="Write instrumentation events to the server log.",
    )
    return Section(
        {
            "probe_interval": Field(
                Int(min=1), default=15, doc="Seconds between periodic measurements."
            ),
            "prometheus": Field(
                Section({}, doc="Prometheus metrics."),
                doc="Collect Prometheus metrics (served by mongoose_prometheus_handler).",
            ),
            "exometer": Field(
                exometer, doc="Collect Exometer metrics.", compat="Exometer is Erlang-only"
            ),
            "log": Field(log, doc="Log instrumentation events."),
        },
        doc="Metrics and instrumentation events.",
    )
