"""Small helpers and fake extensions shared by the configuration tests."""

from __future__ import annotations

from typing import Any

from zope.interface import provider

from mongoose.config.loader import Config, parse_config
from mongoose.config.schema import Any_, Bool, ConfigErrors, Field, Int, Section, Spec, Str
from mongoose.extensions import ExtensionRegistry
from mongoose.interfaces import IHTTPHandlerFactory, IModuleFactory, IServiceFactory

__all__ = [
    "MINIMAL",
    "FakeGreeter",
    "FakeRoster",
    "FakeSessionCounter",
    "errors_of",
    "fake_module",
    "fake_service",
    "parse",
    "registry",
]

#: The smallest configuration that loads.
MINIMAL = """
[general]
  hosts = ["localhost"]
  default_server_domain = "localhost"
"""


@provider(IModuleFactory)
class FakeRoster:
    """A module factory with one option, standing in for a real module."""

    name = "mod_roster"
    dependencies = ()
    options_spec = Section(
        {
            "versioning": Field(Bool(), default=False, doc="Roster versioning."),
            "backend": Field(Str(), default="rdbms", doc="Storage."),
        },
        doc="Fake roster.",
    )


@provider(IServiceFactory)
class FakeSessionCounter:
    """A global service factory with one option."""

    name = "service_session_counter"
    options_spec = Section(
        {"interval": Field(Int(min=1), default=60, doc="Seconds.")}, doc="Fake service."
    )


@provider(IHTTPHandlerFactory)
class FakeGreeter:
    """A third-party HTTP handler kind with one option of its own."""

    name = "greeter"
    options_spec = Section(
        {"greeting": Field(Str(), default="hello", doc="What to say.")}, doc="Says hello."
    )

    def __init__(self, options: Any, node: Any):
        self.options = options


def fake_module(name: str, spec: Spec | None = None) -> type:
    """A module factory called ``name`` accepting any options (or ``spec``)."""
    attributes = {"name": name, "dependencies": (), "options_spec": spec or Any_()}
    return provider(IModuleFactory)(type(name, (), attributes))


def fake_service(name: str, spec: Spec | None = None) -> type:
    """A service factory called ``name`` accepting any options (or ``spec``)."""
    attributes = {"name": name, "options_spec": spec or Any_()}
    return provider(IServiceFactory)(type(name, (), attributes))


def registry(**kinds: dict[str, Any]) -> ExtensionRegistry:
    """An extension registry holding only the fakes and the given factories.

    Args:
        kinds: kind ("modules", "services", "http_handlers") -> name -> factory
            object or "module:attribute" target.
    """
    extensions = ExtensionRegistry(builtin={}, use_entry_points=False)
    extensions.add("modules", "mod_roster", FakeRoster)
    extensions.add("services", "service_session_counter", FakeSessionCounter)
    extensions.add("http_handlers", "greeter", FakeGreeter)
    for kind, entries in kinds.items():
        for name, factory in entries.items():
            extensions.add(kind, name, factory)
    return extensions


def parse(text: str, extensions: ExtensionRegistry | None = None) -> Config:
    """Parse ``text`` with the fake registry (or ``extensions``)."""
    return parse_config(text, extensions or registry(), source="test.toml")


def errors_of(text: str, extensions: ExtensionRegistry | None = None) -> list[str]:
    """The error lines ``text`` produces; fails the caller if it loads."""
    try:
        parse(text, extensions)
    except ConfigErrors as exc:
        return [str(error) for error in exc.errors]
    raise AssertionError("the configuration loaded without errors")
