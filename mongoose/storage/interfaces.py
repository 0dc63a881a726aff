"""Store interfaces: what the rest of the server may ask of storage.

Each interface is narrow and per feature (DESIGN.md principle 4); every
record is keyed by its XMPP domain so one database serves many hosts, as
MongooseIM's RDBMS backends do.  Backends implement these with
``@implementer``; the shared contract tests in ``test/storage`` run the same
cases against every backend.
"""

from __future__ import annotations

from zope.interface import Attribute, Interface

__all__ = ["IAuthStore", "IDatabase"]


class IAuthStore(Interface):
    """User accounts of each domain with their password secrets.

    Usernames and domains are stored exactly as given: callers (the
    authentication backend) normalise them first.  Every method returns a
    Deferred; failures are :class:`mongoose.storage.errors.StorageError`.
    """

    def add_user(domain, username, secret):
        """Create a user.

        Args:
            domain: the user's XMPP domain.
            username: the localpart.
            secret: a :class:`mongoose.auth.password.PasswordSecret`.

        Returns:
            A Deferred firing True, or False if the user exists already
            (the existing record is left untouched).
        """

    def get_secret(domain, username):
        """Look up a user's password secret.

        Returns:
            A Deferred firing the ``PasswordSecret``, or None if there is no
            such user.
        """

    def set_secret(domain, username, secret):
        """Replace a user's password secret.

        Returns:
            A Deferred firing True, or False if there is no such user.
        """

    def remove_user(domain, username):
        """Delete a user.

        Returns:
            A Deferred firing True, or False if there was no such user.
        """

    def list_users(domain, limit=None, offset=0):
        """List the usernames of a domain in code point order.

        Args:
            domain: the domain.
            limit: at most this many names (None: all).
            offset: skip this many names first.

        Returns:
            A Deferred firing a ``list[str]``.

        Raises:
            ValueError: ``limit`` or ``offset`` is negative.
        """

    def count_users(domain):
        """Count the users of a domain.

        Returns:
            A Deferred firing an ``int``.
        """

    def user_exists(domain, username):
        """Tell whether a user exists.

        Returns:
            A Deferred firing a ``bool``.
        """


class IDatabase(Interface):
    """A SQL database reached through a thread pool.

    Work runs as a function of one transaction on a pool thread, never on the
    reactor thread.  Functions meant to run this way end in ``_txn``.
    """

    engine = Attribute("The mongoose.storage.sql.engines.ISQLEngine speaking the dialect.")

    def run_interaction(desc, fn, *args, **kwargs):
        """Run ``fn(txn, *args, **kwargs)`` in one transaction on a pool thread.

        The transaction commits if ``fn`` returns and rolls back if it
        raises.  Serialisation failures and deadlocks are retried a few times
        with a fresh transaction, so ``fn`` must be safe to call again.

        Args:
            desc: a short name of the work, for logs and error messages.
            fn: called with a :class:`mongoose.storage.sql.database.Transaction`
                and the remaining arguments.

        Returns:
            A Deferred firing what ``fn`` returned.  Driver errors arrive as
            :class:`mongoose.storage.errors.StorageError`; other exceptions
            raised by ``fn`` arrive unchanged.
        """

    def close():
        """Wait for running work, close the connections and stop the threads.

        Returns:
            A Deferred firing None.  Further interactions fail with
            StorageError.
        """
