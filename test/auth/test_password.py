"""Password secrets: SCRAM key derivation, plain format, verification, serialisation."""

from __future__ import annotations

import base64

from scramp import ScramClient, ScramMechanism
from twisted.trial import unittest

from mongoose.auth.password import (
    DEFAULT_HASHES,
    DEFAULT_ITERATIONS,
    PasswordSecret,
    derive_keys,
    make_secret,
    verify,
)

SCRAMP_NAMES = {"sha": "SCRAM-SHA-1", "sha256": "SCRAM-SHA-256", "sha512": "SCRAM-SHA-512"}
KEY_SIZES = {"sha": 20, "sha224": 28, "sha256": 32, "sha384": 48, "sha512": 64}


class MakeSecretTests(unittest.SynchronousTestCase):
    """make_secret and verify, per hash and per format."""

    def test_each_hash(self):
        """Every MongooseIM hash name makes keys of its size that verify the password."""
        for name in DEFAULT_HASHES:
            secret = make_secret("correct horse", hashes=(name,), iterations=64)
            self.assertEqual(list(secret.scram), [name])
            keys = secret.scram[name]
            self.assertEqual(len(keys.stored_key), KEY_SIZES[name], name)
            self.assertEqual(len(keys.server_key), KEY_SIZES[name], name)
            self.assertEqual(keys.iterations, 64)
            self.assertTrue(verify(secret, "correct horse"), name)
            self.assertFalse(verify(secret, "correct horsf"), name)

    def test_defaults(self):
        """By default all five hashes are kept, with 10000 iterations and no plain password."""
        secret = make_secret("pw")
        self.assertEqual(sorted(secret.scram), sorted(DEFAULT_HASHES))
        self.assertEqual({k.iterations for k in secret.scram.values()}, {DEFAULT_ITERATIONS})
        self.assertIsNone(secret.plain)

    def test_salts_differ(self):
        """Two secrets for the same password have different salts and keys."""
        a = make_secret("pw", hashes=("sha256",), iterations=8)
        b = make_secret("pw", hashes=("sha256",), iterations=8)
        self.assertNotEqual(a.scram["sha256"].salt, b.scram["sha256"].salt)
        self.assertNotEqual(a.scram["sha256"].stored_key, b.scram["sha256"].stored_key)

    def test_plain_format(self):
        """The plain format keeps the password and nothing else."""
        secret = make_secret("open sesame", format="plain")
        self.assertEqual(secret, PasswordSecret(plain="open sesame", scram={}))
        self.assertTrue(verify(secret, "open sesame"))
        self.assertFalse(verify(secret, "open sesame "))
        self.assertEqual(secret.to_columns(), ("open sesame", None))

    def test_scram_never_stores_plain(self):
        """Nothing stored for the scram format contains the password, raw or in base64."""
        password = "Very-Secret-Password-123"
        secret = make_secret(password, iterations=16)
        plain, details = secret.to_columns()
        self.assertIsNone(plain)
        self.assertNotIn(password, details)
        self.assertNotIn(base64.b64encode(password.encode()).decode(), details)
        self.assertNotIn(password, repr(secret))

    def test_repr_hides_plain(self):
        """repr() of a plain secret does not show the password."""
        self.assertNotIn("hunter2", repr(make_secret("hunter2", format="plain")))

    def test_wrong_or_empty_candidate(self):
        """An empty or non-string candidate never verifies."""
        secret = make_secret("pw", hashes=("sha",), iterations=4)
        self.assertFalse(verify(secret, ""))
        self.assertFalse(verify(secret, None))
        self.assertFalse(verify(PasswordSecret(), "pw"))

    def test_bad_arguments(self):
        """Empty passwords, unknown hashes and formats, and bad iterations are ValueErrors."""
        self.assertRaises(ValueError, make_secret, "")
        self.assertRaises(ValueError, make_secret, "", format="plain")
        self.assertIn("md5", str(self.assertRaises(ValueError, make_secret, "p", hashes=("md5",))))
        self.assertRaises(ValueError, make_secret, "p", format="bcrypt")
        self.assertRaises(ValueError, make_secret, "p", hashes=())
        self.assertRaises(ValueError, make_secret, "p", iterations=0)

    def test_saslprep(self):
        """Passwords are SASLprepped: a soft hyphen is ignored, a control character refused."""
        secret = make_secret("I\u00adX", hashes=("sha256",), iterations=4)
        self.assertTrue(verify(secret, "IX"))
        self.assertRaises(ValueError, make_secret, "bad\u0007pw")


class ScrampInteropTests(unittest.SynchronousTestCase):
    """Our keys are the keys a standard SCRAM implementation expects."""

    def test_same_keys_as_scramp(self):
        """With the same salt and iterations, scramp derives the same StoredKey and ServerKey."""
        for name, mechanism in SCRAMP_NAMES.items():
            ours = derive_keys("pencil", name, 4096, salt=b"0123456789abcdef")
            theirs = ScramMechanism(mechanism).make_auth_info("pencil", 4096, b"0123456789abcdef")
            self.assertEqual(tuple(ours), theirs, name)

    def test_full_exchange(self):
        """A scramp client logs in against a scramp server fed with our stored keys."""
        for name, mechanism in SCRAMP_NAMES.items():
            keys = make_secret("pencil", hashes=(name,), iterations=4096).scram[name]
            server = ScramMechanism(mechanism).make_server(lambda username, k=keys: tuple(k))
            client = ScramClient([mechanism], "user", "pencil")
            server.set_client_first(client.get_client_first())
            client.set_server_first(server.get_server_first())
            server.set_client_final(client.get_client_final())
            client.set_server_final(server.get_server_final())  # raises if the server lies


class SerialisationTests(unittest.SynchronousTestCase):
    """to_columns and from_columns round-trip and reject garbage."""

    def test_round_trip(self):
        """A secret survives to_columns then from_columns unchanged."""
        secret = make_secret("pw", hashes=("sha", "sha384"), iterations=9)
        self.assertEqual(PasswordSecret.from_columns(*secret.to_columns()), secret)
        plain = make_secret("pw", format="plain")
        self.assertEqual(PasswordSecret.from_columns(*plain.to_columns()), plain)

    def test_garbage(self):
        """Unreadable stored SCRAM data is a ValueError, not a crash."""
        for details in [
            "not json",
            "[1, 2]",
            '{"sha": {"salt": "!!"}}',
            '{"md5": {}}',
            '{"sha": 3}',
        ]:
            self.assertRaises(ValueError, PasswordSecret.from_columns, None, details)
