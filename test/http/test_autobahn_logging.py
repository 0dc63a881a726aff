"""autobahn's per-connection debug formatting only happens when debug lines are shown."""

from __future__ import annotations

import txaio
from autobahn.websocket import protocol
from twisted.trial.unittest import SynchronousTestCase

import mongoose.http.websocket  # noqa: F401  (installs the replacement)
from mongoose.http.autobahn_logging import pformat_when_debugging


class LazyFormatTests(SynchronousTestCase):
    """The replacement formats only at txaio's debug and trace levels."""

    def setUp(self):
        self.level = txaio.get_global_log_level()
        self.addCleanup(txaio.set_global_log_level, self.level)

    def test_installed_in_autobahn(self):
        """Importing the WebSocket handler replaces autobahn's pformat."""
        self.assertIs(protocol.pformat, pformat_when_debugging)

    def test_not_formatted_at_info(self):
        """At info level the value's repr is never computed."""
        txaio.set_global_log_level("info")

        class Exploding:
            def __repr__(self):
                raise AssertionError("formatted")

        self.assertIn("not formatted", pformat_when_debugging([Exploding()]))

    def test_formatted_at_debug(self):
        """At debug level the output is pprint's."""
        txaio.set_global_log_level("debug")
        self.assertEqual(pformat_when_debugging([("utf8validateIncoming", True)]),
                         "[('utf8validateIncoming', True)]")
