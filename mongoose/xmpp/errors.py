"""Stream errors (RFC 6120 section 4.9) and stanza errors (RFC 6120 section 8.3).

``StreamError`` and ``StanzaError`` are exceptions that carry a defined
condition, an optional human-readable text with its language and an optional
application-specific condition element; each can build its XML form and be
read back from it.  ``error_reply`` turns a stanza into the error stanza that
answers it (RFC 6120 section 8.3.1).
"""

from __future__ import annotations

from collections.abc import Mapping

from twisted.words.xish.domish import Element

from mongoose.xmpp.namespaces import NS_STANZAS, NS_STREAMS, NS_XML, NS_XMPP_STREAMS
from mongoose.xmpp.serialize import copy_element

__all__ = [
    "STANZA_ERROR_CONDITIONS",
    "STANZA_ERROR_TYPES",
    "STREAM_ERROR_CONDITIONS",
    "StanzaError",
    "StreamError",
    "error_reply",
    "stanza_error_element",
    "stream_error_element",
]

#: The defined conditions of RFC 6120 section 4.9.3, in its order.
STREAM_ERROR_CONDITIONS: frozenset[str] = frozenset(
    {
        "bad-format",
        "bad-namespace-prefix",
        "conflict",
        "connection-timeout",
        "host-gone",
        "host-unknown",
        "improper-addressing",
        "internal-server-error",
        "invalid-from",
        "invalid-namespace",
        "invalid-xml",
        "not-authorized",
        "not-well-formed",
        "policy-violation",
        "remote-connection-failed",
        "reset",
        "resource-constraint",
        "restricted-xml",
        "see-other-host",
        "system-shutdown",
        "undefined-condition",
        "unsupported-encoding",
        "unsupported-feature",
        "unsupported-stanza-type",
        "unsupported-version",
    }
)

#: Stanza error condition -> the error type RFC 6120 section 8.3.3 says it
#: SHOULD carry (where it allows two, the first one named).
STANZA_ERROR_TYPES: Mapping[str, str] = {
    "bad-request": "modify",
    "conflict": "cancel",
    "feature-not-implemented": "cancel",
    "forbidden": "auth",
    "gone": "cancel",
    "internal-server-error": "cancel",
    "item-not-found": "cancel",
    "jid-malformed": "modify",
    "not-acceptable": "modify",
    "not-allowed": "cancel",
    "not-authorized": "auth",
    "policy-violation": "modify",
    "recipient-unavailable": "wait",
    "redirect": "modify",
    "registration-required": "auth",
    "remote-server-not-found": "cancel",
    "remote-server-timeout": "wait",
    "resource-constraint": "wait",
    "service-unavailable": "cancel",
    "subscription-required": "auth",
    "undefined-condition": "cancel",
    "unexpected-request": "wait",
}

#: The defined conditions of RFC 6120 section 8.3.3.
STANZA_ERROR_CONDITIONS: frozenset[str] = frozenset(STANZA_ERROR_TYPES)

_ERROR_TYPES = frozenset({"auth", "cancel", "continue", "modify", "wait"})
# Conditions whose element may carry an address as character data.
_ADDRESS_CONDITIONS = frozenset({"gone", "redirect"})


def _text_element(ns: str, text: str, lang: str | None) -> Element:
    el = Element((ns, "text"))
    if lang:
        el[(NS_XML, "lang")] = lang
    el.addContent(text)
    return el


def stream_error_element(
    condition: str,
    text: str | None = None,
    lang: str | None = None,
    *,
    other_host: str | None = None,
    app_condition: Element | None = None,
) -> Element:
    """Build a ``<stream:error/>`` element (RFC 6120 section 4.9.2).

    Args:
        condition: one of :data:`STREAM_ERROR_CONDITIONS`.
        text: optional description for humans.
        lang: the ``xml:lang`` of ``text``.
        other_host: for ``see-other-host``, the host (and port) to move to.
        app_condition: an application-specific condition element.

    Returns:
        The element; it serialises as ``<stream:error>`` inside a stream.

    Raises:
        ValueError: ``condition`` is not a defined stream error condition.
    """
    if condition not in STREAM_ERROR_CONDITIONS:
        raise ValueError(f"unknown stream error condition {condition!r}")
    el = Element((NS_STREAMS, "error"))
    cond = el.addElement((NS_XMPP_STREAMS, condition))
    if other_host is not None and condition == "see-other-host":
        cond.addContent(other_host)
    if text:
        el.addChild(_text_element(NS_XMPP_STREAMS, text, lang))
    if app_condition is not None:
        el.addChild(app_condition)
    return el


def _read_text(el: Element, ns: str) -> tuple[str | None, str | None]:
    for child in el.elements(ns, "text"):
        return str(child), child.getAttribute((NS_XML, "lang"))
    return None, None


def _read_app_condition(el: Element, ns: str) -> Element | None:
    for child in el.elements():
        if child.uri != ns:
            return child
    return None


class StreamError(Exception):
    """A stream-level error: the stream is closed after it is sent.

    Attributes:
        condition: the defined condition, e.g. ``"not-well-formed"``.
        text: optional description for humans.
        lang: the language of ``text``.
        other_host: the host named by ``see-other-host``.
        app_condition: an application-specific condition element, or None.
    """

    def __init__(
        self,
        condition: str,
        text: str | None = None,
        *,
        lang: str | None = None,
        other_host: str | None = None,
        app_condition: Element | None = None,
    ):
        """Create the error.

        Args:
            condition: one of :data:`STREAM_ERROR_CONDITIONS`.
            text: optional description for humans.
            lang: the language of ``text``.
            other_host: for ``see-other-host``, where to reconnect.
            app_condition: an application-specific condition element.

        Raises:
            ValueError: ``condition`` is not a defined stream error condition.
        """
        if condition not in STREAM_ERROR_CONDITIONS:
            raise ValueError(f"unknown stream error condition {condition!r}")
        super().__init__(condition, text)
        self.condition = condition
        self.text = text
        self.lang = lang
        self.other_host = other_host
        self.app_condition = app_condition

    def __str__(self) -> str:
        return f"{self.condition}: {self.text}" if self.text else self.condition

    def __repr__(self) -> str:
        return f"StreamError({self.condition!r}, {self.text!r})"

    def to_element(self) -> Element:
        """Return the ``<stream:error/>`` element for this error."""
        return stream_error_element(
            self.condition,
            self.text,
            self.lang,
            other_host=self.other_host,
            app_condition=self.app_condition,
        )

    @classmethod
    def from_element(cls, el: Element) -> StreamError:
        """Read a received ``<stream:error/>`` element.

        Args:
            el: the error element.

        Returns:
            The error; an unknown or missing condition reads as
            ``undefined-condition``.
        """
        condition = "undefined-condition"
        other_host = None
        for child in el.elements(NS_XMPP_STREAMS):
            if child.name in STREAM_ERROR_CONDITIONS:
                condition = child.name
                if condition == "see-other-host":
                    other_host = str(child) or None
                break
        text, lang = _read_text(el, NS_XMPP_STREAMS)
        return cls(
            condition,
            text,
            lang=lang,
            other_host=other_host,
            app_condition=_read_app_condition(el, NS_XMPP_STREAMS),
        )


def stanza_error_element(
    condition: str,
    type: str | None = None,
    text: str | None = None,
    *,
    lang: str | None = None,
    by: str | None = None,
    address: str | None = None,
    app_condition: Element | None = None,
    uri: str | None = None,
) -> Element:
    """Build an ``<error/>`` child for an error stanza (RFC 6120 section 8.3.2).

    Args:
        condition: one of :data:`STANZA_ERROR_CONDITIONS`.
        type: auth, cancel, continue, modify or wait; None takes the
            condition's default from :data:`STANZA_ERROR_TYPES`.
        text: optional description for humans.
        lang: the ``xml:lang`` of ``text``.
        by: the JID of the entity that found the error.
        address: for ``gone`` and ``redirect``, the new address.
        app_condition: an application-specific condition element.
        uri: the namespace of the ``<error/>`` element itself (that of the
            stanza it goes into); None inherits it.

    Returns:
        The element.

    Raises:
        ValueError: unknown condition or type.
    """
    if condition not in STANZA_ERROR_TYPES:
        raise ValueError(f"unknown stanza error condition {condition!r}")
    if type is None:
        type = STANZA_ERROR_TYPES[condition]
    elif type not in _ERROR_TYPES:
        raise ValueError(f"unknown stanza error type {type!r}")
    el = Element((uri, "error"))
    el["type"] = type
    if by:
        el["by"] = by
    cond = el.addElement((NS_STANZAS, condition))
    if address and condition in _ADDRESS_CONDITIONS:
        cond.addContent(address)
    if text:
        el.addChild(_text_element(NS_STANZAS, text, lang))
    if app_condition is not None:
        el.addChild(app_condition)
    return el


class StanzaError(Exception):
    """An error answered with an error stanza; the stream stays open.

    Attributes:
        condition: the defined condition, e.g. ``"item-not-found"``.
        type: the error type (auth, cancel, continue, modify, wait).
        text: optional description for humans.
        lang: the language of ``text``.
        by: the JID of the entity that found the error, or None.
        address: the new address for ``gone`` and ``redirect``.
        app_condition: an application-specific condition element, or None.
    """

    def __init__(
        self,
        condition: str,
        type: str | None = None,
        text: str | None = None,
        *,
        lang: str | None = None,
        by: str | None = None,
        address: str | None = None,
        app_condition: Element | None = None,
    ):
        """Create the error.

        Args:
            condition: one of :data:`STANZA_ERROR_CONDITIONS`.
            type: the error type; None takes the condition's default.
            text: optional description for humans.
            lang: the language of ``text``.
            by: the JID of the entity that found the error.
            address: for ``gone`` and ``redirect``, the new address.
            app_condition: an application-specific condition element.

        Raises:
            ValueError: unknown condition or type.
        """
        if condition not in STANZA_ERROR_TYPES:
            raise ValueError(f"unknown stanza error condition {condition!r}")
        if type is None:
            type = STANZA_ERROR_TYPES[condition]
        elif type not in _ERROR_TYPES:
            raise ValueError(f"unknown stanza error type {type!r}")
        super().__init__(condition, text)
        self.condition = condition
        self.type = type
        self.text = text
        self.lang = lang
        self.by = by
        self.address = address
        self.app_condition = app_condition

    def __str__(self) -> str:
        return f"{self.condition}: {self.text}" if self.text else self.condition

    def __repr__(self) -> str:
        return f"StanzaError({self.condition!r}, {self.type!r}, {self.text!r})"

    def to_element(self, uri: str | None = None) -> Element:
        """Return the ``<error/>`` element for this error.

        Args:
            uri: namespace of the ``<error/>`` element; None inherits it.
        """
        return stanza_error_element(
            self.condition,
            self.type,
            self.text,
            lang=self.lang,
            by=self.by,
            address=self.address,
            app_condition=self.app_condition,
            uri=uri,
        )

    def reply_to(self, stanza: Element, *, include_payload: bool = True) -> Element:
        """Build the error stanza answering ``stanza``; see :func:`error_reply`."""
        return _reply(stanza, self, include_payload)

    @classmethod
    def from_element(cls, el: Element) -> StanzaError:
        """Read an ``<error/>`` element (or a stanza of type error holding one).

        Args:
            el: the ``<error/>`` element or the error stanza.

        Returns:
            The error; an unknown or missing condition reads as
            ``undefined-condition`` and an unknown type as the condition's
            default.
        """
        if el.name != "error" or el.getAttribute("type") == "error":
            for child in el.elements():
                if child.name == "error":
                    el = child
                    break
        condition = "undefined-condition"
        address = None
        for child in el.elements(NS_STANZAS):
            if child.name in STANZA_ERROR_TYPES:
                condition = child.name
                address = str(child) or None
                break
        type_ = el.getAttribute("type")
        if type_ not in _ERROR_TYPES:
            type_ = None
        text, lang = _read_text(el, NS_STANZAS)
        return cls(
            condition,
            type_,
            text,
            lang=lang,
            by=el.getAttribute("by"),
            address=address,
            app_condition=_read_app_condition(el, NS_STANZAS),
        )


def _reply(stanza: Element, error: StanzaError, include_payload: bool) -> Element:
    if stanza.getAttribute("type") == "error":
        raise ValueError("an error stanza must not be answered with another error")
    reply = Element((stanza.uri, stanza.name), stanza.defaultUri)
    reply.defaultUri = stanza.defaultUri
    for key, value in stanza.attributes.items():
        if key not in ("from", "to"):
            reply.attributes[key] = value
    if stanza.getAttribute("from") is not None:
        reply["to"] = stanza["from"]
    if stanza.getAttribute("to") is not None:
        reply["from"] = stanza["to"]
    reply["type"] = "error"
    if include_payload:
        for child in stanza.children:
            if isinstance(child, Element):
                if child.name == "error" and child.uri in (stanza.uri, None):
                    continue
                copied = copy_element(child)
                copied.parent = reply
                reply.children.append(copied)
            else:
                reply.children.append(child)
    reply.addChild(error.to_element(stanza.uri))
    return reply


def error_reply(
    stanza: Element,
    condition: str,
    type: str | None = None,
    text: str | None = None,
    *,
    lang: str | None = None,
    by: str | None = None,
    address: str | None = None,
    app_condition: Element | None = None,
    include_payload: bool = True,
) -> Element:
    """Build the error stanza answering ``stanza`` (RFC 6120 section 8.3.1).

    The reply has the same element name, namespace and id, 'from' and 'to'
    swapped, ``type='error'``, a copy of the original payload (unless
    ``include_payload`` is false) and the ``<error/>`` child.  ``stanza``
    itself is not changed.

    Args:
        stanza: the stanza that caused the error.
        condition: one of :data:`STANZA_ERROR_CONDITIONS`.
        type: the error type; None takes the condition's default.
        text: optional description for humans.
        lang: the language of ``text``.
        by: the JID of the entity that found the error.
        address: for ``gone`` and ``redirect``, the new address.
        app_condition: an application-specific condition element.
        include_payload: copy the original child elements into the reply.

    Returns:
        The error stanza.

    Raises:
        ValueError: unknown condition or type, or ``stanza`` is itself an
            error (RFC 6120 forbids answering an error with an error).
    """
    error = StanzaError(
        condition,
        type,
        text,
        lang=lang,
        by=by,
        address=address,
        app_condition=app_condition,
    )
    return _reply(stanza, error, include_payload)
