"""Password secrets: SCRAM keys (RFC 5802, RFC 7677) or a plain password.

MongooseIM's ``[auth] password.format`` is ``"scram"`` (store only salted
SCRAM keys, one set per ``password.hash``) or ``"plain"`` (store the password
itself).  Hash names are MongooseIM's: ``sha`` (SHA-1), ``sha224``,
``sha256``, ``sha384``, ``sha512``.  Passwords are prepared with SASLprep
(RFC 4013) before hashing, as SCRAM clients do.

Key derivation is deliberately slow: call :func:`make_secret`,
:func:`verify` and :func:`derive_keys` from a thread, never the reactor.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from scramp.core import ScramException, saslprep

__all__ = [
    "DEFAULT_HASHES",
    "DEFAULT_ITERATIONS",
    "FORMATS",
    "HASHES",
    "PasswordSecret",
    "ScramKeys",
    "check_options",
    "derive_keys",
    "make_secret",
    "verify",
]

#: MongooseIM hash name -> hashlib name, weakest first.
HASHES: dict[str, str] = {
    "sha": "sha1",
    "sha224": "sha224",
    "sha256": "sha256",
    "sha384": "sha384",
    "sha512": "sha512",
}
DEFAULT_HASHES: tuple[str, ...] = tuple(HASHES)
DEFAULT_ITERATIONS = 10000
FORMATS = ("scram", "plain")
SALT_BYTES = 16


class ScramKeys(NamedTuple):
    """What a SCRAM server keeps for one hash (RFC 5802 section 3).

    The field order matches what ``scramp`` expects from its ``auth_fn``.
    """

    salt: bytes
    stored_key: bytes
    server_key: bytes
    iterations: int


@dataclass(frozen=True)
class PasswordSecret:
    """What is stored for one user's password.

    Attributes:
        plain: the password itself (format "plain"), else None.
        scram: SCRAM keys by MongooseIM hash name (format "scram").
    """

    plain: str | None = None
    scram: dict[str, ScramKeys] = field(default_factory=dict)

    def __repr__(self) -> str:
        plain = "None" if self.plain is None else "'<hidden>'"
        return f"PasswordSecret(plain={plain}, scram={sorted(self.scram)})"

    def to_columns(self) -> tuple[str | None, str | None]:
        """Serialise for the ``password`` and ``pass_details`` columns.

        Returns:
            ``(plain or None, JSON of the SCRAM keys or None)``.
        """
        if not self.scram:
            return self.plain, None
        details = {
            name: {
                "salt": base64.b64encode(keys.salt).decode("ascii"),
                "stored_key": base64.b64encode(keys.stored_key).decode("ascii"),
                "server_key": base64.b64encode(keys.server_key).decode("ascii"),
                "iterations": keys.iterations,
            }
            for name, keys in sorted(self.scram.items())
        }
        return self.plain, json.dumps(details, separators=(",", ":"))

    @classmethod
    def from_columns(cls, plain: str | None, details: str | None) -> "PasswordSecret":
        """Rebuild a secret from the two columns written by :meth:`to_columns`.

        Raises:
            ValueError: ``details`` is not what :meth:`to_columns` writes.
        """
        scram: dict[str, ScramKeys] = {}
        if details:
            try:
                data = json.loads(details)
                for name, keys in data.items():
                    if name not in HASHES:
                        raise ValueError(f"unknown hash {name!r}")
                    scram[name] = ScramKeys(
                        base64.b64decode(keys["salt"], validate=True),
                        base64.b64decode(keys["stored_key"], validate=True),
                        base64.b64decode(keys["server_key"], validate=True),
                        int(keys["iterations"]),
                    )
            except (AttributeError, KeyError, TypeError, binascii.Error, ValueError) as exc:
                raise ValueError(f"stored SCRAM data is not valid: {exc}") from None
        return cls(plain=plain, scram=scram)


def _prepare(password: str) -> bytes:
    try:
        return saslprep(password).encode("utf-8")
    except ScramException as exc:
        raise ValueError(f"the password contains characters that are not allowed ({exc})") from None


def check_options(format: str, hashes: Iterable[str], iterations: int) -> tuple[str, ...]:
    """Validate password options the way the ``[auth]`` config does.

    Returns:
        The hash names as a tuple.

    Raises:
        ValueError: an unknown format or hash, no hash, or iterations < 1.
    """
    if format not in FORMATS:
        raise ValueError(f"unknown password format {format!r}; use one of: {', '.join(FORMATS)}")
    names = tuple(hashes)
    unknown = [h for h in names if h not in HASHES]
    if unknown:
        raise ValueError(f"unknown hash {unknown[0]!r}; use some of: {', '.join(HASHES)}")
    if format == "scram" and not names:
        raise ValueError("the scram format needs at least one hash")
    if not isinstance(iterations, int) or isinstance(iterations, bool) or iterations < 1:
        raise ValueError(f"iterations must be a positive integer, not {iterations!r}")
    return names


def derive_keys(
    password: str, hash_name: str, iterations: int = DEFAULT_ITERATIONS, salt: bytes | None = None
) -> ScramKeys:
    """Derive the SCRAM keys of one hash (RFC 5802 section 3).

    Args:
        password: the password (SASLprep is applied).
        hash_name: a MongooseIM hash name, e.g. ``"sha256"``.
        iterations: the PBKDF2 iteration count.
        salt: the salt (default: 16 fresh random bytes).

    Returns:
        The salt, StoredKey, ServerKey and iteration count.

    Raises:
        ValueError: an unknown hash or a password SASLprep rejects.
    """
    digest = HASHES.get(hash_name)
    if digest is None:
        raise ValueError(f"unknown hash {hash_name!r}; use one of: {', '.join(HASHES)}")
    salt = os.urandom(SALT_BYTES) if salt is None else salt
    salted = hashlib.pbkdf2_hmac(digest, _prepare(password), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", digest).digest()
    server_key = hmac.new(salted, b"Server Key", digest).digest()
    return ScramKeys(salt, hashlib.new(digest, client_key).digest(), server_key, iterations)


def make_secret(
    password: str,
    format: str = "scram",
    hashes: Iterable[str] = DEFAULT_HASHES,
    iterations: int = DEFAULT_ITERATIONS,
) -> PasswordSecret:
    """Make what is stored for a new password.

    Args:
        password: the password; must not be empty.
        format: ``"scram"`` (keys only, never the password) or ``"plain"``
            (the password only).
        hashes: MongooseIM hash names for the scram format.
        iterations: PBKDF2 iterations for the scram format.

    Returns:
        The secret.

    Raises:
        ValueError: an empty password, bad options, or a password SASLprep rejects.
    """
    names = check_options(format, hashes, iterations)
    if not isinstance(password, str) or not password:
        raise ValueError("the password must not be empty")
    if format == "plain":
        return PasswordSecret(plain=password)
    return PasswordSecret(scram={name: derive_keys(password, name, iterations) for name in names})


def _strongest(scram: Mapping[str, Any]) -> str:
    return max(scram, key=list(HASHES).index)


def verify(secret: PasswordSecret, password: str) -> bool:
    """Check a password against a stored secret in constant time.

    A plain secret is compared directly; otherwise the strongest stored hash
    is recomputed with its salt and iteration count.

    Args:
        secret: the stored secret.
        password: what the user typed.

    Returns:
        True if the password matches.
    """
    if not isinstance(password, str) or not password:
        return False
    if secret.plain is not None:
        return hmac.compare_digest(secret.plain.encode("utf-8"), password.encode("utf-8"))
    if not secret.scram:
        return False
    name = _strongest(secret.scram)
    stored = secret.scram[name]
    try:
        candidate = derive_keys(password, name, stored.iterations, stored.salt)
    except ValueError:
        return False
    return hmac.compare_digest(candidate.stored_key, stored.stored_key)
