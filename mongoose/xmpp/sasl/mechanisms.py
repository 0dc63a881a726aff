"""Which SASL mechanisms to offer, and building one for an exchange.

Maps MongooseIM's ``auth.sasl_mechanisms`` names (``scram_sha512_plus`` ...
``plain``, ``anonymous``, ``external``; the ``cyrsasl_`` prefix of older
releases is accepted too) to the names advertised in stream features, in the
configured order.  MongooseIM's default order interleaves each ``-PLUS``
variant with its plain variant, strongest hash first (MongooseIM
documentation, "Options: Auth", ``auth.sasl_mechanisms``).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mongoose.xmpp.sasl.anonymous import AnonymousMechanism, random_username
from mongoose.xmpp.sasl.core import ISASLMechanism
from mongoose.xmpp.sasl.external import ExternalMechanism
from mongoose.xmpp.sasl.plain import PlainMechanism
from mongoose.xmpp.sasl.scram import DEFAULT_ITERATIONS, SCRAM_HASHES, ScramMechanism

__all__ = [
    "CONFIG_NAMES",
    "DEFAULT_SASL_MECHANISMS",
    "IMPLEMENTED",
    "SASLContext",
    "create_mechanism",
    "mechanism_names",
]

#: ``auth.sasl_mechanisms`` value -> advertised mechanism name.
CONFIG_NAMES: Mapping[str, str] = {
    "scram_sha512_plus": "SCRAM-SHA-512-PLUS",
    "scram_sha512": "SCRAM-SHA-512",
    "scram_sha384_plus": "SCRAM-SHA-384-PLUS",
    "scram_sha384": "SCRAM-SHA-384",
    "scram_sha256_plus": "SCRAM-SHA-256-PLUS",
    "scram_sha256": "SCRAM-SHA-256",
    "scram_sha224_plus": "SCRAM-SHA-224-PLUS",
    "scram_sha224": "SCRAM-SHA-224",
    "scram_sha1_plus": "SCRAM-SHA-1-PLUS",
    "scram_sha1": "SCRAM-SHA-1",
    "plain": "PLAIN",
    "anonymous": "ANONYMOUS",
    "oauth": "X-OAUTH",
    "external": "EXTERNAL",
    "digest": "DIGEST-MD5",
}

#: MongooseIM's default ``auth.sasl_mechanisms``.
DEFAULT_SASL_MECHANISMS: tuple[str, ...] = (
    "scram_sha512_plus",
    "scram_sha512",
    "scram_sha384_plus",
    "scram_sha384",
    "scram_sha256_plus",
    "scram_sha256",
    "scram_sha224_plus",
    "scram_sha224",
    "scram_sha1_plus",
    "scram_sha1",
    "plain",
    "anonymous",
    "oauth",
)

#: Advertised names this package can run.  ``X-OAUTH`` and ``DIGEST-MD5``
#: are accepted in the configuration but not offered.
IMPLEMENTED: frozenset[str] = frozenset(
    [f"{base}{suffix}" for base in SCRAM_HASHES for suffix in ("", "-PLUS")]
    + ["PLAIN", "ANONYMOUS", "EXTERNAL"]
)


def _config_key(name: str) -> str:
    key = name.lower()
    if key.startswith("cyrsasl_"):
        key = key[len("cyrsasl_") :]
    if key not in CONFIG_NAMES:
        allowed = ", ".join(CONFIG_NAMES)
        raise ValueError(f"unknown SASL mechanism {name!r}; allowed: {allowed}")
    return key


def mechanism_names(
    config_order: Sequence[str] | None,
    tls_active: bool,
    channel_binding_available: bool,
    anonymous_enabled: bool,
    *,
    password_enabled: bool = True,
    scram_hashes: Collection[str] | None = None,
    external_available: bool = False,
) -> list[str]:
    """List the mechanisms to advertise, in order.

    Args:
        config_order: ``auth.sasl_mechanisms`` (None or empty for the default).
        tls_active: the stream is encrypted.
        channel_binding_available: the connection has channel binding data
            (``-PLUS`` variants are offered only with TLS and binding data).
        anonymous_enabled: the ``anonymous`` auth method is on for the host.
        password_enabled: an auth method that checks passwords is on
            (PLAIN and SCRAM need one).
        scram_hashes: MongooseIM hash names SCRAM credentials exist for
            (``auth.password.hash``); None for all.
        external_available: the client presented a certificate that can be
            used for EXTERNAL.

    Returns:
        Advertised names such as ``["SCRAM-SHA-512-PLUS", "SCRAM-SHA-512", ...]``.

    Raises:
        ValueError: an unknown name in ``config_order``.
    """
    keys = [_config_key(name) for name in (config_order or DEFAULT_SASL_MECHANISMS)]
    hash_by_mechanism = {h.mechanism: h.hash_name for h in SCRAM_HASHES.values()}
    names: list[str] = []
    for key in keys:
        name = CONFIG_NAMES[key]
        if name not in IMPLEMENTED or name in names:
            continue
        if name.startswith("SCRAM-"):
            base = name.removesuffix("-PLUS")
            if not password_enabled:
                continue
            if name.endswith("-PLUS") and not (tls_active and channel_binding_available):
                continue
            if scram_hashes is not None and hash_by_mechanism[base] not in scram_hashes:
                continue
        elif name == "PLAIN" and not password_enabled:
            continue
        elif name == "ANONYMOUS" and not anonymous_enabled:
            continue
        elif name == "EXTERNAL" and not (tls_active and external_available):
            continue
        names.append(name)
    return names


@dataclass(frozen=True)
class SASLContext:
    """What a mechanism needs to know about the stream and the auth backend.

    Attributes:
        domain: the prepared domain the client authenticates to.
        check_password: ``(username, password) -> bool | Deferred[bool]``.
        get_scram: ``(username, hash_name) -> (salt, stored_key, server_key,
            iterations) | None``, or a Deferred of that.
        server_secret: secret for fake SCRAM salts (stable per node).
        channel_bindings: channel binding data of the connection by type.
        plus_advertised: ``-PLUS`` mechanisms were offered on the stream.
        scram_iterations: iteration count announced for unknown users.
        make_anonymous_username: username maker for ANONYMOUS.
        verify_external: ``(authzid) -> username | None`` for EXTERNAL.
    """

    domain: str
    check_password: Callable[[str, str], Any] | None = None
    get_scram: Callable[[str, str], Any] | None = None
    server_secret: bytes = b""
    channel_bindings: Mapping[str, bytes] = field(default_factory=dict)
    plus_advertised: bool = False
    scram_iterations: int = DEFAULT_ITERATIONS
    make_anonymous_username: Callable[[], Any] = random_username
    verify_external: Callable[[str | None], Any] | None = None


def create_mechanism(name: str, context: SASLContext) -> ISASLMechanism:
    """Start an exchange for an advertised mechanism name.

    Args:
        name: the name the client chose, e.g. ``"SCRAM-SHA-256-PLUS"``.
        context: the stream's SASL context.

    Returns:
        A fresh mechanism.

    Raises:
        ValueError: the mechanism is unknown or the context lacks what it
            needs (the c2s layer answers ``invalid-mechanism``).
    """
    if name.startswith("SCRAM-"):
        if context.get_scram is None or not context.server_secret:
            raise ValueError(f"{name} needs get_scram and a server secret")
        return ScramMechanism(
            name,
            context.domain,
            context.get_scram,
            context.server_secret,
            channel_bindings=context.channel_bindings,
            plus_advertised=context.plus_advertised,
            fake_iterations=context.scram_iterations,
        )
    if name == "PLAIN":
        if context.check_password is None:
            raise ValueError("PLAIN needs check_password")
        return PlainMechanism(context.domain, context.check_password)
    if name == "ANONYMOUS":
        return AnonymousMechanism(context.make_anonymous_username)
    if name == "EXTERNAL":
        if context.verify_external is None:
            raise ValueError("EXTERNAL needs verify_external")
        return ExternalMechanism(context.verify_external)
    raise ValueError(f"unknown SASL mechanism {name!r}")
