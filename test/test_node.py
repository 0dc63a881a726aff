"""Tests for mongoose.node: the service tree built from a config."""

import os

from twisted.internet import reactor, threads
from twisted.internet.protocol import Factory
from twisted.trial.unittest import TestCase

from mongoose.config.loader import parse_config
from mongoose.extensions import ExtensionRegistry
from mongoose.node import Node, StartupError, check_buildable
from test.support.processes import free_port, http_json
from test.support.thirdparty import install_fake_distribution

TWO_HOSTS = """
[general]
  hosts = ["a.example", "b.example"]
  default_server_domain = "a.example"
  data_dir = "{data}"

[[listen.http]]
  ip_address = "127.0.0.1"
  port = {port}
  [[listen.http.handlers.mongoose_admin_api]]
    host = "_"
    path = "/api"

[services.service_hello]
  level = 7

[modules.mod_hello]
  greeting = "hi"

[[host_config]]
  host = "b.example"
  [host_config.modules.mod_hello]
    greeting = "hej"
"""


class ServiceTreeTests(TestCase):
    """A node with two hosts and third-party modules/services found through entry points."""

    def setUp(self):
        self.fixture = install_fake_distribution(self)
        self.fixture.STARTED.clear()
        self.data = os.path.abspath(self.mktemp())
        self.port = free_port()
        self.config = parse_config(TWO_HOSTS.format(data=self.data, port=self.port))
        self.node = Node(self.config, reactor=reactor, extensions=ExtensionRegistry())

    async def test_start_and_stop(self):
        """Services start once, modules once per host with host options, then all stop."""
        self.assertEqual(check_buildable(self.config, self.node.extensions), [])
        self.assertEqual(
            [s.name for s in self.node], ["listen.http[0]"], "one child per listener"
        )
        self.node.startService()
        await self.node.ready
        self.assertEqual(
            self.fixture.STARTED,
            [
                ("service_hello", ("a.example", "b.example"), 7),
                ("mod_hello", "a.example", "hi"),
                ("mod_hello", "b.example", "hej"),
            ],
        )
        self.assertEqual(self.node.hooks.count("hello", "b.example"), 1)
        status, body = await threads.deferToThread(
            http_json, "GET", f"http://127.0.0.1:{self.port}/api/users/a.example"
        )
        self.assertEqual((status, body), (200, []))
        await self.node.stopService()
        self.assertEqual(
            [event[0] for event in self.fixture.STARTED[3:]],
            ["mod_hello stopped", "mod_hello stopped", "service_hello stopped"],
        )
        self.assertEqual(self.node.hooks.count("hello", "b.example"), 0)
        self.assertIsNone(self.node.stores)

    async def test_listener_failure_is_startup_error(self):
        """A port that cannot be bound fails start-up with the listener's path."""
        blocker = reactor.listenTCP(0, Factory(), interface="127.0.0.1")
        self.addCleanup(blocker.stopListening)
        config = parse_config(
            TWO_HOSTS.format(data=self.data, port=blocker.getHost().port)
        )
        messages = []
        node = Node(config, reactor=reactor, extensions=ExtensionRegistry(),
                    on_fatal=messages.append)
        node.startService()
        with self.assertRaises(StartupError):
            await node.ready
        self.assertTrue(messages[0].startswith("listen.http[0]: cannot listen"), messages)
        await node.stopService()


class BuildabilityTests(TestCase):
    """Valid MongooseIM configs naming parts we lack are refused with one line each."""

    def test_unimplemented_listener(self):
        """A listener kind not built yet is named by its option path."""
        import mongoose.node

        self.patch(
            mongoose.node,
            "LISTENER_FACTORIES",
            {k: v for k, v in mongoose.node.LISTENER_FACTORIES.items() if k != "s2s"},
        )
        config = parse_config(
            """
            [general]
              hosts = ["localhost"]
              default_server_domain = "localhost"
            [[listen.s2s]]
              port = 5269
            """
        )
        problems = check_buildable(config, ExtensionRegistry())
        self.assertEqual(
            [str(p) for p in problems], ["listen.s2s[0]: s2s listeners are not implemented yet"]
        )


class DomainAdminPasswordTests(TestCase):
    """The node checks domain admin passwords of dynamic domains (GraphQL domain_admin login)."""

    async def test_check_domain_password(self):
        """A password set with setDomainPassword is accepted; others and unknown domains not."""
        from mongoose.commands.caller import Caller

        data = os.path.abspath(self.mktemp())
        config = parse_config(
            f"""
            [general]
              hosts = ["localhost"]
              host_types = ["tenants"]
              default_server_domain = "localhost"
              data_dir = "{data}"
            """
        )
        node = Node(config, reactor=reactor, extensions=ExtensionRegistry())
        node.startService()
        await node.ready
        self.addCleanup(node.stopService)
        admin = Caller.admin()
        await node.commands.execute(
            admin, "domain", "addDomain", {"domain": "acme.test", "hostType": "tenants"}
        )
        await node.commands.execute(
            admin, "domain", "setDomainPassword", {"domain": "acme.test", "password": "s3cret"}
        )
        self.assertTrue(await node.check_domain_password("acme.test", "s3cret"))
        self.assertFalse(await node.check_domain_password("acme.test", "wrong"))
        self.assertFalse(await node.check_domain_password("other.test", "s3cret"))
