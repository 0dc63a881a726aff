"""Effective federation settings of one local domain, from ``[s2s]`` and ``[[listen.s2s]]``.

Follows "Options: S2S" and the s2s listener page of the MongooseIM 6.x docs.
TLS has two spellings: ``s2s.use_starttls`` (``false`` | ``optional`` |
``required`` | ``required_trusted``, with ``s2s.certfile``; MongooseIM
6.0-6.2) and the ``s2s.outgoing.tls`` / ``listen.s2s.tls`` tables (current
releases).  When a table is present it wins over ``use_starttls``.

Outgoing TLS modes used here: ``none`` (never), ``starttls`` (when the peer
offers it), ``starttls_required`` (fail without it) and ``tls`` (direct TLS).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "UNLIMITED_STANZA_SIZE",
    "IncomingTLS",
    "OutgoingTLS",
    "S2SSettings",
    "incoming_tls",
    "settings_from_options",
]

#: Stanza size limit used for ``"infinity"``, so memory stays bounded.
UNLIMITED_STANZA_SIZE = 16 * 1024 * 1024

_LEGACY_MODES = {
    "false": "none",
    "optional": "starttls",
    "required": "starttls_required",
    "required_trusted": "starttls_required",
}


def _seconds(value: Any) -> float | None:
    """Milliseconds (or "infinity") to seconds (or None)."""
    return None if value in (None, "infinity") else int(value) / 1000.0


@dataclass(frozen=True)
class OutgoingTLS:
    """How outgoing streams use TLS.

    Attributes:
        mode: ``none``, ``starttls``, ``starttls_required`` or ``tls``.
        options: ``tls.*`` options for the client side (``verify_mode``,
            ``cacertfile``, ``certfile`` ...).
    """

    mode: str = "none"
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class IncomingTLS:
    """How an s2s listener offers TLS.

    Attributes:
        mode: ``none``, ``starttls``, ``starttls_required`` or ``tls``.
        options: ``tls.*`` options for the server side.
    """

    mode: str = "none"
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class S2SSettings:
    """Federation settings of one local domain.

    Attributes:
        shared: the dialback secret.
        default_policy: ``allow`` or ``deny``.
        host_policy: remote domain -> ``allow`` / ``deny``.
        port: default port of remote servers.
        addresses: remote domain -> [(ip, port, direct_tls)] overrides.
        ip_versions: IP versions to try, in order.
        connection_timeout: seconds to open a TCP connection, or None.
        state_timeout: seconds for each negotiation step, or None.
        stream_timeout: seconds an idle stream (outgoing, or incoming to this
            domain) stays open, or None.
        max_stanza_size: largest stanza read on outgoing streams.
        shaper: shaper name for outgoing streams.
        dns_timeout: seconds per DNS query.
        max_retry_delay: longest wait, in seconds, before a remote domain that
            could not be reached is tried again.
        tls: outgoing TLS.
    """

    shared: str
    default_policy: str = "allow"
    host_policy: Mapping[str, str] = field(default_factory=dict)
    port: int = 5269
    addresses: Mapping[str, list[tuple[str, int, bool]]] = field(default_factory=dict)
    ip_versions: tuple[int, ...] = (4, 6)
    connection_timeout: float | None = 10.0
    state_timeout: float | None = 5.0
    stream_timeout: float | None = 600.0
    max_stanza_size: int = UNLIMITED_STANZA_SIZE
    shaper: str = "none"
    dns_timeout: int = 10
    max_retry_delay: float = 300.0
    tls: OutgoingTLS = field(default_factory=OutgoingTLS)

    def allows(self, remote: str) -> bool:
        """Tell whether federation with ``remote`` is allowed (host_policy, else default).

        Args:
            remote: a remote domain.

        Returns:
            True when allowed.
        """
        return self.host_policy.get(remote, self.default_policy) == "allow"


def _outgoing_tls(s2s: Mapping[str, Any], outgoing: Mapping[str, Any]) -> OutgoingTLS:
    table = outgoing.get("tls")
    if table is not None:
        options = dict(table)
        return OutgoingTLS(str(options.get("mode", "starttls")), options)
    legacy = s2s.get("use_starttls")
    if legacy is None:
        return OutgoingTLS()
    mode = _LEGACY_MODES[legacy]
    options: dict[str, Any] = {
        "verify_mode": "peer" if legacy == "required_trusted" else "none"
    }
    if s2s.get("certfile"):
        options["certfile"] = s2s["certfile"]
    if s2s.get("ciphers"):
        options["ciphers"] = s2s["ciphers"]
    return OutgoingTLS(mode, options)


def settings_from_options(s2s: Mapping[str, Any], shared_default: str) -> S2SSettings:
    """Build the settings of one domain from its parsed ``[s2s]`` table.

    Args:
        s2s: the ``[s2s]`` options (or ``host_config.s2s``).
        shared_default: the secret used when ``shared`` is not set.

    Returns:
        The settings.
    """
    outgoing = s2s.get("outgoing") or {}
    port = int(outgoing.get("port", 5269))
    addresses: dict[str, list[tuple[str, int, bool]]] = {}
    for entry in outgoing.get("address") or ():
        addresses.setdefault(entry["host"], []).append(
            (str(entry["ip_address"]), int(entry.get("port") or port), bool(entry.get("tls")))
        )
    size = outgoing.get("max_stanza_size", "infinity")
    dns = outgoing.get("dns") or {}
    return S2SSettings(
        shared=s2s.get("shared") or shared_default,
        default_policy=s2s.get("default_policy", "allow"),
        host_policy={e["host"]: e["policy"] for e in s2s.get("host_policy") or ()},
        port=port,
        addresses=addresses,
        ip_versions=tuple(outgoing.get("ip_versions") or (4, 6)),
        connection_timeout=_seconds(outgoing.get("connection_timeout", 10000)),
        state_timeout=_seconds(outgoing.get("state_timeout", 5000)),
        stream_timeout=_seconds(outgoing.get("stream_timeout", 600000)),
        max_stanza_size=UNLIMITED_STANZA_SIZE if size == "infinity" else int(size),
        shaper=str(outgoing.get("shaper", "none")),
        dns_timeout=int(dns.get("timeout", 10)),
        max_retry_delay=float(outgoing.get("max_retry_delay", 300)),
        tls=_outgoing_tls(s2s, outgoing),
    )


def incoming_tls(listener: Mapping[str, Any], s2s: Mapping[str, Any]) -> IncomingTLS:
    """The TLS an s2s listener offers.

    The listener's ``tls`` table wins; else ``s2s.use_starttls`` with
    ``s2s.certfile``.  Peer certificates are asked for as the table's
    ``verify_mode`` says (``peer`` by default; the legacy spelling asks only
    with ``required_trusted``): a verified one lets the peer authenticate
    with SASL EXTERNAL.  A certificate that fails verification never ends
    the handshake on s2s (``disconnect_on_failure`` is ignored): the peer can
    still use dialback.

    Args:
        listener: the ``[[listen.s2s]]`` options.
        s2s: the global ``[s2s]`` options.

    Returns:
        The incoming TLS settings.
    """
    table = listener.get("tls")
    if table is not None:
        options = dict(table)
        mode = str(options.get("mode", "starttls"))
        options.setdefault("verify_mode", "none")
    else:
        legacy = s2s.get("use_starttls")
        if legacy in (None, "false") or not s2s.get("certfile"):
            return IncomingTLS()
        mode = _LEGACY_MODES[legacy]
        options = {
            "certfile": s2s["certfile"],
            "verify_mode": "peer" if legacy == "required_trusted" else "none",
        }
        if s2s.get("ciphers"):
            options["ciphers"] = s2s["ciphers"]
    options["disconnect_on_failure"] = False
    return IncomingTLS(mode, options)
