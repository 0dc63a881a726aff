"""An in-memory IAuthBackend for unit tests of commands and front ends.

Not a storage backend: storage tests use real SQLite and PostgreSQL.
"""

from __future__ import annotations

from twisted.internet import defer
from twisted.words.protocols.jabber.jid import nodeprep
from zope.interface import implementer

from mongoose.interfaces import IAuthBackend

__all__ = ["FakeAuth"]


@implementer(IAuthBackend)
class FakeAuth:
    """Keeps ``(username, domain) -> password`` in a dict; every method fires at once.

    ``register`` and ``set_password`` raise ValueError for an invalid user
    name or an empty password, like the real backends.
    """

    def __init__(self) -> None:
        self.users: dict[tuple[str, str], str] = {}

    @staticmethod
    def _check(username: str, password: str) -> str:
        if not password:
            raise ValueError("empty password")
        try:
            prepared = nodeprep.prepare(username)
        except UnicodeError as exc:
            raise ValueError(f"invalid user name: {exc}") from None
        if not prepared:
            raise ValueError("empty user name")
        return prepared

    def register(self, username, domain, password):
        """See IAuthBackend.register."""
        username = self._check(username, password)
        if (username, domain) in self.users:
            return defer.succeed(False)
        self.users[(username, domain)] = password
        return defer.succeed(True)

    def remove(self, username, domain):
        """See IAuthBackend.remove."""
        return defer.succeed(self.users.pop((username, domain), None) is not None)

    def user_exists(self, username, domain):
        """See IAuthBackend.user_exists."""
        return defer.succeed((username, domain) in self.users)

    def check_password(self, username, domain, password):
        """See IAuthBackend.check_password."""
        return defer.succeed(self.users.get((username, domain)) == password)

    def set_password(self, username, domain, password):
        """See IAuthBackend.set_password."""
        username = self._check(username, password)
        if (username, domain) not in self.users:
            return defer.succeed(False)
        self.users[(username, domain)] = password
        return defer.succeed(True)

    def list_users(self, domain, limit=None, offset=0):
        """See IAuthBackend.list_users."""
        names = sorted(u for u, d in self.users if d == domain)[offset:]
        return defer.succeed(names if limit is None else names[:limit])

    def count_users(self, domain):
        """See IAuthBackend.count_users."""
        return defer.succeed(sum(1 for _, d in self.users if d == domain))

    def get_scram(self, username, domain, hash_name):
        """See IAuthBackend.get_scram; this fake stores no SCRAM material."""
        return defer.succeed(None)
