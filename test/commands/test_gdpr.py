"""gdpr.retrievePersonalData: a zip of CSV files with everything stored about a user."""

from __future__ import annotations

import base64
import csv
import io
import json
import os
import zipfile
from datetime import UTC, datetime

import treq
from twisted.internet import reactor
from twisted.trial.unittest import TestCase
from twisted.web.client import HTTPConnectionPool
from twisted.web.server import Site

from mongoose.api.graphql.handler import GraphQLHandler
from mongoose.commands.caller import Caller
from mongoose.commands.defs.gdpr import TABLES
from mongoose.commands.errors import CommandError
from mongoose.storage.interfaces import OfflineMessage, PrivacyItem
from test.support.postgres import database_for
from test.support.sessions import start_im_node

MODULES = """
[modules.mod_presence]
[modules.mod_roster]
[modules.mod_offline]
[modules.mod_vcard]
[modules.mod_private]
[modules.mod_last]
"""

VCARD = "<vCard xmlns='vcard-temp'><FN>Alice A</FN></vCard>"
BOOKMARKS = "<storage xmlns='storage:bookmarks'/>"


def read_zip(path: str) -> dict[str, list[list[str]]]:
    """File name -> CSV rows (header first) of a zip archive."""
    with zipfile.ZipFile(path) as archive:
        return {name: list(csv.reader(io.StringIO(archive.read(name).decode("utf-8"))))
                for name in archive.namelist()}


async def fill(node, user: str = "alice") -> None:
    """Give ``user@localhost`` data in every store."""
    stores = node.stores
    await node.auth.register(user, "localhost", "secret-pw")
    await node.auth.register("bob", "localhost", "pw")
    await node.commands.execute(Caller.admin(), "roster", "addContact", {
        "user": f"{user}@localhost", "contact": "bob@localhost", "name": "Bobby",
        "groups": ["friends", "work"]})
    await stores.offline.store_message("localhost", user, OfflineMessage(
        sender="bob@localhost/res", stamp=datetime(2024, 5, 1, 12, 0, tzinfo=UTC),
        packet="<message xmlns='jabber:client'><body>hi</body></message>"))
    await stores.vcard.set_vcard("localhost", user, VCARD, fn="alice a")
    await stores.private.set_private("localhost", user, {"storage:bookmarks": BOOKMARKS})
    await stores.last.set_last("localhost", user, 1700000000, "gone fishing")
    await stores.privacy.set_list("localhost", user, "blocked",
                                  [PrivacyItem("deny", 1, "jid", "eve@localhost")])
    await stores.privacy.set_default("localhost", user, "blocked")
    await stores.blocklist.add_block("localhost", user, "spam")


class RetrieveTestsMixin:
    """The same retrieval checks on any backend; subclasses start the node."""

    async def start(self, extra: str = ""):
        """Start the node under test (overridden per backend)."""
        raise NotImplementedError

    def retrieve(self, node, username="alice", domain="localhost", path=None, caller=None):
        """Run retrievePersonalData; return the archive path."""
        path = path or os.path.join(os.path.abspath(self.mktemp()) + ".zip")
        d = node.commands.execute(caller or Caller.admin(), "gdpr", "retrievePersonalData",
                                  {"username": username, "domain": domain,
                                   "resultFilepath": path})
        return d, path

    async def test_every_store_in_archive(self):
        """Each store has a CSV with a header row and the user's rows; no password data."""
        node = await self.start()
        await fill(node)
        d, path = self.retrieve(node)
        self.assertEqual(await d, "Data retrieved")
        files = read_zip(path)
        self.assertEqual(set(files), {f"{name}.csv" for name in TABLES})
        for name, header in TABLES.items():
            self.assertEqual(tuple(files[f"{name}.csv"][0]), header)
        accounts = files["accounts.csv"][1:]
        self.assertEqual(accounts[0][0], "alice@localhost")
        self.assertTrue(accounts[0][1].endswith("Z"))
        self.assertEqual(files["roster.csv"][1][:5],
                         ["bob@localhost", "Bobby", "none", "none", "friends;work"])
        self.assertEqual(files["offline.csv"][1][:3],
                         ["2024-05-01T12:00:00Z", "bob@localhost/res", "alice@localhost"])
        self.assertIn("<body>hi</body>", files["offline.csv"][1][4])
        self.assertEqual(files["vcard.csv"][1:], [["alice@localhost", VCARD]])
        self.assertEqual(files["private.csv"][1:], [["storage:bookmarks", BOOKMARKS]])
        self.assertEqual(files["last.csv"][1:], [["2023-11-14T22:13:20Z", "gone fishing"]])
        self.assertEqual(files["privacy.csv"][1:],
                         [["blocked", "true", "1", "deny", "jid", "eve@localhost", ""]])
        self.assertEqual(files["blocklist.csv"][1:], [["alice@localhost", "spam"]])
        with zipfile.ZipFile(path) as archive:
            everything = b"".join(archive.read(n) for n in archive.namelist())
        for secret in (b"secret-pw", b"stored_key", b"server_key", b"salt"):
            self.assertNotIn(secret, everything)

    async def test_user_without_data(self):
        """A user with no data gets header-only files (and the account row)."""
        node = await self.start()
        await node.auth.register("carol", "localhost", "pw")
        d, path = self.retrieve(node, username="carol")
        await d
        files = read_zip(path)
        self.assertEqual(len(files["accounts.csv"]), 2)
        self.assertEqual(len(files["roster.csv"]), 1)

    async def test_unknown_user_and_domain(self):
        """An unknown user or domain is not_found; nothing is written."""
        node = await self.start()
        for username, domain in (("ghost", "localhost"), ("alice", "nowhere.test")):
            d, path = self.retrieve(node, username=username, domain=domain)
            with self.assertRaises(CommandError) as caught:
                await d
            self.assertEqual(caught.exception.code, "not_found")
            self.assertFalse(os.path.exists(path))


class SQLiteRetrieveTests(RetrieveTestsMixin, TestCase):
    """On the embedded SQLite database."""

    async def start(self, extra: str = ""):
        """A node with the IM modules on SQLite."""
        return await start_im_node(self, MODULES + extra)

    async def test_unwritable_path(self):
        """A path in a missing directory is bad_request naming resultFilepath."""
        node = await self.start()
        await node.auth.register("alice", "localhost", "pw")
        d, _ = self.retrieve(node, path="/nonexistent-dir-xyz/out.zip")
        with self.assertRaises(CommandError) as caught:
            await d
        self.assertEqual((caught.exception.code, caught.exception.arg),
                         ("bad_request", "resultFilepath"))

    async def test_domain_admin(self):
        """A domain admin may retrieve data on their domain only."""
        node = await self.start()
        await node.auth.register("alice", "localhost", "pw")
        d, _ = self.retrieve(node, caller=Caller.domain_admin("localhost"))
        self.assertEqual(await d, "Data retrieved")
        d, _ = self.retrieve(node, caller=Caller.domain_admin("other.test"))
        with self.assertRaises(CommandError) as caught:
            await d
        self.assertEqual(caught.exception.code, "forbidden")

    async def test_cached_with_service_cache(self):
        """With service_cache, a second retrieval within the ttl reuses the collected data."""
        node = await self.start("[services.service_cache]\nttl = 3600\n")
        await fill(node)
        d, first = self.retrieve(node)
        await d
        await node.stores.vcard.set_vcard("localhost", "alice", "<vCard xmlns='vcard-temp'/>")
        d, second = self.retrieve(node)
        await d
        self.assertEqual(read_zip(second)["vcard.csv"], read_zip(first)["vcard.csv"])
        cache = node.modules.service("service_cache").cache
        self.assertEqual((cache.hits, cache.misses), (1, 1))

    async def test_without_cache_reads_fresh_data(self):
        """Without service_cache every retrieval reads the stores again."""
        node = await self.start()
        await fill(node)
        d, _ = self.retrieve(node)
        await d
        await node.stores.vcard.set_vcard("localhost", "alice", "<vCard xmlns='vcard-temp'/>")
        d, second = self.retrieve(node)
        await d
        self.assertEqual(read_zip(second)["vcard.csv"][1][1], "<vCard xmlns='vcard-temp'/>")

    async def test_legacy_retrieve_personal_data(self):
        """The admin_extra gdpr submod's retrieve_personal_data writes the same archive."""
        node = await self.start("[services.service_admin_extra]\nsubmods = [\"gdpr\"]\n")
        await fill(node)
        path = os.path.abspath(self.mktemp()) + ".zip"
        result = await node.commands.execute(
            Caller.admin(), "gdpr", "retrieve_personal_data",
            {"username": "alice", "domain": "localhost", "filepath": path}, source="cli")
        self.assertEqual(result, "Data retrieved")
        self.assertEqual(read_zip(path)["blocklist.csv"][1], ["alice@localhost", "spam"])

    async def test_graphql_over_socket(self):
        """The MongooseIM GraphQL query writes the archive; errors carry not_found."""
        node = await self.start()
        await fill(node)
        pool = HTTPConnectionPool(reactor, persistent=False)
        port = reactor.listenTCP(0, Site(GraphQLHandler(
            {"schema_endpoint": "admin", "username": "admin", "password": "secret"}, node)),
            interface="127.0.0.1")
        self.addCleanup(port.stopListening)
        url = f"http://127.0.0.1:{port.getHost().port}/api/graphql"
        token = base64.b64encode(b"admin:secret").decode()
        path = os.path.abspath(self.mktemp()) + ".zip"

        async def post(username):
            query = ("query($u: UserName!, $d: DomainName!, $p: String!) { gdpr { "
                     "retrievePersonalData(username: $u, domain: $d, resultFilepath: $p) } }")
            response = await treq.post(url, json.dumps({"query": query, "variables": {
                "u": username, "d": "localhost", "p": path}}).encode(), headers={
                "Content-Type": ["application/json"], "Authorization": [f"Basic {token}"]},
                pool=pool)
            return json.loads(await response.content())

        body = await post("alice")
        self.assertEqual(body["data"]["gdpr"]["retrievePersonalData"], "Data retrieved")
        self.assertEqual(read_zip(path)["vcard.csv"][1], ["alice@localhost", VCARD])
        body = await post("ghost")
        self.assertEqual(body["errors"][0]["extensions"]["code"], "not_found")


class PostgresRetrieveTests(RetrieveTestsMixin, TestCase):
    """On PostgreSQL (skipped when it is unreachable, except under CI=true)."""

    async def start(self, extra: str = ""):
        """A node with the IM modules on a fresh PostgreSQL database."""
        pool = await database_for(self)
        conn = pool["connection"]
        lines = ["[outgoing_pools.rdbms.default]", "  workers = 2",
                 "  [outgoing_pools.rdbms.default.connection]", '    driver = "pgsql"']
        for key in ("host", "database", "username"):
            lines.append(f"    {key} = {json.dumps(conn[key])}")
        # The option is required; the test server trusts local connections.
        lines.append(f"    password = {json.dumps(conn.get('password') or 'trusted')}")
        lines.append(f"    port = {conn['port']}")
        node = await start_im_node(self, MODULES + extra + "\n" + "\n".join(lines) + "\n")
        for user in ("alice", "bob", "carol"):  # one database per class: start clean
            await node.stores.auth.remove_user("localhost", user)
            for store in (node.stores.roster, node.stores.offline, node.stores.vcard,
                          node.stores.private, node.stores.last, node.stores.privacy):
                await store.remove_user("localhost", user)
            await node.stores.blocklist.remove_block("localhost", user)
        return node
