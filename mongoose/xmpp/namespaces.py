"""XML namespace names used on the XMPP wire.

The names come from RFC 6120 (streams, TLS, SASL, binding, stanza and stream
errors), RFC 6121 (sessions), the XML Namespaces recommendation (``xml:``),
XEP-0114 (components), XEP-0220 (dialback), XEP-0206/RFC 7395 (BOSH and
WebSocket framing) and XEP-0440 (SASL channel-binding type capability).
"""

from __future__ import annotations

__all__ = [
    "NS_BIND",
    "NS_CLIENT",
    "NS_COMPONENT_ACCEPT",
    "NS_DIALBACK",
    "NS_FRAMING",
    "NS_SASL",
    "NS_SASL_CB",
    "NS_SERVER",
    "NS_SESSION",
    "NS_STANZAS",
    "NS_STARTTLS",
    "NS_STREAMS",
    "NS_XML",
    "NS_XMPP_STREAMS",
]

#: The ``stream:`` prefix namespace of RFC 6120 section 4.8.1.
NS_STREAMS = "http://etherx.jabber.org/streams"
#: Default content namespace of client streams (RFC 6120 section 4.8.2).
NS_CLIENT = "jabber:client"
#: Default content namespace of server streams.
NS_SERVER = "jabber:server"
#: XEP-0114 component streams.
NS_COMPONENT_ACCEPT = "jabber:component:accept"
#: XEP-0220 server dialback.
NS_DIALBACK = "jabber:server:dialback"
#: Stream error conditions (RFC 6120 section 4.9.3).
NS_XMPP_STREAMS = "urn:ietf:params:xml:ns:xmpp-streams"
#: Stanza error conditions (RFC 6120 section 8.3.3).
NS_STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas"
#: STARTTLS negotiation (RFC 6120 section 5).
NS_STARTTLS = "urn:ietf:params:xml:ns:xmpp-tls"
#: SASL negotiation (RFC 6120 section 6).
NS_SASL = "urn:ietf:params:xml:ns:xmpp-sasl"
#: Resource binding (RFC 6120 section 7).
NS_BIND = "urn:ietf:params:xml:ns:xmpp-bind"
#: Legacy session establishment (RFC 3921, kept by RFC 6121 section 1.4).
NS_SESSION = "urn:ietf:params:xml:ns:xmpp-session"
#: RFC 7395 WebSocket framing (``<open/>``, ``<close/>``).
NS_FRAMING = "urn:ietf:params:xml:ns:xmpp-framing"
#: XEP-0440 SASL channel-binding type capability.
NS_SASL_CB = "urn:xmpp:sasl-cb:0"
#: The namespace bound to the reserved ``xml`` prefix (``xml:lang``).
NS_XML = "http://www.w3.org/XML/1998/namespace"
