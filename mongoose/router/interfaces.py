"""Interfaces between streams, the router and the session manager.

A client stream (TCP, BOSH or WebSocket: one c2s state machine) becomes an
:class:`ISession` once its resource is bound.  The router delivers stanzas to
sessions; modules see sessions only through these attributes.
"""

from __future__ import annotations

from zope.interface import Attribute, Interface

__all__ = ["ISession", "IQ_SCOPE_SERVER", "IQ_SCOPE_USER"]

#: IQ handler scope: IQs addressed to the domain itself (``to='example.com'``).
IQ_SCOPE_SERVER = "server"
#: IQ handler scope: IQs addressed to a user's bare JID, or with no 'to' from
#: the user's own session (RFC 6120 section 10.3.3): roster, vCard, private ...
IQ_SCOPE_USER = "user"


class ISession(Interface):
    """One bound client session (RFC 6120 section 7), seen by the router and modules."""

    jid = Attribute("The full JID (mongoose.xmpp.jid.JID) the session is bound to.")
    priority = Attribute(
        "Presence priority (int) once the session sent available presence, else None."
    )
    presence = Attribute("The last broadcast presence element (available), or None.")
    roster_requested = Attribute(
        "True once the client fetched its roster (an 'interested resource', RFC 6121 2.1.6)."
    )
    info = Attribute("A dict of extra facts: 'ip', 'transport', 'started' (epoch seconds) ...")

    def deliver(stanza):
        """Send one stanza (a domish.Element) to the client. Never raises."""

    def close(condition, text=None):
        """End the stream with a stream error (e.g. 'conflict', 'system-shutdown')."""
