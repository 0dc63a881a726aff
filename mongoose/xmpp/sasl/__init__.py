"""Server-side SASL for XMPP streams (RFC 6120 section 6, RFC 4422).

``core`` defines ``ISASLMechanism`` and the step outcomes; ``plain``,
``scram``, ``anonymous`` and ``external`` implement mechanisms;
``mechanisms`` decides what to advertise and builds a mechanism for an
exchange; ``channel_binding`` reads binding data from a TLS transport;
``wire`` builds and reads the negotiation XML.
"""

__all__ = [
    "anonymous",
    "channel_binding",
    "core",
    "external",
    "mechanisms",
    "plain",
    "scram",
    "wire",
]
