"""The node's federation hub: outgoing connections, dialback checks, incoming streams.

:class:`S2SManager` is the router's ``remote`` route: :meth:`S2SManager.send`
takes every stanza for a domain that is neither served here nor a
component.  Per (local domain, remote domain) pair it keeps one
:class:`OutgoingConnection`: stanzas wait in its queue while the stream is
resolved (:mod:`.resolver`), connected, secured and authenticated by
dialback, and are written once the peer accepts.  When that fails the queue
is bounced with ``remote-server-not-found`` (or ``remote-server-timeout``
when the peer did not answer in time), following "Options: S2S" of the
MongooseIM docs; ``default_policy``/``host_policy`` deny refuses at once.
After a failure the remote domain is not tried again for a while (1 s,
doubling with each further failure up to ``s2s.outgoing.max_retry_delay``):
stanzas sent meanwhile bounce at once.  Addresses are tried in the order of
``s2s.outgoing.ip_versions``.  Streams idle for ``s2s.outgoing.stream_timeout``
are closed (by the streams themselves).

The manager also answers dialback checks for incoming streams
(:meth:`S2SManager.verify_key` opens a ``<db:verify/>`` connection to the
authoritative server) and closes every stream with ``system-shutdown``
when the node stops.
"""

from __future__ import annotations

import secrets
from collections import deque
from datetime import UTC, datetime
from typing import Any

from twisted.internet import defer
from twisted.internet.endpoints import (
    TCP4ClientEndpoint,
    TCP6ClientEndpoint,
    connectProtocol,
    wrapClientTLS,
)
from twisted.internet.error import ConnectingCancelledError
from twisted.internet.error import TimeoutError as ConnectTimeout
from twisted.logger import Logger
from twisted.words.xish.domish import Element

from mongoose.listeners.shaper import Shaper, shaper_rate
from mongoose.s2s.outgoing import OutgoingStream
from mongoose.s2s.resolver import addresses, dns_resolver, resolve
from mongoose.s2s.settings import S2SSettings, settings_from_options
from mongoose.s2s.stream import CLOSE_GRACE
from mongoose.xmpp.jid import JID
from mongoose.xmpp.tls import TLSConfigError, client_connection_creator

__all__ = [
    "DEFAULT_MAX_QUEUE",
    "FIRST_RETRY_DELAY",
    "OutgoingConnection",
    "S2SManager",
    "build_s2s_manager",
]

#: Most stanzas waiting for one outgoing connection when general.max_fsm_queue is not set.
DEFAULT_MAX_QUEUE = 1000

#: Seconds before a remote domain is tried again after its first failure; the
#: wait doubles with each further failure, up to ``s2s.outgoing.max_retry_delay``.
FIRST_RETRY_DELAY = 1.0

log = Logger()


class _Unreachable(Exception):
    """No address of the remote domain accepted a connection."""

    def __init__(self, condition: str, text: str):
        super().__init__(text)
        self.condition = condition


class OutgoingConnection:
    """The outgoing stream of one (local, remote) pair and its waiting stanzas.

    Args:
        manager: the owning :class:`S2SManager`.
        local: our domain.
        remote: the peer's domain.
        settings: the local domain's federation settings.

    Attributes:
        state: ``connecting``, ``established`` or ``closed``.
        stream: the :class:`OutgoingStream` once connected.
        queue: stanzas waiting for the stream.
    """

    def __init__(self, manager: S2SManager, local: str, remote: str, settings: S2SSettings):
        self.manager = manager
        self.local = local
        self.remote = remote
        self.settings = settings
        self.state = "connecting"
        self.stream: OutgoingStream | None = None
        self.queue: deque[Element] = deque()
        self.started = datetime.fromtimestamp(manager.clock.seconds(), UTC)
        self._connecting: defer.Deferred | None = None

    def start(self) -> None:
        """Resolve and connect; negotiation then reports through the stream."""
        d = defer.ensureDeferred(self.manager.open_stream(self, self.local, self.remote))
        self._connecting = d

        def connected(stream: OutgoingStream) -> None:
            self._connecting = None
            self.stream = stream

        def failed(failure: Any) -> None:
            self._connecting = None
            if failure.check(defer.CancelledError):
                self._fail("remote-server-not-found", "the server is stopping")
            elif failure.check(_Unreachable):
                self.manager.unreachable(self)
                self._fail(failure.value.condition, str(failure.value))
            else:
                log.failure("s2s connection to {remote} failed", failure, remote=self.remote)
                self.manager.unreachable(self)
                self._fail("remote-server-not-found", f"cannot connect to {self.remote}")

        d.addCallbacks(connected, failed)

    def send(self, stanza: Element) -> None:
        """Write a stanza now, or queue it until the stream is ready."""
        if self.state == "established" and self.stream is not None:
            self.stream.write_stanza(stanza)
            return
        if len(self.queue) >= self.manager.max_queue:
            self.manager.router.bounce(
                stanza, "resource-constraint", f"too many stanzas wait for {self.remote}"
            )
            return
        self.queue.append(stanza)

    # -- told by the stream ------------------------------------------------------------

    def stream_ready(self, stream: OutgoingStream) -> None:
        """Authentication succeeded: write what waited."""
        self.stream = stream
        self.state = "established"
        self.manager.reachable(self)
        log.info("s2s {local} -> {remote} established ({how})", local=self.local,
                 remote=self.remote, how=stream.authenticated_by)
        while self.queue:
            stream.write_stanza(self.queue.popleft())

    def stream_failed(self, stream: Any, condition: str, text: str) -> None:
        """Negotiation failed: bounce what waited; wait before the next attempt."""
        if self.state != "closed":
            self.manager.unreachable(self)
        self._fail(condition, text)

    def stream_lost(self, stream: Any) -> None:
        """An established stream closed: forget it (the next stanza reconnects)."""
        self._fail("remote-server-not-found", f"the stream to {self.remote} was closed")

    def verified(self, valid: bool) -> None:
        """Not used by authenticating streams."""

    # -- helpers ---------------------------------------------------------------------

    def _fail(self, condition: str, text: str) -> None:
        if self.state == "closed":
            return
        self.state = "closed"
        self.manager.forget(self)
        queued, self.queue = self.queue, deque()
        for stanza in queued:
            self.manager.router.bounce(stanza, condition, text)

    def close(self, condition: str | None = None, text: str | None = None) -> None:
        """Close the stream (or stop connecting)."""
        if self._connecting is not None:
            self._connecting.cancel()
        stream = self.stream
        self._fail("remote-server-not-found", text or "the connection was closed")
        if stream is not None:
            stream.close(condition, text)


class _VerifyRequest:
    """Owner of a ``verify`` stream: fires ``result`` with the answer."""

    def __init__(self) -> None:
        self.result: defer.Deferred = defer.Deferred()
        self.stream: OutgoingStream | None = None

    def attach(self, stream: OutgoingStream) -> None:
        """Remember the connected stream (closed at shutdown)."""
        self.stream = stream

    def verified(self, valid: bool) -> None:
        if not self.result.called:
            self.result.callback(valid)

    def stream_ready(self, stream: Any) -> None:
        """Not used by verify streams."""

    def stream_failed(self, stream: Any, condition: str, text: str) -> None:
        self.verified(False)

    def stream_lost(self, stream: Any) -> None:
        self.verified(False)


class S2SManager:
    """Federation state of one node.

    Args:
        config: the node's Config.
        router: the node's Router (stanzas in, bounces).
        clock: the reactor.
        serves_domain: callable(domain) -> True for our XMPP domains.
        resolver: DNS resolver for SRV look-ups (default: twisted.names).

    Attributes:
        incoming: open incoming streams.
        outgoing: (local, remote) -> :class:`OutgoingConnection`.
    """

    def __init__(self, config: Any, router: Any, clock: Any, serves_domain: Any,
                 resolver: Any = None):
        self.config = config
        self.router = router
        self.clock = clock
        self.serves_domain = serves_domain
        self.resolver = resolver
        self.incoming: set = set()
        self.outgoing: dict[tuple[str, str], OutgoingConnection] = {}
        self._verifying: set = set()
        self._settings: dict[str | None, S2SSettings] = {}
        #: (local, remote) -> (monotonic time of the next attempt, last delay).
        self._retry: dict[tuple[str, str], tuple[float, float]] = {}
        self._secret = secrets.token_hex(32)
        queue = config.options.get("general", {}).get("max_fsm_queue")
        self.max_queue = int(queue) if queue else DEFAULT_MAX_QUEUE

    # -- settings ------------------------------------------------------------------

    def settings_for(self, local: str) -> S2SSettings:
        """The federation settings of a local domain (``host_config.s2s`` or ``[s2s]``).

        Cached per host type, so a dynamic domain removed and added again
        with another host type gets that type's settings at once.
        """
        host_type_of = getattr(self.config, "host_type_of", None)
        key = host_type_of(local) if host_type_of is not None else local
        settings = self._settings.get(key)
        if settings is None:
            try:
                options = self.config.s2s_for(local)
            except KeyError:
                options = self.config.options.get("s2s", {})
            settings = settings_from_options(options, self._secret)
            self._settings[key] = settings
        return settings

    def stream_timeout(self, local: str | None) -> float | None:
        """Seconds an idle stream of ``local`` stays open (``s2s.outgoing.stream_timeout``).

        Args:
            local: our domain on the stream, or None when the peer did not say.

        Returns:
            The timeout, or None for "infinity".
        """
        if local is None:
            options = self.config.options.get("s2s", {})
            return settings_from_options(options, self._secret).stream_timeout
        return self.settings_for(local).stream_timeout

    def accepts_domain(self, domain: str) -> bool:
        """True for a domain served here or by a connected component."""
        return bool(self.serves_domain(domain)) or domain in self.router.routes

    def shaper(self, name: str) -> Shaper | None:
        """A fresh shaper for a ``[shaper]`` name, or None."""
        rate = shaper_rate(self.config.options.get("shaper", {}), name)
        return Shaper(rate, self.clock.seconds) if rate is not None else None

    # -- the router's remote route ------------------------------------------------------

    def send(self, stanza: Element, from_jid: JID, to_jid: JID) -> None:
        """Send a stanza to a remote domain (IStanzaSink of the router's ``remote``).

        Args:
            stanza: the stanza, in ``jabber:client``.
            from_jid: its sender (a local domain or a component).
            to_jid: its recipient on another server.
        """
        local, remote = from_jid.host, to_jid.host
        if not self.accepts_domain(local):
            log.warn("not relaying a stanza from {local} to {remote}", local=local, remote=remote)
            return
        settings = self.settings_for(local)
        if not settings.allows(remote):
            self.router.bounce(
                stanza, "remote-server-not-found", f"federation with {remote} is not allowed"
            )
            return
        connection = self.outgoing.get((local, remote))
        if connection is None:
            wait = self.retry_wait(local, remote)
            if wait > 0:
                self.router.bounce(
                    stanza, "remote-server-not-found",
                    f"{remote} could not be reached; next attempt in {wait:.0f} s",
                )
                return
            connection = OutgoingConnection(self, local, remote, settings)
            self.outgoing[(local, remote)] = connection
            connection.send(stanza)
            connection.start()
            return
        connection.send(stanza)

    def received(self, stanza: Element, from_jid: JID, to_jid: JID) -> None:
        """Route a stanza read from an authenticated incoming stream."""
        self.router.route(stanza, from_jid, to_jid)

    # -- retry back-off ----------------------------------------------------------------

    def retry_wait(self, local: str, remote: str) -> float:
        """Seconds left before ``remote`` may be tried again from ``local`` (0: now)."""
        entry = self._retry.get((local, remote))
        if entry is None:
            return 0.0
        return max(0.0, entry[0] - self.clock.seconds())

    def unreachable(self, connection: OutgoingConnection) -> None:
        """A connection attempt failed: double the wait before the next one."""
        key = (connection.local, connection.remote)
        previous = self._retry.get(key)
        cap = connection.settings.max_retry_delay
        delay = FIRST_RETRY_DELAY if previous is None else previous[1] * 2
        delay = min(delay, cap)
        self._retry[key] = (self.clock.seconds() + delay, delay)
        log.info("s2s {local} -> {remote}: next attempt in {delay} s",
                 local=key[0], remote=key[1], delay=delay)

    def reachable(self, connection: OutgoingConnection) -> None:
        """A stream was established: forget earlier failures."""
        self._retry.pop((connection.local, connection.remote), None)

    def forget(self, connection: OutgoingConnection) -> None:
        """Drop a closed outgoing connection from the table."""
        key = (connection.local, connection.remote)
        if self.outgoing.get(key) is connection:
            del self.outgoing[key]

    # -- connecting ---------------------------------------------------------------------

    async def open_stream(
        self, owner: Any, local: str, remote: str, mode: str = "auth",
        verify: tuple[str, str] | None = None,
    ) -> OutgoingStream:
        """Resolve ``remote`` and connect to the first address that answers.

        Args:
            owner: receives the stream's progress reports.
            local: our domain.
            remote: the peer's domain.
            mode: ``auth`` or ``verify``.
            verify: (stream id, key) for ``verify`` mode.

        Returns:
            The connected stream (negotiation has started).

        Raises:
            _Unreachable: no address accepted the connection.
        """
        settings = self.settings_for(local)
        if self.resolver is None and not settings.addresses.get(remote):
            self.resolver = dns_resolver(self.clock)
        targets = await resolve(remote, settings, self.resolver)
        if not targets:
            raise _Unreachable("remote-server-not-found", f"{remote} offers no XMPP service")
        condition, text = "remote-server-not-found", f"cannot connect to {remote}"
        timeout = settings.connection_timeout or 30.0
        for target in targets:
            direct = target.direct_tls or settings.tls.mode == "tls"
            ips = await addresses(
                target.host, settings.ip_versions, self.clock, float(settings.dns_timeout)
            )
            if not ips:
                text = (
                    f"{target.host} has no IPv"
                    + "/IPv".join(str(v) for v in settings.ip_versions) + " address"
                )
            for ip in ips:
                kind = TCP6ClientEndpoint if ":" in ip else TCP4ClientEndpoint
                endpoint: Any = kind(self.clock, ip, target.port, timeout=timeout)
                if direct:
                    try:
                        creator = client_connection_creator(remote, settings.tls.options)
                    except TLSConfigError as exc:
                        raise _Unreachable(
                            "remote-server-not-found", f"s2s.outgoing.tls: {exc}"
                        ) from None
                    endpoint = wrapClientTLS(creator, endpoint)
                stream = OutgoingStream(
                    owner, local, remote, settings, self.clock, mode=mode, verify=verify,
                    direct_tls=direct, shaper=self.shaper(settings.shaper),
                )
                where = f"[{ip}]:{target.port}" if ":" in ip else f"{ip}:{target.port}"
                try:
                    await connectProtocol(endpoint, stream)
                except (ConnectTimeout, ConnectingCancelledError) as exc:
                    if isinstance(exc, ConnectingCancelledError):
                        raise defer.CancelledError() from None
                    condition = "remote-server-timeout"
                    text = f"connecting to {remote} ({where}) timed out"
                except Exception as exc:
                    text = f"cannot connect to {remote} ({where}): {exc}"
                else:
                    stream.info["target"] = where
                    return stream
        raise _Unreachable(condition, text)

    def verify_key(self, local: str, remote: str, stream_id: str, key: str) -> defer.Deferred:
        """Ask the authoritative server of ``remote`` whether a dialback key is right.

        Args:
            local: our domain (the receiving side of the checked stream).
            remote: the domain that claims to originate it.
            stream_id: the id we gave the stream.
            key: the key it sent.

        Returns:
            A Deferred firing with True (valid) or False (anything else).
        """
        request = _VerifyRequest()
        self._verifying.add(request)
        d = defer.ensureDeferred(
            self.open_stream(request, local, remote, "verify", (stream_id, key))
        )
        d.addCallbacks(request.attach, lambda failure: request.verified(False))
        result = request.result

        def done(valid: bool) -> bool:
            self._verifying.discard(request)
            return valid

        return result.addCallback(done)

    # -- listing and stopping --------------------------------------------------------------

    def shutdown(self, *args: Any) -> defer.Deferred:
        """Close every stream with ``system-shutdown``; fires when all are gone.

        Registered on the ``node_stopping`` hook.
        """
        waits = []
        for connection in list(self.outgoing.values()):
            stream = connection.stream
            connection.close("system-shutdown", "the server is stopping")
            if stream is not None:
                waits.append(stream.when_lost())
        for request in list(self._verifying):
            if request.stream is not None:
                request.stream.close()
                waits.append(request.stream.when_lost())
        for stream in list(self.incoming):
            stream.close("system-shutdown", "the server is stopping")
            waits.append(stream.when_lost())
        if not waits:
            return defer.succeed(None)
        done = defer.DeferredList(waits, consumeErrors=True)
        return done.addTimeout(CLOSE_GRACE + 1, self.clock).addErrback(lambda _: None)


def build_s2s_manager(node: Any) -> S2SManager:
    """Create the node's S2SManager, its commands and its ``node_stopping`` handler.

    Args:
        node: the :class:`mongoose.node.Node` being built.

    Returns:
        The manager (the node sets it as ``router.remote``).
    """
    from mongoose.commands.defs.s2s import s2s_commands

    manager = S2SManager(node.config, node.router, node.reactor, node.serves_domain)
    for command in s2s_commands(manager):
        node.commands.register(command)
    node.hooks.add("node_stopping", manager.shutdown)
    return manager
