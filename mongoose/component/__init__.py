"""External components over XEP-0114 (Jabber Component Protocol, "accept" side).

``[[listen.service]]`` (``[[listen.component]]`` since MongooseIM 6.4) opens a
port where trusted external services (gateways, bots, MUC or pubsub servers)
connect, authenticate with a shared secret and then send and receive stanzas
for their own domain.  The WebSocket handler's ``service`` table
(:mod:`mongoose.http.ws_component`) runs the same :class:`~mongoose.component.stream.ComponentStream`
over WebSocket frames.
"""

__all__ = ["handshake", "listener", "registry", "shaper", "stanzas", "stream"]
