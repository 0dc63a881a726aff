"""The thread-pooled Database wrapper on real SQLite files and PostgreSQL databases."""

from __future__ import annotations

import threading

import psycopg
from twisted.internet import defer, threads
from twisted.trial import unittest
from zope.interface.verify import verifyObject

from mongoose.auth.password import make_secret
from mongoose.storage.errors import StorageError
from mongoose.storage.interfaces import IDatabase
from test.storage.fixtures import PostgresFixture, SQLiteFixture
from test.support.postgres import ADMIN_CONNINFO


def _insert_txn(txn, name):
    txn.execute("INSERT INTO users (domain, username) VALUES (?, ?)", ("example.com", name))


def _count_txn(txn):
    txn.execute("SELECT COUNT(*) FROM users")
    return txn.fetchone()[0]


def _thread_txn(txn):
    txn.execute("SELECT 1")
    return threading.current_thread()


class _Boom(Exception):
    pass


class DatabaseContract:
    """Behaviour every engine shares."""

    async def _setUp(self):
        await self.reset_database()
        self.stores = await self.open_test_stores()
        self.db = self.stores.database

    def setUp(self):
        """Open an empty, migrated database."""
        return defer.ensureDeferred(self._setUp())

    def tearDown(self):
        """Close it."""
        return self.stores.close()

    def test_provides_interface(self):
        """The wrapper provides IDatabase and reports its engine."""
        self.assertTrue(verifyObject(IDatabase, self.db))
        self.assertEqual(self.stores.engine_name, self.engine_name)

    async def test_result_fires(self):
        """run_interaction fires what the function returned."""
        await self.db.run_interaction("insert", _insert_txn, "alice")
        self.assertEqual(await self.db.run_interaction("count", _count_txn), 1)

    async def test_not_on_reactor_thread(self):
        """Interactions run on a database thread, never the reactor thread."""
        thread = await self.db.run_interaction("thread", _thread_txn)
        self.assertIsNot(thread, threading.current_thread())
        self.assertIn(f"mongoose-{self.engine_name}", thread.name)

    async def test_exception_rolls_back(self):
        """An exception from the function rolls the transaction back and reaches the caller."""

        def insert_then_fail_txn(txn):
            _insert_txn(txn, "alice")
            raise _Boom("no")

        with self.assertRaises(_Boom):
            await self.db.run_interaction("fail", insert_then_fail_txn)
        self.assertEqual(await self.db.run_interaction("count", _count_txn), 0)

    async def test_driver_error_is_storage_error(self):
        """A SQL error arrives as a one-line StorageError naming the interaction."""

        def bad_txn(txn):
            txn.execute("SELECT * FROM no_such_table")

        with self.assertRaises(StorageError) as caught:
            await self.db.run_interaction("look at nothing", bad_txn)
        message = str(caught.exception)
        self.assertIn("look at nothing failed", message)
        self.assertIn("no_such_table", message)
        self.assertNotIn("\n", message)

    async def test_constraint_violation(self):
        """A duplicate primary key is a StorageError and the first row stays."""
        await self.db.run_interaction("insert", _insert_txn, "alice")
        with self.assertRaises(StorageError):
            await self.db.run_interaction("insert again", _insert_txn, "alice")
        self.assertEqual(await self.db.run_interaction("count", _count_txn), 1)

    async def test_closed_database_refuses_work(self):
        """After close, interactions fail with a StorageError saying it is closed."""
        await self.db.close()
        with self.assertRaises(StorageError) as caught:
            await self.db.run_interaction("late", _count_txn)
        self.assertIn("closed", str(caught.exception))

    async def test_close_waits_for_running_work(self):
        """close fires only after a running interaction has finished."""
        started, release = threading.Event(), threading.Event()

        def slow_txn(txn):
            started.set()
            release.wait(10)
            _insert_txn(txn, "slow")
            return "done"

        running = self.db.run_interaction("slow", slow_txn)
        await threads.deferToThread(started.wait, 10)
        closing = self.db.close()
        self.assertNoResult(closing)
        release.set()
        self.assertEqual(await running, "done")
        await closing

    async def test_placeholders_in_quotes(self):
        """A question mark or percent sign inside a quoted literal is not a placeholder."""

        def literal_txn(txn):
            txn.execute("SELECT 'what?', '100%', ?", ("x",))
            return tuple(txn.fetchone())

        self.assertEqual(
            await self.db.run_interaction("literal", literal_txn), ("what?", "100%", "x")
        )


class SQLiteDatabaseTests(DatabaseContract, SQLiteFixture, unittest.TestCase):
    """Database on a SQLite file."""

    async def test_one_dedicated_thread(self):
        """Every SQLite interaction runs on the same single thread."""
        seen = await defer.gatherResults(
            [self.db.run_interaction("thread", _thread_txn) for _ in range(10)]
        )
        self.assertEqual(len({id(t) for t in seen}), 1)

    async def test_store_queries_off_reactor_thread(self):
        """The auth store's SQL statements all execute off the reactor thread."""
        statements = []

        def trace_txn(txn):
            txn.connection.set_trace_callback(
                lambda sql: statements.append((threading.current_thread(), sql))
            )

        await self.db.run_interaction("trace", trace_txn)
        secret = make_secret("pw", format="plain")
        await self.stores.auth.add_user("example.com", "alice", secret)
        await self.stores.auth.list_users("example.com")
        reactor_thread = threading.current_thread()
        self.assertTrue(any("INSERT INTO users" in sql for _, sql in statements))
        self.assertTrue(any("SELECT username FROM users" in sql for _, sql in statements))
        self.assertFalse([sql for thread, sql in statements if thread is reactor_thread])

    async def test_pragmas(self):
        """The connection uses write-ahead logging and enforces foreign keys."""

        def pragmas_txn(txn):
            txn.execute("PRAGMA journal_mode")
            journal = txn.fetchone()[0]
            txn.execute("PRAGMA foreign_keys")
            return journal, txn.fetchone()[0]

        self.assertEqual(await self.db.run_interaction("pragmas", pragmas_txn), ("wal", 1))


class PostgresDatabaseTests(DatabaseContract, PostgresFixture, unittest.TestCase):
    """Database on a PostgreSQL database (4 workers)."""

    async def test_workers_run_in_parallel(self):
        """As many interactions as workers run at the same time, each on its own connection."""
        barrier = threading.Barrier(4, timeout=10)

        def meet_txn(txn):
            txn.execute("SELECT pg_backend_pid()")
            pid = txn.fetchone()[0]
            barrier.wait()
            return pid, threading.current_thread().name

        results = await defer.gatherResults(
            [self.db.run_interaction("meet", meet_txn) for _ in range(4)]
        )
        self.assertEqual(len({pid for pid, _ in results}), 4)
        self.assertEqual(len({name for _, name in results}), 4)

    async def test_reconnects_after_lost_connection(self):
        """A connection killed by the server is replaced and the work still succeeds."""

        def pid_txn(txn):
            txn.execute("SELECT pg_backend_pid()")
            return txn.fetchone()[0]

        pids = await defer.gatherResults(
            [self.db.run_interaction("pid", pid_txn) for _ in range(4)]
        )

        def terminate():
            with psycopg.connect(ADMIN_CONNINFO, autocommit=True) as conn:
                for pid in set(pids):
                    conn.execute("SELECT pg_terminate_backend(%s)", (pid,))

        await threads.deferToThread(terminate)
        await self.db.run_interaction("insert", _insert_txn, "alice")
        self.assertEqual(await self.db.run_interaction("count", _count_txn), 1)
