"""The IAuthStore contract: one set of cases every backend must pass."""

from __future__ import annotations

from twisted.internet import defer
from zope.interface.verify import verifyObject

from mongoose.auth.password import PasswordSecret, make_secret
from mongoose.storage.interfaces import IAuthStore

__all__ = ["AuthStoreContract"]

# Few iterations: the store only keeps the bytes, it never hashes.
SECRET_A = make_secret("secret-a", hashes=("sha256", "sha"), iterations=2)
SECRET_B = make_secret("secret-b", hashes=("sha512",), iterations=3)
PLAIN = make_secret("plain-pass", format="plain")


class AuthStoreContract:
    """Mix into a TestCase with a fixture from ``test.storage.fixtures``."""

    async def _setUp(self) -> None:
        await self.reset_database()
        self.stores = await self.open_test_stores()
        self.store = self.stores.auth

    def setUp(self) -> defer.Deferred[None]:
        """Open the stores on an empty database."""
        return defer.ensureDeferred(self._setUp())

    def tearDown(self) -> defer.Deferred[None]:
        """Close the stores (and their threads)."""
        return self.stores.close()

    def test_provides_interface(self) -> None:
        """The store provides every IAuthStore method."""
        self.assertTrue(verifyObject(IAuthStore, self.store))

    async def test_add_then_get(self) -> None:
        """A new user's secret comes back equal to what was stored."""
        self.assertIs(await self.store.add_user("example.com", "alice", SECRET_A), True)
        self.assertEqual(await self.store.get_secret("example.com", "alice"), SECRET_A)

    async def test_plain_secret_round_trip(self) -> None:
        """A plain-format secret comes back with its password and no keys."""
        await self.store.add_user("example.com", "bob", PLAIN)
        secret = await self.store.get_secret("example.com", "bob")
        self.assertEqual(secret, PasswordSecret(plain="plain-pass"))

    async def test_add_existing_user(self) -> None:
        """Adding a user twice answers False and keeps the first secret."""
        await self.store.add_user("example.com", "alice", SECRET_A)
        self.assertIs(await self.store.add_user("example.com", "alice", SECRET_B), False)
        self.assertEqual(await self.store.get_secret("example.com", "alice"), SECRET_A)

    async def test_get_unknown_user(self) -> None:
        """There is no secret for a user that does not exist."""
        self.assertIsNone(await self.store.get_secret("example.com", "nobody"))

    async def test_set_secret(self) -> None:
        """set_secret replaces the secret of an existing user."""
        await self.store.add_user("example.com", "alice", SECRET_A)
        self.assertIs(await self.store.set_secret("example.com", "alice", SECRET_B), True)
        self.assertEqual(await self.store.get_secret("example.com", "alice"), SECRET_B)

    async def test_set_secret_unknown_user(self) -> None:
        """set_secret answers False and creates nothing for an unknown user."""
        self.assertIs(await self.store.set_secret("example.com", "ghost", SECRET_B), False)
        self.assertIs(await self.store.user_exists("example.com", "ghost"), False)

    async def test_remove_user(self) -> None:
        """A removed user is gone; removing again answers False."""
        await self.store.add_user("example.com", "alice", SECRET_A)
        self.assertIs(await self.store.remove_user("example.com", "alice"), True)
        self.assertIs(await self.store.user_exists("example.com", "alice"), False)
        self.assertIsNone(await self.store.get_secret("example.com", "alice"))
        self.assertIs(await self.store.remove_user("example.com", "alice"), False)

    async def test_user_exists(self) -> None:
        """user_exists is True only for users that were added."""
        await self.store.add_user("example.com", "alice", SECRET_A)
        self.assertIs(await self.store.user_exists("example.com", "alice"), True)
        self.assertIs(await self.store.user_exists("example.com", "bob"), False)

    async def test_list_sorted(self) -> None:
        """Usernames come back in code point order, whatever the insertion order."""
        names = ["zoe", "alice", "émile", "bob", "ßeta", "0day", "carol"]
        for name in names:
            await self.store.add_user("example.com", name, PLAIN)
        self.assertEqual(await self.store.list_users("example.com"), sorted(names))

    async def test_list_limit_offset(self) -> None:
        """limit and offset page through the sorted list."""
        for name in ["e", "d", "c", "b", "a"]:
            await self.store.add_user("example.com", name, PLAIN)
        self.assertEqual(await self.store.list_users("example.com", limit=2), ["a", "b"])
        self.assertEqual(await self.store.list_users("example.com", limit=2, offset=2), ["c", "d"])
        self.assertEqual(await self.store.list_users("example.com", offset=3), ["d", "e"])
        self.assertEqual(await self.store.list_users("example.com", limit=0), [])
        self.assertEqual(await self.store.list_users("example.com", offset=10), [])

    async def test_list_negative_paging(self) -> None:
        """A negative limit or offset is refused with ValueError."""
        with self.assertRaises(ValueError):
            await self.store.list_users("example.com", limit=-1)
        with self.assertRaises(ValueError):
            await self.store.list_users("example.com", offset=-5)

    async def test_count(self) -> None:
        """count_users counts the users of one domain."""
        self.assertEqual(await self.store.count_users("example.com"), 0)
        for name in ["a", "b", "c"]:
            await self.store.add_user("example.com", name, PLAIN)
        self.assertEqual(await self.store.count_users("example.com"), 3)

    async def test_domains_are_separate(self) -> None:
        """The same username in two domains is two users."""
        await self.store.add_user("one.example", "alice", SECRET_A)
        await self.store.add_user("two.example", "alice", SECRET_B)
        await self.store.add_user("two.example", "bob", PLAIN)
        self.assertEqual(await self.store.list_users("one.example"), ["alice"])
        self.assertEqual(await self.store.count_users("two.example"), 2)
        await self.store.remove_user("one.example", "alice")
        self.assertEqual(await self.store.get_secret("two.example", "alice"), SECRET_B)
        self.assertIs(await self.store.user_exists("one.example", "alice"), False)

    async def test_survives_reopen(self) -> None:
        """Users are still there after the stores are closed and opened again."""
        await self.store.add_user("example.com", "alice", SECRET_A)
        await self.stores.close()
        self.stores = await self.open_test_stores()
        self.store = self.stores.auth
        self.assertEqual(await self.store.get_secret("example.com", "alice"), SECRET_A)

    async def test_concurrent_adds(self) -> None:
        """Many adds in flight at once all land, and a duplicate among them loses."""
        results = await defer.gatherResults(
            [
                defer.ensureDeferred(self.store.add_user("example.com", f"u{i:02d}", PLAIN))
                for i in range(20)
            ]
            + [defer.ensureDeferred(self.store.add_user("example.com", "u00", PLAIN))]
        )
        self.assertEqual(sorted(results), [False] + [True] * 20)
        self.assertEqual(await self.store.count_users("example.com"), 20)
