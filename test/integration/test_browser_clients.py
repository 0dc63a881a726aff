"""xmpp.js (WebSocket) and strophe.js (BOSH) in a real browser: Debian's headless chromium.

Each test starts a node in-process (a c2s listener, and an HTTP listener with
the WebSocket and BOSH handlers), logs bob in over TCP with a raw client, and
serves a small page from a separate twisted.web server on another ephemeral
loopback port: ``js/browser/clients.html``, its script ``clients.js`` and the
browser builds of ``@xmpp/client`` and ``strophe.js`` from ``js/node_modules``.
The page comes from another origin than the XMPP endpoints, as it would on a
real site, so the BOSH requests are cross-origin (CORS) requests.

``js/browser_clients.cjs`` opens the page in chromium with playwright-core;
the client logs in as alice, sends bob a message, and is done once bob's
answer arrives.  chromium is installed with apt-get when missing
(``test.support.debian``); node, npm and the npm packages of
``js/package.json`` are needed too.  Without them the tests are skipped with
the reason, except under ``CI=true``, where that is a failure.  No browser is
ever downloaded.
"""

from __future__ import annotations

import json
import os
from urllib.parse import urlencode

from twisted.internet import defer, reactor, threads
from twisted.internet.utils import getProcessOutputAndValue
from twisted.trial import unittest
from twisted.web.resource import Resource
from twisted.web.server import Site
from twisted.web.static import File

from test.c2s.support import logged_in
from test.http.support import start_node
from test.integration.js_support import JS_DIR, node_with_packages
from test.support.debian import require_debian_package

SCRIPT = "browser_clients.cjs"

#: What the page server serves: URL path -> file under ``js/``.
PAGE_FILES = {
    (b"clients.html",): "browser/clients.html",
    (b"clients.js",): "browser/clients.js",
    (b"lib", b"xmpp.min.js"): "node_modules/@xmpp/client/dist/xmpp.min.js",
    (b"lib", b"strophe.umd.min.js"): "node_modules/strophe.js/dist/strophe.umd.min.js",
}






def _page_site() -> Site:
    """A twisted.web site serving exactly the files of :data:`PAGE_FILES`."""
    root = Resource()
    for segments, path in PAGE_FILES.items():
        parent = root
        for segment in segments[:-1]:
            child = parent.children.get(segment)
            if child is None:
                child = Resource()
                parent.putChild(segment, child)
            parent = child
        parent.putChild(segments[-1], File(os.path.join(JS_DIR, path)))
    return Site(root)


class BrowserClientTests(unittest.TestCase):
    """The browser builds of xmpp.js and strophe.js exchange messages with a TCP user."""

    timeout = 60

    async def _exchange(self, client: str, service: str, resource: str) -> dict:
        """Run ``client`` in chromium against ``service``; bob answers its message.

        Returns:
            The browser script's report (events, requests, problems).
        """
        chromium = await threads.deferToThread(require_debian_package, "chromium", "chromium")
        node_bin = await node_with_packages(
            "node_modules/playwright-core", *PAGE_FILES.values())
        node = await start_node(self)
        page_port = reactor.listenTCP(0, _page_site(), interface="127.0.0.1")
        self.addCleanup(page_port.stopListening)
        bob, bob_jid = await logged_in(self, node.c2s_port, "bob", "tcp")
        query = urlencode({
            "client": client,
            "service": service.format(port=node.http_port),
            "user": "alice",
            "password": "secret",
            "peer": bob_jid,
        })
        page = f"http://127.0.0.1:{page_port.getHost().port}/clients.html?{query}"
        run = getProcessOutputAndValue(
            node_bin, (SCRIPT, chromium, page), env=dict(os.environ), path=JS_DIR
        )
        try:
            got = await bob.element(timeout=25)
            while got.name != "message":
                got = await bob.element(timeout=25)
        except defer.TimeoutError:
            out, err, code = await run
            raise AssertionError(
                f"no message from the browser (exit {code}): {out[-3000:]!r} {err[-2000:]!r}"
            ) from None
        self.assertEqual(got["from"], f"alice@localhost/{resource}")
        self.assertEqual(str(got.body), f"hello from {client} in a browser")
        bob.send(
            f"<message to='{got['from']}' type='chat'><body>hello from a TCP user</body></message>"
        )
        out, err, code = await run
        lines = [
            line for line in out.decode("utf-8", "replace").splitlines() if line.startswith("{")
        ]
        self.assertTrue(lines, f"no output from the browser script (exit {code}): {err[-2000:]!r}")
        report = json.loads(lines[-1])
        self.assertNotIn("error", report, report)
        self.assertEqual(code, 0)
        events = [(e["event"], e.get("from"), e.get("body")) for e in report["events"]]
        self.assertIn(("message", "bob@localhost/tcp", "hello from a TCP user"), events)
        self.assertNotIn("error", [e["event"] for e in report["events"]], report)
        self.assertEqual(report["problems"], [])
        return report

    async def test_xmppjs_over_websocket_in_chromium(self):
        """xmpp.js's browser build logs in over WebSocket and exchanges a message."""
        report = await self._exchange(
            "xmppjs", "ws://127.0.0.1:{port}/ws-xmpp", "browser-xmppjs"
        )
        self.assertTrue(
            any(r.startswith("WEBSOCKET ws://127.0.0.1:") and r.endswith("/ws-xmpp")
                for r in report["requests"]),
            report["requests"],
        )

    async def test_strophejs_over_bosh_in_chromium(self):
        """strophe.js's browser build logs in over cross-origin BOSH and exchanges a message."""
        report = await self._exchange(
            "strophe", "http://127.0.0.1:{port}/http-bind", "browser-strophe"
        )
        posts = [r for r in report["requests"] if r.startswith("POST ") and "/http-bind" in r]
        self.assertGreater(len(posts), 3, report["requests"])
