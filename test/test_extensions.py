"""Tests for mongoose.extensions: finding modules and services by name."""

from twisted.trial.unittest import TestCase

from mongoose.extensions import ExtensionRegistry
from test.support.thirdparty import install_fake_distribution


class EntryPointTests(TestCase):
    """Third-party distributions add modules through entry points."""

    def test_entry_points_found(self):
        """A distribution's mongoose.modules/services entry points are listed and load."""
        fixture = install_fake_distribution(self)
        registry = ExtensionRegistry()
        self.assertIn("mod_hello", registry.names("modules"))
        self.assertIs(registry.module("mod_hello"), fixture.HelloModule)
        self.assertIs(registry.service("service_hello"), fixture.HelloService)

    def test_without_entry_points(self):
        """use_entry_points=False sees only what was given."""
        install_fake_distribution(self)
        registry = ExtensionRegistry(builtin={}, use_entry_points=False)
        self.assertIsNone(registry.module("mod_hello"))

    def test_broken_target(self):
        """An entry that cannot be imported is a LookupError with the reason."""
        registry = ExtensionRegistry(
            builtin={"modules": {"mod_bad": "no_such_package_xyz:Thing"}}, use_entry_points=False
        )
        with self.assertRaises(LookupError) as raised:
            registry.module("mod_bad")
        self.assertIn("cannot be loaded: ModuleNotFoundError", str(raised.exception))

    def test_wrong_interface(self):
        """An object that is not a module factory is refused with a clear message."""
        registry = ExtensionRegistry(builtin={}, use_entry_points=False)
        registry.add("modules", "mod_object", object())
        with self.assertRaises(LookupError) as raised:
            registry.module("mod_object")
        self.assertIn("does not provide IModuleFactory", str(raised.exception))
