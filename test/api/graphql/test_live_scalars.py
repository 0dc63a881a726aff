"""MongooseIM queries whose variables carry MongooseIM's scalar names, over a real socket.

A MongooseIM client declares its variables with the types of MongooseIM's
schema (``$u: BareJID!``, ``$x: XmlElement``, ``$n: [String]`` ...); those
queries must validate and run against ours unchanged.  The fields MongooseIM's
user schema names differently (``session.listResources`` ...) and the optional
``user`` argument of the user schema's ``getVcard``/``getLast`` are covered too.
"""

from __future__ import annotations

from twisted.internet import defer

from test.api.graphql.test_live import LiveTestCase
from test.support.sessions import IM_MODULES, connect, settle

ALICE = ("alice@localhost", "pw")
BOB = ("bob@localhost", "pw")


class ScalarVariableTests(LiveTestCase):
    """Variables typed with MongooseIM's scalars, on the admin and the user endpoint."""

    modules = IM_MODULES + """
[modules.mod_vcard]
[modules.mod_private]
[modules.mod_last]
[modules.mod_blocklist]
"""

    async def error_code(self, query, variables=None, **kwargs):
        """The ``extensions.code`` of the first error of a query that must fail."""
        body = await self.raw(query, variables, **kwargs)
        self.assertIn("errors", body, body)
        return body["errors"][0]["extensions"]["code"]

    async def _sessions(self):
        await connect(self.node, "alice", resource="phone")
        await connect(self.node, "alice", resource="laptop")
        bob = await connect(self.node, "bob", resource="pc")
        data = await self.gql(
            "query($u: JID!, $n: PosInt!) { session { getUserResource(user: $u, number: $n) } }",
            {"u": "alice@localhost", "n": 1})
        self.assertIn(data["session"]["getUserResource"], ("phone", "laptop"))
        # MongooseIM's user schema: listResources, countResources, listSessions.
        data = await self.gql(
            "query { session { listResources countResources listSessions { user } } }",
            endpoint="user", auth=ALICE)
        self.assertEqual(sorted(data["session"]["listResources"]), ["laptop", "phone"])
        self.assertEqual(data["session"]["countResources"], 2)
        self.assertEqual(sorted(s["user"] for s in data["session"]["listSessions"]),
                         ["alice@localhost/laptop", "alice@localhost/phone"])
        kick_one = ("mutation($s: FullJID!, $r: String) { session { "
                    "kickUserSession(user: $s, reason: $r) { jid kicked } } }")
        # A FullJID without a resource is refused by the argument's type.
        code = await self.error_code(kick_one, {"s": "alice@localhost", "r": "bye"})
        self.assertEqual(code, "bad_request")
        data = await self.gql(kick_one, {"s": "alice@localhost/phone", "r": "bye"})
        self.assertEqual(data["session"]["kickUserSession"],
                         {"jid": "alice@localhost/phone", "kicked": True})
        data = await self.gql(
            "mutation($u: BareJID!) { session { kickUser(user: $u, reason: \"bye\") "
            "{ jid kicked } } }", {"u": "bob@localhost"})
        self.assertEqual(data["session"]["kickUser"],
                         [{"jid": "bob@localhost/pc", "kicked": True}])
        self.assertEqual(bob.session.closed, ("policy-violation", "bye"))
        data = await self.gql(
            "query($d: DomainName, $s: NonEmptyString!) { session { "
            "listUsersWithStatus(domain: $d, status: $s) { user } "
            "countUsersWithStatus(domain: $d, status: $s) } }",
            {"d": "localhost", "s": "available"})
        self.assertEqual(data["session"]["countUsersWithStatus"], 0)
        code = await self.error_code(
            "query($s: NonEmptyString!) { session { countUsersWithStatus(status: $s) } }",
            {"s": ""})
        self.assertEqual(code, "bad_request")

    def test_sessions(self):
        """ResourceName results, FullJID/BareJID/NonEmptyString variables, user fields."""
        return defer.ensureDeferred(self._sessions())

    async def _private_and_stanza(self):
        alice = await connect(self.node, "alice")
        await connect(self.node, "bob")
        element = "<note xmlns='alice:notes'>milk</note>"
        data = await self.gql(
            "mutation($u: JID!, $x: XmlElement!) { private { "
            "setPrivate(user: $u, elementString: $x) } }",
            {"u": "alice@localhost", "x": element})
        self.assertIn("milk", data["private"]["setPrivate"])
        data = await self.gql(
            "query($e: String!, $ns: NonEmptyString!) { private { "
            "getPrivate(element: $e, nameSpace: $ns) } }",
            {"e": "note", "ns": "alice:notes"}, endpoint="user", auth=ALICE)
        self.assertIn("milk", data["private"]["getPrivate"])
        code = await self.error_code(
            "query($ns: NonEmptyString!) { private { getPrivate(element: \"note\", "
            "nameSpace: $ns) } }", {"ns": ""}, endpoint="user", auth=ALICE)
        self.assertEqual(code, "bad_request")
        # MongooseIM declares sendStanza(stanza: XmlElement), nullable.
        send = "mutation($s: XmlElement) { stanza { sendStanza(stanza: $s) { id } } }"
        data = await self.gql(send, {"s": "<message from='bob@localhost' "
                                          "to='alice@localhost/res' id='m1' type='chat'>"
                                          "<body>Hi!</body></message>"})
        self.assertEqual(data["stanza"]["sendStanza"], {"id": "m1"})
        await settle(self.node)
        self.assertEqual([str(m.body) for m in alice.take() if m.name == "message"], ["Hi!"])
        self.assertEqual(await self.error_code(send, {"s": None}), "bad_request")

    def test_private_and_stanza(self):
        """XmlElement and NonEmptyString variables; sendStanza answers an ID."""
        return defer.ensureDeferred(self._private_and_stanza())

    async def _optional_user(self):
        for name in ("alice", "bob"):
            await self.node.auth.register(name, "localhost", "pw")
        await self.gql("mutation { vcard { setVcard(vcard: {formattedName: \"Alice\", "
                       "nameComponents: {}}) { formattedName } } "
                       "last { setLast(status: \"away\") { status } } }",
                       endpoint="user", auth=ALICE)
        query = ("query($u: JID) { vcard { getVcard(user: $u) { formattedName } } "
                 "last { getLast(user: $u) { status } } }")
        for user in (None, "alice@localhost"):
            data = await self.gql(query, {"u": user}, endpoint="user", auth=ALICE)
            self.assertEqual(data, {"vcard": {"getVcard": {"formattedName": "Alice"}},
                                    "last": {"getLast": {"status": "away"}}}, user)
        # Another user's last activity is not readable over the user API ...
        last = "query($u: JID) { last { getLast(user: $u) { status } } }"
        code = await self.error_code(last, {"u": "bob@localhost"}, endpoint="user", auth=ALICE)
        self.assertEqual(code, "no_permissions")
        # ... but vCards are public, as over XMPP.
        vcard = "query($u: JID) { vcard { getVcard(user: $u) { formattedName } } }"
        data = await self.gql(vcard, {"u": "alice@localhost"}, endpoint="user", auth=BOB)
        self.assertEqual(data, {"vcard": {"getVcard": {"formattedName": "Alice"}}})

    def test_optional_user_argument(self):
        """The user schema's getVcard(user: JID) and getLast(user: JID)."""
        return defer.ensureDeferred(self._optional_user())

    async def _admin_arguments(self):
        for name in ("alice", "bob"):
            await self.node.auth.register(name, "localhost", "pw")
        alice = await connect(self.node, "alice")
        data = await self.gql(
            "mutation($u: JID!, $r: NonEmptyString) { blocklist { "
            "addUser(user: $u, reason: $r) } }", {"u": "bob@localhost", "r": "spam"})
        self.assertTrue(data["blocklist"]["addUser"])
        data = await self.gql(
            "mutation($d: DomainName!, $p: NonEmptyString!) { domain { "
            "setDomainPassword(domain: $d, password: $p) } }",
            {"d": "localhost", "p": "dpw"})
        self.assertTrue(data["domain"]["setDomainPassword"])
        data = await self.gql(
            "query($n: [String], $k: [String]) { metric { "
            "getMetricsAsDicts(name: $n, keys: $k) { name } } }",
            {"n": ["localhost", "mongoose_sessions"], "k": ["value"]})
        self.assertEqual(data["metric"]["getMetricsAsDicts"],
                         [{"name": ["localhost", "mongoose_sessions"]}])
        data = await self.gql(
            "mutation($u: JID!, $r: String!) { account { banUser(user: $u, reason: $r) "
            "{ jid message } } }", {"u": "alice@localhost", "r": "spam"})
        self.assertEqual(data["account"]["banUser"]["jid"], "alice@localhost")
        self.assertEqual(alice.session.closed, ("policy-violation", "spam"))
        self.assertFalse(await self.node.auth.check_password("alice", "localhost", "pw"))
        code = await self.error_code(
            "mutation { account { banUser(user: \"nobody@localhost\", reason: \"x\") "
            "{ jid } } }")
        self.assertEqual(code, "not_found")

    def test_admin_arguments(self):
        """NonEmptyString and [String] variables; banUser locks out and kicks."""
        return defer.ensureDeferred(self._admin_arguments())
