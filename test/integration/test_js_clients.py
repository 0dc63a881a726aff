"""Real JavaScript clients against the HTTP transports: xmpp.js over WebSocket, strophe.js over BOSH.

Each test starts a node in-process (a c2s listener and an HTTP listener with
the WebSocket and BOSH handlers), logs a TCP user in with a raw client, and
runs a script from ``test/integration/js`` under node: the JavaScript client
logs in as alice, sends bob a message, and exits once bob's answer arrives.
The npm packages (``package.json`` there) are installed into that directory
on first use.  Without node or npm the tests are skipped with the reason,
except under ``CI=true``, where that is a failure.
"""

from __future__ import annotations

import json
import os
import shutil

from twisted.internet import defer
from twisted.internet.utils import getProcessOutputAndValue
from twisted.trial import unittest

from test.c2s.support import logged_in
from test.http.support import start_node

JS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "js")


def _missing(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        raise AssertionError(reason)
    raise unittest.SkipTest(reason)


async def _ensure_packages() -> str:
    """The node executable, with the npm packages installed (skips when impossible)."""
    node = shutil.which("node")
    npm = shutil.which("npm")
    if node is None or npm is None:
        _missing("node and npm are needed for the JavaScript client tests")
    if not os.path.isdir(os.path.join(JS_DIR, "node_modules", "@xmpp", "client")) or not (
        os.path.isdir(os.path.join(JS_DIR, "node_modules", "strophe.js"))
    ):
        out, err, code = await getProcessOutputAndValue(
            npm, ("install", "--no-audit", "--no-fund"), env=dict(os.environ), path=JS_DIR
        )
        if code != 0:
            _missing(f"npm install failed: {err.decode(errors='replace')[-300:]}")
    return node


def _events(output: bytes) -> list[dict]:
    events = []
    for line in output.decode("utf-8", "replace").splitlines():
        line = line.strip()
        if line.startswith("{"):
            events.append(json.loads(line))
    return events


class JavaScriptClientTests(unittest.TestCase):
    """xmpp.js and strophe.js exchange messages with a TCP user."""

    timeout = 60

    async def _exchange(self, script: str, args, resource: str) -> list[dict]:
        node_bin = await _ensure_packages()
        node = await start_node(self)
        bob, bob_jid = await logged_in(self, node.c2s_port, "bob", "tcp")
        run = getProcessOutputAndValue(
            node_bin, (script, *args(node), bob_jid), env=dict(os.environ), path=JS_DIR
        )
        try:
            got = await bob.element(timeout=20)
            while got.name != "message":
                got = await bob.element(timeout=20)
        except defer.TimeoutError:
            out, err, code = await run
            raise AssertionError(
                f"no message from the JavaScript client (exit {code}): {out[-2000:]!r} "
                f"{err[-2000:]!r}"
            ) from None
        self.assertEqual(got["from"], f"alice@localhost/{resource}")
        bob.send(
            f"<message to='{got['from']}' type='chat'><body>hello from a TCP user</body></message>"
        )
        out, err, code = await run
        events = _events(out)
        self.assertEqual(code, 0, f"{out!r} {err[-2000:]!r}")
        return [(e["event"], e.get("from"), e.get("body")) for e in events]

    def test_xmppjs_over_websocket(self):
        """xmpp.js logs in over WebSocket and exchanges a message with a TCP user."""
        return defer.ensureDeferred(self._run_xmppjs())

    async def _run_xmppjs(self):
        events = await self._exchange(
            "xmppjs_ws.mjs",
            lambda node: (f"ws://127.0.0.1:{node.http_port}/ws-xmpp", "alice", "secret"),
            "xmppjs",
        )
        self.assertIn(("message", "bob@localhost/tcp", "hello from a TCP user"), events)

    def test_strophejs_over_bosh(self):
        """strophe.js logs in over BOSH and exchanges a message with a TCP user."""
        return defer.ensureDeferred(self._run_strophe())

    async def _run_strophe(self):
        events = await self._exchange(
            "strophe_bosh.cjs",
            lambda node: (f"http://127.0.0.1:{node.http_port}/http-bind", "alice@localhost", "secret"),
            "strophe",
        )
        self.assertIn(("message", "bob@localhost/tcp", "hello from a TCP user"), events)
