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
    "IBlocklistStore",
    "IDatabase",
    "IDomainStore",
    "ILastStore",
    "IPrivateStore",
    "IVCardStore",
    "LastActivity",
    "IOfflineStore",
    "IPrivacyStore",
    "PrivacyItem",
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

    def remove_domain(domain):
        """Delete this store's records of every user of ``domain`` (the domain is removed).

        Returns:
            A Deferred firing the number of rows deleted.
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

    def get_created_at(domain, username):
        """When the account was created (for GDPR data retrieval).

        Returns:
            A Deferred firing a timezone-aware UTC ``datetime``, or None if
            there is no such user.
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

    def remove_domain(domain):
        """Delete this store's records of every user of ``domain`` (the domain is removed).

        Returns:
            A Deferred firing the number of rows deleted.
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

    def remove_domain(domain):
        """Delete this store's records of every user of ``domain`` (the domain is removed).

        Returns:
            A Deferred firing the number of rows deleted.
        """

    def remove_user(domain, username):
        """Delete every message waiting for a user.

        Returns:
            A Deferred firing the number deleted.
        """


@dataclass(frozen=True)
class LastActivity:
    """When a user last logged out and with which status (XEP-0012, ``mod_last``).

    Attributes:
        seconds: Unix time in whole seconds (UTC).
        status: the status text of the user's last unavailable presence.
    """

    seconds: int
    status: str = ""


class ILastStore(Interface):
    """Each user's last activity (``mod_last``).

    Every method returns a Deferred; failures are
    :class:`mongoose.storage.errors.StorageError`.
    """

    def get_last(domain, username):
        """The user's last activity.

        Returns:
            A Deferred firing a :class:`LastActivity`, or None.
        """

    def set_last(domain, username, seconds, status):
        """Record (replace) the user's last activity.

        Returns:
            A Deferred firing None.
        """

    def count_active(domain, since):
        """Count the domain's users whose last activity is at or after ``since`` (Unix seconds).

        Returns:
            A Deferred firing an ``int``.
        """

    def active_users(domain, since):
        """Usernames of the domain whose last activity is at or after ``since``.

        Returns:
            A Deferred firing a ``set[str]``.
        """

    def older_than(domain, before):
        """The domain's records older than ``before`` (Unix seconds).

        Returns:
            A Deferred firing a ``dict[str, int]`` of username -> seconds.
        """

    def remove_domain(domain):
        """Delete this store's records of every user of ``domain`` (the domain is removed).

        Returns:
            A Deferred firing the number of rows deleted.
        """

    def remove_user(domain, username):
        """Delete the user's record.

        Returns:
            A Deferred firing True, or False if there was none.
        """


class IPrivateStore(Interface):
    """Private XML storage (XEP-0049, ``mod_private``): XML text per user and namespace.

    Every method returns a Deferred; failures are
    :class:`mongoose.storage.errors.StorageError`.
    """

    def get_private(domain, username, namespaces):
        """The stored XML of some namespaces.

        Args:
            domain: the user's domain.
            username: the user.
            namespaces: the namespaces wanted.

        Returns:
            A Deferred firing a ``dict[str, str]`` of namespace -> XML text,
            holding only the namespaces with data.
        """

    def all_private(domain, username):
        """Everything the user stored (for GDPR data retrieval).

        Returns:
            A Deferred firing a ``dict[str, str]`` of namespace -> XML text.
        """

    def set_private(domain, username, items):
        """Replace the XML of each namespace in ``items`` in one transaction.

        Args:
            items: a mapping of namespace -> XML text.

        Returns:
            A Deferred firing None.
        """

    def remove_domain(domain):
        """Delete this store's records of every user of ``domain`` (the domain is removed).

        Returns:
            A Deferred firing the number of rows deleted.
        """

    def remove_user(domain, username):
        """Delete everything the user stored.

        Returns:
            A Deferred firing the number of namespaces deleted.
        """


class IVCardStore(Interface):
    """One vCard per user (XEP-0054, ``mod_vcard``).

    Every method returns a Deferred; failures are
    :class:`mongoose.storage.errors.StorageError`.
    """

    def get_vcard(domain, username):
        """The user's vCard.

        Returns:
            A Deferred firing the ``<vCard/>`` XML text, or None.
        """

    def set_vcard(domain, username, vcard, fn="", nickname=""):
        """Store (replace) the user's vCard.

        Args:
            vcard: the ``<vCard/>`` XML text.
            fn: the formatted name, kept lower-cased for searches.
            nickname: the nickname, kept lower-cased for searches.

        Returns:
            A Deferred firing None.
        """

    def remove_domain(domain):
        """Delete this store's records of every user of ``domain`` (the domain is removed).

        Returns:
            A Deferred firing the number of rows deleted.
        """

    def remove_user(domain, username):
        """Delete the user's vCard.

        Returns:
            A Deferred firing True, or False if there was none.
        """

    def search(domain, criteria, limit=None):
        """Find vCards of a domain for the user directory (XEP-0055).

        Args:
            domain: the domain searched.
            criteria: a mapping with some of ``user``, ``fn`` and
                ``nickname`` to a text each; a vCard matches when every
                given field starts with its text, ignoring case.
            limit: at most this many results (None: all).

        Returns:
            A Deferred firing a list of ``(username, vcard_xml)`` sorted by
            username.

        Raises:
            ValueError: an unknown criterion.
        """


@dataclass(frozen=True)
class PrivacyItem:
    """One rule of a privacy list (XEP-0016 section 2.2; ``mod_privacy``).

    Attributes:
        action: ``allow`` or ``deny``.
        order: position in the list; rules are tried lowest first.
        type: ``jid``, ``group``, ``subscription``, or None (the fall-through rule).
        value: what ``type`` matches (a JID, a group name, a subscription state).
        stanzas: the kinds it applies to, among ``message``, ``iq``,
            ``presence-in`` and ``presence-out``; empty means every kind.
    """

    action: str
    order: int
    type: str | None = None
    value: str = ""
    stanzas: frozenset[str] = frozenset()


class IPrivacyStore(Interface):
    """Users' privacy lists and default list names (``mod_privacy``, ``mod_blocking``).

    Every method returns a Deferred; failures are
    :class:`mongoose.storage.errors.StorageError`.
    """

    def list_names(domain, username):
        """The user's list names (sorted) and default list name.

        Returns:
            A Deferred firing ``(names, default)``; ``default`` is None when unset.
        """

    def get_list(domain, username, name):
        """One list's items in order.

        Returns:
            A Deferred firing a list of :class:`PrivacyItem`, or None when it does not exist.
        """

    def set_list(domain, username, name, items):
        """Create or replace a list.

        Returns:
            A Deferred firing None.
        """

    def remove_list(domain, username, name):
        """Delete a list; the default name is cleared when it named this list.

        Returns:
            A Deferred firing True, or False if there was no such list.
        """

    def set_default(domain, username, name):
        """Make ``name`` the default list, or clear the default with None.

        Returns:
            A Deferred firing True, or False when ``name`` is not a list of the user.
        """

    def remove_domain(domain):
        """Delete this store's records of every user of ``domain`` (the domain is removed).

        Returns:
            A Deferred firing the number of rows deleted.
        """

    def remove_user(domain, username):
        """Delete every list of the user.

        Returns:
            A Deferred firing the number of lists deleted.
        """

    def count_users(domain, name):
        """How many users of ``domain`` have a non-empty list called ``name``.

        Returns:
            A Deferred firing an ``int``.
        """


class IBlocklistStore(Interface):
    """Users barred from logging in by an administrator (``mod_blocklist``).

    Every method returns a Deferred; failures are
    :class:`mongoose.storage.errors.StorageError`.
    """

    def get_block(domain, username):
        """Whether the user is barred.

        Returns:
            A Deferred firing ``(True, reason or None)``, or ``(False, None)``.
        """

    def add_block(domain, username, reason):
        """Bar the user (replacing the reason when barred already).

        Returns:
            A Deferred firing None.
        """

    def remove_block(domain, username):
        """Lift the bar.

        Returns:
            A Deferred firing True, or False if the user was not barred.
        """

    def list_blocks(domain, limit=None, offset=0):
        """Barred users of a domain sorted by name.

        Returns:
            A Deferred firing a list of ``(username, reason or None)``.
        """

    def remove_domain(domain):
        """Delete this store's records of every user of ``domain`` (the domain is removed).

        Returns:
            A Deferred firing the number of rows deleted.
        """

    def count_blocks(domain):
        """How many users of the domain are barred.

        Returns:
            A Deferred firing an ``int``.
        """


class IDomainStore(Interface):
    """Dynamic domains added at run time and their admin passwords (``domain`` commands).

    Every method returns a Deferred; failures are
    :class:`mongoose.storage.errors.StorageError`.
    """

    def get_domain(domain):
        """One dynamic domain.

        Returns:
            A Deferred firing ``(domain, host_type, enabled)`` or None.
        """

    def list_domains(host_type=None):
        """Dynamic domains sorted by name, optionally of one host type.

        Returns:
            A Deferred firing a list of ``(domain, host_type, enabled)``.
        """

    def add_domain(domain, host_type):
        """Insert an enabled domain.

        Returns:
            A Deferred firing True, or False when the domain exists already.
        """

    def remove_domain(domain):
        """Delete the domain and its admin password.

        Returns:
            A Deferred firing whether the domain existed.
        """

    def set_enabled(domain, enabled):
        """Enable or disable the domain.

        Returns:
            A Deferred firing whether the domain exists.
        """

    def get_admin_secret(domain):
        """The stored domain admin password secret (text, never the password).

        Returns:
            A Deferred firing the text or None.
        """

    def set_admin_secret(domain, secret):
        """Store or replace the domain admin password secret.

        Returns:
            A Deferred firing None.
        """

    def delete_admin_secret(domain):
        """Drop the domain admin password.

        Returns:
            A Deferred firing whether there was one.
        """
