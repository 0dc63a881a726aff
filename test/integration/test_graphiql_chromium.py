"""GraphiQL in a real browser: Debian's chromium, driven by playwright-core under node.

A node is started in-process with an HTTP listener on an ephemeral loopback
port serving the GraphQL admin endpoint behind HTTP Basic credentials.  The
script ``js/graphiql_chromium.cjs`` opens the endpoint in headless chromium
(the browser answers the Basic challenge), waits for GraphiQL, types a
mutation into the editor, runs it and reads the result pane.  The user the
mutation registers must then exist on the node, and the page must have
loaded nothing from another origin.  A second test runs a subscription
from GraphiQL and sees a message sent meanwhile appear in the result pane.

chromium is installed with apt-get when missing (``test.support.debian``);
node, npm and the npm packages of ``js/package.json`` are needed too.
Without them the test is skipped with the reason, except under ``CI=true``,
where that is a failure.  No browser is ever downloaded.
"""

from __future__ import annotations

import json
import os

from twisted.internet import reactor, task, threads
from twisted.internet.utils import getProcessOutputAndValue
from twisted.trial import unittest

from mongoose.api.graphql.subscriptions import RESOURCE_PREFIX
from mongoose.commands.caller import Caller
from mongoose.config.loader import parse_config
from mongoose.extensions import ExtensionRegistry
from mongoose.node import Node
from test.integration.js_support import JS_DIR, node_with_packages
from test.support.debian import require_debian_package
from test.support.processes import free_port

SCRIPT = "graphiql_chromium.cjs"

CONFIG = """
[general]
  hosts = ["localhost"]
  default_server_domain = "localhost"
  data_dir = "{data}"

[auth.internal]

[[listen.http]]
  ip_address = "127.0.0.1"
  port = {port}
  [[listen.http.handlers.mongoose_graphql_handler]]
    host = "_"
    path = "/api/graphql"
    schema_endpoint = "admin"
    username = "admin"
    password = "s3cret"
"""

QUERY = ('mutation { account { registerUser(domain: "localhost", username: "graphiql", '
         'password: "typed-in-chromium") { jid message } } }')






class GraphiQLInChromiumTests(unittest.TestCase):
    """The GraphiQL page runs a query typed into it against the server."""

    timeout = 120

    async def _start_node(self) -> str:
        data = os.path.abspath(self.mktemp())
        port = free_port()
        node = Node(parse_config(CONFIG.format(data=data, port=port)), reactor=reactor,
                    extensions=ExtensionRegistry())
        node.startService()
        await node.ready
        self.addCleanup(node.stopService)
        self.node = node
        return f"http://127.0.0.1:{port}/api/graphql"

    def _report(self, out: bytes, err: bytes, code: int) -> dict:
        lines = [line for line in out.decode("utf-8", "replace").splitlines()
                 if line.startswith("{")]
        self.assertTrue(lines, f"no output from the browser script (exit {code}): "
                        f"{err.decode(errors='replace')[-2000:]}")
        report = json.loads(lines[-1])
        self.assertNotIn("error", report, report)
        self.assertEqual(code, 0)
        return report

    async def test_query_typed_into_graphiql_runs(self):
        """Type a registerUser mutation into GraphiQL, run it, see the result; user exists."""
        chromium = await threads.deferToThread(require_debian_package, "chromium", "chromium")
        node_bin = await node_with_packages("node_modules/playwright-core")
        url = await self._start_node()
        report = self._report(*await getProcessOutputAndValue(
            node_bin, (SCRIPT, chromium, url, "admin", "s3cret", QUERY, "graphiql@localhost"),
            env=dict(os.environ), path=JS_DIR))
        self.assertEqual(report["editor"], QUERY)
        result = json.loads(report["result"])
        self.assertEqual(result["data"]["account"]["registerUser"]["jid"], "graphiql@localhost")
        self.assertEqual(report["offsite"], [])
        self.assertEqual(report["problems"], [])
        self.assertIn("GET /api/graphql/graphiql/graphiql.min.js", report["requests"])
        self.assertIn("POST /api/graphql", report["requests"])
        self.assertTrue(await self.node.auth.check_password(
            "graphiql", "localhost", "typed-in-chromium"))

    async def test_subscription_events_appear_in_graphiql(self):
        """A subscribeForMessages run from GraphiQL shows a message sent meanwhile."""
        chromium = await threads.deferToThread(require_debian_package, "chromium", "chromium")
        node_bin = await node_with_packages("node_modules/playwright-core")
        url = await self._start_node()
        for user in ("alice", "bob"):
            await self.node.auth.register(user, "localhost", "pw")
        query = ('subscription { stanza { subscribeForMessages(caller: "alice@localhost") '
                 "{ sender stanza } } }")
        run = getProcessOutputAndValue(
            node_bin, (SCRIPT, chromium, url, "admin", "s3cret", query, "hello-graphiql"),
            env=dict(os.environ), path=JS_DIR)
        for _ in range(300):
            if any(str(s.jid.resource).startswith(RESOURCE_PREFIX)
                   for s in self.node.sessions.sessions_of("alice", "localhost")):
                break
            await task.deferLater(reactor, 0.05, lambda: None)
        else:
            self.fail(f"GraphiQL never subscribed: {await run}")
        await self.node.commands.execute(
            Caller.admin(), "stanza", "sendMessage",
            {"from": "bob@localhost", "to": "alice@localhost", "body": "hello-graphiql"})
        report = self._report(*await run)
        event = json.loads(report["result"])
        received = event["data"]["stanza"]["subscribeForMessages"]
        self.assertEqual(received["sender"], "bob@localhost")
        self.assertIn("<body>hello-graphiql</body>", received["stanza"])
        self.assertEqual(report["offsite"], [])
