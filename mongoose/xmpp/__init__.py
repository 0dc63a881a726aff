"""The XMPP wire layer: stream framing, errors, JIDs, SASL and TLS.

Transport-independent and free of routing: ``framing`` parses and
``serialize`` writes XML streams (RFC 6120 section 4), ``errors`` builds
stream and stanza errors (RFC 6120 sections 4.9 and 8.3), ``jid`` handles
addresses (RFC 7622), ``sasl`` holds the authentication mechanisms and
``tls`` the TLS contexts built from MongooseIM's ``tls.*`` options.
"""

__all__ = ["errors", "framing", "jid", "namespaces", "sasl", "serialize", "tls"]
