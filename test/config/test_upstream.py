"""MongooseIM's own default configuration file loads."""

from __future__ import annotations

import os
import re

from twisted.trial.unittest import SynchronousTestCase

from mongoose.config.loader import load_config
from mongoose.config.schema import ConfigErrors
from mongoose.extensions import ExtensionRegistry

from .helpers import fake_module, fake_service

#: The rendered upstream mongooseim.toml, in the shared reference folder.
UPSTREAM = os.path.join(
    os.path.dirname(__file__),
    *[os.pardir] * 3,
    "shared",
    "reference",
    "mongooseim",
    "config",
    "mongooseim.prod-rendered.toml",
)
if not os.path.exists(UPSTREAM):
    UPSTREAM = "/work/shared/reference/mongooseim/config/mongooseim.prod-rendered.toml"


class UpstreamConfigTests(SynchronousTestCase):
    """The default configuration of a MongooseIM release."""

    def setUp(self):
        if not os.path.exists(UPSTREAM):
            raise self.skipTest("the MongooseIM reference configuration is not available")
        with open(UPSTREAM, encoding="utf-8") as handle:
            self.text = handle.read()
        self.modules = re.findall(r"^\[modules\.(\w+)\]", self.text, re.M)
        self.services = re.findall(r"^\[services\.(\w+)\]", self.text, re.M)

    def test_only_missing_extensions_are_reported(self):
        """With no modules installed, every error is a module or service we lack."""
        empty = ExtensionRegistry(builtin={}, use_entry_points=False)
        exc = self.assertRaises(ConfigErrors, load_config, UPSTREAM, empty)
        expected = [f"services.{name}: not available in this version" for name in self.services]
        expected += [f"modules.{name}: not available in this version" for name in self.modules]
        self.assertEqual([str(e) for e in exc.errors], expected)

    def test_loads_with_the_extensions_present(self):
        """With stand-ins for its modules and services, the file loads as MongooseIM reads it."""
        extensions = ExtensionRegistry(builtin={}, use_entry_points=False)
        for name in self.modules:
            extensions.add("modules", name, fake_module(name))
        for name in self.services:
            extensions.add("services", name, fake_service(name))
        config = load_config(UPSTREAM, extensions)
        self.assertEqual(config.hosts, ("localhost",))
        c2s = config.listeners("c2s")[0]
        self.assertEqual((c2s.port, c2s.shaper, c2s.tls.verify_mode), (5222, "normal", "none"))
        (component,) = config.listeners("service")
        self.assertEqual((component.port, component.ip_address), (8888, "127.0.0.1"))
        http = config.listeners("http")
        self.assertEqual([h.port for h in http], [5280, 5285, 5551, 5541, 5561, 9091])
        self.assertEqual(
            sorted(http[0].handlers), ["mongoose_bosh_handler", "mongoose_websocket_handler"]
        )
        self.assertEqual(http[2].handlers.mongoose_graphql_handler[0].username, "admin")
        self.assertEqual(config.auth_for("localhost").methods, ("internal",))
        self.assertEqual(sorted(config.modules_for("localhost")), sorted(self.modules))
        self.assertEqual(config.options.s2s.default_policy, "deny")
        self.assertEqual(config.options.general.registration_timeout, "infinity")
