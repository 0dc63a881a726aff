"""open_stores: choosing the engine from outgoing_pools.rdbms.default."""

from __future__ import annotations

import os
import socket
import threading

from psycopg.conninfo import conninfo_to_dict
from twisted.trial import unittest

from mongoose.config.schema import Options
from mongoose.storage.errors import StorageError, UnsupportedDriverError
from mongoose.storage.factory import Stores, open_stores
from mongoose.storage.interfaces import IAuthStore
from mongoose.storage.sql.engines.postgres import conninfo_from_options, convert_placeholders
from test.storage.fixtures import PostgresFixture


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _options(value):
    if isinstance(value, dict):
        return Options({k: _options(v) for k, v in value.items()})
    return value


class OpenSQLiteTests(unittest.TestCase):
    """The embedded default and explicit SQLite pools."""

    async def test_default_is_sqlite_in_data_dir(self):
        """With no pool, a SQLite file appears at <data_dir>/mongooseim.db (dir created)."""
        data_dir = os.path.join(self.mktemp(), "nested", "data")
        stores = await open_stores(None, data_dir)
        self.addCleanup(stores.close)
        self.assertIsInstance(stores, Stores)
        self.assertEqual(stores.engine_name, "sqlite")
        self.assertTrue(IAuthStore.providedBy(stores.auth))
        self.assertTrue(os.path.isfile(os.path.join(data_dir, "mongooseim.db")))

    async def test_config_options_object(self):
        """A parsed Options tree with driver sqlite names the file, relative to the cwd."""
        relative = os.path.join(self.mktemp(), "x", "my.db")
        pool = _options({"workers": 5, "connection": {"driver": "sqlite", "database": relative}})
        stores = await open_stores(pool, self.mktemp())
        self.addCleanup(stores.close)
        self.assertEqual(stores.engine_name, "sqlite")
        self.assertTrue(os.path.isfile(os.path.abspath(relative)))

    async def test_close_stops_threads(self):
        """After close, no database thread of the stores is left running."""
        stores = await open_stores(None, self.mktemp())
        thread = await stores.database.run_interaction(
            "thread", lambda txn: threading.current_thread()
        )
        self.assertTrue(thread.is_alive())
        await stores.close()
        self.assertFalse(thread.is_alive())

    async def test_data_dir_cannot_be_created(self):
        """A data directory that cannot be created is a StorageError naming it."""
        blocker = self.mktemp()
        with open(blocker, "w") as f:
            f.write("a file, not a directory")
        data_dir = os.path.join(blocker, "data")
        with self.assertRaises(StorageError) as caught:
            await open_stores(None, data_dir)
        self.assertIn(data_dir, str(caught.exception))

    async def test_unusable_file(self):
        """A file that is not a database is a one-line StorageError naming it."""
        data_dir = self.mktemp()
        os.makedirs(data_dir)
        path = os.path.join(data_dir, "mongooseim.db")
        with open(path, "wb") as f:
            f.write(b"this is not a database" * 100)
        with self.assertRaises(StorageError) as caught:
            await open_stores(None, data_dir)
        self.assertIn(path, str(caught.exception))
        self.assertNotIn("\n", str(caught.exception))


class UnsupportedDriverTests(unittest.TestCase):
    """Drivers we do not implement are refused, never replaced."""

    async def test_mysql_and_odbc(self):
        """mysql and odbc raise UnsupportedDriverError naming the option and the choices."""
        for driver in ("mysql", "odbc"):
            data_dir = self.mktemp()
            pool = {"workers": 2, "connection": {"driver": driver, "database": "x"}}
            with self.assertRaises(UnsupportedDriverError) as caught:
                await open_stores(pool, data_dir)
            message = str(caught.exception)
            self.assertIn("outgoing_pools.rdbms.default.connection.driver", message)
            self.assertIn(repr(driver), message)
            self.assertIn("'pgsql'", message)
            self.assertEqual(os.listdir(data_dir), [])

    async def test_missing_connection(self):
        """A pool without a connection table is a StorageError."""
        with self.assertRaises(StorageError) as caught:
            await open_stores({"workers": 2}, self.mktemp())
        self.assertIn("connection", str(caught.exception))


class PostgresConnectTests(PostgresFixture, unittest.TestCase):
    """Opening PostgreSQL pools."""

    async def test_unreachable_server(self):
        """A closed port gives one line naming host and port, with no traceback."""
        port = _free_port()
        pool = {
            "workers": 2,
            "connection": {
                "driver": "pgsql",
                "host": "127.0.0.1",
                "port": port,
                "database": "mongooseim",
                "username": "mongooseim",
                "password": "s3cret-pw",
            },
        }
        with self.assertRaises(StorageError) as caught:
            await open_stores(pool, self.mktemp())
        message = str(caught.exception)
        self.assertIn(f"127.0.0.1:{port}", message)
        self.assertNotIn("\n", message)
        self.assertNotIn("s3cret-pw", message)

    async def test_opens_pgsql(self):
        """A reachable pgsql pool opens with engine name pgsql and working stores."""
        stores = await open_stores(_options(await self.pool_options()), self.mktemp())
        self.addCleanup(stores.close)
        self.assertEqual(stores.engine_name, "pgsql")
        self.assertIsInstance(await stores.auth.count_users("example.com"), int)

    async def test_missing_database(self):
        """A database that does not exist is a StorageError naming it."""
        pool = await self.pool_options()
        pool["connection"]["database"] = "mongoose_no_such_db"
        with self.assertRaises(StorageError) as caught:
            await open_stores(pool, self.mktemp())
        self.assertIn("mongoose_no_such_db", str(caught.exception))


class ConninfoTests(unittest.SynchronousTestCase):
    """MongooseIM pgsql options become libpq connection parameters."""

    def _params(self, connection):
        conninfo, description = conninfo_from_options(connection)
        return conninfo_to_dict(conninfo), description

    def test_defaults_and_description(self):
        """Host, port, database and user are used; the description omits the password."""
        params, description = self._params(
            {"host": "db.example", "database": "mim", "username": "u", "password": "pw"}
        )
        self.assertEqual(
            (params["host"], params["port"], params["dbname"], params["user"]),
            ("db.example", "5432", "mim", "u"),
        )
        self.assertEqual(params["sslmode"], "disable")
        self.assertIn("db.example:5432", description)
        self.assertNotIn("pw", description)

    def test_tls_modes(self):
        """tls.required, verify_mode, cacertfile and SNI choose the libpq sslmode."""
        cases = [
            ({"required": False}, "prefer"),
            ({"required": True, "verify_mode": "none"}, "require"),
            ({"required": True, "verify_mode": "selfsigned_peer"}, "require"),
            (
                {"required": True, "verify_mode": "selfsigned_peer", "cacertfile": "ca"},
                "verify-full",
            ),
            ({"required": True, "cacertfile": "ca.pem"}, "verify-full"),
            ({"required": True}, "verify-full"),
            (
                {
                    "required": True,
                    "cacertfile": "ca.pem",
                    "server_name_indication": {"enabled": False},
                },
                "verify-ca",
            ),
        ]
        for tls, mode in cases:
            params, _ = self._params({"host": "h", "tls": _options(tls)})
            self.assertEqual(params["sslmode"], mode, tls)

    def test_tls_files(self):
        """Certificate, key, key password and CA files are passed on to libpq."""
        params, description = self._params(
            {
                "tls": {
                    "required": True,
                    "cacertfile": "/ca.pem",
                    "certfile": "/c.pem",
                    "keyfile": "/k.pem",
                    "password": "keypw",
                }
            }
        )
        self.assertEqual(
            (params["sslrootcert"], params["sslcert"], params["sslkey"], params["sslpassword"]),
            ("/ca.pem", "/c.pem", "/k.pem", "keypw"),
        )
        self.assertNotIn("keypw", description)

    def test_timeouts(self):
        """query_timeout becomes a statement timeout and keepalive_interval TCP keepalives."""
        params, _ = self._params({"query_timeout": 5000, "keepalive_interval": 30})
        self.assertEqual(params["options"], "-c statement_timeout=5000")
        self.assertEqual(params["keepalives_idle"], "30")


class PlaceholderTests(unittest.SynchronousTestCase):
    """convert_placeholders rewrites only real placeholders."""

    def test_convert(self):
        """? becomes %s and % is escaped, except inside quotes and comments."""
        self.assertEqual(
            convert_placeholders("SELECT ?, '?%', \"a?\" FROM t WHERE x LIKE ? -- why?\n"),
            "SELECT %s, '?%%', \"a?\" FROM t WHERE x LIKE %s -- why?\n",
        )
