"""The server commands: status, log level, node identifier, cluster refusals, config reload."""

from __future__ import annotations

import base64
import json
import os

import treq
from twisted.internet import reactor
from twisted.logger import Logger, LogPublisher
from twisted.trial.unittest import TestCase
from twisted.web.client import HTTPConnectionPool
from twisted.web.server import Site

from mongoose.api.graphql.handler import GraphQLHandler
from mongoose.commands.caller import Caller
from mongoose.commands.defs.admin_extra import admin_extra_commands
from mongoose.commands.defs.server import LogLevelControl, ServerControl, server_commands
from mongoose.commands.errors import CommandError
from mongoose.commands.registry import CommandRegistry
from mongoose.config.loader import load_config, parse_config
from mongoose.logging import apply_log_level
from test.support.sessions import start_im_node

CONFIG = """
[general]
  hosts = ["localhost"]
  default_server_domain = "localhost"
  loglevel = "{level}"
[auth.internal]
{modules}
"""


class ServerCommandTests(TestCase):
    """The commands on a registry with a ServerControl of test parts."""

    def setUp(self):
        """A control on a temporary data dir and a private log publisher."""
        self.data_dir = os.path.abspath(self.mktemp())
        self.publisher, self.seen = LogPublisher(), []
        self.publisher.addObserver(self.seen.append)
        apply_log_level("warning", self.publisher)
        self.config_path = os.path.abspath(self.mktemp()) + ".toml"
        self.write_config("warning", "")
        self.stopped = []
        self.registry = self.make_registry()

    def write_config(self, level, modules):
        """Write the config file the control reloads."""
        with open(self.config_path, "w") as handle:
            handle.write(CONFIG.format(level=level, modules=modules))

    def make_registry(self):
        """A registry with the server commands and the legacy node submod."""
        config = load_config(self.config_path)
        control = ServerControl(lambda: config, self.data_dir,
                                LogLevelControl("warning", self.publisher),
                                services=lambda: ["service_admin_extra"],
                                reload=load_config, stop=lambda: self.stopped.append(True),
                                reactor=reactor, started=0)
        registry = CommandRegistry()
        for command in server_commands(control):
            registry.register(command)
        for command in admin_extra_commands(registry, ["node"]):
            registry.register(command)
        return registry

    def run_cmd(self, name, category="server", **args):
        """Run a command as the admin."""
        return self.registry.execute(Caller.admin(), category, name, args)

    async def test_status(self):
        """status says RUNNING with the version, node identifier and uptime."""
        status = await self.run_cmd("status")
        self.assertEqual(status["statusCode"], "RUNNING")
        self.assertRegex(status["version"], r"^\d+\.\d+")
        self.assertEqual(status["node"], await self.run_cmd("getCookie"))
        self.assertGreater(status["uptimeSeconds"], 0)

    async def test_cookie_is_stable(self):
        """getCookie is 32 hex digits kept in the data dir across restarts."""
        first = await self.run_cmd("getCookie")
        self.assertRegex(first, r"^[0-9a-f]{32}$")
        self.registry = self.make_registry()  # a "restarted" node on the same data dir
        self.assertEqual(await self.run_cmd("getCookie"), first)
        self.assertEqual(await self.run_cmd("get_cookie", category="node"), first)

    async def test_log_level_filters_at_run_time(self):
        """setLoglevel changes what reaches the log observers; getLoglevel reports it."""
        log = Logger(observer=self.publisher)
        log.info("hidden")
        self.assertEqual(await self.run_cmd("getLoglevel"), "warning")
        await self.run_cmd("setLoglevel", level="debug")
        log.info("shown")
        self.assertEqual(await self.run_cmd("getLoglevel"), "debug")
        await self.run_cmd("setLoglevel", level="none")
        log.critical("dropped")
        self.assertEqual([e["log_format"] for e in self.seen], ["shown"])
        with self.assertRaises(CommandError) as caught:
            await self.run_cmd("setLoglevel", level="loud")
        self.assertEqual((caught.exception.code, caught.exception.arg), ("bad_request", "level"))

    async def test_cluster_commands_refused(self):
        """Cluster commands and restart are not_allowed with an explanation."""
        for name, args, words in (
                ("joinCluster", {"node": "n@h"}, "cluster"), ("leaveCluster", {}, "cluster"),
                ("removeFromCluster", {"node": "n@h"}, "cluster"),
                ("removeNode", {"node": "n@h"}, "cluster"), ("restart", {}, "service manager")):
            with self.assertRaises(CommandError) as caught:
                await self.run_cmd(name, **args)
            self.assertEqual(caught.exception.code, "not_allowed")
            self.assertIn(words, caught.exception.message)
        with self.assertRaises(CommandError) as caught:
            await self.run_cmd("remove_node", category="node", node="n@h")
        self.assertIn("not part of an Erlang cluster", caught.exception.message)

    async def test_stop(self):
        """stop calls the node's stop function."""
        self.assertEqual(await self.run_cmd("stop"), "The node is stopping")
        self.assertEqual(self.stopped, [True])

    async def test_global_info_and_host_types(self):
        """globalInfo lists services; hostTypes the domain with its modules and auth methods."""
        info = await self.run_cmd("globalInfo")
        self.assertEqual(info["services"], [{"name": "service_admin_extra"}])
        self.write_config("warning", "[modules.mod_ping]\nsend_pings = true\n")
        self.registry = self.make_registry()
        host_types = await self.run_cmd("hostTypes")
        self.assertEqual(host_types[0]["name"], "localhost")
        ping = host_types[0]["modules"][0]
        self.assertEqual(ping["name"], "mod_ping")
        self.assertIn({"key": "send_pings", "value": "true"}, ping["options"])

    async def test_load_config(self):
        """load_config applies the log level and names sections that need a restart."""
        self.assertIn("no changes", await self.run_cmd("loadConfig"))
        self.write_config("debug", "[modules.mod_ping]\n")
        report = await self.run_cmd("load_config", category="node", path=self.config_path)
        self.assertIn("applied: general.loglevel = debug", report)
        self.assertIn("next restart: modules", report)
        self.assertEqual(await self.run_cmd("getLoglevel"), "debug")

    async def test_load_config_invalid(self):
        """An invalid or missing file is bad_request naming the problem; nothing changes."""
        self.write_config("chatty", "")
        with self.assertRaises(CommandError) as caught:
            await self.run_cmd("loadConfig")
        self.assertEqual(caught.exception.code, "bad_request")
        self.assertIn("general.loglevel", caught.exception.message)
        with self.assertRaises(CommandError) as caught:
            await self.run_cmd("loadConfig", path="/no/such/file.toml")
        self.assertIn("cannot read", caught.exception.message)
        self.assertEqual(await self.run_cmd("getLoglevel"), "warning")

    async def test_load_config_without_file(self):
        """A node configured from a string needs an explicit path."""
        config = parse_config(CONFIG.format(level="warning", modules=""))
        registry = CommandRegistry()
        for command in server_commands(ServerControl(
                lambda: config, self.data_dir, LogLevelControl("warning", self.publisher),
                reload=load_config)):
            registry.register(command)
        with self.assertRaises(CommandError) as caught:
            await registry.execute(Caller.admin(), "server", "loadConfig", {})
        self.assertEqual(caught.exception.arg, "path")

    async def test_domain_admin_refused(self):
        """Server commands are for the global admin only."""
        with self.assertRaises(CommandError) as caught:
            await self.registry.execute(Caller.domain_admin("localhost"), "server", "status", {})
        self.assertEqual(caught.exception.code, "forbidden")


class ServerGraphQLTests(TestCase):
    """The MongooseIM server queries over a real socket on a started node."""

    async def test_status_loglevel_cookie(self):
        """status, getLoglevel, getCookie and setLoglevel as MongooseIM clients send them."""
        node = await start_im_node(self)
        pool = HTTPConnectionPool(reactor, persistent=False)
        port = reactor.listenTCP(0, Site(GraphQLHandler(
            {"schema_endpoint": "admin", "username": "admin", "password": "secret"}, node)),
            interface="127.0.0.1")
        self.addCleanup(port.stopListening)
        url = f"http://127.0.0.1:{port.getHost().port}/api/graphql"
        token = base64.b64encode(b"admin:secret").decode()

        async def gql(query):
            response = await treq.post(url, json.dumps({"query": query}).encode(), headers={
                "Content-Type": ["application/json"], "Authorization": [f"Basic {token}"]},
                pool=pool)
            return json.loads(await response.content())

        body = await gql("query { server { status { statusCode version message } "
                         "getLoglevel getCookie } }")
        server = body["data"]["server"]
        self.assertEqual(server["status"]["statusCode"], "RUNNING")
        self.assertEqual(server["getLoglevel"], "WARNING")
        self.assertRegex(server["getCookie"], r"^[0-9a-f]{32}$")
        with open(os.path.join(node.test_data_dir, "node_id")) as handle:
            self.assertEqual(handle.read().strip(), server["getCookie"])
        body = await gql("mutation { server { setLoglevel(level: DEBUG) } }")
        self.assertEqual(body["data"]["server"]["setLoglevel"], "Log level set to debug")
        body = await gql("query { server { getLoglevel } }")
        self.assertEqual(body["data"]["server"]["getLoglevel"], "DEBUG")
        body = await gql('mutation { server { joinCluster(node: "mongooseim@other") } }')
        self.assertEqual(body["errors"][0]["extensions"]["code"], "not_allowed")
