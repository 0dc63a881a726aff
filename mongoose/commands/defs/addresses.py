"""Turning command JID arguments into RFC 7622 JIDs for the router and the modules.

Command arguments of type ``jid`` arrive as ``twisted`` JIDs; the router and
the IM modules speak :class:`mongoose.xmpp.jid.JID`.  These helpers convert
and check them, failing with ``bad_request`` naming the argument.
"""

from __future__ import annotations

from typing import Any

from mongoose.commands.errors import CommandError
from mongoose.commands.types import bad_request
from mongoose.xmpp.jid import JID, InvalidJID

__all__ = ["bare_jid", "full_jid", "mongoose_jid", "module_missing"]


def mongoose_jid(value: Any, arg: str) -> JID:
    """Convert a parsed ``jid`` argument (twisted JID or text) to a prepared JID.

    Raises:
        CommandError: ``bad_request`` naming ``arg``.
    """
    try:
        if isinstance(value, str):
            return JID.parse(value)
        return JID.from_parts(value.user, value.host, value.resource)
    except InvalidJID as exc:
        raise bad_request(arg, f"{exc.jid!r} is not a valid JID ({exc.reason})") from None


def bare_jid(value: Any, arg: str) -> JID:
    """A user's bare JID from a ``jid`` argument (a resource is dropped).

    Raises:
        CommandError: ``bad_request`` when the JID is invalid or has no user part.
    """
    jid = mongoose_jid(value, arg)
    if jid.user is None:
        raise bad_request(arg, f"{jid.full()!r} has no user part (expected user@domain)")
    return jid.bare()


def full_jid(value: Any, arg: str) -> JID:
    """A session's full JID from a ``jid`` argument.

    Raises:
        CommandError: ``bad_request`` when the JID lacks a user or a resource.
    """
    jid = mongoose_jid(value, arg)
    if jid.user is None or jid.resource is None:
        raise bad_request(arg, f"{jid.full()!r} is not a full JID (expected user@domain/resource)")
    return jid


def module_missing(module: str, domain: str) -> CommandError:
    """The error for a command whose module does not run on ``domain``."""
    return CommandError("unavailable", f"{module} is not enabled on {domain}")
