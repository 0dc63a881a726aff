"""Tests for mongoose.xmpp.sasl.plain, anonymous and external mechanisms."""

from __future__ import annotations

from twisted.internet.defer import Deferred, fail, succeed
from twisted.trial.unittest import SynchronousTestCase
from zope.interface.verify import verifyObject

from mongoose.xmpp.jid import JID
from mongoose.xmpp.sasl.anonymous import AnonymousMechanism
from mongoose.xmpp.sasl.core import Challenge, Failure, ISASLMechanism, Success
from mongoose.xmpp.sasl.external import ExternalMechanism
from mongoose.xmpp.sasl.plain import PlainMechanism


class Passwords:
    """A fake password store that records what it was asked."""

    def __init__(self, **passwords):
        self.passwords = passwords
        self.asked = []

    def check(self, username, password):
        self.asked.append((username, password))
        return succeed(self.passwords.get(username) == password)


class PlainTests(SynchronousTestCase):
    """PLAIN (RFC 4616) end to end."""

    def setUp(self):
        self.store = Passwords(alice="s3cret \u00e9")
        self.mech = PlainMechanism("localhost", self.store.check)

    def step(self, data, mech=None):
        return self.successResultOf((mech or self.mech).step(data))

    def test_interface(self):
        """The mechanism provides ISASLMechanism."""
        verifyObject(ISASLMechanism, self.mech)
        self.assertEqual(self.mech.name, "PLAIN")

    def test_success(self):
        """The right password authenticates."""
        self.assertEqual(self.step("\0alice\0s3cret \u00e9".encode()), Success(None, "alice", None))

    def test_username_prepared(self):
        """The username is case-mapped as a localpart before the password check."""
        self.assertEqual(self.step("\0ALICE\0s3cret \u00e9".encode()).username, "alice")
        self.assertEqual(self.store.asked, [("alice", "s3cret \u00e9")])

    def test_wrong_password(self):
        """A wrong password fails with not-authorized."""
        result = self.step(b"\0alice\0nope")
        self.assertEqual((result.condition, result.username), ("not-authorized", "alice"))

    def test_unknown_user(self):
        """An unknown user fails exactly like a wrong password."""
        unknown = self.step(b"\0mallory\0nope")
        wrong = self.step(b"\0alice\0nope", PlainMechanism("localhost", self.store.check))
        self.assertEqual((unknown.condition, unknown.text), (wrong.condition, wrong.text))

    def test_invalid_username(self):
        """A username that cannot be a localpart fails with not-authorized."""
        self.assertEqual(self.step(b"\0al ice\0x").condition, "not-authorized")
        self.assertEqual(self.store.asked, [])

    def test_authzid_self(self):
        """An authzid naming the user's own bare JID is accepted."""
        result = self.step("alice@LOCALHOST\0alice\0s3cret \u00e9".encode())
        self.assertEqual(result, Success(None, "alice", "alice@localhost"))

    def test_authzid_other(self):
        """An authzid naming someone else fails with invalid-authzid."""
        for authzid in (b"bob@localhost", b"alice@elsewhere", b"alice@localhost/r", b"@@"):
            mech = PlainMechanism("localhost", self.store.check)
            self.assertEqual(
                self.step(authzid + "\0alice\0s3cret \u00e9".encode(), mech).condition,
                "invalid-authzid",
            )

    def test_malformed(self):
        """Messages that break RFC 4616 fail with malformed-request."""
        for data in (
            b"alice",
            b"\0alice",
            b"\0\0pw",
            b"\0alice\0",
            b"a\0b\0c\0d",
            b"\0\xff\0x",
            b"\0a\0" + b"x" * 9000,
        ):
            mech = PlainMechanism("localhost", self.store.check)
            self.assertEqual(self.step(data, mech).condition, "malformed-request", data[:20])

    def test_no_initial_response(self):
        """Without an initial response the server sends an empty challenge."""
        self.assertEqual(self.step(None), Challenge(b""))
        self.assertEqual(self.step("\0alice\0s3cret \u00e9".encode()).username, "alice")

    def test_backend_failure(self):
        """A failing password check becomes temporary-auth-failure, logged."""
        mech = PlainMechanism("localhost", lambda u, p: fail(RuntimeError("db down")))
        self.assertEqual(self.step(b"\0alice\0x", mech), Failure("temporary-auth-failure"))
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)

    def test_async_backend(self):
        """The result waits for a Deferred from the password check."""
        pending = Deferred()
        mech = PlainMechanism("localhost", lambda u, p: pending)
        result = mech.step(b"\0alice\0x")
        self.assertNoResult(result)
        busy = self.successResultOf(mech.step(b"\0alice\0x"))
        self.assertEqual(busy.condition, "malformed-request")
        pending.callback(True)
        self.assertEqual(self.successResultOf(result).username, "alice")

    def test_finished(self):
        """After the outcome, further steps fail."""
        self.step(b"\0alice\0nope")
        self.assertEqual(self.step(b"\0alice\0s3cret").condition, "malformed-request")


class AnonymousTests(SynchronousTestCase):
    """ANONYMOUS (RFC 4505)."""

    def test_random_usernames(self):
        """Each exchange gets a fresh username that is a valid localpart."""
        first = self.successResultOf(AnonymousMechanism().step(None))
        second = self.successResultOf(AnonymousMechanism().step(b"trace@example"))
        self.assertIsInstance(first, Success)
        self.assertNotEqual(first.username, second.username)
        self.assertEqual(JID.from_parts(first.username, "localhost").user, first.username)
        verifyObject(ISASLMechanism, AnonymousMechanism())

    def test_custom_username(self):
        """The username maker may be given and may return a Deferred."""
        mech = AnonymousMechanism(lambda: succeed("guest1"))
        self.assertEqual(self.successResultOf(mech.step(b"")).username, "guest1")

    def test_bad_trace(self):
        """Oversized or non-UTF-8 trace data is refused."""
        self.assertEqual(
            self.successResultOf(AnonymousMechanism().step(b"x" * 2000)).condition,
            "malformed-request",
        )
        self.assertEqual(
            self.successResultOf(AnonymousMechanism().step(b"\xff")).condition,
            "malformed-request",
        )


class ExternalTests(SynchronousTestCase):
    """EXTERNAL delegates to a certificate check."""

    def test_success(self):
        """The verify callback gets the authzid and names the user."""
        seen = []
        mech = ExternalMechanism(lambda authzid: seen.append(authzid) or "alice")
        verifyObject(ISASLMechanism, mech)
        self.assertEqual(self.successResultOf(mech.step(b"")), Success(None, "alice", None))
        self.assertEqual(seen, [None])

    def test_authzid_and_challenge(self):
        """Without initial response an empty challenge is sent; authzid is passed on."""
        mech = ExternalMechanism(
            lambda authzid: succeed("alice" if authzid == "alice@localhost" else None)
        )
        self.assertEqual(self.successResultOf(mech.step(None)), Challenge(b""))
        result = self.successResultOf(mech.step(b"alice@localhost"))
        self.assertEqual(result.authzid, "alice@localhost")

    def test_refused(self):
        """A certificate that does not authenticate fails with not-authorized."""
        mech = ExternalMechanism(lambda authzid: None)
        self.assertEqual(self.successResultOf(mech.step(b"")).condition, "not-authorized")
