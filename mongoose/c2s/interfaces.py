"""What the c2s state machine needs from a transport (DESIGN.md principle 2).

:class:`mongoose.c2s.session.C2SSession` implements RFC 6120 stream
negotiation once.  A transport adapter (TCP with STARTTLS, direct TLS and
zlib; later BOSH and WebSocket) turns its bytes into the session's events
(``stream_opened``, ``element_received``, ``stream_closed``,
``stream_failed``, ``connection_lost``) and provides :class:`IC2STransport`
for the way back.  A transport passes itself to ``connection_lost``
(``session.connection_lost(undelivered, transport)``) so that a session
taken over by a newer connection (XEP-0198 resumption) ignores the old one.

:class:`IStreamFilter` is what modules put between a session and its
transport (stream management, client state indication).
"""

from __future__ import annotations

from zope.interface import Attribute, Interface

__all__ = ["IC2STransport", "IStreamFilter"]


class IC2STransport(Interface):
    """One client connection as the c2s state machine sees it."""

    kind = Attribute("Short transport name for session info: 'tcp', 'tls', 'bosh', 'websocket'.")
    secure = Attribute("True when the connection is encrypted (direct TLS or after STARTTLS).")
    can_starttls = Attribute("True when STARTTLS can be offered on this connection now.")
    compression_methods = Attribute("Stream compression methods available now (a tuple).")
    peer = Attribute("The client's (ip, port); from the PROXY header when one is used.")

    def send_header(from_, to, stream_id, lang):
        """Open the server's side of the stream (a stream header, or its framing equivalent)."""

    def send(element):
        """Write one element (stanza or negotiation element) to the client.

        Returns:
            False when the connection is closing and the element was dropped.
        """

    def close(error):
        """Send ``error`` (a ``<stream:error/>`` element, or None) and close the stream.

        The transport then disconnects; ``connection_lost`` follows.
        """

    def restart():
        """The client will open a new stream (after SASL success or compression)."""

    def start_tls():
        """Switch to TLS now; ``<proceed/>`` has been sent."""

    def start_compression(method):
        """Compress both directions from now on; ``<compressed/>`` has been sent."""

    def pause():
        """Stop delivering input events until :meth:`resume` (the session is busy)."""

    def resume():
        """Deliver input events again."""

    def shape(max_rate):
        """Limit the client's input to ``max_rate`` bytes per second (None: no limit).

        Transports that cannot pause their input may ignore it.
        """

    def channel_bindings():
        """Channel binding data by type (RFC 5056), empty without TLS."""

    def peer_certificate():
        """The client's TLS certificate report (mongoose.xmpp.tls.PeerCertificate) or None."""


class IStreamFilter(Interface):
    """A module's view of one bound session's stanza traffic (``session.add_filter``).

    Filters form a chain ordered by ``order`` (low first; the last one is
    nearest to the client).  A filter passes an outgoing stanza on with
    ``session.forward(self, stanza)``, possibly later or never.
    """

    order = Attribute("Position in the chain: lower runs first (farther from the client).")
    owns_undelivered = Attribute(
        "True when the filter takes care of stanzas the connection never wrote "
        "(the session then does not send them to offline storage itself)."
    )

    def outgoing(stanza):
        """A stanza on its way to the client."""

    def incoming(stanza):
        """A stanza the client sent (called before the session handles it)."""

    def connection_lost():
        """The connection is gone; return True to keep the session bound (detached)."""

    def session_ended():
        """The session ends for good (closed, or lost and not kept, or terminated)."""
