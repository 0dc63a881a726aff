"""Reading configuration files: mongoose.config.loader."""

from __future__ import annotations

import os

from twisted.trial.unittest import SynchronousTestCase

from mongoose.config.loader import Config, load_config
from mongoose.config.schema import ConfigErrors

from .helpers import MINIMAL, registry


class LoadConfigTests(SynchronousTestCase):
    """load_config reads a file or says in one line why it cannot."""

    def write(self, data: bytes) -> str:
        """Write ``data`` to a fresh file and return its path."""
        path = self.mktemp()
        with open(path, "wb") as handle:
            handle.write(data)
        return path

    def test_loads_a_file(self):
        """A valid file gives a Config naming its source."""
        path = self.write(MINIMAL.encode())
        config = load_config(path, registry())
        self.assertIsInstance(config, Config)
        self.assertEqual((config.source, config.hosts), (path, ("localhost",)))

    def test_missing_file(self):
        """A missing file is one clear line."""
        path = self.mktemp()
        exc = self.assertRaises(ConfigErrors, load_config, path, registry())
        self.assertEqual(
            str(exc), f"{path}: cannot read the configuration file: No such file or directory"
        )

    def test_directory(self):
        """A directory is not a configuration file."""
        path = self.mktemp()
        os.mkdir(path)
        exc = self.assertRaises(ConfigErrors, load_config, path, registry())
        self.assertEqual(str(exc), f"{path}: cannot read the configuration file: Is a directory")

    def test_not_utf8(self):
        """Bytes that are not UTF-8 are refused with their position."""
        path = self.write(b'[general]\nlanguage = "\xff"\n')
        exc = self.assertRaises(ConfigErrors, load_config, path, registry())
        self.assertEqual(str(exc), f"{path}: not UTF-8 text (byte 22)")

    def test_syntax_error_names_the_file(self):
        """TOML syntax errors carry the file name, line and column."""
        path = self.write(b'[general]\nhosts = ["a",,]\n')
        exc = self.assertRaises(ConfigErrors, load_config, path, registry())
        self.assertEqual(str(exc), f"{path}: TOML syntax error at line 2, column 14: Invalid value")

    def test_errors_are_a_list(self):
        """ConfigErrors exposes each problem with its path."""
        path = self.write(MINIMAL.encode() + b"  loglevel = 1\n  language = 2\n")
        exc = self.assertRaises(ConfigErrors, load_config, path, registry())
        self.assertEqual([e.path for e in exc.errors], ["general.loglevel", "general.language"])

    def test_default_registry(self):
        """Without a registry, the installed extensions are used."""
        config = load_config(self.write(MINIMAL.encode()))
        self.assertEqual(config.options.modules, {})
