"""mod_register (XEP-0077) over real sockets: create, limits, change password, cancel."""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase, TestCase

from mongoose.modules.mod_register import NS_FEATURE_REGISTER, NS_REGISTER, password_entropy
from test.c2s.support import connect, logged_in, start_node
from test.support.waiting import later

MODULES = """
[modules.mod_presence]
[modules.mod_roster]
[modules.mod_offline]
[modules.mod_register]
{options}
"""




def condition(reply) -> str | None:
    """The stanza error condition of an IQ reply, or None for a result."""
    if reply.getAttribute("type") != "error":
        return None
    error = next(c for c in reply.elements() if c.name == "error")
    return next(error.elements()).name


def register_iq(user: str, password: str, iq_id: str = "reg1") -> str:
    """An IQ set creating ``user``."""
    return (
        f"<iq type='set' id='{iq_id}'><query xmlns='{NS_REGISTER}'>"
        f"<username>{user}</username><password>{password}</password></query></iq>"
    )


class RegisterTestCase(TestCase):
    """A node with mod_register configured by ``options`` and ``extra``."""

    options = "  registration_watchers = [\"alice@localhost\"]"
    extra = ""

    async def setUp(self):
        """Start the node."""
        extra = MODULES.format(options=self.options) + self.extra
        self.node = await start_node(self, extra=extra)
        self.port = self.node.c2s_port

    async def fresh(self):
        """A connected client that opened its stream; return it and the features."""
        client = await connect(self.port)
        self.addCleanup(client.transport.loseConnection)
        _, features = await client.open()
        return client, features

    async def register(self, user: str, password: str):
        """Register on a fresh stream; return the reply."""
        client, _ = await self.fresh()
        client.send(register_iq(user, password))
        return await client.element()


class CreateTests(RegisterTestCase):
    """Creating accounts before authentication."""

    async def test_feature_before_auth(self):
        """The iq-register stream feature is advertised before SASL."""
        _, features = await self.fresh()
        self.assertIn(NS_FEATURE_REGISTER, [c.uri for c in features.elements()])

    async def test_form(self):
        """An IQ get returns the fields: instructions, username, password."""
        client, _ = await self.fresh()
        client.send(f"<iq type='get' id='f'><query xmlns='{NS_REGISTER}'/></iq>")
        reply = await client.element()
        self.assertEqual(reply["type"], "result")
        names = [c.name for c in next(reply.elements()).elements()]
        self.assertEqual(names, ["instructions", "username", "password"])

    async def test_create_and_login(self):
        """A registered account can log in; the watcher is told about it."""
        watcher, _ = await logged_in(self, self.port, "alice")
        watcher.send("<presence/>")
        reply = await self.register("carol", "s3cret")
        self.assertEqual(reply["type"], "result")
        self.assertEqual(reply["id"], "reg1")
        client, _ = await self.fresh()
        answer = await client.auth_plain("carol", "s3cret")
        self.assertEqual(answer.name, "success")
        while True:
            el = await watcher.element()
            if el.name == "message":
                break
        self.assertIn("carol@localhost", str(next(el.elements())))

    async def test_existing_account_conflict(self):
        """Registering an existing user answers conflict."""
        reply = await self.register("alice", "whatever")
        self.assertEqual(condition(reply), "conflict")

    async def test_missing_password(self):
        """A set without a password answers bad-request."""
        client, _ = await self.fresh()
        client.send(f"<iq type='set' id='x'><query xmlns='{NS_REGISTER}'>"
                    "<username>dave</username></query></iq>")
        self.assertEqual(condition(await client.element()), "bad-request")

    async def test_other_iq_still_needs_auth(self):
        """A non-registration IQ before authentication still closes with not-authorized."""
        client, _ = await self.fresh()
        client.send("<iq type='get' id='v'><query xmlns='jabber:iq:version'/></iq>")
        error = await client.closed_with()
        self.assertEqual(error.condition, "not-authorized")

    async def test_rate_limit_per_ip(self):
        """A second registration from the same address within registration_timeout fails."""
        first = await self.register("erin", "pw-one")
        self.assertEqual(first["type"], "result")
        second = await self.register("frank", "pw-two")
        self.assertEqual(condition(second), "resource-constraint")


class PolicyTests(RegisterTestCase):
    """access, ip_access and password_strength."""

    options = "  access = \"register\"\n  password_strength = 40"
    extra = """
[acl]
  blocked = [{user_regex = "^bad"}]
[access]
  register = [
    {acl = "blocked", value = "deny"},
    {acl = "all", value = "allow"}
  ]
"""

    async def test_access_denied(self):
        """The access rule denies: forbidden."""
        reply = await self.register("badguy", "Quite-Long-Password-1")
        self.assertEqual(condition(reply), "forbidden")

    async def test_weak_password(self):
        """A password under password_strength bits: not-acceptable."""
        reply = await self.register("gina", "abc")
        self.assertEqual(condition(reply), "not-acceptable")

    async def test_strong_password(self):
        """A strong enough password registers."""
        reply = await self.register("gina", "Quite-Long-Password-1")
        self.assertEqual(reply["type"], "result")


class IPAccessTests(RegisterTestCase):
    """ip_access."""

    options = """  ip_access = [
    {address = "10.0.0.0/8", policy = "allow"},
    {address = "127.0.0.0/8", policy = "deny"}
  ]"""

    async def test_denied_network(self):
        """A client from a denied network gets not-allowed."""
        reply = await self.register("hank", "pw")
        self.assertEqual(condition(reply), "not-allowed")


class WelcomeTests(RegisterTestCase):
    """welcome_message."""

    options = "  welcome_message = {subject = \"Hi\", body = \"Welcome!\"}"

    async def test_welcome_message_stored(self):
        """The new account finds the welcome message in offline storage."""
        reply = await self.register("ivy", "pw")
        self.assertEqual(reply["type"], "result")
        stored = 0
        for _ in range(50):
            stored = await self.node.stores.offline.count_messages("localhost", "ivy")
            if stored:
                break
            await later(0.02)
        self.assertEqual(stored, 1)


class AuthenticatedTests(RegisterTestCase):
    """Password change and cancellation after login."""

    async def test_change_password(self):
        """A set with username and password changes the password."""
        client, _ = await logged_in(self, self.port, "bob")
        client.send(register_iq("bob", "new-pass", "cp"))
        reply = await client.element()
        self.assertEqual(reply["type"], "result")
        self.assertTrue(await self.node.auth.check_password("bob", "localhost", "new-pass"))

    async def test_change_someone_elses_password(self):
        """Changing another user's password is not allowed."""
        client, _ = await logged_in(self, self.port, "bob")
        client.send(register_iq("alice", "hijack", "cp"))
        reply = await client.element()
        self.assertEqual(condition(reply), "not-allowed")
        self.assertTrue(await self.node.auth.check_password("alice", "localhost", "secret"))

    async def test_get_shows_registered(self):
        """An IQ get after login says <registered/> with the user name."""
        client, _ = await logged_in(self, self.port, "bob")
        client.send(f"<iq type='get' id='g'><query xmlns='{NS_REGISTER}'/></iq>")
        reply = await client.element()
        names = [c.name for c in next(reply.elements()).elements()]
        self.assertIn("registered", names)

    async def test_cancel(self):
        """<remove/> deletes the account, answers result and ends the stream."""
        client, _ = await logged_in(self, self.port, "bob")
        client.send(f"<iq type='set' id='rm'><query xmlns='{NS_REGISTER}'><remove/></query></iq>")
        reply = await client.element()
        self.assertEqual(reply["type"], "result")
        self.assertEqual(reply["id"], "rm")
        error = await client.closed_with()
        self.assertEqual(error.condition, "not-authorized")
        self.assertFalse(await self.node.auth.user_exists("bob", "localhost"))

    async def test_cancel_before_login_not_allowed(self):
        """<remove/> before authentication is not allowed."""
        client, _ = await self.fresh()
        client.send(f"<iq type='set' id='rm'><query xmlns='{NS_REGISTER}'><remove/></query></iq>")
        self.assertEqual(condition(await client.element()), "not-allowed")


class EntropyTests(SynchronousTestCase):
    """password_entropy."""

    def test_values(self):
        """Longer passwords and richer alphabets score higher; empty scores 0."""
        self.assertEqual(password_entropy(""), 0.0)
        self.assertAlmostEqual(password_entropy("aaaa"), 4 * 4.700439718141092)
        self.assertGreater(password_entropy("aA1!aA1!"), password_entropy("aaaaaaaa"))
