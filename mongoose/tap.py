"""``twistd mongooseim``: command-line options and the service maker.

``twistd -n mongooseim -c etc/mongooseim.toml`` runs in the foreground;
``twistd mongooseim --check-config -c FILE`` validates a file and exits.
A config problem prints one line per problem (option path, bad value, what
is allowed) on standard error and exits with status 1; no traceback.
"""

from __future__ import annotations

import os
import sys

from twisted.python import usage

from mongoose.config.loader import Config, load_config
from mongoose.config.schema import ConfigError, ConfigErrors
from mongoose.extensions import ExtensionRegistry

__all__ = ["Options", "makeService", "default_config_path", "load_and_check"]


def default_config_path() -> str:
    """``$MONGOOSEIM_CONFIG``, else ``etc/mongooseim.toml`` if present, else the system path."""
    env = os.environ.get("MONGOOSEIM_CONFIG")
    if env:
        return env
    if os.path.exists(os.path.join("etc", "mongooseim.toml")):
        return os.path.join("etc", "mongooseim.toml")
    return "/etc/mongooseim/mongooseim.toml"


def load_and_check(path: str, extensions: ExtensionRegistry) -> Config:
    """Load, validate and check that this version can run the config.

    Raises:
        ConfigErrors: with every problem found.
    """
    from mongoose.node import check_buildable

    config = load_config(path, extensions)
    problems = check_buildable(config, extensions)
    if problems:
        raise ConfigErrors(problems)
    return config


def _fail(errors: list[ConfigError], path: str) -> None:
    for error in errors:
        print(str(error), file=sys.stderr)
    count = len(errors)
    print(
        f"{path}: {count} configuration problem{'s' if count != 1 else ''}; not starting",
        file=sys.stderr,
    )
    raise SystemExit(1)


class Options(usage.Options):
    """Options of ``twistd mongooseim``."""

    synopsis = "[-c CONFIG] [--check-config]"
    longdesc = (
        "Run a MongooseIM-compatible XMPP server configured by a MongooseIM TOML file. "
        "See doc/configuration.md for every option and doc/operations.md for running it."
    )
    optParameters = [
        [
            "config",
            "c",
            None,
            "Path of the MongooseIM TOML configuration file "
            "(default: $MONGOOSEIM_CONFIG, else etc/mongooseim.toml, "
            "else /etc/mongooseim/mongooseim.toml).",
        ],
    ]
    optFlags = [
        ["check-config", None, "Validate the configuration file, print the result and exit."],
    ]

    def __init__(self) -> None:
        super().__init__()
        self.extensions: ExtensionRegistry | None = None
        self.loaded: Config | None = None

    def postOptions(self) -> None:
        """Load the configuration now, so problems stop twistd before it daemonises."""
        path = self["config"] or default_config_path()
        self["config"] = path
        self.extensions = ExtensionRegistry()
        try:
            self.loaded = load_and_check(path, self.extensions)
        except ConfigErrors as exc:
            _fail(exc.errors, path)
        if self["check-config"]:
            hosts = ", ".join(self.loaded.hosts)
            print(f"{path}: configuration is valid (hosts: {hosts})")
            raise SystemExit(0)


def makeService(options: Options):
    """Build the node for twistd."""
    from mongoose.logging import apply_log_level
    from mongoose.node import Node, StartupError, exit_with_failure

    if options.loaded is None:  # called without postOptions (embedding)
        options.postOptions()
    config = options.loaded
    try:
        node = Node(config, extensions=options.extensions, on_fatal=_fatal(exit_with_failure))
    except StartupError as exc:
        print(str(exc), file=sys.stderr)
        raise SystemExit(1) from None
    level = config.options["general"]["loglevel"]
    node.before_start = lambda: apply_log_level(level)
    return node


def _fatal(exit_with_failure):
    def on_fatal(message: str) -> None:
        print(message, file=sys.stderr)
        exit_with_failure(message)

    return on_fatal
