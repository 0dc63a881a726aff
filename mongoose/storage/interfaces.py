"""Store interfaces: what the rest of the server may ask of storage.

Each interface is narrow and per feature (DESIGN.md principle 4); every
record is keyed by its XMPP domain so one database serves many hosts, as
MongooseIM's RDBMS backends do.  Backends implement these with
``@implementer``; the shared contract tests in ``test/storage`` run the same
cases against every backend.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from zope.interface import Attribute, Interface

__all__ = [
    "IAuthStore",
    "IDatabase",
    "IOfflineStore",
    "IRosterStore",
    "OfflineMessage",
    "RosterChange",
    "RosterItem",
    "RosterUpdate",
    "SUBSCRIPTIONS",
]

#: Values of :attr:`RosterItem.subscription` (RFC 6121 section 2.1.2.5).
SUBSCRIPTIONS = ("none", "to", "from", "both")


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


@dataclass(frozen=True)
class RosterItem:
    """One contact of a user's roster with the subscription state (RFC 6121 section 2.1).

    A row exists while it carries something: the user put the contact in the
    roster (``listed``), or a subscription, a pending request or a
    pre-approval links the two.  A contact whose only tie is a subscription
    request the user has not answered yet is kept but not listed: RFC 6121
    section 3.1.3 says the request must not add the contact to the roster.

    Attributes:
        contact: the contact's bare JID, as prepared text.
        name: the handle the user gave the contact, or None.
        groups: the roster groups, in the order the user gave them.
        subscription: ``none``, ``to``, ``from`` or ``both``.
        pending_out: the user asked to see the contact's presence and waits
            for an answer (``ask='subscribe'``).
        pending_in: the contact asked to see the user's presence and the user
            has not answered.
        approved: the user pre-approved a subscription request from the
            contact (RFC 6121 section 3.4).
        listed: the contact is shown in the user's roster.
        ask_message: the status text of the pending inbound request, if any.
    """

    contact: str
    name: str | None = None
    groups: tuple[str, ...] = ()
    subscription: str = "none"
    pending_out: bool = False
    pending_in: bool = False
    approved: bool = False
    listed: bool = True
    ask_message: str | None = None

    def __post_init__(self) -> None:
        if self.subscription not in SUBSCRIPTIONS:
            raise ValueError(f"unknown roster subscription {self.subscription!r}")
        object.__setattr__(self, "groups", tuple(self.groups))


@dataclass(frozen=True)
class RosterUpdate:
    """What :meth:`IRosterStore.update_item` did.

    Attributes:
        before: the item before the change, or None.
        after: the item after the change, or None when it was removed or
            never existed.
        version: the roster version after the change (unchanged when
            ``before == after``).
    """

    before: RosterItem | None
    after: RosterItem | None
    version: str

    @property
    def changed(self) -> bool:
        """True when the stored item changed."""
        return self.before != self.after


#: ``change(before) -> after`` for :meth:`IRosterStore.update_item`.
RosterChange = Callable[[RosterItem | None], RosterItem | None]


class IRosterStore(Interface):
    """Each user's roster and roster version (``mod_roster``, RFC 6121 and XEP-0237).

    Users and contacts are prepared JID text; the domain is the user's.
    Every method returns a Deferred; failures are
    :class:`mongoose.storage.errors.StorageError`.
    """

    def get_items(domain, username):
        """Every stored item of a user, listed or not, sorted by contact.

        Returns:
            A Deferred firing a ``list[RosterItem]``.
        """

    def get_item(domain, username, contact):
        """One item.

        Returns:
            A Deferred firing the ``RosterItem``, or None.
        """

    def get_version(domain, username):
        """The roster version (XEP-0237): opaque text that changes with every write.

        Returns:
            A Deferred firing a ``str`` (``"0"`` for a user never written).
        """

    def update_item(domain, username, contact, change):
        """Read, change and write one item atomically, bumping the version on a change.

        Writes for one user are serialised, so concurrent subscription
        stanzas cannot lose each other's state.

        Args:
            domain: the user's domain.
            username: the user.
            contact: the contact's bare JID.
            change: ``change(before) -> after``, a pure function of the
                stored item (None when absent) returning the new item (its
                ``contact`` must be ``contact``) or None to delete it.  It
                may be called more than once (transaction retries) and may
                raise to abort without writing.

        Returns:
            A Deferred firing a :class:`RosterUpdate`; an exception raised
            by ``change`` arrives unchanged.
        """

    def remove_user(domain, username):
        """Delete a user's roster and version.

        Returns:
            A Deferred firing the number of items deleted.
        """


@dataclass(frozen=True)
class OfflineMessage:
    """A message kept for a user with no available resource (XEP-0160).

    Attributes:
        sender: the full JID the message came from.
        stamp: when it was stored (timezone-aware, UTC).
        packet: the message stanza as XML text.
        expire: when it may be discarded (XEP-0023 ``jabber:x:expire``), or None.
        id: the store's identifier, None before it is stored.
    """

    sender: str
    stamp: datetime
    packet: str
    expire: datetime | None = None
    id: int | None = None


class IOfflineStore(Interface):
    """Messages waiting for users to come online (``mod_offline``).

    Every method returns a Deferred; failures are
    :class:`mongoose.storage.errors.StorageError`.
    """

    def store_message(domain, username, message, limit=None):
        """Keep a message for a user unless the user has ``limit`` messages already.

        Expired messages do not count against the limit.

        Args:
            domain: the recipient's domain.
            username: the recipient.
            message: an :class:`OfflineMessage` (its ``id`` is ignored).
            limit: the most messages the user may have waiting, or None.

        Returns:
            A Deferred firing True when stored, False when over the limit.
        """

    def fetch_messages(domain, username, now):
        """The user's messages that have not expired at ``now``, oldest first, with ids.

        Returns:
            A Deferred firing a ``list[OfflineMessage]``; nothing is deleted.
        """

    def delete_messages(domain, username, ids):
        """Delete some of a user's messages by id (after delivery).

        Returns:
            A Deferred firing the number deleted.
        """

    def count_messages(domain, username):
        """Count a user's waiting messages, expired ones included.

        Returns:
            A Deferred firing an ``int``.
        """

    def delete_expired(domain, now):
        """Delete the domain's messages whose expiry time is at or before ``now``.

        Returns:
            A Deferred firing the number deleted.
        """

    def delete_older_than(domain, before):
        """Delete the domain's messages stored at or before ``before``.

        Returns:
            A Deferred firing the number deleted.
        """

    def remove_user(domain, username):
        """Delete every message waiting for a user.

        Returns:
            A Deferred firing the number deleted.
        """
