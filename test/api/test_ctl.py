"""Tests for mongoose.api.ctl (mongooseimctl), against a real admin API on loopback."""

from __future__ import annotations

import io
import os
import socket
import textwrap

from twisted.internet import reactor, threads
from twisted.trial.unittest import SynchronousTestCase, TestCase
from twisted.web.resource import Resource
from twisted.web.server import Site

from mongoose.api.ctl import CONFIG_ENV, CtlError, admin_endpoint, find_config, main
from mongoose.api.rest import AdminAPI
from mongoose.commands.defs.account import account_commands
from mongoose.commands.registry import Arg, Command, CommandRegistry
from mongoose.commands.types import STRING, ListOf
from test.support.fakeauth import FakeAuth

CONFIG = """\
[general]
hosts = ["localhost"]

[[listen.http]]
  port = 5280
  [[listen.http.handlers.mongoose_bosh_handler]]
    host = "_"
    path = "/http-bind"

[[listen.http]]
  ip_address = "{ip}"
  port = {port}
  [[listen.http.handlers.mongoose_admin_api]]
    host = "_"
    path = "/api"
    username = "{user}"
    password = "secret"
"""


def write_config(path: str, port: int, ip: str = "127.0.0.1", user: str = "admin") -> str:
    """Write a MongooseIM-style config naming the admin API listener."""
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(CONFIG.format(ip=ip, port=port, user=user))
    return path


def closed_port() -> int:
    """A loopback port nothing listens on."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


class ConfigDiscoveryTests(SynchronousTestCase):
    """Finding the config file and the admin listener in it."""

    def test_endpoint_from_config(self):
        """The first listener with mongoose_admin_api gives address, path and credentials."""
        path = write_config(self.mktemp(), 8088, ip="0.0.0.0")
        endpoint = admin_endpoint(path)
        self.assertEqual(endpoint.node_url, "http://127.0.0.1:8088")
        self.assertEqual(endpoint.api_url, "http://127.0.0.1:8088/api")
        self.assertEqual((endpoint.username, endpoint.password), ("admin", "secret"))
        self.assertIsNone(endpoint.host_header)

    def test_ipv6_tls_and_vhost(self):
        """IPv6 any-address becomes ::1; tls means https; a handler host is sent as Host."""
        path = self.mktemp()
        with open(path, "w") as handle:
            handle.write(textwrap.dedent("""\
                [[listen.http]]
                  ip_address = "::"
                  port = 9000
                  tls.certfile = "cert.pem"
                  [[listen.http.handlers.mongoose_admin_api]]
                    host = "admin.local"
                    path = "/"
                """))
        endpoint = admin_endpoint(path)
        self.assertEqual(endpoint.node_url, "https://[::1]:9000")
        self.assertEqual(endpoint.api_url, "https://[::1]:9000")
        self.assertEqual(endpoint.host_header, "admin.local:9000")
        self.assertFalse(endpoint.verify_tls)
        self.assertIsNone(endpoint.username)

    def test_no_admin_listener(self):
        """A config without the handler is a one-line error."""
        path = self.mktemp()
        with open(path, "w") as handle:
            handle.write('[[listen.http]]\nport = 1\n')
        error = self.assertRaises(CtlError, admin_endpoint, path)
        self.assertIn("mongoose_admin_api", error.message)

    def test_bad_toml(self):
        """A file that is not TOML is reported with its name."""
        path = self.mktemp()
        with open(path, "w") as handle:
            handle.write("[[listen.http]\n")
        error = self.assertRaises(CtlError, admin_endpoint, path)
        self.assertIn(path, error.message)

    def test_precedence(self):
        """-c wins over MONGOOSEIM_CONFIG, which wins over the defaults."""
        first, second = write_config(self.mktemp(), 1), write_config(self.mktemp(), 2)
        self.assertEqual(find_config(first, {CONFIG_ENV: second}), first)
        self.assertEqual(find_config(None, {CONFIG_ENV: second}), second)
        error = self.assertRaises(CtlError, find_config, "/no/such.toml", {})
        self.assertIn("/no/such.toml", error.message)

    def test_default_relative_config(self):
        """Without -c or the variable, etc/mongooseim.toml in the working directory is used."""
        here = os.getcwd()
        workdir = self.mktemp()
        os.makedirs(os.path.join(workdir, "etc"))
        write_config(os.path.join(workdir, "etc", "mongooseim.toml"), 1)
        os.chdir(workdir)
        self.addCleanup(os.chdir, here)
        self.assertEqual(find_config(None, {}), "etc/mongooseim.toml")


class CtlTestCase(TestCase):
    """A real admin API on 127.0.0.1 and a config file pointing at it."""

    def setUp(self):
        self.auth = FakeAuth()
        self.registry = CommandRegistry()
        for command in account_commands(self.auth):
            self.registry.register(command)
        root = Resource()
        root.putChild(b"api", AdminAPI(self.registry, {"username": "admin",
                                                       "password": "secret"}).resource())
        self.port = reactor.listenTCP(0, Site(root), interface="127.0.0.1")
        self.addCleanup(self.port.stopListening)
        self.config = write_config(self.mktemp(), self.port.getHost().port)

    async def ctl(self, *args, config=None):
        """Run mongooseimctl in a thread; return (status, stdout, stderr)."""
        out, err = io.StringIO(), io.StringIO()
        argv = ["-c", config or self.config, *args]
        status = await threads.deferToThread(main, argv, stdout=out, stderr=err, environ={})
        return status, out.getvalue(), err.getvalue()


class CtlCommandTests(CtlTestCase):
    """Running commands."""

    async def test_register_and_list(self):
        """registerUser prints its payload; listUsers prints one JID per line."""
        status, out, err = await self.ctl("account", "registerUser", "--domain", "localhost",
                                          "--username", "alice", "--password", "p")
        self.assertEqual((status, err), (0, ""))
        self.assertIn('"jid": "alice@localhost"', out)
        self.assertEqual(self.auth.users, {("alice", "localhost"): "p"})
        await self.ctl("account", "registerUser", "--domain", "localhost",
                       "--username", "bob", "--password", "p")
        status, out, _ = await self.ctl("account", "listUsers", "--domain", "localhost")
        self.assertEqual((status, out), (0, "alice@localhost\nbob@localhost\n"))
        status, out, _ = await self.ctl("account", "countUsers", "--domain", "localhost")
        self.assertEqual((status, out), (0, "2\n"))

    async def test_text_values_are_typed_on_the_node(self):
        """Integer options are given as text and parsed by the command's type."""
        for name in ("a", "b", "c"):
            self.auth.users[(name, "localhost")] = "p"
        status, out, _ = await self.ctl("account", "listUsers", "--domain", "localhost",
                                        "--limit", "1", "--index", "2")
        self.assertEqual((status, out), (0, "c@localhost\n"))
        status, _, err = await self.ctl("account", "listUsers", "--domain", "localhost",
                                        "--limit", "many")
        self.assertEqual(status, 2)
        self.assertTrue(err.startswith("mongooseimctl: limit:"), err)

    async def test_camel_and_kebab_options(self):
        """camelCase argument names work as given and in kebab-case."""
        self.auth.users[("alice", "localhost")] = "old"
        status, _, _ = await self.ctl("account", "changeUserPassword", "--user",
                                      "alice@localhost", "--newPassword", "one")
        self.assertEqual((status, self.auth.users[("alice", "localhost")]), (0, "one"))
        status, _, _ = await self.ctl("account", "changeUserPassword", "--user",
                                      "alice@localhost", "--new-password", "two")
        self.assertEqual((status, self.auth.users[("alice", "localhost")]), (0, "two"))

    async def test_command_error_exit_status(self):
        """A command error prints one line and exits with the error table's status."""
        self.auth.users[("alice", "localhost")] = "p"
        status, out, err = await self.ctl("account", "registerUser", "--domain", "localhost",
                                          "--username", "alice", "--password", "x")
        self.assertEqual((status, out), (6, ""))
        self.assertEqual(err, "mongooseimctl: User alice@localhost already registered\n")
        status, _, err = await self.ctl("account", "removeUser", "--user", "ghost@localhost")
        self.assertEqual(status, 5)
        self.assertEqual(len(err.splitlines()), 1)

    async def test_new_command_without_ctl_code(self):
        """A command registered on the node is usable from the CLI at once."""

        async def join(words, separator):
            return separator.join(words)

        self.registry.register(Command(
            category="test", name="join", action="read", description="Join words",
            security_policy="admin", result=STRING, handler=join,
            args=(Arg("words", ListOf(STRING)), Arg("separator", STRING, default=" "))))
        status, out, _ = await self.ctl("test", "join", "--words", "a", "--words", "b",
                                        "--separator", "+")
        self.assertEqual((status, out), (0, "a+b\n"))
        status, out, _ = await self.ctl("test", "join", "--words", '["x", "y"]')
        self.assertEqual((status, out), (0, "x y\n"))
        status, out, _ = await self.ctl("test", "join", "--words", "x,y")
        self.assertEqual((status, out), (0, "x,y\n"))


class CtlUsageTests(CtlTestCase):
    """Help, listings and usage errors."""

    async def test_category_lists_commands(self):
        """`mongooseimctl account` lists its commands with descriptions."""
        status, out, _ = await self.ctl("account")
        self.assertEqual(status, 0)
        self.assertIn("registerUser", out)
        self.assertIn("Register a user", out)

    async def test_help(self):
        """--help works at every level and exits 0."""
        status, out, _ = await self.ctl("--help")
        self.assertEqual(status, 0)
        self.assertIn("account", out)
        status, out, _ = await self.ctl("account", "registerUser", "--help")
        self.assertEqual(status, 0)
        self.assertIn("--domain", out)
        self.assertIn("--password", out)

    async def test_no_category(self):
        """With no category the help is printed and the status is a usage error."""
        status, out, _ = await self.ctl()
        self.assertEqual(status, 2)
        self.assertIn("<category>", out)

    async def test_usage_errors(self):
        """Missing required options and unknown commands are usage errors (status 2)."""
        status, _, err = await self.ctl("account", "registerUser", "--domain", "localhost")
        self.assertEqual(status, 2)
        self.assertIn("--password", err)
        status, _, err = await self.ctl("nosuchcategory", "x")
        self.assertEqual(status, 2)
        self.assertIn("nosuchcategory", err)
        status, _, _ = await self.ctl("account", "registerUser", "--dom", "localhost",
                                      "--password", "p")
        self.assertEqual(status, 2)


class CtlConnectionTests(CtlTestCase):
    """Reaching the node."""

    async def test_node_not_running(self):
        """A closed port gives one clear line and the unavailable exit status."""
        port = closed_port()
        config = write_config(self.mktemp(), port)
        status, out, err = await self.ctl("account", "countUsers", "--domain", "localhost",
                                          config=config)
        self.assertEqual((status, out), (7, ""))
        self.assertEqual(
            err,
            f"mongooseimctl: cannot reach the node at http://127.0.0.1:{port}: "
            "connection refused\n",
        )

    async def test_wrong_credentials(self):
        """Credentials the node refuses give one line and the unauthorized status."""
        config = write_config(self.mktemp(), self.port.getHost().port, user="root")
        status, _, err = await self.ctl("account", config=config)
        self.assertEqual(status, 3)
        self.assertIn("refused the credentials", err)
        self.assertEqual(len(err.splitlines()), 1)

    async def test_missing_config(self):
        """A missing config file is one line, status 1."""
        status, _, err = await self.ctl("account", config="/no/such/mongooseim.toml")
        self.assertEqual(status, 1)
        self.assertEqual(err, "mongooseimctl: config file /no/such/mongooseim.toml not found\n")

    async def test_commands_group_not_served(self):
        """An admin API without the commands route group gets a hint, not a bare 404."""
        root = Resource()
        root.putChild(b"api", AdminAPI(self.registry, {"handlers": ["users"]}).resource())
        port = reactor.listenTCP(0, Site(root), interface="127.0.0.1")
        self.addCleanup(port.stopListening)
        config = write_config(self.mktemp(), port.getHost().port)
        status, _, err = await self.ctl("account", config=config)
        self.assertEqual(status, 5)
        self.assertIn("handlers option", err)
