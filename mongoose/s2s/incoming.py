"""The receiving side of server-to-server streams (RFC 6120, XEP-0220).

Flow of one connection:

1. the peer opens ``<stream:stream xmlns='jabber:server'
   xmlns:db='jabber:server:dialback' from='REMOTE' to='LOCAL'
   version='1.0'>``; a 'to' we do not serve ends it with ``host-unknown``;
2. we answer with a fresh stream id and, for version 1.0 peers, features:
   ``<starttls/>`` (with ``<required/>`` when the listener requires it),
   SASL ``EXTERNAL`` (only on TLS, when the peer's certificate was verified
   and names the header's 'from' domain; XEP-0178) and the dialback feature
   (withheld until TLS when TLS is required);
3. ``<starttls/>`` gets ``<proceed/>``, TLS starts, the stream restarts;
   ``<auth mechanism='EXTERNAL'>`` (authorization identity empty or the
   'from' domain, policy permitting) gets ``<success/>``, authenticates
   that domain for the stream and the stream restarts;
4. ``<db:result from='REMOTE' to='LOCAL'>KEY</db:result>`` is checked
   against ``s2s.default_policy``/``host_policy`` and then with the
   authoritative server over a separate outgoing ``<db:verify/>``
   connection (:meth:`.manager.S2SManager.verify_key`); we answer
   ``<db:result type='valid|invalid'/>``;
5. ``<db:verify/>`` from a server checking one of our outgoing streams is
   answered from ``s2s.shared`` (nothing is stored);
6. stanzas are accepted only for a (from domain, to domain) pair that passed
   dialback or SASL on this stream, else the stream ends with ``invalid-from``;
7. a stream without traffic for the local domain's
   ``s2s.outgoing.stream_timeout`` ends with ``connection-timeout``.

Stream errors: ``host-unknown``, ``policy-violation`` (TLS required but not
used, a stanza over ``max_stanza_size``), ``invalid-from``,
``unsupported-stanza-type``, ``connection-timeout`` (no header within the
listener's ``state_timeout``, or idle), ``system-shutdown``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from twisted.words.xish.domish import Element

from mongoose.component.handshake import new_stream_id
from mongoose.s2s.dialback import key_matches
from mongoose.s2s.external import (
    MECHANISM,
    certificate_domains,
    decode_authzid,
    failure_element,
    matches_domain,
    mechanisms_feature,
    success_element,
)
from mongoose.s2s.settings import IncomingTLS
from mongoose.s2s.stanzas import STANZA_NAMES, from_server
from mongoose.s2s.stream import NS_DIALBACK_FEATURE, ServerStream, dialback_element
from mongoose.xmpp.errors import StreamError
from mongoose.xmpp.jid import JID, InvalidJID
from mongoose.xmpp.namespaces import NS_DIALBACK, NS_SASL, NS_SERVER, NS_STARTTLS
from mongoose.xmpp.tls import peer_certificate

__all__ = ["IncomingEnvironment", "IncomingStream"]

_PROCEED = f"<proceed xmlns='{NS_STARTTLS}'/>".encode()
_FAILURE = f"<failure xmlns='{NS_STARTTLS}'/>".encode()


@dataclass
class IncomingEnvironment:
    """What the streams of one s2s listener share.

    Attributes:
        manager: the node's :class:`mongoose.s2s.manager.S2SManager`.
        listener: the listener's option path, e.g. ``listen.s2s[0]``.
        tls: the TLS the listener offers.
        creator: the TLS server connection creator, or None.
        max_stanza_size: largest stanza read.
        state_timeout: seconds the peer has to open the stream, or None.
        shaper_for: builds a fresh shaper per connection (or returns None).
    """

    manager: Any
    listener: str
    tls: IncomingTLS
    creator: Any
    max_stanza_size: int
    state_timeout: float | None
    shaper_for: Any


class IncomingStream(ServerStream):
    """One incoming server-to-server connection.

    Args:
        environment: the listener's shared settings.

    Attributes:
        local: the domain the peer asked for in the stream header.
        remote: the 'from' domain of the stream header, if any.
        pairs: (remote domain, local domain) pairs authenticated by dialback
            or SASL EXTERNAL.
        external: the remote domain authenticated by SASL EXTERNAL, or None.
    """

    def __init__(self, environment: IncomingEnvironment):
        super().__init__(
            environment.manager.clock,
            environment.max_stanza_size,
            environment.shaper_for(),
            environment.state_timeout,
        )
        self.env = environment
        self.manager = environment.manager
        self.local: str | None = None
        self.remote: str | None = None
        self.external: str | None = None
        self.stream_id = ""
        self.pairs: set[tuple[str, str]] = set()
        self.info["listener"] = environment.listener
        self.refuse_with: StreamError | None = None

    # -- connection --------------------------------------------------------------

    def connectionMade(self) -> None:
        """Register the stream and wait for the header."""
        super().connectionMade()
        self.secure = self.env.tls.mode == "tls"
        self.state = "header"
        self.manager.incoming.add(self)
        if self.refuse_with is not None:
            self.close(self.refuse_with.condition, self.refuse_with.text)
            return
        self.arm()

    def stream_closed(self) -> None:
        """Forget the stream."""
        self.manager.incoming.discard(self)

    @property
    def tls_required(self) -> bool:
        """True when the listener requires TLS before dialback."""
        return self.env.tls.mode == "starttls_required" and not self.secure

    # -- parser events -------------------------------------------------------------

    def _on_start(self, header: dict[str, str]) -> None:
        to = header.get("to")
        if to and not self.manager.accepts_domain(to):
            self.send_header(None, None, new_stream_id())
            raise StreamError("host-unknown", f"{to} is not served here")
        self.local = to or self.local
        self.remote = header.get("from") or self.remote
        self.stream_id = new_stream_id()
        version = header.get("version")
        modern = bool(version) and version.split(".")[0] not in ("", "0")
        self.send_header(to, None, self.stream_id, "1.0" if modern else None)
        self.state = "open"
        self.disarm()
        if self.idle_timeout is None:
            self.start_idle_timer(self.manager.stream_timeout(self.local))
        if modern:
            self.write(self._features())

    def _features(self) -> bytes:
        parts = ["<stream:features>"]
        if self.env.creator is not None and not self.secure and self.env.tls.mode != "none":
            required = "<required/>" if self.env.tls.mode == "starttls_required" else ""
            parts.append(f"<starttls xmlns='{NS_STARTTLS}'>{required}</starttls>")
        if self._external_possible():
            parts.append(mechanisms_feature())
        if not self.tls_required:
            parts.append(f"<dialback xmlns='{NS_DIALBACK_FEATURE}'><errors/></dialback>")
        parts.append("</stream:features>")
        return "".join(parts).encode()

    def _on_element(self, el: Element) -> None:
        if self.state != "open":
            return
        if el.uri == NS_STARTTLS and el.name == "starttls":
            self._starttls()
        elif el.uri == NS_DIALBACK and el.name == "verify":
            self._verify(el)
        elif el.uri == NS_SASL and el.name == "auth":
            self._sasl_auth(el)
        elif self.tls_required:
            raise StreamError("policy-violation", "use STARTTLS first")
        elif el.uri == NS_DIALBACK and el.name == "result":
            self._result(el)
        elif el.uri == NS_SERVER and el.name in STANZA_NAMES:
            self._stanza(el)
        else:
            raise StreamError("unsupported-stanza-type", f"<{el.name}/> is not expected here")

    # -- STARTTLS ------------------------------------------------------------------

    def _starttls(self) -> None:
        if self.env.creator is None or self.secure or self.env.tls.mode == "none":
            self.write(_FAILURE)
            self.close()
            return
        self.write(_PROCEED)
        self.state = "header"
        self.start_tls(self.env.creator)
        self.arm()

    # -- SASL EXTERNAL (XEP-0178) ---------------------------------------------------

    def _external_possible(self) -> bool:
        """TLS is on and the peer's verified certificate names the header's 'from'."""
        if not self.secure or self.external is not None or not self.remote or not self.local:
            return False
        report = peer_certificate(self.transport)
        if report is None or not report.verified or report.certificate is None:
            return False
        return matches_domain(certificate_domains(report.certificate), self.remote)

    def _sasl_auth(self, el: Element) -> None:
        remote, local = self.remote, self.local
        if (el.getAttribute("mechanism") or "").upper() != MECHANISM:
            self.write(failure_element("invalid-mechanism"))
            return
        if not self._external_possible() or remote is None or local is None:
            self.write(failure_element("not-authorized"))
            return
        authzid = decode_authzid(str(el))
        if authzid is None:
            self.write(failure_element("incorrect-encoding"))
            return
        if authzid and authzid.lower() != remote.lower():
            self.write(failure_element("invalid-authzid"))
            return
        if not self.manager.settings_for(local).allows(remote):
            self.write(failure_element("not-authorized"))
            return
        self.write(success_element())
        self.external = remote
        self.info["auth"] = "external"
        self._authenticated(remote, local, "SASL EXTERNAL")
        self.state = "header"
        self.restart()
        self.arm()

    def _authenticated(self, remote: str, local: str, how: str) -> None:
        self.pairs.add((remote, local))
        self.info["domains"] = sorted(f"{r} -> {lo}" for r, lo in self.pairs)
        self.log.info(
            "incoming s2s stream from {remote} to {local} authenticated by {how}",
            remote=remote, local=local, how=how,
        )

    def idle(self) -> None:
        """No traffic for the idle timeout: end the stream with connection-timeout."""
        self.close("connection-timeout", f"no traffic for {self.idle_timeout:g} s")

    # -- dialback --------------------------------------------------------------------

    def _addresses(self, el: Element) -> tuple[str, str]:
        remote, local = el.getAttribute("from"), el.getAttribute("to")
        if not remote or not local:
            raise StreamError("improper-addressing", "dialback needs 'from' and 'to'")
        if not self.manager.accepts_domain(local):
            raise StreamError("host-unknown", f"{local} is not served here")
        return remote, local

    def _verify(self, el: Element) -> None:
        remote, local = self._addresses(el)
        stream_id = el.getAttribute("id") or ""
        secret = self.manager.settings_for(local).shared
        valid = key_matches(secret, remote, local, stream_id, str(el))
        self.write(
            dialback_element(
                "verify", local, remote, id_=stream_id, type_="valid" if valid else "invalid"
            )
        )

    def _result(self, el: Element) -> None:
        remote, local = self._addresses(el)
        if el.getAttribute("type"):
            return
        if not self.manager.settings_for(local).allows(remote):
            self.write(
                dialback_element("result", local, remote, type_="error")[:-2]
                + b"><error type='cancel'><not-allowed "
                b"xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></db:result>"
            )
            return
        d = self.manager.verify_key(local, remote, self.stream_id, str(el).strip())
        d.addCallback(self._verified, remote, local)

    def _verified(self, valid: bool, remote: str, local: str) -> None:
        if self.state == "closed":
            return
        self.write(dialback_element("result", local, remote, type_="valid" if valid else "invalid"))
        if valid:
            self._authenticated(remote, local, "dialback")
        else:
            self.log.warn("dialback from {remote} to {local} failed", remote=remote, local=local)

    # -- stanzas ---------------------------------------------------------------------

    def _stanza(self, el: Element) -> None:
        try:
            from_jid = JID.parse(el.getAttribute("from") or "")
            to_jid = JID.parse(el.getAttribute("to") or "")
        except InvalidJID as exc:
            raise StreamError("improper-addressing", f"bad stanza address: {exc}") from None
        if (from_jid.host, to_jid.host) not in self.pairs:
            raise StreamError(
                "invalid-from",
                f"{from_jid.host} is not authenticated for {to_jid.host} on this stream",
            )
        from_server(el)
        self.manager.received(el, from_jid, to_jid)
