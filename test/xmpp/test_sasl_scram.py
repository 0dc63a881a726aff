"""Tests for mongoose.xmpp.sasl.scram: SCRAM-SHA-* and -PLUS (RFC 5802, RFC 7677)."""

from __future__ import annotations

import base64

import scramp
from twisted.internet.defer import Deferred, fail, succeed
from twisted.trial.unittest import SynchronousTestCase
from zope.interface.verify import verifyObject

from mongoose.xmpp.sasl.core import Challenge, Failure, ISASLMechanism, Success
from mongoose.xmpp.sasl.scram import ScramMechanism

from .scram_client import ScramClient, derive_credentials

HASH_NAMES = {
    "SCRAM-SHA-1": "sha",
    "SCRAM-SHA-224": "sha224",
    "SCRAM-SHA-256": "sha256",
    "SCRAM-SHA-384": "sha384",
    "SCRAM-SHA-512": "sha512",
}
EXPORTER = b"E" * 32
END_POINT = b"P" * 32
BINDINGS = {"tls-exporter": EXPORTER, "tls-server-end-point": END_POINT}


class Store:
    """SCRAM credentials for alice (password 'pencil') in every hash."""

    def __init__(self):
        self.credentials = {
            ("alice", h): derive_credentials("pencil", h, iterations=4096)
            for h in HASH_NAMES.values()
        }
        self.asked = []

    def get_scram(self, username, hash_name):
        self.asked.append((username, hash_name))
        return succeed(self.credentials.get((username, hash_name)))


class ScramTestCase(SynchronousTestCase):
    """Helpers to run exchanges."""

    def setUp(self):
        self.store = Store()

    def mechanism(self, name, **kwargs):
        kwargs.setdefault("channel_bindings", BINDINGS)
        kwargs.setdefault("plus_advertised", True)
        return ScramMechanism(name, "localhost", self.store.get_scram, b"server secret", **kwargs)

    def step(self, mech, data):
        return self.successResultOf(mech.step(data))

    def run_client(self, mech, client, **final):
        first = self.step(mech, client.first())
        if not isinstance(first, Challenge):
            return first
        return self.step(mech, client.final(first.data, **final))


class EndToEndTests(ScramTestCase):
    """Every mechanism against a client."""

    def test_interface(self):
        """ScramMechanism provides ISASLMechanism."""
        verifyObject(ISASLMechanism, self.mechanism("SCRAM-SHA-256"))

    def test_scramp_clients(self):
        """scramp's client authenticates with SHA-1/256/512, with and without PLUS."""
        for name in ("SCRAM-SHA-1", "SCRAM-SHA-256", "SCRAM-SHA-512"):
            for plus in (False, True):
                mech_name = name + ("-PLUS" if plus else "")
                binding = ("tls-server-end-point", END_POINT) if plus else None
                client = scramp.ScramClient([mech_name], "alice", "pencil", channel_binding=binding)
                mech = self.mechanism(mech_name, plus_advertised=plus)
                first = self.step(mech, client.get_client_first().encode())
                client.set_server_first(first.data.decode())
                result = self.step(mech, client.get_client_final().encode())
                self.assertIsInstance(result, Success, mech_name)
                self.assertEqual(result.username, "alice")
                # scramp checks the server signature and raises if it is wrong.
                client.set_server_final(result.additional_data.decode())

    def test_own_client_every_mechanism(self):
        """All ten mechanisms work, PLUS with both binding types."""
        for name, hash_name in HASH_NAMES.items():
            client = ScramClient(name, "alice", "pencil")
            result = self.run_client(self.mechanism(name, plus_advertised=False), client)
            self.assertIsInstance(result, Success, name)
            self.assertTrue(client.check_server_final(result.additional_data), name)
            for cb_type, data in BINDINGS.items():
                client = ScramClient(
                    name + "-PLUS", "alice", "pencil", cb_type=cb_type, cb_data=data
                )
                result = self.run_client(self.mechanism(name + "-PLUS"), client)
                self.assertIsInstance(result, Success, (name, cb_type))
                self.assertTrue(client.check_server_final(result.additional_data))
            self.assertIn(("alice", hash_name), self.store.asked)

    def test_rfc5802_example(self):
        """The SCRAM-SHA-1 exchange of RFC 5802 section 5 is reproduced exactly."""
        salt = base64.b64decode("QSXCR+Q6sek8bf92")
        self.store.credentials[("user", "sha")] = derive_credentials("pencil", "sha", salt=salt)
        mech = self.mechanism("SCRAM-SHA-1", nonce="3rfcNHYJY1ZVvWVs7j", plus_advertised=False)
        first = self.step(mech, b"n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL")
        self.assertEqual(
            first.data, b"r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096"
        )
        final = self.step(
            mech,
            b"c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=",
        )
        self.assertEqual(final, Success(b"v=rmF9pqV8S7suAoZWja4dJRkFsKQ=", "user", None))

    def test_rfc7677_example(self):
        """The SCRAM-SHA-256 exchange of RFC 7677 section 3 is reproduced exactly."""
        salt = base64.b64decode("W22ZaJ0SNY7soEsUEjb6gQ==")
        self.store.credentials[("user", "sha256")] = derive_credentials(
            "pencil", "sha256", salt=salt
        )
        mech = self.mechanism(
            "SCRAM-SHA-256", nonce="%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0", plus_advertised=False
        )
        first = self.step(mech, b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO")
        self.assertEqual(
            first.data,
            b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
        )
        final = self.step(
            mech,
            b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
            b"p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
        )
        self.assertEqual(final.additional_data, b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")

    def test_no_initial_response(self):
        """Without an initial response an empty challenge asks for it."""
        mech = self.mechanism("SCRAM-SHA-256")
        self.assertEqual(self.step(mech, None), Challenge(b""))
        client = ScramClient("SCRAM-SHA-256", "alice", "pencil")
        self.assertIsInstance(self.run_client(mech, client), Success)

    def test_escaped_username(self):
        """'=2C' and '=3D' in the username are decoded before the lookup."""
        self.store.credentials[("a,b=c", "sha256")] = derive_credentials("pw", "sha256")
        client = ScramClient("SCRAM-SHA-256", "a,b=c", "pw")
        result = self.run_client(self.mechanism("SCRAM-SHA-256", plus_advertised=False), client)
        self.assertEqual(result.username, "a,b=c")

    def test_username_prepared(self):
        """The username is case-mapped as a localpart for the lookup."""
        client = ScramClient("SCRAM-SHA-256", "ALICE", "pencil")
        result = self.run_client(self.mechanism("SCRAM-SHA-256"), client)
        self.assertEqual(result.username, "alice")

    def test_authzid(self):
        """a= naming the user is accepted; naming another user is invalid-authzid."""
        client = ScramClient("SCRAM-SHA-256", "alice", "pencil", authzid="alice@localhost")
        result = self.run_client(self.mechanism("SCRAM-SHA-256"), client)
        self.assertEqual(result.authzid, "alice@localhost")
        client = ScramClient("SCRAM-SHA-256", "alice", "pencil", authzid="bob@localhost")
        result = self.run_client(self.mechanism("SCRAM-SHA-256"), client)
        self.assertEqual(result.condition, "invalid-authzid")

    def test_async_lookup(self):
        """The first challenge waits for a Deferred from get_scram."""
        pending = Deferred()
        mech = ScramMechanism("SCRAM-SHA-256", "localhost", lambda u, h: pending, b"k")
        client = ScramClient("SCRAM-SHA-256", "alice", "pencil")
        result = mech.step(client.first())
        self.assertNoResult(result)
        pending.callback(self.store.credentials[("alice", "sha256")])
        first = self.successResultOf(result)
        self.assertIsInstance(self.step(mech, client.final(first.data)), Success)

    def test_backend_failure(self):
        """A failing lookup is temporary-auth-failure."""
        mech = ScramMechanism(
            "SCRAM-SHA-256", "localhost", lambda u, h: fail(OSError("down")), b"k"
        )
        result = self.step(mech, ScramClient("SCRAM-SHA-256", "alice", "x").first())
        self.assertEqual(result, Failure("temporary-auth-failure"))
        self.assertEqual(len(self.flushLoggedErrors(OSError)), 1)


class FailureTests(ScramTestCase):
    """Wrong credentials, unknown users and protocol violations."""

    def test_wrong_password(self):
        """A wrong password fails after the proof with not-authorized."""
        result = self.run_client(
            self.mechanism("SCRAM-SHA-256"), ScramClient("SCRAM-SHA-256", "alice", "wrong")
        )
        self.assertEqual(result.condition, "not-authorized")

    def test_unknown_user_looks_like_wrong_password(self):
        """An unknown user gets a stable fake salt and the same failure as a wrong password."""
        mech = self.mechanism("SCRAM-SHA-256")
        first = self.step(mech, ScramClient("SCRAM-SHA-256", "mallory", "x", nonce="abc").first())
        again = self.step(
            self.mechanism("SCRAM-SHA-256"),
            ScramClient("SCRAM-SHA-256", "mallory", "x", nonce="abc").first(),
        )
        other = self.step(
            self.mechanism("SCRAM-SHA-256"),
            ScramClient("SCRAM-SHA-256", "trudy", "x", nonce="abc").first(),
        )

        def salt_and_iterations(challenge):
            fields = dict(p.split("=", 1) for p in challenge.data.decode().split(","))
            return fields["s"], fields["i"]

        self.assertEqual(salt_and_iterations(first), salt_and_iterations(again))
        self.assertNotEqual(salt_and_iterations(first)[0], salt_and_iterations(other)[0])
        self.assertEqual(salt_and_iterations(first)[1], "10000")
        self.assertEqual(len(base64.b64decode(salt_and_iterations(first)[0])), 16)
        unknown = self.run_client(
            self.mechanism("SCRAM-SHA-256"), ScramClient("SCRAM-SHA-256", "mallory", "x")
        )
        wrong = self.run_client(
            self.mechanism("SCRAM-SHA-256"), ScramClient("SCRAM-SHA-256", "alice", "x")
        )
        self.assertEqual((unknown.condition, unknown.text), (wrong.condition, wrong.text))

    def test_invalid_username_looks_unknown(self):
        """A username that is no localpart is treated like an unknown user."""
        result = self.run_client(
            self.mechanism("SCRAM-SHA-256"), ScramClient("SCRAM-SHA-256", "a b", "x")
        )
        self.assertEqual(result.condition, "not-authorized")
        self.assertEqual(self.store.asked, [])

    def test_tampered_proof_and_nonce(self):
        """A wrong proof or a changed nonce fails."""
        for final in ({"tamper_proof": True}, {"nonce": "bogus"}):
            result = self.run_client(
                self.mechanism("SCRAM-SHA-256"),
                ScramClient("SCRAM-SHA-256", "alice", "pencil"),
                **final,
            )
            self.assertEqual(result.condition, "not-authorized", final)

    def test_downgrade_y_with_plus_advertised(self):
        """'y' while the server advertised -PLUS fails (downgrade protection)."""
        client = ScramClient("SCRAM-SHA-256", "alice", "pencil", flag="y")
        result = self.run_client(self.mechanism("SCRAM-SHA-256", plus_advertised=True), client)
        self.assertEqual(result.condition, "not-authorized")
        self.assertIn("downgrade", result.text)

    def test_downgrade_with_scramp(self):
        """scramp's client, having binding data but choosing plain SCRAM, sends 'y' and fails."""
        client = scramp.ScramClient(
            ["SCRAM-SHA-256"],
            "alice",
            "pencil",
            channel_binding=("tls-server-end-point", END_POINT),
        )
        mech = self.mechanism("SCRAM-SHA-256", plus_advertised=True)
        result = self.step(mech, client.get_client_first().encode())
        self.assertEqual(result.condition, "not-authorized")

    def test_y_without_plus_advertised(self):
        """'y' is fine when the server offered no -PLUS mechanism."""
        client = ScramClient("SCRAM-SHA-256", "alice", "pencil", flag="y")
        result = self.run_client(
            self.mechanism("SCRAM-SHA-256", plus_advertised=False, channel_bindings={}), client
        )
        self.assertIsInstance(result, Success)

    def test_p_on_plain_mechanism(self):
        """'p=' on a mechanism without -PLUS fails."""
        client = ScramClient(
            "SCRAM-SHA-256", "alice", "pencil", cb_type="tls-exporter", cb_data=EXPORTER
        )
        result = self.run_client(self.mechanism("SCRAM-SHA-256"), client)
        self.assertEqual(result.condition, "malformed-request")

    def test_plus_without_binding(self):
        """-PLUS with 'n' or 'y' fails."""
        for flag in ("n", "y"):
            client = ScramClient("SCRAM-SHA-256-PLUS", "alice", "pencil", flag=flag)
            result = self.run_client(self.mechanism("SCRAM-SHA-256-PLUS"), client)
            self.assertEqual(result.condition, "malformed-request", flag)

    def test_plus_unavailable_type(self):
        """-PLUS with a binding type the connection lacks fails."""
        client = ScramClient(
            "SCRAM-SHA-256-PLUS", "alice", "pencil", cb_type="tls-unique", cb_data=b"u"
        )
        result = self.run_client(self.mechanism("SCRAM-SHA-256-PLUS"), client)
        self.assertEqual(result.condition, "malformed-request")
        client = ScramClient(
            "SCRAM-SHA-256-PLUS", "alice", "pencil", cb_type="tls-exporter", cb_data=EXPORTER
        )
        mech = self.mechanism(
            "SCRAM-SHA-256-PLUS", channel_bindings={"tls-server-end-point": END_POINT}
        )
        self.assertEqual(self.run_client(mech, client).condition, "malformed-request")

    def test_plus_wrong_binding_data(self):
        """Binding data that differs from the server's fails: a man in the middle."""
        client = ScramClient(
            "SCRAM-SHA-512-PLUS", "alice", "pencil", cb_type="tls-exporter", cb_data=b"X" * 32
        )
        result = self.run_client(self.mechanism("SCRAM-SHA-512-PLUS"), client)
        self.assertEqual(
            (result.condition, result.text), ("not-authorized", "channel binding mismatch")
        )

    def test_malformed_first_messages(self):
        """Broken client-first-messages fail with malformed-request."""
        for data in (
            b"n,,",
            b"x,,n=alice,r=abc",
            b"n,,m=ext,n=alice,r=abc",
            b"n,,r=abc,n=alice",
            b"n,,n=alice",
            b"n,,n=,r=abc",
            b"n,,n=al=2Xice,r=abc",
            b"n,z=x,n=alice,r=abc",
            b"n,,n=alice,r=a,bc=",
            b"n,,n=alice,r=\x7f",
            b"n,,n=\xff,r=abc",
            b"n,,n=alice,r=" + b"a" * 20000,
        ):
            result = self.step(self.mechanism("SCRAM-SHA-256"), data)
            self.assertIsInstance(result, Failure, data[:30])
            self.assertEqual(result.condition, "malformed-request", data[:30])

    def test_malformed_final_messages(self):
        """Broken client-final-messages fail."""
        for data in (b"r=x,p=y", b"c=biws,p=abc", b"c=!!!,r=x,p=abc", b"c=biws,r=x,p=***"):
            mech = self.mechanism("SCRAM-SHA-256")
            self.step(mech, ScramClient("SCRAM-SHA-256", "alice", "pencil").first())
            result = self.step(mech, data)
            self.assertEqual(result.condition, "malformed-request", data)

    def test_extensions_ignored(self):
        """Unknown optional extensions in the client-first-message are ignored."""
        client = ScramClient("SCRAM-SHA-256", "alice", "pencil")
        mech = self.mechanism("SCRAM-SHA-256")
        data = client.first() + b",x=ext"
        client.bare += ",x=ext"
        first = self.step(mech, data)
        self.assertIsInstance(self.step(mech, client.final(first.data)), Success)

    def test_unknown_mechanism_name(self):
        """Only the SCRAM family names are accepted."""
        for name in ("SCRAM-MD5", "SCRAM-SHA-256-PLUSX", "PLAIN"):
            self.assertRaises(ValueError, self.mechanism, name)

    def test_finished(self):
        """After success the exchange is over."""
        mech = self.mechanism("SCRAM-SHA-256")
        client = ScramClient("SCRAM-SHA-256", "alice", "pencil")
        self.run_client(mech, client)
        self.assertEqual(self.step(mech, b"anything").condition, "malformed-request")
