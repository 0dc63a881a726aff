"""Node metrics: a Prometheus registry per node and the ``mongoose_prometheus_handler``.

See doc/metrics.md for every metric name, type and label.
"""

__all__ = ["collectors", "labels", "metrics", "prometheus"]
