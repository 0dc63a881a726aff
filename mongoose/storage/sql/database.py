"""Run SQL transactions on a thread pool so database work never blocks the reactor.

:class:`Database` holds an engine (:mod:`mongoose.storage.sql.engines`), a
Twisted thread pool sized to the engine's connection limit and the idle
connections.  Each :meth:`Database.run_interaction` borrows a connection on a
pool thread, runs one function (named ``*_txn`` by convention) in one
transaction and fires the result on the reactor thread (DESIGN.md
principles 4 and 7).
"""

from __future__ import annotations

import threading
import time
from bisect import bisect_left
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from twisted.internet import defer
from twisted.internet.threads import deferToThreadPool
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.python.threadpool import ThreadPool
from zope.interface import implementer

from mongoose.storage.errors import StorageError, one_line
from mongoose.storage.interfaces import IDatabase
from mongoose.storage.sql.engines.base import ISQLEngine

__all__ = ["Database", "Transaction", "QueryTimes", "QUERY_TIME_BUCKETS", "MAX_RETRIES"]

T = TypeVar("T")

#: How many times a transaction is run again after a deadlock, a
#: serialisation failure, a busy database or a lost connection.
MAX_RETRIES = 3

#: Upper bounds in seconds of the :class:`QueryTimes` histogram buckets.
QUERY_TIME_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class QueryTimes:
    """How long the interactions with one ``desc`` took, as a histogram (reactor thread only).

    Attributes:
        count: finished interactions.
        failures: those that failed.
        total: their summed duration in seconds.
        buckets: per :data:`QUERY_TIME_BUCKETS` bound (plus one for larger
            durations), how many took at most that long and more than the
            previous bound (not cumulative).
    """

    __slots__ = ("count", "failures", "total", "buckets")

    def __init__(self) -> None:
        self.count = 0
        self.failures = 0
        self.total = 0.0
        self.buckets = [0] * (len(QUERY_TIME_BUCKETS) + 1)

    def observe(self, seconds: float, failed: bool) -> None:
        """Record one finished interaction."""
        self.count += 1
        self.failures += failed
        self.total += seconds
        self.buckets[bisect_left(QUERY_TIME_BUCKETS, seconds)] += 1


class Transaction:
    """The object a ``*_txn`` function receives: one cursor in one transaction.

    SQL is written with ``?`` placeholders; the engine converts them.

    Args:
        cursor: the DB-API cursor.
        engine: the engine of the database.
        desc: the interaction's description.
    """

    __slots__ = ("_cursor", "engine", "desc")

    def __init__(self, cursor: Any, engine: ISQLEngine, desc: str):
        self._cursor = cursor
        self.engine = engine
        self.desc = desc

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        """Execute one statement.

        Args:
            sql: the statement, with ``?`` placeholders.
            params: one value per placeholder.
        """
        self._cursor.execute(self.engine.convert(sql), tuple(params))

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        """Execute one statement once per row of parameters."""
        self._cursor.executemany(self.engine.convert(sql), [tuple(r) for r in rows])

    def fetchone(self) -> tuple[Any, ...] | None:
        """Return the next row of the last query, or None."""
        return self._cursor.fetchone()

    def fetchall(self) -> list[tuple[Any, ...]]:
        """Return the remaining rows of the last query."""
        return list(self._cursor.fetchall())

    @property
    def rowcount(self) -> int:
        """Rows changed by the last INSERT, UPDATE or DELETE."""
        return self._cursor.rowcount

    @property
    def connection(self) -> Any:
        """The raw DB-API connection, for engine-specific features (and tests)."""
        return self._cursor.connection


@implementer(IDatabase)
class Database:
    """A SQL database used from a dedicated thread pool.

    The pool has ``engine.max_connections`` threads, and each thread uses at
    most one connection at a time, so SQLite (one connection) gets one
    dedicated thread and PostgreSQL ``workers`` threads and connections.
    Connections are opened lazily on pool threads.

    Args:
        engine: an :class:`~mongoose.storage.sql.engines.base.ISQLEngine`.
        reactor: the reactor to fire results on (default: the global one).
    """

    log = Logger()

    def __init__(self, engine: ISQLEngine, reactor: Any = None):
        if reactor is None:
            from twisted.internet import reactor as default_reactor

            reactor = default_reactor
        self.engine = engine
        self._reactor = reactor
        self._lock = threading.Lock()
        self._idle: list[Any] = []
        self._running = 0
        self._drained: list[defer.Deferred[None]] = []
        self._closed = False
        #: desc -> QueryTimes, from submission to result (queueing included).
        self.query_times: dict[str, QueryTimes] = {}
        self._threadpool = ThreadPool(
            minthreads=0, maxthreads=engine.max_connections, name=f"mongoose-{engine.name}"
        )
        self._threadpool.start()
        self._trigger: Any = reactor.addSystemEventTrigger("during", "shutdown", self._on_shutdown)

    def run_interaction(
        self, desc: str, fn: Callable[..., T], *args: Any, **kwargs: Any
    ) -> defer.Deferred[T]:
        """Run ``fn(txn, *args, **kwargs)`` in one transaction; see :class:`IDatabase`."""
        if self._closed:
            return defer.fail(StorageError(f"{desc}: {self.engine.description} is closed"))
        self._running += 1
        started = time.perf_counter()
        d = deferToThreadPool(
            self._reactor, self._threadpool, self._interaction, desc, fn, args, kwargs
        )
        d.addBoth(self._finished)
        d.addBoth(self._timed, desc, started)
        return d

    def close(self) -> defer.Deferred[None]:
        """Wait for running work, close every connection and stop the threads."""
        return defer.ensureDeferred(self._close())

    async def _close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._running:
            waiter: defer.Deferred[None] = defer.Deferred()
            self._drained.append(waiter)
            await waiter
        if self._trigger is None:  # the reactor shut the threads down already
            self._close_connections()
            return
        await deferToThreadPool(self._reactor, self._threadpool, self._close_connections)
        self._stop_threads()

    def _finished(self, result: Any) -> Any:
        self._running -= 1
        if not self._running:
            waiters, self._drained = self._drained, []
            for waiter in waiters:
                waiter.callback(None)
        return result

    def _timed(self, result: Any, desc: str, started: float) -> Any:
        times = self.query_times.get(desc)
        if times is None:
            times = self.query_times[desc] = QueryTimes()
        times.observe(time.perf_counter() - started, isinstance(result, Failure))
        return result

    def _on_shutdown(self) -> None:
        # The trigger is consumed by firing; it must not be removed again.
        self._trigger = None
        self._threadpool.stop()

    def _stop_threads(self) -> None:
        if self._trigger is None:
            return
        self._reactor.removeSystemEventTrigger(self._trigger)
        self._trigger = None
        self._threadpool.stop()

    # Everything below runs on pool threads.

    def _close_connections(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for connection in idle:
            self.engine.close(connection)

    def _acquire(self) -> Any:
        with self._lock:
            if self._idle:
                return self._idle.pop()
        return self.engine.connect()

    def _release(self, connection: Any, broken: bool = False) -> None:
        if broken:
            # A lost connection usually means the server restarted or a
            # network path broke: the idle ones are most likely dead too.
            self.engine.close(connection)
            self._close_connections()
            return
        with self._lock:
            self._idle.append(connection)

    def _interaction(
        self, desc: str, fn: Callable[..., T], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> T:
        engine = self.engine
        attempt = 0
        while True:
            connection = self._acquire()
            committing = False
            try:
                engine.begin(connection)
                cursor = connection.cursor()
                try:
                    result = fn(Transaction(cursor, engine, desc), *args, **kwargs)
                finally:
                    cursor.close()
                committing = True
                connection.commit()
            except BaseException as exc:
                broken = engine.is_disconnect(exc, connection)
                if not broken:
                    try:
                        connection.rollback()
                    except engine.driver_errors:
                        broken = True
                self._release(connection, broken)
                if not isinstance(exc, engine.driver_errors):
                    raise
                retry = engine.is_retryable(exc) or (broken and not committing)
                if retry and attempt < MAX_RETRIES:
                    attempt += 1
                    self.log.info(
                        "Running {desc} again after: {error}", desc=desc, error=one_line(exc)
                    )
                    continue
                raise StorageError(
                    f"{desc} failed on {engine.description}: {one_line(exc)}"
                ) from exc
            self._release(connection)
            return result
