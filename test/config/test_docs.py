"""The generated configuration reference, doc/configuration.md."""

from __future__ import annotations

import os

from twisted.trial.unittest import SynchronousTestCase

from mongoose.config.docs import INTRO, render_markdown
from mongoose.config.root import root_spec
from mongoose.extensions import ExtensionRegistry

DOC = os.path.join(os.path.dirname(__file__), os.pardir, os.pardir, "doc", "configuration.md")
REGENERATE = "python -m mongoose.config.docs > doc/configuration.md"


def rendered() -> str:
    """The reference for a node with no modules installed."""
    return render_markdown(root_spec(ExtensionRegistry(builtin={}, use_entry_points=False)))


class ReferenceTests(SynchronousTestCase):
    """The reference covers the schema and is up to date."""

    def test_committed_reference_is_current(self):
        """doc/configuration.md is what the schema renders to."""
        with open(DOC, encoding="utf-8") as handle:
            committed = handle.read()
        if committed != rendered():
            self.fail(f"doc/configuration.md is stale; regenerate it with: {REGENERATE}")

    def test_starts_with_the_introduction(self):
        """The hand-written introduction comes first."""
        self.assertTrue(rendered().startswith(INTRO.rstrip("\n")))

    def test_options_types_defaults_and_compat_notes(self):
        """Rows show an option's type, default, description and compatibility note."""
        text = rendered()
        self.assertIn(
            '| `loglevel` | one of "none", "emergency", "alert", "critical", "error", '
            '"warning", "notice", "info", "debug", "all" | `"warning"` | Verbosity of the '
            "server log. |",
            text,
        )
        self.assertIn("| `port` | integer from 1 to 65535 | **required** |", text)
        self.assertIn("*Compatibility: no effect on Twisted.*", text)
        self.assertIn("Also spelled `component`.", text)

    def test_every_table_has_a_heading(self):
        """Nested tables, arrays of tables and handler tables get their own section."""
        text = rendered()
        for heading in (
            "## `general`",
            "### `listen.c2s[]`",
            "#### `listen.c2s[].tls`",
            "#### `listen.http[].handlers.mongoose_websocket_handler[]`",
            "### `shaper.<shaper>`",
            "### `acl.<class>[]`",
            "## `host_config[]`",
            "### `modules.<name>`",
        ):
            self.assertIn(f"\n{heading}\n", text)

    def test_repeated_tables_point_to_the_first(self):
        """A table documented before is referred to, not repeated."""
        self.assertIn("### `host_config[].auth`\n\nSame options as `auth`.", rendered())

    def test_pipes_are_escaped(self):
        """No option row has more cells than the four columns."""
        reference = rendered()[len(INTRO) :]
        for line in reference.splitlines():
            if line.startswith("| `"):
                self.assertEqual(line.replace("\\|", "").count("|"), 5, line)
