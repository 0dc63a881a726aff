"""Everything the sessions of one ``[[listen.c2s]]`` listener share.

:class:`C2SSettings` is the listener's options turned into ready values
(MongooseIM "Options: Listen", client-to-server section; "TLS options for
C2S"): limits as integers, timeouts in seconds, the TLS connection creator
and the shaper.  :class:`HostAuth` is the ``[auth]`` section of one domain as
the SASL negotiation needs it.  :class:`C2SContext` joins both with the
node's router, session manager, hooks and access rules; every session of the
listener holds one reference to it, so a session itself stays small.

``hibernate_after`` frees the XML parser of connections that read nothing
for that long (see :meth:`mongoose.xmpp.framing.XMLStreamParser.hibernate`).
Options with no meaning on Twisted (``num_acceptors``) are accepted by the
config schema and ignored here; ``reuse_port``,
``backlog``, ``ip_address`` and ``port`` belong to the listening socket
(:mod:`mongoose.listeners.base`).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mongoose.c2s.shaper import ShaperResolver
from mongoose.xmpp.framing import DEFAULT_MAX_STANZA_SIZE
from mongoose.xmpp.tls import ServerTLSCreator, TLSConfigError, server_connection_creator

__all__ = [
    "DEFAULT_MAX_QUEUED_BYTES",
    "MAX_AUTH_FAILURES",
    "C2SContext",
    "C2SSettings",
    "HostAuth",
]

#: Most bytes of stanzas queued for one client that does not read, on top
#: of the transport's own 64 KiB buffer, whether or not ``max_fsm_queue`` is
#: set.  Past it the client gets ``policy-violation`` and the queued messages
#: go to offline storage.
DEFAULT_MAX_QUEUED_BYTES = 1024 * 1024

#: Failed SASL attempts allowed on one connection (RFC 6120 section 6.4.5
#: asks for 2 to 5); the last one is followed by ``policy-violation``.
MAX_AUTH_FAILURES = 5

#: auth.methods values whose users log in with a password (SCRAM, PLAIN).
_PASSWORD_METHODS = frozenset({"internal", "rdbms"})


def _limit(value: Any) -> int | None:
    return None if value in (None, "infinity") else int(value)


def _seconds(milliseconds: Any) -> float | None:
    """Milliseconds (or "infinity") as seconds, or None for infinity."""
    return None if milliseconds in (None, "infinity") else int(milliseconds) / 1000.0


@dataclass(frozen=True)
class C2SSettings:
    """One c2s listener's options, ready to use.

    Attributes:
        path: the listener's option path, e.g. ``listen.c2s[0]``.
        max_stanza_size: largest first-level element in bytes (``infinity``
            maps to the parser's cap of 1 MiB).
        state_timeout: seconds for each negotiation step, or None.
        access: the access rule a user must pass after SASL.
        shaper: resolves the listener's ``shaper`` option.
        zlib_limit: XEP-0138 decompressed-size limit, or None (no compression).
        tls_mode: ``tls``, ``starttls``, ``starttls_required`` or None.
        tls_creator: the TLS server side, or None.
        domain_creators: TLS server sides for the domains of
            ``general.domain_certfile`` (chosen by the stream's domain for
            STARTTLS, by SNI for direct TLS).
        tls_error: why the TLS options cannot be used, or None.
        max_fsm_queue: most stanzas queued for a slow reader, or None.
        max_queued_bytes: most bytes queued for a slow reader.
        backwards_compatible_session: advertise the session feature.
        allowed_auth_methods: auth methods usable here, or None for all.
        max_connections: most simultaneous connections, or None.
        proxy_protocol: connections start with a PROXY header.
        hibernate_after: seconds a connection reads nothing before its XML
            parser is freed, or None (never).
    """

    path: str
    max_stanza_size: int
    state_timeout: float | None
    access: str
    shaper: ShaperResolver
    zlib_limit: int | None
    tls_mode: str | None
    tls_creator: ServerTLSCreator | None
    domain_creators: Mapping[str, ServerTLSCreator]
    tls_error: str | None
    max_fsm_queue: int | None
    max_queued_bytes: int
    backwards_compatible_session: bool
    allowed_auth_methods: tuple[str, ...] | None
    max_connections: int | None
    proxy_protocol: bool
    hibernate_after: float | None = 0.0

    @classmethod
    def from_options(cls, path: str, options: Any, config: Any, access: Any) -> C2SSettings:
        """Read a ``[[listen.c2s]]`` table.

        A TLS problem (unreadable certificate ...) does not raise here: it is
        kept in ``tls_error`` and reported when the listener starts, as one
        line with the option path.

        Args:
            path: the listener's option path.
            options: the parsed listener options.
            config: the node's Config.
            access: the node's AccessRules.
        """
        tls = options.get("tls")
        creator = None
        domains: dict[str, ServerTLSCreator] = {}
        error = None
        if tls is not None:
            try:
                creator = server_connection_creator(tls)
            except TLSConfigError as exc:
                error = f"{path}.tls: {exc}"
            for index, entry in enumerate(config.options["general"].get("domain_certfile", ())):
                own = {k: v for k, v in tls.items() if k not in ("keyfile", "password")}
                own["certfile"] = entry["certfile"]
                try:
                    domains[entry["domain"].lower()] = server_connection_creator(own)
                except TLSConfigError as exc:
                    error = error or f"general.domain_certfile[{index}]: {exc}"
            if creator is not None and domains:
                _select_by_sni(creator, domains)
        timeout = _limit(options.get("c2s_state_timeout", 5000))
        queue = options.get("max_fsm_queue")
        if queue is None:
            queue = config.options["general"].get("max_fsm_queue")
        methods = options.get("allowed_auth_methods")
        return cls(
            path=path,
            max_stanza_size=_limit(options.get("max_stanza_size")) or DEFAULT_MAX_STANZA_SIZE,
            state_timeout=None if timeout is None else timeout / 1000.0,
            access=options.get("access", "all"),
            shaper=ShaperResolver(options.get("shaper", "none"), config, access),
            zlib_limit=options.get("zlib"),
            tls_mode=None if tls is None else tls.get("mode", "starttls"),
            tls_creator=creator,
            domain_creators=domains,
            tls_error=error,
            max_fsm_queue=queue,
            max_queued_bytes=DEFAULT_MAX_QUEUED_BYTES,
            backwards_compatible_session=options.get("backwards_compatible_session", True),
            allowed_auth_methods=None if methods is None else tuple(methods),
            max_connections=_limit(options.get("max_connections")),
            proxy_protocol=bool(options.get("proxy_protocol", False)),
            hibernate_after=_seconds(options.get("hibernate_after", 0)),
        )

    def creator_for(self, host: str | None) -> ServerTLSCreator | None:
        """The TLS server side for a stream to ``host`` (its own certificate if it has one)."""
        if host is not None and host in self.domain_creators:
            return self.domain_creators[host]
        return self.tls_creator


def _select_by_sni(default: ServerTLSCreator, domains: Mapping[str, ServerTLSCreator]) -> None:
    """Make direct TLS present the certificate of the name the client asks for (SNI)."""

    def servername(connection: Any) -> None:
        name = connection.get_servername()
        if not name:
            return
        chosen = domains.get(name.decode("ascii", "replace").lower())
        if chosen is not None:
            connection.set_context(chosen.context)

    default.context.set_tlsext_servername_callback(servername)


@dataclass(frozen=True)
class HostAuth:
    """The ``[auth]`` options of one domain, for SASL.

    Attributes:
        password: a password method (internal, rdbms) is enabled.
        anonymous: SASL ANONYMOUS is enabled (``auth.anonymous.protocol``
            ``sasl_anon`` or ``both``).
        external: certificate login (``pki``) is enabled.
        mechanisms: ``auth.sasl_mechanisms``, in order.
        scram_hashes: ``auth.password.hash``.
        scram_iterations: ``auth.password.scram_iterations``.
        sasl_external: ``auth.sasl_external``: how a certificate names a user.
        cn_prefix: ``auth.sasl_external_common_name.prefix``.
        cn_suffix: ``auth.sasl_external_common_name.suffix``.
    """

    password: bool
    anonymous: bool
    external: bool
    mechanisms: tuple[str, ...]
    scram_hashes: tuple[str, ...]
    scram_iterations: int
    sasl_external: tuple[str, ...]
    cn_prefix: str
    cn_suffix: str

    @classmethod
    def from_options(cls, auth: Any, allowed: tuple[str, ...] | None) -> HostAuth:
        """Read an ``[auth]`` table, keeping only the listener's allowed methods.

        Args:
            auth: the parsed ``[auth]`` options of the domain.
            allowed: the listener's ``allowed_auth_methods`` or None.
        """
        methods = tuple(auth.get("methods", ()))
        if allowed is not None:
            methods = tuple(m for m in methods if m in allowed)
        anonymous = auth.get("anonymous") or {}
        password = auth.get("password") or {}
        common_name = auth.get("sasl_external_common_name") or {}
        return cls(
            password=any(m in _PASSWORD_METHODS for m in methods),
            anonymous="anonymous" in methods
            and anonymous.get("protocol", "sasl_anon") in ("sasl_anon", "both"),
            external="pki" in methods,
            mechanisms=tuple(auth.get("sasl_mechanisms", ())),
            scram_hashes=tuple(password.get("hash", ())),
            scram_iterations=int(password.get("scram_iterations", 10000)),
            sasl_external=tuple(auth.get("sasl_external", ("standard",))),
            cn_prefix=common_name.get("prefix", ""),
            cn_suffix=common_name.get("suffix", ""),
        )


class C2SContext:
    """The node's parts and the listener's settings, shared by its sessions.

    Args:
        node: the mongoose.node.Node (router, sessions, hooks, access, auth).
        settings: the listener's settings.
    """

    def __init__(self, node: Any, settings: C2SSettings):
        self.node = node
        self.settings = settings
        self.config = node.config
        self.reactor = node.reactor
        self.hooks = node.hooks
        self.router = node.router
        self.sessions = node.sessions
        self.access = node.access
        #: Secret for the fake SCRAM salts of unknown users (stable per listener).
        self.server_secret = secrets.token_bytes(32)
        general = node.config.options["general"]
        hosts = tuple(general.get("hosts", ()))
        #: Domain named in stream headers before the client named a known one.
        self.default_host: str = general.get("default_server_domain") or (
            hosts[0] if hosts else "localhost"
        )
        self._auth: dict[str | None, HostAuth] = {}

    def serves(self, domain: str) -> bool:
        """True when ``domain`` is served by this node."""
        return self.node.serves_domain(domain)

    def host_auth(self, host: str) -> HostAuth:
        """The SASL view of ``[auth]`` for a served domain (cached per host type).

        A dynamic domain gets its host type's ``host_config.auth``; a domain
        the config does not know gets the top-level ``[auth]``.
        """
        host_type = self.config.host_type_of(host)
        found = self._auth.get(host_type)
        if found is None:
            if host_type is None:
                auth = self.config.options["auth"]
            else:
                auth = self.config.auth_for(host_type)
            found = HostAuth.from_options(auth, self.settings.allowed_auth_methods)
            self._auth[host_type] = found
        return found
