"""InternalAuth: the [auth.internal] backend over a real SQLite store."""

from __future__ import annotations

import threading

from twisted.internet import defer
from twisted.trial import unittest
from zope.interface.verify import verifyObject

from mongoose.auth import password as password_module
from mongoose.auth.internal import InternalAuth
from mongoose.auth.password import derive_keys
from mongoose.interfaces import IAuthBackend
from mongoose.storage.factory import open_stores


class InternalAuthTests(unittest.TestCase):
    """Account operations as the command layer and SASL see them."""

    password_format = "scram"

    async def _setUp(self):
        self.stores = await open_stores(None, self.mktemp())
        self.auth = InternalAuth(
            self.stores.auth,
            password_format=self.password_format,
            hashes=("sha", "sha256"),
            iterations=32,
        )

    def setUp(self):
        """Open a SQLite database in a temporary data dir."""
        return defer.ensureDeferred(self._setUp())

    def tearDown(self):
        """Close it."""
        return self.stores.close()

    def test_interface(self):
        """InternalAuth provides IAuthBackend."""
        self.assertTrue(verifyObject(IAuthBackend, self.auth))

    async def test_register_twice(self):
        """The first registration succeeds, the second answers False and keeps the password."""
        self.assertIs(await self.auth.register("alice", "localhost", "pw1"), True)
        self.assertIs(await self.auth.register("alice", "localhost", "pw2"), False)
        self.assertIs(await self.auth.check_password("alice", "localhost", "pw1"), True)
        self.assertIs(await self.auth.check_password("alice", "localhost", "pw2"), False)

    async def test_case_normalisation(self):
        """Usernames and domains are case-insensitive: one account, found by any case."""
        await self.auth.register("Alice", "LocalHost", "pw")
        self.assertIs(await self.auth.register("ALICE", "localhost", "x"), False)
        self.assertIs(await self.auth.user_exists("alice", "localhost"), True)
        self.assertIs(await self.auth.check_password("aLiCe", "LOCALHOST", "pw"), True)
        self.assertEqual(await self.auth.list_users("localhost"), ["alice"])

    async def test_invalid_usernames(self):
        """Registering an invalid username fails with a ValueError carrying a message."""
        for bad in ["", "a b", "a@b", "a/b"]:
            with self.assertRaises(ValueError) as caught:
                await self.auth.register(bad, "localhost", "pw")
            self.assertIn("invalid username", str(caught.exception))
        self.assertEqual(await self.auth.count_users("localhost"), 0)

    async def test_invalid_names_in_lookups(self):
        """Lookups of names that cannot exist simply answer no."""
        self.assertIs(await self.auth.user_exists("a b", "localhost"), False)
        self.assertIs(await self.auth.check_password("a@b", "localhost", "pw"), False)
        self.assertIsNone(await self.auth.get_scram("", "localhost", "sha"))

    async def test_empty_password(self):
        """An empty password is refused when registering and when changing it."""
        with self.assertRaises(ValueError):
            await self.auth.register("alice", "localhost", "")
        self.assertIs(await self.auth.user_exists("alice", "localhost"), False)
        await self.auth.register("alice", "localhost", "pw")
        with self.assertRaises(ValueError):
            await self.auth.set_password("alice", "localhost", "")
        self.assertIs(await self.auth.check_password("alice", "localhost", "pw"), True)

    async def test_remove(self):
        """A removed account cannot log in; removing twice answers False."""
        await self.auth.register("alice", "localhost", "pw")
        self.assertIs(await self.auth.remove("Alice", "localhost"), True)
        self.assertIs(await self.auth.check_password("alice", "localhost", "pw"), False)
        self.assertIs(await self.auth.remove("alice", "localhost"), False)

    async def test_set_password(self):
        """A changed password replaces the old one; unknown users answer False."""
        await self.auth.register("alice", "localhost", "old")
        self.assertIs(await self.auth.set_password("alice", "localhost", "new"), True)
        self.assertIs(await self.auth.check_password("alice", "localhost", "old"), False)
        self.assertIs(await self.auth.check_password("alice", "localhost", "new"), True)
        self.assertIs(await self.auth.set_password("bob", "localhost", "x"), False)
        self.assertIs(await self.auth.user_exists("bob", "localhost"), False)

    async def test_list_and_count(self):
        """Listing is sorted and paged by limit/offset; counting is per domain."""
        for name in ["dave", "bob", "erin", "alice", "carol"]:
            await self.auth.register(name, "localhost", "pw")
        await self.auth.register("zed", "other.example", "pw")
        self.assertEqual(
            await self.auth.list_users("localhost"), ["alice", "bob", "carol", "dave", "erin"]
        )
        self.assertEqual(
            await self.auth.list_users("localhost", limit=2, offset=1), ["bob", "carol"]
        )
        self.assertEqual(await self.auth.count_users("localhost"), 5)
        self.assertEqual(await self.auth.count_users("OTHER.example"), 1)

    async def test_unknown_user_password(self):
        """check_password is False for a user that does not exist."""
        self.assertIs(await self.auth.check_password("nobody", "localhost", "pw"), False)

    async def test_get_scram(self):
        """SCRAM keys come back for configured hashes only, and match the password."""
        await self.auth.register("alice", "localhost", "pencil")
        keys = await self.auth.get_scram("alice", "localhost", "sha256")
        self.assertEqual(derive_keys("pencil", "sha256", keys.iterations, keys.salt), keys)
        self.assertIsNone(await self.auth.get_scram("alice", "localhost", "sha512"))
        self.assertIsNone(await self.auth.get_scram("bob", "localhost", "sha256"))
        with self.assertRaises(ValueError):
            await self.auth.get_scram("alice", "localhost", "md5")

    async def test_stored_secret(self):
        """In the scram format the stored secret holds keys only."""
        await self.auth.register("alice", "localhost", "pencil")
        secret = await self.stores.auth.get_secret("localhost", "alice")
        self.assertIsNone(secret.plain)
        self.assertEqual(sorted(secret.scram), ["sha", "sha256"])

    async def test_hashing_off_reactor_thread(self):
        """Password hashing and verification run on a thread pool thread."""
        seen = []
        for name in ("make_secret", "verify"):
            original = getattr(password_module, name)

            def record(*args, _original=original, **kwargs):
                seen.append(threading.current_thread())
                return _original(*args, **kwargs)

            self.patch(password_module, name, record)
        await self.auth.register("alice", "localhost", "pw")
        await self.auth.check_password("alice", "localhost", "pw")
        self.assertEqual(len(seen), 2)
        self.assertNotIn(threading.current_thread(), seen)

    def test_bad_options(self):
        """Unknown formats, hashes and iteration counts are refused at construction."""
        self.assertRaises(ValueError, InternalAuth, self.stores.auth, password_format="md5")
        self.assertRaises(ValueError, InternalAuth, self.stores.auth, hashes=("sha1",))
        self.assertRaises(ValueError, InternalAuth, self.stores.auth, iterations=0)


class PlainInternalAuthTests(InternalAuthTests):
    """The same behaviour with password.format = "plain"."""

    password_format = "plain"

    async def test_stored_secret(self):
        """In the plain format the stored secret is the password itself, without keys."""
        await self.auth.register("alice", "localhost", "pencil")
        secret = await self.stores.auth.get_secret("localhost", "alice")
        self.assertEqual((secret.plain, secret.scram), ("pencil", {}))

    async def test_get_scram(self):
        """SCRAM keys are derived on the fly from a plain password, for any hash."""
        await self.auth.register("alice", "localhost", "pencil")
        for name in ("sha", "sha512"):
            keys = await self.auth.get_scram("alice", "localhost", name)
            self.assertEqual(derive_keys("pencil", name, keys.iterations, keys.salt), keys)
        self.assertIsNone(await self.auth.get_scram("bob", "localhost", "sha256"))
