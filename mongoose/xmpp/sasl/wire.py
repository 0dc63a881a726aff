"""The XML of SASL negotiation (RFC 6120 section 6.4) and XEP-0440.

Builders for ``<mechanisms/>``, ``<challenge/>``, ``<success/>`` and
``<failure/>``, a reader for the base64 payload of ``<auth/>`` and
``<response/>`` (RFC 6120 section 6.4.2: an empty payload is sent as ``=``),
and the XEP-0440 ``<sasl-channel-binding/>`` stream feature.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable

from twisted.words.xish.domish import Element

from mongoose.xmpp.namespaces import NS_SASL, NS_SASL_CB, NS_XML
from mongoose.xmpp.sasl.core import FAILURE_CONDITIONS, Challenge, Failure, Outcome, Success

__all__ = [
    "PayloadError",
    "channel_binding_element",
    "encode_payload",
    "failure_element",
    "mechanisms_element",
    "outcome_element",
    "read_payload",
]


class PayloadError(ValueError):
    """The payload of ``<auth/>`` or ``<response/>`` is not valid base64.

    The c2s layer answers ``<failure><incorrect-encoding/></failure>``.
    """


def encode_payload(data: bytes | None) -> str:
    """Base64 for an element's text: ``=`` for empty data, "" for none."""
    if data is None:
        return ""
    if not data:
        return "="
    return base64.b64encode(data).decode("ascii")


def read_payload(el: Element) -> bytes | None:
    """Decode the base64 text of ``<auth/>`` or ``<response/>``.

    Args:
        el: the element.

    Returns:
        None when the element is empty (no initial response), ``b""`` for
        ``=``, otherwise the decoded bytes.

    Raises:
        PayloadError: the text is not base64.
    """
    text = "".join(c for c in el.children if isinstance(c, str))
    text = "".join(text.split())
    if not text:
        return None
    if text == "=":
        return b""
    if len(text) % 4:
        raise PayloadError("the SASL payload is not valid base64")
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise PayloadError("the SASL payload is not valid base64") from None


def mechanisms_element(names: Iterable[str]) -> Element:
    """Build ``<mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>``."""
    el = Element((NS_SASL, "mechanisms"))
    for name in names:
        el.addElement("mechanism", content=name)
    return el


def channel_binding_element(types: Iterable[str]) -> Element:
    """Build the XEP-0440 ``<sasl-channel-binding/>`` stream feature.

    Args:
        types: the supported channel binding types, e.g.
            ``["tls-exporter", "tls-server-end-point"]``.
    """
    el = Element((NS_SASL_CB, "sasl-channel-binding"))
    for cb_type in types:
        el.addElement("channel-binding")["type"] = cb_type
    return el


def failure_element(condition: str, text: str | None = None, lang: str | None = None) -> Element:
    """Build ``<failure/>`` with a condition of RFC 6120 section 6.5.

    Raises:
        ValueError: unknown condition.
    """
    if condition not in FAILURE_CONDITIONS:
        raise ValueError(f"unknown SASL failure condition {condition!r}")
    el = Element((NS_SASL, "failure"))
    el.addElement(condition)
    if text:
        text_el = el.addElement("text", content=text)
        if lang:
            text_el[(NS_XML, "lang")] = lang
    return el


def outcome_element(outcome: Outcome) -> Element:
    """Build the element that answers a mechanism step.

    Args:
        outcome: a Challenge, Success or Failure.

    Returns:
        ``<challenge/>``, ``<success/>`` or ``<failure/>``.
    """
    if isinstance(outcome, Challenge):
        el = Element((NS_SASL, "challenge"))
        if outcome.data:
            el.addContent(encode_payload(outcome.data))
        return el
    if isinstance(outcome, Success):
        el = Element((NS_SASL, "success"))
        if outcome.additional_data is not None:
            el.addContent(encode_payload(outcome.additional_data))
        return el
    if isinstance(outcome, Failure):
        return failure_element(outcome.condition, outcome.text)
    raise TypeError(f"not a SASL outcome: {outcome!r}")
