"""Tests for mongoose.commands.docs: doc/commands.md is generated and never stale."""

from __future__ import annotations

from pathlib import Path

from twisted.trial.unittest import SynchronousTestCase

import mongoose
from mongoose.commands.docs import build_registry, render

DOC = Path(mongoose.__file__).resolve().parent.parent / "doc" / "commands.md"


class CommandDocsTests(SynchronousTestCase):
    """The generated command reference."""

    def test_doc_is_up_to_date(self):
        """doc/commands.md equals what the generator writes from the registry."""
        expected = render(build_registry())
        actual = DOC.read_text(encoding="utf-8") if DOC.exists() else ""
        self.assertTrue(
            actual == expected,
            "doc/commands.md is stale; regenerate it with "
            "`python -m mongoose.commands.docs > doc/commands.md`",
        )

    def test_every_command_documented(self):
        """Each account command has a section with its REST route when it has one."""
        text = render(build_registry())
        for command in build_registry().list():
            self.assertIn(f"### {command.name}\n", text)
        self.assertIn("`POST /api/users/{XMPPHost}` -> 201", text)
        self.assertIn("mongooseimctl account registerUser --domain localhost", text)
