"""Ad-hoc command sessions (XEP-0050 ``sessionid``): bounded per user and expiring.

A session remembers which stage a requester is on and the values entered
on every stage.  It belongs to the full JID that started it and to one
node.  It expires ``timeout`` seconds after its last use; a user (bare
JID) holds at most ``max_per_user`` sessions, and starting one more ends
that user's least recently used session.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

from twisted.words.xish.domish import Element

from mongoose.xmpp.errors import StanzaError

__all__ = ["FlowSession", "SessionTable", "command_error"]

NS_COMMANDS = "http://jabber.org/protocol/commands"


def command_error(condition: str, kind: str, app: str, text: str) -> StanzaError:
    """A stanza error with an XEP-0050 application condition (``bad-action`` ...)."""
    return StanzaError(condition, kind, text=text, app_condition=Element((NS_COMMANDS, app)))


@dataclass
class FlowSession:
    """One command execution in progress.

    Attributes:
        sessionid: the XEP-0050 session id (unguessable).
        owner: the full JID that started it.
        user: the owner's bare JID (the unit of the per-user bound).
        node: the command node.
        stage: the index of the stage shown last.
        values: raw form values entered on each stage, by stage index.
        touched: when it was last used (clock seconds).
    """

    sessionid: str
    owner: str
    user: str
    node: str
    touched: float
    stage: int = 0
    values: dict[int, dict[str, list[str]]] = field(default_factory=dict)

    def merged(self, upto: int | None = None) -> dict[str, list[str]]:
        """Values of stages ``0..upto`` (all when None); later stages win on equal vars."""
        merged: dict[str, list[str]] = {}
        for index in sorted(self.values):
            if upto is None or index <= upto:
                merged.update(self.values[index])
        return merged


class SessionTable:
    """The open sessions of one ``mod_adhoc`` instance.

    Args:
        clock: gives ``seconds()`` (the reactor, or ``task.Clock`` in tests).
        timeout: seconds a session lives after its last use.
        max_per_user: sessions one bare JID may hold at once.
    """

    def __init__(self, clock: Any, timeout: float, max_per_user: int):
        self._clock = clock
        self.timeout = timeout
        self.max_per_user = max_per_user
        self._sessions: dict[str, FlowSession] = {}

    def __len__(self) -> int:
        return len(self._sessions)

    def _expired(self, session: FlowSession, now: float) -> bool:
        return now - session.touched > self.timeout

    def sweep(self) -> None:
        """Forget every expired session."""
        now = self._clock.seconds()
        for key in [k for k, s in self._sessions.items() if self._expired(s, now)]:
            del self._sessions[key]

    def open(self, owner: str, user: str, node: str) -> FlowSession:
        """Start a session, ending the user's least recently used one when at the bound."""
        self.sweep()
        mine = sorted((s for s in self._sessions.values() if s.user == user),
                      key=lambda s: s.touched)
        for old in mine[: max(0, len(mine) - self.max_per_user + 1)]:
            del self._sessions[old.sessionid]
        session = FlowSession(secrets.token_urlsafe(12), owner, user, node,
                              self._clock.seconds())
        self._sessions[session.sessionid] = session
        return session

    def get(self, sessionid: str, owner: str, node: str) -> FlowSession:
        """The live session ``sessionid`` of ``owner`` on ``node``, marked as used.

        Raises:
            StanzaError: ``bad-request``/``bad-sessionid`` for an unknown id
                (or another requester's, or another node's);
                ``not-allowed``/``session-expired`` for an expired one.
        """
        session = self._sessions.get(sessionid)
        if session is None or session.owner != owner or session.node != node:
            raise command_error("bad-request", "modify", "bad-sessionid",
                                "unknown session for this command")
        now = self._clock.seconds()
        if self._expired(session, now):
            del self._sessions[sessionid]
            raise command_error("not-allowed", "cancel", "session-expired",
                                "the command session expired; start again")
        session.touched = now
        return session

    def close(self, sessionid: str) -> None:
        """End a session (completed or canceled)."""
        self._sessions.pop(sessionid, None)

    def clear(self) -> None:
        """End every session (the module stops)."""
        self._sessions.clear()
