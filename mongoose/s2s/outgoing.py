"""The originating side of server-to-server streams (RFC 6120, XEP-0220).

An :class:`OutgoingStream` is opened by the manager for one (local domain,
remote domain) pair, in one of two modes:

* ``auth``: after the features (and STARTTLS when the peer offers it and
  TLS is wanted, or the peer requires it) it authenticates and then carries
  stanzas.  When the stream is TLS, the peer offers SASL EXTERNAL and we
  have a certificate (``s2s.outgoing.tls.certfile``), it sends
  ``<auth mechanism='EXTERNAL'>`` (XEP-0178) and restarts the stream after
  ``<success/>``; otherwise, or when EXTERNAL fails, it sends
  ``<db:result>`` with the dialback key and waits for ``type='valid'``;
* ``verify``: it sends one ``<db:verify>`` to the authoritative server of a
  domain that asked us for dialback, reports the answer and closes.

Each negotiation step must finish within ``s2s.outgoing.state_timeout``;
an established stream without traffic for ``s2s.outgoing.stream_timeout``
is closed.
Its owner (:class:`mongoose.s2s.manager.OutgoingConnection` or a verify
request) is told ``stream_ready``, ``stream_failed`` or ``verified``.
"""

from __future__ import annotations

from typing import Any

from twisted.words.xish.domish import Element

from mongoose.s2s.dialback import dialback_key
from mongoose.s2s.external import MECHANISM, auth_element
from mongoose.s2s.settings import S2SSettings
from mongoose.s2s.stream import ServerStream, dialback_element
from mongoose.xmpp.errors import StreamError
from mongoose.xmpp.namespaces import NS_DIALBACK, NS_SASL, NS_STARTTLS, NS_STREAMS
from mongoose.xmpp.tls import TLSConfigError, client_connection_creator

__all__ = ["OutgoingStream"]

_STARTTLS = f"<starttls xmlns='{NS_STARTTLS}'/>".encode()


class OutgoingStream(ServerStream):
    """One outgoing server-to-server connection.

    Args:
        owner: told about progress (``stream_ready(stream)``,
            ``stream_failed(stream, condition, text)``, ``verified(valid)``).
        local: our domain (the stream's 'from').
        remote: the peer's domain (the stream's 'to').
        settings: the local domain's federation settings.
        clock: the reactor.
        mode: ``auth`` or ``verify``.
        verify: for ``verify`` mode, (stream id, key) to check.
        direct_tls: the transport is TLS from the first byte.
        shaper: limits the incoming byte rate, or None.
    """

    def __init__(
        self, owner: Any, local: str, remote: str, settings: S2SSettings, clock: Any,
        mode: str = "auth", verify: tuple[str, str] | None = None,
        direct_tls: bool = False, shaper: Any = None,
    ):
        super().__init__(clock, settings.max_stanza_size, shaper, settings.state_timeout)
        self.owner = owner
        self.local = local
        self.remote = remote
        self.settings = settings
        self.mode = mode
        self.verify_request = verify
        self.secure = direct_tls
        self.stream_id: str | None = None
        self.authenticated_by: str | None = None
        self._failed = False

    # -- connection --------------------------------------------------------------

    def connectionMade(self) -> None:
        """Open the stream."""
        super().connectionMade()
        self.state = "header"
        self.send_header(self.local, self.remote, None)
        self.arm()

    def stream_closed(self) -> None:
        """Tell the owner; a stream closed before it was ready is a failure."""
        if self._failed:
            return
        self._failed = True
        if self.mode == "verify":
            self.owner.verified(False)
        elif self.info.get("established"):
            self.owner.stream_lost(self)
        else:
            self.owner.stream_failed(self, "remote-server-not-found", "the connection was closed")

    def fail(self, condition: str, text: str, stream_error: str | None = None) -> None:
        """Give up on the stream: tell the owner, close it.

        Args:
            condition: the stanza error for queued stanzas
                (``remote-server-not-found`` or ``remote-server-timeout``).
            text: what went wrong.
            stream_error: a stream error condition to send, or None.
        """
        if not self._failed:
            self._failed = True
            self.log.info(
                "s2s {local} -> {remote} failed: {text}",
                local=self.local, remote=self.remote, text=text,
            )
            if self.mode == "verify":
                self.owner.verified(False)
            elif self.info.get("established"):
                self.owner.stream_lost(self)
            else:
                self.owner.stream_failed(self, condition, text)
        self.close(stream_error)

    def timed_out(self) -> None:
        """A negotiation step took too long."""
        self.fail("remote-server-timeout", f"{self.remote} did not answer in time",
                  "connection-timeout")

    # -- parser events -------------------------------------------------------------

    def _on_start(self, header: dict[str, str]) -> None:
        self.stream_id = header.get("id") or ""
        version = header.get("version") or ""
        if version.split(".")[0] not in ("", "0"):
            self.state = "features"
            self.arm()
        else:
            self._authenticate()

    def _on_error(self, error: StreamError) -> None:
        self.fail("remote-server-not-found", f"stream error: {error}", error.condition)

    def _on_end(self) -> None:
        self.fail("remote-server-not-found", f"{self.remote} closed the stream")

    def _on_element(self, el: Element) -> None:
        if el.uri == NS_STREAMS and el.name == "error":
            condition = next(
                (c.name for c in el.elements() if c.name != "text"), "undefined-condition"
            )
            self.fail("remote-server-not-found", f"{self.remote} sent stream error {condition}")
            return
        if self.state == "features" and el.uri == NS_STREAMS and el.name == "features":
            self._features(el)
        elif self.state == "starttls" and el.uri == NS_STARTTLS:
            if el.name == "proceed":
                self._start_tls()
            else:
                self.fail("remote-server-not-found", f"{self.remote} refused STARTTLS")
        elif self.state == "sasl" and el.uri == NS_SASL:
            self._sasl_answer(el)
        elif self.state == "dialback" and el.uri == NS_DIALBACK and el.name == "result":
            self._result(el)
        elif self.state == "verify" and el.uri == NS_DIALBACK and el.name == "verify":
            self._verify_answer(el)

    # -- negotiation ---------------------------------------------------------------

    def _features(self, features: Element) -> None:
        starttls = next(
            (c for c in features.elements() if c.uri == NS_STARTTLS and c.name == "starttls"),
            None,
        )
        wanted = self.settings.tls.mode
        peer_requires = starttls is not None and any(
            c.name == "required" for c in starttls.elements()
        )
        if not self.secure and starttls is not None and (wanted != "none" or peer_requires):
            self.state = "starttls"
            self.write(_STARTTLS)
            self.arm()
            return
        if not self.secure and wanted == "starttls_required":
            self.fail("remote-server-not-found", f"{self.remote} does not offer STARTTLS",
                      "policy-violation")
            return
        if self.authenticated_by == "external":
            self._established()
        elif self.mode == "auth" and self._can_use_external(features):
            self.state = "sasl"
            self.write(auth_element(self.local))
            self.arm()
        else:
            self._authenticate()

    def _can_use_external(self, features: Element) -> bool:
        """TLS is on, we have a certificate and the peer offers EXTERNAL."""
        if not self.secure or not self.settings.tls.options.get("certfile"):
            return False
        for mechanisms in features.elements(NS_SASL, "mechanisms"):
            for mechanism in mechanisms.elements(NS_SASL, "mechanism"):
                if str(mechanism).strip().upper() == MECHANISM:
                    return True
        return False

    def _sasl_answer(self, el: Element) -> None:
        if el.name == "success":
            self.authenticated_by = "external"
            self.info["auth"] = "external"
            self.state = "header"
            self.restart()
            self.send_header(self.local, self.remote, None)
            self.arm()
        elif el.name == "failure":
            condition = next((c.name for c in el.elements() if c.name != "text"), "failure")
            self.log.info(
                "SASL EXTERNAL from {local} to {remote} failed ({condition}); using dialback",
                local=self.local, remote=self.remote, condition=condition,
            )
            self._authenticate()

    def _start_tls(self) -> None:
        options = dict(self.settings.tls.options)
        if self.settings.tls.mode == "none":
            options["verify_mode"] = "none"
        try:
            creator = client_connection_creator(self.remote, options)
        except TLSConfigError as exc:
            self.fail("remote-server-not-found", f"s2s.outgoing.tls: {exc}")
            return
        self.start_tls(creator)
        self.state = "header"
        self.send_header(self.local, self.remote, None)
        self.arm()

    def _authenticate(self) -> None:
        if self.mode == "verify":
            assert self.verify_request is not None
            stream_id, key = self.verify_request
            self.write(dialback_element("verify", self.local, self.remote, id_=stream_id, key=key))
            self.state = "verify"
        else:
            key = dialback_key(self.settings.shared, self.remote, self.local, self.stream_id or "")
            self.write(dialback_element("result", self.local, self.remote, key=key))
            self.state = "dialback"
        self.arm()

    def _result(self, el: Element) -> None:
        kind = el.getAttribute("type")
        if kind == "valid":
            self.authenticated_by = "dialback"
            self.info["auth"] = "dialback"
            self._established()
        elif kind in ("invalid", "error"):
            self.fail("remote-server-not-found", f"{self.remote} refused dialback ({kind})")

    def _established(self) -> None:
        self.state = "established"
        self.info["established"] = True
        self.disarm()
        self.start_idle_timer(self.settings.stream_timeout)
        self.owner.stream_ready(self)

    def idle(self) -> None:
        """No traffic for ``s2s.outgoing.stream_timeout``: close the stream."""
        self.log.info("closing idle s2s stream {local} -> {remote}", local=self.local,
                      remote=self.remote)
        self.close()

    def _verify_answer(self, el: Element) -> None:
        if self.verify_request is None or el.getAttribute("id") != self.verify_request[0]:
            return
        self._failed = True
        self.disarm()
        self.owner.verified(el.getAttribute("type") == "valid")
        self.close()
