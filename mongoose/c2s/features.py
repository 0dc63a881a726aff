"""Stream features a client stream advertises (RFC 6120 sections 4.3, 5, 6, 7).

Builders for ``<stream:features/>`` and its children: STARTTLS (RFC 6120
section 5.4.1), SASL mechanisms with the XEP-0440 channel-binding types,
stream compression (XEP-0138), resource binding (RFC 6120 section 7.4) and
the optional legacy session establishment (RFC 6121 section 1.4, draft
"Here Lies Extensible Messaging and Presence Protocol (XMPP) Session
Establishment").
"""

from __future__ import annotations

from collections.abc import Iterable

from twisted.words.xish.domish import Element

from mongoose.xmpp.namespaces import NS_BIND, NS_SESSION, NS_STARTTLS, NS_STREAMS
from mongoose.xmpp.sasl.wire import channel_binding_element, mechanisms_element

__all__ = [
    "NS_COMPRESS",
    "NS_FEATURE_COMPRESS",
    "bind_feature",
    "channel_binding_element",
    "compression_feature",
    "features",
    "mechanisms_element",
    "session_feature",
    "starttls_feature",
]

#: XEP-0138 negotiation elements (``<compress/>``, ``<compressed/>``, ``<failure/>``).
NS_COMPRESS = "http://jabber.org/protocol/compress"
#: XEP-0138 stream feature.
NS_FEATURE_COMPRESS = "http://jabber.org/features/compress"


def features(children: Iterable[Element]) -> Element:
    """Wrap feature elements in ``<stream:features/>``."""
    el = Element((NS_STREAMS, "features"))
    for child in children:
        el.addChild(child)
    return el


def starttls_feature(required: bool) -> Element:
    """``<starttls/>``, with ``<required/>`` when TLS is mandatory-to-negotiate."""
    el = Element((NS_STARTTLS, "starttls"))
    if required:
        el.addElement("required")
    return el


def compression_feature(methods: Iterable[str]) -> Element:
    """XEP-0138 ``<compression/>`` listing the methods."""
    el = Element((NS_FEATURE_COMPRESS, "compression"))
    for method in methods:
        el.addElement("method", content=method)
    return el


def bind_feature() -> Element:
    """``<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/>``."""
    return Element((NS_BIND, "bind"))


def session_feature() -> Element:
    """``<session/>`` marked ``<optional/>``: clients may skip the session IQ."""
    el = Element((NS_SESSION, "session"))
    el.addElement("optional")
    return el
