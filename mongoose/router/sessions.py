"""The session manager: bound client sessions per user (RFC 6120 section 7).

Resource binding follows MongooseIM's conflict policy: when a resource is
taken, the new session wins and the old one gets a ``conflict`` stream error.
``max_user_sessions`` (an access rule value) limits sessions per user; past
it the oldest session is replaced the same way.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterator

from twisted.logger import Logger

from mongoose.xmpp.jid import JID

__all__ = ["SessionManager"]


class SessionManager:
    """Local sessions of one node, indexed by bare and full JID.

    Args:
        hooks: the node's HookRegistry (runs ``sm_register_connection`` and
            ``sm_remove_connection``).
        max_sessions: callable (user, host) -> int | None, the per-user limit.
    """

    log = Logger()

    def __init__(self, hooks, max_sessions: Callable[[str, str], int | None] | None = None):
        self.hooks = hooks
        self.max_sessions = max_sessions or (lambda user, host: None)
        # (user, host) -> {resource: session}; dicts keep binding order.
        self._by_user: dict[tuple[str, str], dict[str, object]] = {}

    def bind(self, session, user: str, host: str, resource: str | None = None) -> JID:
        """Bind ``session`` to ``user@host/resource`` and return the full JID.

        A missing or empty resource gets a server-generated one.  A session
        already bound to the same full JID is closed with ``conflict``.

        Raises:
            mongoose.xmpp.jid.InvalidJID: the resource is not valid.
        """
        bare = JID.from_parts(user, host)
        if not resource:
            resource = self._new_resource(user, host)
        jid = bare.with_resource(resource)
        resources = self._by_user.setdefault((jid.user, jid.host), {})
        old = resources.pop(jid.resource, None)
        if old is not None and old is not session:
            self.log.info("{jid} replaced by a new session", jid=jid.full())
            old.close("conflict", "Replaced by new connection")
            # Its later unbind finds the new session in its place and does
            # nothing, so the replaced session is announced gone here.
            self.hooks.run("sm_remove_connection", jid.host, old)
        limit = self.max_sessions(jid.user, jid.host)
        while limit is not None and len(resources) >= max(limit, 1):
            oldest_resource = next(iter(resources))
            oldest = resources.pop(oldest_resource)
            oldest.close("conflict", "Too many sessions for this account")
            self.hooks.run("sm_remove_connection", jid.host, oldest)
        resources[jid.resource] = session
        session.jid = jid
        session.info.setdefault("started", time.time())
        self.hooks.run("sm_register_connection", jid.host, session)
        return jid

    def unbind(self, session) -> bool:
        """Remove ``session`` if it is still the one bound to its JID."""
        jid = getattr(session, "jid", None)
        if jid is None or jid.resource is None:
            return False
        resources = self._by_user.get((jid.user, jid.host))
        if not resources or resources.get(jid.resource) is not session:
            return False
        del resources[jid.resource]
        if not resources:
            del self._by_user[(jid.user, jid.host)]
        self.hooks.run("sm_remove_connection", jid.host, session)
        return True

    def _new_resource(self, user: str, host: str) -> str:
        taken = self._by_user.get((user, host), {})
        while True:
            resource = f"mongoose-{secrets.token_hex(6)}"
            if resource not in taken:
                return resource

    def get(self, jid: JID):
        """The session bound to a full JID, or None."""
        resources = self._by_user.get((jid.user, jid.host))
        if resources is None or jid.resource is None:
            return None
        return resources.get(jid.resource)

    def sessions_of(self, user: str | None, host: str) -> list:
        """Every session of ``user@host`` in binding order."""
        return list(self._by_user.get((user, host), {}).values())

    def available_sessions(self, user: str | None, host: str) -> list:
        """Sessions of the user that sent available presence."""
        return [
            s for s in self._by_user.get((user, host), {}).values() if s.priority is not None
        ]

    def all_sessions(self, host: str | None = None) -> Iterator:
        """Every session, or those of one domain."""
        for (_user, user_host), resources in list(self._by_user.items()):
            if host is None or user_host == host:
                yield from list(resources.values())

    def count(self, host: str | None = None) -> int:
        """Number of sessions, or of one domain's sessions."""
        return sum(
            len(r) for (user, user_host), r in self._by_user.items() if host in (None, user_host)
        )

    def users(self, host: str | None = None) -> list[tuple[str, str]]:
        """(user, host) pairs with at least one session."""
        return [key for key in self._by_user if host in (None, key[1])]
