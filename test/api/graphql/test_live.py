"""MongooseIM-style GraphQL queries against a started node over a real socket.

Each implemented category gets the queries a MongooseIM operator would send
(field and argument names from MongooseIM's ``admin/*.gql`` and
``user/*.gql``): account, domain, roster, session, stanza, vcard, private,
last, stat, server, offline, gdpr, checkAuth, metric and blocklist.
"""

from __future__ import annotations

import base64
import json
import os
import zipfile

import treq
from twisted.internet import defer, reactor
from twisted.trial.unittest import TestCase
from twisted.web.client import HTTPConnectionPool
from twisted.web.server import Site

from mongoose.api.graphql.handler import GraphQLHandler
from mongoose.config.loader import parse_config
from mongoose.extensions import ExtensionRegistry
from mongoose.node import Node
from test.support.sessions import IM_MODULES, connect, settle, start_im_node, xml

DOMAIN_CONFIG = """
[general]
  hosts = ["localhost"]
  host_types = ["tenants"]
  default_server_domain = "localhost"
  data_dir = "{data}"
[auth.internal]
"""


def basic(user: str, password: str) -> dict[str, list[str]]:
    """An Authorization header for HTTP Basic."""
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": [f"Basic {token}"]}


class LiveTestCase(TestCase):
    """A node with presence/roster/offline and GraphQL admin and user endpoints on sockets."""

    #: The [modules.*] tables of the node.
    modules = IM_MODULES

    async def start_node(self):
        """Start the node under test."""
        return await start_im_node(self, self.modules)

    async def _setup(self):
        self.node = await self.start_node()
        self.pool = HTTPConnectionPool(reactor, persistent=False)
        self.urls = {}
        for endpoint, options in [
            ("admin", {"schema_endpoint": "admin", "username": "admin", "password": "secret"}),
            ("user", {"schema_endpoint": "user"}),
        ]:
            port = reactor.listenTCP(0, Site(GraphQLHandler(options, self.node)),
                                     interface="127.0.0.1")
            self.addCleanup(port.stopListening)
            self.urls[endpoint] = f"http://127.0.0.1:{port.getHost().port}/api/graphql"

    def setUp(self):
        return defer.ensureDeferred(self._setup())

    async def gql(self, query, variables=None, endpoint="admin", auth=("admin", "secret")):
        """POST a query; return the decoded body after checking there are no errors."""
        body = await self.raw(query, variables, endpoint, auth)
        self.assertNotIn("errors", body, body)
        return body["data"]

    async def raw(self, query, variables=None, endpoint="admin", auth=("admin", "secret")):
        """POST a query; return the decoded body."""
        response = await treq.post(
            self.urls[endpoint], json.dumps({"query": query, "variables": variables}).encode(),
            headers={"Content-Type": ["application/json"], **basic(*auth)}, pool=self.pool)
        return json.loads(await response.content())


class CategoryQueryTests(LiveTestCase):
    """The MongooseIM query set, per implemented category."""

    async def _account(self):
        data = await self.gql(
            'mutation { account { registerUser(domain: "localhost", username: "alice", '
            'password: "makota") { jid message } } }')
        self.assertEqual(data["account"]["registerUser"]["jid"], "alice@localhost")
        data = await self.gql(
            'query { account { listUsers(domain: "localhost") countUsers(domain: "localhost") '
            'checkUser(user: "alice@localhost") { exist } '
            'checkPassword(user: "alice@localhost", password: "makota") { correct } } }')
        self.assertEqual(data["account"], {
            "listUsers": ["alice@localhost"], "countUsers": 1,
            "checkUser": {"exist": True}, "checkPassword": {"correct": True}})
        await self.gql(
            'mutation { account { changeUserPassword(user: "alice@localhost", '
            'newPassword: "new") { jid message } } }')
        self.assertTrue(await self.node.auth.check_password("alice", "localhost", "new"))
        await self.gql('mutation { account { removeUser(user: "alice@localhost") { jid } } }')
        self.assertFalse(await self.node.auth.user_exists("alice", "localhost"))

    def test_account(self):
        """registerUser, listUsers, countUsers, checkUser, checkPassword, change and remove."""
        return defer.ensureDeferred(self._account())

    async def _session_and_stanza(self):
        alice = await connect(self.node, "alice")
        await connect(self.node, "bob")
        data = await self.gql(
            'query { session { listSessions(domain: "localhost") { user } '
            'countSessions(domain: "localhost") '
            'countUserResources(user: "alice@localhost") '
            'listUserSessions(user: "alice@localhost") { user } } }')
        session = data["session"]
        self.assertEqual(session["countSessions"], 2)
        self.assertEqual(session["countUserResources"], 1)
        self.assertEqual(sorted(s["user"] for s in session["listSessions"]),
                         ["alice@localhost/res", "bob@localhost/res"])
        self.assertEqual(session["listUserSessions"], [{"user": "alice@localhost/res"}])
        data = await self.gql(
            'mutation($from: JID!, $to: JID!, $body: String!) { stanza { '
            'sendMessage(from: $from, to: $to, body: $body) { id } } }',
            {"from": "bob@localhost", "to": "alice@localhost/res", "body": "Hi!"})
        self.assertTrue(data["stanza"]["sendMessage"]["id"])
        await settle(self.node)
        bodies = [str(m.body) for m in alice.take() if m.name == "message"]
        self.assertEqual(bodies, ["Hi!"])
        data = await self.gql(
            'mutation { session { kickUser(user: "bob@localhost", reason: "bye") '
            '{ jid kicked } } }')
        self.assertEqual(data["session"]["kickUser"][0]["kicked"], True)

    def test_session_and_stanza(self):
        """Session listing/counting, sendMessage delivered to a session, kickUser."""
        return defer.ensureDeferred(self._session_and_stanza())

    async def _roster(self):
        for name in ("alice", "bob", "carol"):
            await self.node.auth.register(name, "localhost", "pw")
        await self.gql(
            'mutation { roster { addContact(user: "alice@localhost", contact: "bob@localhost", '
            'name: "Bobby", groups: ["friends"]) } }')
        data = await self.gql(
            'query { roster { listContacts(user: "alice@localhost") '
            '{ jid name groups subscription ask } '
            'getContact(user: "alice@localhost", contact: "bob@localhost") { name } } }')
        self.assertEqual(data["roster"]["listContacts"], [{
            "jid": "bob@localhost", "name": "Bobby", "groups": ["friends"],
            "subscription": "NONE", "ask": "NONE"}])
        self.assertEqual(data["roster"]["getContact"], {"name": "Bobby"})
        await self.gql(
            'mutation { roster { setMutualSubscription(userA: "alice@localhost", '
            'userB: "carol@localhost", action: CONNECT) } }')
        data = await self.gql(
            'query { roster { getContact(user: "carol@localhost", contact: "alice@localhost")'
            ' { subscription } } }')
        self.assertEqual(data["roster"]["getContact"]["subscription"], "BOTH")
        # The same user over the user endpoint: the caller is implied.
        data = await self.gql("query { roster { listContacts { jid } } }", endpoint="user",
                              auth=("alice@localhost", "pw"))
        self.assertEqual(sorted(c["jid"] for c in data["roster"]["listContacts"]),
                         ["bob@localhost", "carol@localhost"])
        await self.gql('mutation { roster { deleteContact(contact: "bob@localhost") } }',
                       endpoint="user", auth=("alice@localhost", "pw"))
        data = await self.gql('query { roster { listContacts(user: "alice@localhost") '
                              '{ jid } } }')
        self.assertEqual(data["roster"]["listContacts"], [{"jid": "carol@localhost"}])

    def test_roster(self):
        """addContact, listContacts, getContact, setMutualSubscription, user endpoint."""
        return defer.ensureDeferred(self._roster())

    async def _offline(self):
        data = await self.gql(
            'mutation { offline { deleteExpiredMessages(domain: "localhost") '
            'deleteOldMessages(domain: "localhost", days: 7) } }')
        self.assertIsInstance(data["offline"]["deleteExpiredMessages"], str)
        self.assertIsInstance(data["offline"]["deleteOldMessages"], str)

    def test_offline(self):
        """deleteExpiredMessages and deleteOldMessages answer a message."""
        return defer.ensureDeferred(self._offline())

    async def _user_denied(self):
        for name in ("alice", "bob"):
            await self.node.auth.register(name, "localhost", "pw")
        body = await self.raw("query { checkAuth { authStatus } }", endpoint="user",
                              auth=("alice@localhost", "wrong"))
        self.assertEqual(body["errors"][0]["extensions"]["code"], "unauthorized")
        body = await self.raw('query { roster { listContacts(user: "bob@localhost") { jid } } }',
                              endpoint="user", auth=("alice@localhost", "pw"))
        self.assertEqual(body["errors"][0]["extensions"]["code"], "bad_request")
        body = await self.raw("query { checkAuth { authStatus } }",
                              auth=("admin", "wrong"))
        self.assertEqual(body["errors"][0]["extensions"]["code"], "unauthorized")

    def test_auth_failures_and_other_users(self):
        """Wrong passwords are refused; the user schema cannot even name another user."""
        return defer.ensureDeferred(self._user_denied())


class StatAndMetricQueryTests(LiveTestCase):
    """``stat`` and ``metric`` with MongooseIM's queries (``admin/stats.gql``, ``metric.gql``)."""

    async def _stat(self):
        for name in ("alice", "bob"):
            await self.node.auth.register(name, "localhost", "pw")
        await self.node.auth.register("carol", "other.test", "pw")
        await connect(self.node, "alice")
        data = await self.gql(
            "query { stat { globalStats { uptimeSeconds registeredUsers onlineUsersNode "
            "onlineUsers incomingS2S outgoingS2S } "
            'domainStats(domain: "localhost") { registeredUsers onlineUsers } } }')
        stats = data["stat"]["globalStats"]
        self.assertGreaterEqual(stats.pop("uptimeSeconds"), 0)
        self.assertEqual(stats, {"registeredUsers": 3, "onlineUsersNode": 1, "onlineUsers": 1,
                                 "incomingS2S": 0, "outgoingS2S": 0})
        self.assertEqual(data["stat"]["domainStats"], {"registeredUsers": 2, "onlineUsers": 1})
        body = await self.raw('query { stat { domainStats(domain: "nowhere.test") '
                              "{ onlineUsers } } }")
        self.assertEqual(body["errors"][0]["extensions"]["code"], "not_found")

    def test_stat(self):
        """globalStats and domainStats count users, sessions and s2s connections."""
        return defer.ensureDeferred(self._stat())

    async def _metric(self):
        await self.node.auth.register("alice", "localhost", "pw")
        await connect(self.node, "alice")
        data = await self.gql(
            'query { metric { getMetrics(name: ["localhost", "mongoose_sessions"]) { '
            "... on GaugeMetric { name type value } "
            "... on CounterMetric { name type value ms_since_reset } } } }")
        self.assertEqual(data["metric"]["getMetrics"], [
            {"name": ["localhost", "mongoose_sessions"], "type": "gauge", "value": 1}])
        # The test session is not TCP/BOSH/WebSocket: its transport label is "other".
        data = await self.gql(
            'query { metric { getMetrics(name: ["_", "mongoose_sessions_opened"]) { '
            "... on CounterMetric { name type value ms_since_reset } } } }")
        opened = data["metric"]["getMetrics"]
        self.assertEqual([(m["name"], m["value"]) for m in opened],
                         [(["localhost", "mongoose_sessions_opened", "other"], 1)])
        self.assertEqual(opened[0]["type"], "counter")
        self.assertGreaterEqual(opened[0]["ms_since_reset"], 0)
        data = await self.gql(
            'query { metric { getMetricsAsDicts(name: ["global", "mongoose_info"], '
            'keys: ["value"]) { name dict { key value } } '
            'getClusterMetricsAsDicts(name: ["localhost", "mongoose_users_online"]) '
            "{ node result { name dict { key value } } } } }")
        self.assertEqual(data["metric"]["getMetricsAsDicts"][0]["dict"],
                         [{"key": "value", "value": 1}])
        cluster = data["metric"]["getClusterMetricsAsDicts"]
        self.assertEqual(len(cluster), 1)
        self.assertTrue(cluster[0]["node"].startswith("mongooseim@"))
        self.assertEqual(cluster[0]["result"], [
            {"name": ["localhost", "mongoose_users_online"],
             "dict": [{"key": "value", "value": 1}]}])
        data = await self.gql(
            "query { metric { getMetrics { __typename ... on HistogramMetric { name n p50 } } } }")
        kinds = {m["__typename"] for m in data["metric"]["getMetrics"]}
        self.assertEqual(kinds, {"GaugeMetric", "CounterMetric", "HistogramMetric"})
        data = await self.gql(
            'query { metric { getMetrics(name: ["localhost", "mongoose_sessions"]) '
            "{ __typename } } }")
        self.assertEqual(data["metric"]["getMetrics"], [{"__typename": "GaugeMetric"}])
        # The REST-shaped commands show their maps as key/value entry lists.
        data = await self.gql(
            'query { metric { getHostTypeMetric(hostType: "localhost", '
            'metric: "mongoose_sessions") { metric { key value } } } }')
        self.assertEqual(data["metric"]["getHostTypeMetric"],
                         {"metric": [{"key": "value", "value": 1}]})

    def test_metric(self):
        """getMetrics (a union), getMetricsAsDicts and getClusterMetricsAsDicts."""
        return defer.ensureDeferred(self._metric())

    async def _domain_admin_stat(self):
        body = await self.raw('query { metric { getMetrics { __typename } } }',
                              auth=("admin", "secret"))
        self.assertNotIn("errors", body)
        await self.node.domains.set_password("localhost", "dpw")
        port = reactor.listenTCP(0, Site(GraphQLHandler({"schema_endpoint": "domain_admin"},
                                                        self.node)), interface="127.0.0.1")
        self.addCleanup(port.stopListening)
        self.urls["domain_admin"] = f"http://127.0.0.1:{port.getHost().port}/api/graphql"
        auth = ("admin@localhost", "dpw")
        data = await self.gql('query { stat { domainStats(domain: "localhost") '
                              "{ registeredUsers } } }", endpoint="domain_admin", auth=auth)
        self.assertEqual(data["stat"]["domainStats"], {"registeredUsers": 0})
        for query in ['query { stat { domainStats(domain: "other.test") { onlineUsers } } }',
                      "query { stat { globalStats { onlineUsers } } }",
                      "query { metric { getMetrics { __typename } } }"]:
            body = await self.raw(query, endpoint="domain_admin", auth=auth)
            self.assertEqual(body["errors"][0]["extensions"]["code"], "no_permissions", query)

    def test_domain_admin_and_stats(self):
        """A domain admin sees domainStats of its domain only; globalStats and metrics not."""
        return defer.ensureDeferred(self._domain_admin_stat())


class SubscriptionTests(LiveTestCase):
    """stanza.subscribeForMessages over Server-Sent Events."""

    async def _setup(self):
        await super()._setup()
        for endpoint, options in [
            ("user_sse", {"schema_endpoint": "user", "sse_idle_timeout": 400}),
            ("admin_sse", {"schema_endpoint": "admin", "sse_idle_timeout": 400}),
        ]:
            port = reactor.listenTCP(0, Site(GraphQLHandler(options, self.node)),
                                     interface="127.0.0.1")
            self.addCleanup(port.stopListening)
            self.urls[endpoint] = f"http://127.0.0.1:{port.getHost().port}/api/graphql"

    async def subscribe(self, endpoint, query, auth):
        """Open a subscription; return (chunks list, Deferred firing at stream end)."""
        response = await treq.post(
            self.urls[endpoint], json.dumps({"query": query}).encode(),
            headers={"Content-Type": ["application/json"], "Accept": ["text/event-stream"],
                     **basic(*auth)}, pool=self.pool)
        self.assertEqual(response.code, 200)
        self.assertEqual(response.headers.getRawHeaders(b"content-type")[0],
                         b"text/event-stream; charset=utf-8")
        chunks: list[bytes] = []
        subscribed = defer.Deferred()

        def collect(data):
            chunks.append(data)
            if not subscribed.called:
                subscribed.callback(None)

        done = treq.collect(response, collect)
        await subscribed
        return chunks, done

    @staticmethod
    def events(chunks):
        """The (event, data) pairs of an SSE body."""
        text = b"".join(chunks).decode()
        found = []
        for block in text.split("\n\n"):
            fields = dict(line.split(": ", 1) if ": " in line else (line.rstrip(":"), "")
                          for line in block.splitlines() if not line.startswith(":"))
            if "event" in fields:
                found.append((fields["event"], fields.get("data", "")))
        return found

    async def _user_subscription(self):
        await self.node.auth.register("alice", "localhost", "pw")
        bob = await connect(self.node, "bob")
        chunks, done = await self.subscribe(
            "user_sse", "subscription { stanza { subscribeForMessages "
            "{ sender stanza_id stanza timestamp } } }", ("alice@localhost", "pw"))
        await bob.send(xml("<message to='alice@localhost' id='m1' type='chat'>"
                           "<body>Hi over SSE</body></message>"))
        await settle(self.node)
        await done
        events = self.events(chunks)
        self.assertEqual([e for e, _ in events], ["next", "complete"])
        payload = json.loads(events[0][1])["data"]["stanza"]["subscribeForMessages"]
        self.assertEqual(payload["sender"], "bob@localhost/res")
        self.assertEqual(payload["stanza_id"], "m1")
        self.assertIn("Hi over SSE", payload["stanza"])
        self.assertTrue(payload["timestamp"].endswith("Z"))
        # The subscriber left the session table when the stream ended.
        data = await self.gql('{ session { countUserResources(user: "alice@localhost") } }')
        self.assertEqual(data["session"]["countUserResources"], 0)

    def test_user_receives_message_sent_over_c2s(self):
        """A message sent by a c2s session reaches the user's subscription, then idle ends it."""
        return defer.ensureDeferred(self._user_subscription())

    async def _admin_subscription(self):
        await self.node.auth.register("alice", "localhost", "pw")
        bob = await connect(self.node, "bob")
        chunks, done = await self.subscribe(
            "admin_sse", 'subscription { stanza { subscribeForMessages(caller: "alice@localhost")'
            " { sender } } }", ("x", "y"))
        await bob.send(xml("<message to='alice@localhost'><body>1</body></message>"))
        await settle(self.node)
        await done
        events = self.events(chunks)
        self.assertEqual(events[0][0], "next")
        self.assertEqual(json.loads(events[0][1])["data"]["stanza"]["subscribeForMessages"],
                         {"sender": "bob@localhost/res"})

    def test_admin_subscribes_for_a_user(self):
        """The admin variant takes the user's JID."""
        return defer.ensureDeferred(self._admin_subscription())

    async def _denied(self):
        body = await self.raw(
            'subscription { stanza { subscribeForMessages(caller: "alice@localhost") '
            "{ sender } } }", auth=("admin", "wrong"))
        self.assertEqual(body["errors"][0]["extensions"]["code"], "unauthorized")
        body = await self.raw(
            'subscription { stanza { subscribeForMessages(caller: "alice") { sender } } }')
        self.assertEqual(body["errors"][0]["extensions"]["code"], "bad_request")

    def test_subscription_errors(self):
        """Wrong credentials and a bad caller JID answer errors instead of a stream."""
        return defer.ensureDeferred(self._denied())


class MoreCategoryQueryTests(LiveTestCase):
    """checkAuth, vcard, private, last, server, gdpr and blocklist, MongooseIM-style."""

    modules = IM_MODULES + """
[modules.mod_vcard]
[modules.mod_private]
[modules.mod_last]
[modules.mod_blocklist]
"""

    async def _check_auth(self):
        data = await self.gql("query { checkAuth { authStatus authType domain } }")
        self.assertEqual(data["checkAuth"],
                         {"authStatus": "AUTHORIZED", "authType": "ADMIN", "domain": None})
        await self.node.auth.register("alice", "localhost", "pw")
        data = await self.gql("query { checkAuth { username authStatus } }", endpoint="user",
                              auth=("alice@localhost", "pw"))
        self.assertEqual(data["checkAuth"],
                         {"username": "alice@localhost", "authStatus": "AUTHORIZED"})

    def test_check_auth(self):
        """checkAuth on the admin and the user endpoint."""
        return defer.ensureDeferred(self._check_auth())

    async def _vcard(self):
        await self.node.auth.register("alice", "localhost", "pw")
        data = await self.gql(
            "mutation($vcard: VcardInput!) { vcard { "
            'setVcard(user: "alice@localhost", vcard: $vcard) { formattedName nickname } } }',
            {"vcard": {"formattedName": "Alice Liddell",
                       "nameComponents": {"family": "Liddell", "givenName": "Alice"},
                       "nickname": ["ali"]}})
        self.assertEqual(data["vcard"]["setVcard"],
                         {"formattedName": "Alice Liddell", "nickname": ["ali"]})
        data = await self.gql('query { vcard { getVcard(user: "alice@localhost") '
                              "{ formattedName nameComponents { family givenName } } } }")
        self.assertEqual(data["vcard"]["getVcard"], {
            "formattedName": "Alice Liddell",
            "nameComponents": {"family": "Liddell", "givenName": "Alice"}})
        data = await self.gql("query { vcard { getVcard { nickname } } }", endpoint="user",
                              auth=("alice@localhost", "pw"))
        self.assertEqual(data["vcard"]["getVcard"], {"nickname": ["ali"]})

    def test_vcard(self):
        """setVcard with a VcardInput variable, getVcard as admin and as the user."""
        return defer.ensureDeferred(self._vcard())

    async def _private(self):
        await self.node.auth.register("alice", "localhost", "pw")
        await self.gql(
            'mutation { private { setPrivate(user: "alice@localhost", elementString: '
            '"<my_element xmlns=\'alice:private:ns\'>secret</my_element>") } }')
        data = await self.gql(
            'query { private { getPrivate(user: "alice@localhost", element: "my_element", '
            'nameSpace: "alice:private:ns") } }')
        self.assertIn("secret", data["private"]["getPrivate"])
        self.assertIn("alice:private:ns", data["private"]["getPrivate"])

    def test_private(self):
        """setPrivate stores an element that getPrivate answers."""
        return defer.ensureDeferred(self._private())

    async def _last(self):
        for name in ("alice", "bob"):
            await self.node.auth.register(name, "localhost", "pw")
        data = await self.gql(
            'mutation { last { setLast(user: "alice@localhost", '
            'timestamp: "2023-11-14T22:13:20Z", status: "gone fishing") '
            "{ user timestamp status } } }")
        self.assertEqual(data["last"]["setLast"], {
            "user": "alice@localhost", "timestamp": "2023-11-14T22:13:20Z",
            "status": "gone fishing"})
        data = await self.gql(
            'query { last { getLast(user: "alice@localhost") { timestamp status } '
            'countActiveUsers(domain: "localhost", timestamp: "2023-01-01T00:00:00Z") '
            'listOldUsers(domain: "localhost", timestamp: "2024-01-01T00:00:00Z") '
            "{ jid timestamp } } }")
        last = data["last"]
        self.assertEqual(last["getLast"], {"timestamp": "2023-11-14T22:13:20Z",
                                           "status": "gone fishing"})
        self.assertEqual(last["countActiveUsers"], 1)
        self.assertEqual(sorted(u["jid"] for u in last["listOldUsers"]),
                         ["alice@localhost", "bob@localhost"])

    def test_last(self):
        """setLast, getLast, countActiveUsers and listOldUsers."""
        return defer.ensureDeferred(self._last())

    async def _server(self):
        data = await self.gql(
            "query { server { status { statusCode message version } getLoglevel "
            "hostTypes { name modules { name } authMethods } "
            "globalInfo { services { name } internalDatabases } } }")
        server = data["server"]
        self.assertEqual(server["status"]["statusCode"], "RUNNING")
        self.assertTrue(server["status"]["version"])
        self.assertIn(server["getLoglevel"], {"NONE", "EMERGENCY", "ALERT", "CRITICAL", "ERROR",
                                              "WARNING", "NOTICE", "INFO", "DEBUG", "ALL"})
        localhost = {h["name"]: h for h in server["hostTypes"]}["localhost"]
        self.assertIn("mod_vcard", {m["name"] for m in localhost["modules"]})
        self.assertIn("internal", localhost["authMethods"])
        self.assertIsInstance(server["globalInfo"]["services"], list)

    def test_server(self):
        """status, getLoglevel, hostTypes and globalInfo."""
        return defer.ensureDeferred(self._server())

    async def _gdpr(self):
        await self.node.auth.register("alice", "localhost", "pw")
        path = os.path.abspath(self.mktemp()) + ".zip"
        data = await self.gql(
            "query($path: String!) { gdpr { retrievePersonalData(username: \"alice\", "
            'domain: "localhost", resultFilepath: $path) } }', {"path": path})
        self.assertEqual(data["gdpr"]["retrievePersonalData"], "Data retrieved")
        with zipfile.ZipFile(path) as archive:
            accounts = archive.read("accounts.csv").decode()
        self.assertIn("alice@localhost", accounts)

    def test_gdpr(self):
        """retrievePersonalData writes the user's zip archive."""
        return defer.ensureDeferred(self._gdpr())

    async def _blocklist(self):
        alice = await connect(self.node, "alice")
        data = await self.gql(
            'mutation { blocklist { addUser(user: "alice@localhost", reason: "spam") } }')
        self.assertIs(data["blocklist"]["addUser"], True)
        data = await self.gql(
            'query { blocklist { userCount(domain: "localhost") '
            'listBlockedUsers(domain: "localhost", limit: 10, index: 0) { jid reason } } }')
        self.assertEqual(data["blocklist"], {
            "userCount": 1, "listBlockedUsers": [{"jid": "alice@localhost", "reason": "spam"}]})
        await settle(self.node)
        self.assertEqual(alice.session.closed[0], "not-authorized")
        data = await self.gql('mutation { blocklist { removeUser(user: "alice@localhost") } }')
        self.assertIs(data["blocklist"]["removeUser"], True)
        data = await self.gql('query { blocklist { userCount(domain: "localhost") } }')
        self.assertEqual(data["blocklist"]["userCount"], 0)

    def test_blocklist(self):
        """addUser bars a user (her session is closed), userCount, list, removeUser."""
        return defer.ensureDeferred(self._blocklist())


class DomainQueryTests(LiveTestCase):
    """``domain`` on a node with a host type for dynamic domains."""

    async def start_node(self):
        """A node with ``host_types = ["tenants"]``."""
        data = os.path.abspath(self.mktemp())
        config = parse_config(DOMAIN_CONFIG.format(data=data))
        node = Node(config, reactor=reactor, extensions=ExtensionRegistry())
        node.startService()
        await node.ready
        self.addCleanup(node.stopService)
        return node

    async def _domain(self):
        data = await self.gql(
            'mutation { domain { addDomain(domain: "tenant.test", hostType: "tenants") '
            "{ domain hostType status } } }")
        self.assertEqual(data["domain"]["addDomain"],
                         {"domain": "tenant.test", "hostType": "tenants", "status": "ENABLED"})
        data = await self.gql(
            'query { domain { domainDetails(domain: "tenant.test") '
            "{ domain hostType status } "
            'domainsByHostType(hostType: "tenants") allDomains { domain type } } }')
        self.assertEqual(data["domain"]["domainDetails"],
                         {"domain": "tenant.test", "hostType": "tenants", "status": "ENABLED"})
        self.assertIn("tenant.test", data["domain"]["domainsByHostType"])
        kinds = {d["domain"]: d["type"] for d in data["domain"]["allDomains"]}
        self.assertEqual((kinds["tenant.test"], kinds["localhost"]), ("DYNAMIC", "STATIC"))
        data = await self.gql(
            'mutation { domain { disableDomain(domain: "tenant.test") { status } } }')
        self.assertEqual(data["domain"]["disableDomain"], {"status": "DISABLED"})
        await self.gql('mutation { domain { removeDomain(domain: "tenant.test", '
                       'hostType: "tenants") { domain } } }')
        body = await self.raw('query { domain { domainDetails(domain: "tenant.test") '
                              "{ status } } }")
        self.assertEqual(body["errors"][0]["extensions"]["code"], "not_found")

    def test_domain(self):
        """addDomain, domainDetails, domainsByHostType, allDomains, disable, remove."""
        return defer.ensureDeferred(self._domain())

