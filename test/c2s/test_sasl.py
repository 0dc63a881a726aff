"""SASL on client streams (RFC 6120 section 6): mechanisms, failures, access, ANONYMOUS."""

import base64

from twisted.trial.unittest import TestCase

from mongoose.xmpp.namespaces import NS_SASL
from test.c2s.support import connect, start_node

SCRAM = ("SCRAM-SHA-1", "SCRAM-SHA-224", "SCRAM-SHA-256", "SCRAM-SHA-384", "SCRAM-SHA-512")


def mechanisms(features):
    """Mechanism names listed in a features element."""
    for child in features.elements():
        if child.uri == NS_SASL and child.name == "mechanisms":
            return [str(m) for m in child.elements()]
    return []


def condition(el):
    """The condition of a SASL <failure/>."""
    for child in el.elements():
        if child.name != "text":
            return child.name
    return None


class SASLTestCase(TestCase):
    """Helpers: a node and a client whose stream is open."""

    async def opened(self, **node_options):
        """Start a node; return (node, client, features) with a stream open."""
        node = await start_node(self, **node_options)
        client = await connect(node.c2s_port)
        self.addCleanup(client.transport.loseConnection)
        _, features = await client.open()
        return node, client, features

    async def finish_login(self, client):
        """After <success/>: restart and bind; return the JID."""
        client.reset()
        _, features = await client.open()
        self.assertIn("bind", [c.name for c in features.elements()])
        return await client.bind("r")


class PasswordMechanismTests(SASLTestCase):
    """PLAIN and every SCRAM variant, with good and bad passwords."""

    async def test_plain(self):
        """PLAIN with the right password succeeds and the session binds."""
        _, client, _ = await self.opened()
        answer = await client.auth_plain("alice", "secret")
        self.assertEqual(answer.name, "success")
        self.assertEqual(await self.finish_login(client), "alice@localhost/r")

    async def test_plain_bad_password_then_retry(self):
        """A wrong password gets not-authorized; the stream stays open for a retry."""
        _, client, _ = await self.opened()
        answer = await client.auth_plain("alice", "wrong")
        self.assertEqual((answer.name, condition(answer)), ("failure", "not-authorized"))
        answer = await client.auth_plain("alice", "secret")
        self.assertEqual(answer.name, "success")

    async def test_plain_unknown_user(self):
        """An unknown user gets the same not-authorized as a wrong password."""
        _, client, _ = await self.opened()
        answer = await client.auth_plain("nobody", "secret")
        self.assertEqual(condition(answer), "not-authorized")

    async def test_every_scram(self):
        """Each SCRAM hash logs in with the right password (server signature checked)."""
        node = await start_node(self)
        for mechanism in SCRAM:
            client = await connect(node.c2s_port)
            self.addCleanup(client.transport.loseConnection)
            await client.open()
            answer = await client.scram(mechanism, "alice", "secret")
            self.assertEqual(answer.name, "success", mechanism)

    async def test_every_scram_bad_password(self):
        """Each SCRAM hash refuses a wrong password with not-authorized."""
        node = await start_node(self)
        for mechanism in SCRAM:
            client = await connect(node.c2s_port)
            self.addCleanup(client.transport.loseConnection)
            await client.open()
            answer = await client.scram(mechanism, "alice", "wrong")
            self.assertEqual((answer.name, condition(answer)), ("failure", "not-authorized"))

    async def test_scram_plus_refused_without_tls(self):
        """-PLUS is not offered on a plain TCP stream, so choosing it is invalid-mechanism."""
        _, client, features = await self.opened()
        self.assertFalse([m for m in mechanisms(features) if m.endswith("-PLUS")])
        answer = await client.scram("SCRAM-SHA-256-PLUS", "alice", "secret", cb_type="tls-exporter")
        self.assertEqual(condition(answer), "invalid-mechanism")

    async def test_y_flag_without_tls(self):
        """Without TLS no binding is offered, so the 'y' flag is fine."""
        _, client, _ = await self.opened()
        answer = await client.scram("SCRAM-SHA-256", "alice", "secret", flag="y")
        self.assertEqual(answer.name, "success")


class FailureTests(SASLTestCase):
    """The failure conditions of RFC 6120 section 6.5 and the attempts limit."""

    async def test_invalid_mechanism(self):
        """A mechanism that is not offered gets invalid-mechanism."""
        _, client, _ = await self.opened()
        client.send(f"<auth xmlns='{NS_SASL}' mechanism='DIGEST-MD5'/>")
        self.assertEqual(condition(await client.element()), "invalid-mechanism")

    async def test_incorrect_encoding(self):
        """A payload that is not base64 gets incorrect-encoding."""
        _, client, _ = await self.opened()
        client.send(f"<auth xmlns='{NS_SASL}' mechanism='PLAIN'>!!not base64!!</auth>")
        self.assertEqual(condition(await client.element()), "incorrect-encoding")

    async def test_malformed_request(self):
        """A PLAIN message without its NULs gets malformed-request."""
        _, client, _ = await self.opened()
        payload = base64.b64encode(b"alice-secret").decode()
        client.send(f"<auth xmlns='{NS_SASL}' mechanism='PLAIN'>{payload}</auth>")
        self.assertEqual(condition(await client.element()), "malformed-request")

    async def test_response_without_exchange(self):
        """A <response/> with no exchange in progress gets malformed-request."""
        _, client, _ = await self.opened()
        client.send(f"<response xmlns='{NS_SASL}'>AAAA</response>")
        self.assertEqual(condition(await client.element()), "malformed-request")

    async def test_abort(self):
        """<abort/> in the middle of SCRAM gets aborted."""
        _, client, _ = await self.opened()
        client.send(f"<auth xmlns='{NS_SASL}' mechanism='SCRAM-SHA-1'/>")
        challenge = await client.element()
        self.assertEqual(challenge.name, "challenge")
        client.send(f"<abort xmlns='{NS_SASL}'/>")
        self.assertEqual(condition(await client.element()), "aborted")

    async def test_auth_hooks(self):
        """auth_failed and auth_succeeded run with host, user, mechanism (and condition)."""
        node, client, _ = await self.opened()
        seen = []
        node.hooks.add("auth_failed", lambda *args: seen.append(("failed", *args)))
        node.hooks.add("auth_succeeded", lambda *args: seen.append(("ok", *args)))
        await client.auth_plain("alice", "wrong")
        await client.scram("SCRAM-SHA-1", "alice", "secret")
        self.assertEqual(
            seen,
            [
                ("failed", "localhost", "alice", "PLAIN", "not-authorized"),
                ("ok", "localhost", "alice", "SCRAM-SHA-1"),
            ],
        )

    async def test_attempts_limit(self):
        """The fifth failure is followed by a policy-violation stream error."""
        _, client, _ = await self.opened()
        for attempt in range(4):
            answer = await client.auth_plain("alice", f"wrong{attempt}")
            self.assertEqual(condition(answer), "not-authorized")
        answer = await client.auth_plain("alice", "wrong again")
        self.assertEqual(condition(answer), "not-authorized")
        error = await client.closed_with()
        self.assertEqual(error.condition, "policy-violation")


class ConfigurationTests(SASLTestCase):
    """auth.sasl_mechanisms, auth.password.hash, access and allowed_auth_methods."""

    async def test_configured_order(self):
        """auth.sasl_mechanisms selects and orders the mechanisms."""
        _, _, features = await self.opened(
            auth='  sasl_mechanisms = ["plain", "scram_sha256"]\n  [auth.internal]'
        )
        self.assertEqual(mechanisms(features), ["PLAIN", "SCRAM-SHA-256"])

    async def test_hashes_limit_scram(self):
        """Only the SCRAM hashes kept by auth.password.hash are offered."""
        _, _, features = await self.opened(auth='  password.hash = ["sha256"]\n  [auth.internal]')
        self.assertEqual(mechanisms(features), ["SCRAM-SHA-256", "PLAIN"])

    async def test_access_rule_denies(self):
        """A user the listener's access rule denies gets not-authorized after SASL."""
        extra = """
[acl]
  blocked = [{user = "bob"}]
[access]
  c2s = [{acl = "blocked", value = "deny"}, {acl = "all", value = "allow"}]
"""
        node = await start_node(self, listener='  access = "c2s"', extra=extra)
        client = await connect(node.c2s_port)
        self.addCleanup(client.transport.loseConnection)
        await client.open()
        answer = await client.auth_plain("bob", "secret")
        self.assertEqual(condition(answer), "not-authorized")
        error = await client.closed_with()
        self.assertEqual(error.condition, "not-authorized")
        other = await connect(node.c2s_port)
        self.addCleanup(other.transport.loseConnection)
        await other.open()
        self.assertEqual((await other.auth_plain("alice", "secret")).name, "success")

    async def test_anonymous(self):
        """With the anonymous method, ANONYMOUS logs in as a fresh random user."""
        auth = '  methods = ["internal", "anonymous"]\n  [auth.internal]\n  [auth.anonymous]'
        node, client, features = await self.opened(auth=auth)
        self.assertIn("ANONYMOUS", mechanisms(features))
        client.send(f"<auth xmlns='{NS_SASL}' mechanism='ANONYMOUS'/>")
        self.assertEqual((await client.element()).name, "success")
        jid = await self.finish_login(client)
        user = jid.split("@")[0]
        self.assertEqual(len(user), 32)
        (session,) = node.sessions.all_sessions("localhost")
        self.assertEqual(session.info["auth_mechanism"], "ANONYMOUS")

    async def test_allowed_auth_methods(self):
        """allowed_auth_methods keeps only the listed methods' mechanisms."""
        auth = '  methods = ["internal", "anonymous"]\n  [auth.internal]\n  [auth.anonymous]'
        _, client, features = await self.opened(
            auth=auth, listener='  allowed_auth_methods = ["anonymous"]'
        )
        self.assertEqual(mechanisms(features), ["ANONYMOUS"])
        answer = await client.auth_plain("alice", "secret")
        self.assertEqual(condition(answer), "invalid-mechanism")

    async def test_no_anonymous_by_default(self):
        """ANONYMOUS is not offered unless the anonymous method is on."""
        _, _, features = await self.opened()
        self.assertNotIn("ANONYMOUS", mechanisms(features))
