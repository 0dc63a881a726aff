"""Bounded label values for metrics.

Every label value that comes from outside (a domain, a SASL mechanism, an
HTTP method, a failure reason) is mapped onto a fixed set first, so a client
cannot make the node grow a new time series per request.  Follows the
Prometheus naming and label guidelines ("Do not use labels to store
dimensions with high cardinality").
"""

from __future__ import annotations

from collections.abc import Container

from mongoose.xmpp.sasl.mechanisms import CONFIG_NAMES

__all__ = [
    "OTHER",
    "SASL_FAILURES",
    "TRANSPORTS",
    "HTTP_METHODS",
    "bounded",
    "host_label",
    "mechanism_label",
    "reason_label",
    "transport_label",
    "method_label",
]

#: The value used for anything outside the allowed set.
OTHER = "other"

#: SASL failure conditions of RFC 6120 section 6.5.
SASL_FAILURES = frozenset(
    """
    aborted account-disabled credentials-expired encryption-required
    incorrect-encoding invalid-authzid invalid-mechanism malformed-request
    mechanism-too-weak not-authorized temporary-auth-failure
    """.split()
)

#: Client transports, as in a session's ``info["transport"]``.
TRANSPORTS = ("tcp", "bosh", "websocket")

#: Request methods counted under their own name.
HTTP_METHODS = frozenset(
    (b"GET", b"HEAD", b"POST", b"PUT", b"DELETE", b"PATCH", b"OPTIONS", b"CONNECT", b"TRACE")
)

_MECHANISMS = frozenset(CONFIG_NAMES.values())


def bounded(value: object, allowed: Container[str]) -> str:
    """``value`` as a string when it is in ``allowed``, else ``"other"``."""
    text = str(value) if value is not None else ""
    return text if text in allowed else OTHER


def host_label(host: object, hosts: Container[str]) -> str:
    """A served XMPP domain, or ``"other"``."""
    return bounded(host, hosts)


def mechanism_label(mechanism: object) -> str:
    """A SASL mechanism name (``auth.sasl_mechanisms`` spellings accepted) or ``"other"``.

    ``None`` (no mechanism, e.g. legacy authentication) becomes ``"none"``.
    """
    if mechanism is None:
        return "none"
    text = str(mechanism)
    text = CONFIG_NAMES.get(text.lower(), text.upper())
    return text if text in _MECHANISMS else OTHER


def reason_label(reason: object) -> str:
    """An RFC 6120 SASL failure condition, or ``"other"``."""
    text = str(reason or "").strip().lower().replace("_", "-")
    return text if text in SASL_FAILURES else OTHER


def transport_label(transport: object) -> str:
    """``tcp``, ``bosh``, ``websocket`` (``ws``/``wss`` too) or ``"other"`` (also when unset)."""
    text = str(transport or "").lower()
    if text in ("ws", "wss"):
        text = "websocket"
    return text if text in TRANSPORTS else OTHER


def method_label(method: bytes | str | None) -> str:
    """An HTTP method name, or ``"other"``."""
    raw = method.encode("latin-1", "replace") if isinstance(method, str) else (method or b"")
    return raw.decode("ascii") if raw in HTTP_METHODS else OTHER
