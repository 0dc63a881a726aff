"""Real JavaScript clients against the HTTP transports: xmpp.js over WebSocket, strophe.js over BOSH.

Each test starts a node in-process (a c2s listener and an HTTP listener with
the WebSocket and BOSH handlers), logs bob in over TCP with slixmpp (a
subprocess running ``test/integration/clients/echo.py``), and runs a script
from ``test/integration/js`` under node: the JavaScript client logs in as
alice, sends bob a message, and exits once bob's slixmpp client has answered.
The npm packages (``package.json`` there) are installed into that directory
on first use.  Without node or npm the tests are skipped with the reason,
except under ``CI=true``, where that is a failure.
"""

from __future__ import annotations

import json
import os
import sys

from twisted.internet import defer, protocol, reactor
from twisted.internet.utils import getProcessOutputAndValue
from twisted.trial import unittest

from test.http.support import start_node
from test.integration.js_support import JS_DIR, node_with_packages
from test.support.processes import REPO


def _events(output: bytes) -> list[dict]:
    events = []
    for line in output.decode("utf-8", "replace").splitlines():
        line = line.strip()
        if line.startswith("{"):
            events.append(json.loads(line))
    return events


class _ScriptOutput(protocol.ProcessProtocol):
    """Collects a client script's JSON events; fires ``ready`` and ``ended``."""

    def __init__(self) -> None:
        self.events: list[dict] = []
        self.stderr = b""
        self._buffer = b""
        self.ready: defer.Deferred = defer.Deferred()
        self.ended: defer.Deferred = defer.Deferred()

    def outReceived(self, data: bytes) -> None:
        self._buffer += data
        *lines, self._buffer = self._buffer.split(b"\n")
        for event in _events(b"\n".join(lines)):
            self.events.append(event)
            if event["event"] == "ready" and not self.ready.called:
                self.ready.callback(event)

    def errReceived(self, data: bytes) -> None:
        self.stderr += data

    def processEnded(self, reason) -> None:
        code = reason.value.exitCode
        if not self.ready.called:
            self.ready.errback(AssertionError(f"the slixmpp peer ended early ({code}): "
                                              f"{self.events} {self.stderr[-1500:]!r}"))
        self.ended.callback(code)


class JavaScriptClientTests(unittest.TestCase):
    """xmpp.js and strophe.js exchange messages with a slixmpp user over TCP."""

    timeout = 60

    async def _exchange(self, script: str, args, resource: str) -> list[dict]:
        node_bin = await node_with_packages(
            "node_modules/@xmpp/client", "node_modules/strophe.js")
        node = await start_node(self)
        peer = _ScriptOutput()
        reactor.spawnProcess(
            peer,
            sys.executable,
            [sys.executable, "-m", "test.integration.clients.echo", "--port", str(node.c2s_port),
             "--no-tls", "--mech", "SCRAM-SHA-1", "--jid", "bob@localhost/slixmpp",
             "--password", "secret"],
            env=dict(os.environ, PYTHONPATH=REPO),
            path=REPO,
        )
        ready = await peer.ready
        bob_jid = ready["jid"]
        out, err, code = await getProcessOutputAndValue(
            node_bin, (script, *args(node), bob_jid), env=dict(os.environ), path=JS_DIR
        )
        peer_code = await peer.ended
        self.assertEqual(code, 0, f"{out!r} {err[-2000:]!r}")
        self.assertEqual(peer_code, 0, f"{peer.events} {peer.stderr[-2000:]!r}")
        received = [e for e in peer.events if e["event"] == "message"]
        self.assertEqual(len(received), 1, peer.events)
        self.assertEqual(received[0]["sender"], f"alice@localhost/{resource}")
        return [(e["event"], e.get("from"), e.get("body")) for e in _events(out)]

    def test_xmppjs_over_websocket(self):
        """xmpp.js logs in over WebSocket and exchanges a message with a TCP user."""
        return defer.ensureDeferred(self._run_xmppjs())

    async def _run_xmppjs(self):
        events = await self._exchange(
            "xmppjs_ws.mjs",
            lambda node: (f"ws://127.0.0.1:{node.http_port}/ws-xmpp", "alice", "secret"),
            "xmppjs",
        )
        self.assertIn(("message", "bob@localhost/slixmpp", "hello from a TCP user"), events)

    def test_strophejs_over_bosh(self):
        """strophe.js logs in over BOSH and exchanges a message with a TCP user."""
        return defer.ensureDeferred(self._run_strophe())

    async def _run_strophe(self):
        events = await self._exchange(
            "strophe_bosh.cjs",
            lambda node: (f"http://127.0.0.1:{node.http_port}/http-bind", "alice@localhost", "secret"),
            "strophe",
        )
        self.assertIn(("message", "bob@localhost/slixmpp", "hello from a TCP user"), events)
