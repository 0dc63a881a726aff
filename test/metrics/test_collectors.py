"""Tests for mongoose.metrics.collectors: node state read at scrape time."""

from __future__ import annotations

from prometheus_client import CollectorRegistry
from twisted.trial.unittest import SynchronousTestCase, TestCase

from mongoose.metrics.collectors import RouterCollector, StorageCollector
from mongoose.storage.errors import StorageError
from test.storage.fixtures import PostgresFixture, SQLiteFixture


class _Router:
    """Only the ``stats`` the router keeps."""

    def __init__(self, stats):
        self.stats = stats


class RouterCollectorTests(SynchronousTestCase):
    """The router's counters as Prometheus counters."""

    def test_counts_by_type_and_condition(self):
        """Per-type counts, zero series for unseen types, exceptions as "internal"."""
        registry = CollectorRegistry()
        registry.register(RouterCollector(_Router({
            "routed": 5, "errors": 2,
            "in": {"message": 3, "iq": 2}, "out": {"presence": 4},
            "bounced": {"service-unavailable": 1},
        })))
        get = registry.get_sample_value
        self.assertEqual(get("mongoose_stanzas_in_total", {"type": "message"}), 3)
        self.assertEqual(get("mongoose_stanzas_in_total", {"type": "presence"}), 0)
        self.assertEqual(get("mongoose_stanzas_out_total", {"type": "presence"}), 4)
        self.assertEqual(
            get("mongoose_routing_errors_total", {"condition": "service-unavailable"}), 1
        )
        self.assertEqual(get("mongoose_routing_errors_total", {"condition": "internal"}), 2)


class StorageCollectorTests(SynchronousTestCase):
    """The storage collector before the node opened its database."""

    def test_no_database_yet(self):
        """Before storage is open the histogram family is empty, not an error."""
        registry = CollectorRegistry()
        registry.register(StorageCollector(lambda: None))
        self.assertIsNone(
            registry.get_sample_value("mongoose_storage_query_duration_seconds_count",
                                      {"query": "add_user"})
        )


class StorageTimingContract:
    """Query timings recorded by a real Database (mixed with an engine fixture)."""

    async def test_timings_and_failures_per_interaction(self):
        """Each interaction desc gets a histogram; failures are counted too."""
        stores = await self.open_test_stores()
        self.addCleanup(stores.close)
        database = stores.database

        def select_txn(txn):
            txn.execute("SELECT 1")
            return txn.fetchone()[0]

        def broken_txn(txn):
            txn.execute("SELECT * FROM no_such_table")

        self.assertEqual(await database.run_interaction("metrics_select", select_txn), 1)
        self.assertEqual(await database.run_interaction("metrics_select", select_txn), 1)
        with self.assertRaises(StorageError):
            await database.run_interaction("metrics_broken", broken_txn)
        registry = CollectorRegistry()
        registry.register(StorageCollector(lambda: database))
        get = registry.get_sample_value
        self.assertEqual(
            get("mongoose_storage_query_duration_seconds_count", {"query": "metrics_select"}), 2
        )
        self.assertEqual(
            get("mongoose_storage_query_duration_seconds_bucket",
                {"query": "metrics_select", "le": "+Inf"}),
            2,
        )
        self.assertGreater(
            get("mongoose_storage_query_duration_seconds_sum", {"query": "metrics_select"}), 0
        )
        self.assertEqual(
            get("mongoose_storage_query_failures_total", {"query": "metrics_broken"}), 1
        )
        self.assertEqual(
            get("mongoose_storage_query_failures_total", {"query": "metrics_select"}), 0
        )


class SQLiteStorageTimingTests(StorageTimingContract, SQLiteFixture, TestCase):
    """Timings on a real SQLite file."""


class PostgresStorageTimingTests(StorageTimingContract, PostgresFixture, TestCase):
    """Timings on the real PostgreSQL server."""
