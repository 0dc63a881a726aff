"""The SCRAM family, server side (RFC 5802, RFC 7677), with channel binding.

One class serves SCRAM-SHA-1, -224, -256, -384 and -512 and each ``-PLUS``
variant.  Channel binding data (RFC 5929 ``tls-server-end-point``, RFC 9266
``tls-exporter``) is handed in by the c2s layer; see ``channel_binding.py``.

Checks made on the GS2 header (RFC 5802 section 6):

* a ``-PLUS`` mechanism needs ``p=<type>`` with a type the server has data
  for;
* a plain mechanism refuses ``p=``, and refuses ``y`` when the server
  advertised ``-PLUS`` variants (the client was tricked into thinking the
  server cannot bind: a downgrade);
* an authzid (``a=``) must name the authenticating user.

Stored keys come from a ``get_scram(username, hash_name)`` callback
(MongooseIM hash names: ``sha``, ``sha224``, ``sha256``, ``sha384``,
``sha512``).  For an unknown user the server answers with a salt derived from
a server secret and the usual iteration count, and fails only after the
client's proof, so unknown users and wrong passwords look the same.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from zope.interface import implementer

from mongoose.xmpp.sasl.core import (
    Challenge,
    ISASLMechanism,
    MechanismBase,
    Outcome,
    Success,
    check_authzid,
    prepare_username,
)

__all__ = [
    "DEFAULT_ITERATIONS",
    "SCRAM_HASHES",
    "ScramHash",
    "ScramMechanism",
]

#: Iteration count used for fake salts (and by default for new credentials);
#: MongooseIM's default ``auth.password.scram_iterations``.
DEFAULT_ITERATIONS = 10000

_MAX_MESSAGE = 16384
_NONCE_CHARS = frozenset(chr(c) for c in range(0x21, 0x7F)) - {","}


@dataclass(frozen=True)
class ScramHash:
    """A hash function of the SCRAM family.

    Attributes:
        mechanism: base mechanism name, e.g. ``"SCRAM-SHA-256"``.
        hash_name: MongooseIM's name for the stored keys, e.g. ``"sha256"``.
        digest: the hashlib constructor name.
    """

    mechanism: str
    hash_name: str
    digest: str

    @property
    def size(self) -> int:
        """Digest size in bytes."""
        return hashlib.new(self.digest).digest_size


#: Supported SCRAM hashes by base mechanism name.
SCRAM_HASHES: Mapping[str, ScramHash] = {
    h.mechanism: h
    for h in (
        ScramHash("SCRAM-SHA-1", "sha", "sha1"),
        ScramHash("SCRAM-SHA-224", "sha224", "sha224"),
        ScramHash("SCRAM-SHA-256", "sha256", "sha256"),
        ScramHash("SCRAM-SHA-384", "sha384", "sha384"),
        ScramHash("SCRAM-SHA-512", "sha512", "sha512"),
    )
}


def _hmac(digest: str, key: bytes, message: bytes) -> bytes:
    return hmac.new(key, message, digest).digest()


def _unescape_saslname(value: str) -> str | None:
    """Decode ``=2C`` and ``=3D``; None if another ``=`` escape is present."""
    if "=" not in value:
        return value
    out = []
    index = 0
    while index < len(value):
        char = value[index]
        if char == "=":
            code = value[index + 1 : index + 3]
            if code == "2C":
                out.append(",")
            elif code == "3D":
                out.append("=")
            else:
                return None
            index += 3
        else:
            out.append(char)
            index += 1
    return "".join(out)


def _b64decode(value: str) -> bytes | None:
    if len(value) % 4:
        return None
    try:
        return base64.b64decode(value.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        return None


@implementer(ISASLMechanism)
class ScramMechanism(MechanismBase):
    """One SCRAM exchange.

    Args:
        name: the advertised name, e.g. ``"SCRAM-SHA-256"`` or
            ``"SCRAM-SHA-256-PLUS"``.
        domain: the prepared domain the client authenticates to.
        get_scram: ``get_scram(username, hash_name)`` returning
            ``(salt, stored_key, server_key, iterations)`` or None, as a value
            or a Deferred.
        server_secret: secret bytes used to derive fake salts.
        channel_bindings: channel binding data of this connection by type
            (``tls-exporter``, ``tls-server-end-point``); empty without TLS.
        plus_advertised: whether ``-PLUS`` mechanisms were offered on this
            stream (turns on the ``y`` downgrade check).
        fake_iterations: iteration count announced for unknown users.
        nonce: the server nonce (tests only); random when None.

    Raises:
        ValueError: unknown mechanism name.
    """

    def __init__(
        self,
        name: str,
        domain: str,
        get_scram: Callable[[str, str], Any],
        server_secret: bytes,
        *,
        channel_bindings: Mapping[str, bytes] | None = None,
        plus_advertised: bool = False,
        fake_iterations: int = DEFAULT_ITERATIONS,
        nonce: str | None = None,
    ):
        super().__init__()
        base, plus, _ = name.partition("-PLUS")
        if base not in SCRAM_HASHES or (plus and _):
            raise ValueError(f"unknown SCRAM mechanism {name!r}")
        self.name = name
        self.plus = bool(plus)
        self.hash = SCRAM_HASHES[base]
        self._domain = domain
        self._get_scram = get_scram
        self._secret = server_secret
        self._bindings = dict(channel_bindings or {})
        self._plus_advertised = plus_advertised
        self._fake_iterations = fake_iterations
        self._server_nonce = nonce if nonce is not None else secrets.token_urlsafe(24)
        self._stage = 0
        self._authzid: str | None = None
        self._username: str | None = None
        self._claimed: str | None = None

    async def _step(self, data: bytes | None) -> Outcome:
        if data is None:
            if self._stage == 0:
                self._stage = -1
                return Challenge(b"")
            raise self.fail("malformed-request", "empty SCRAM message")
        if len(data) > _MAX_MESSAGE:
            raise self.fail("malformed-request", "the SCRAM message is too long")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise self.fail("malformed-request", "the SCRAM message is not UTF-8") from None
        if self._stage <= 0:
            self._stage = 1
            return await self._client_first(text)
        return self._client_final(text)

    # -- client-first-message ---------------------------------------------------

    def _gs2(self, text: str) -> tuple[str, str | None, str | None, str]:
        """Split the GS2 header; return (flag, cb type, authzid, bare)."""
        parts = text.split(",", 2)
        if len(parts) != 3:
            raise self.fail("malformed-request", "bad SCRAM client-first-message")
        flag, authz, bare = parts
        cb_type = None
        if flag.startswith("p="):
            cb_type = flag[2:]
            flag = "p"
        elif flag not in ("n", "y"):
            raise self.fail("malformed-request", "bad channel binding flag")
        authzid = None
        if authz:
            if not authz.startswith("a="):
                raise self.fail("malformed-request", "bad authorization identity")
            authzid = _unescape_saslname(authz[2:])
            if authzid is None:
                raise self.fail("malformed-request", "bad escape in the authorization identity")
        return flag, cb_type, authzid, bare

    def _check_binding(self, flag: str, cb_type: str | None) -> None:
        if self.plus:
            if flag != "p":
                raise self.fail("malformed-request", f"{self.name} needs channel binding")
            if cb_type not in self._bindings:
                raise self.fail(
                    "malformed-request", f"channel binding type {cb_type!r} is not available"
                )
        elif flag == "p":
            raise self.fail("malformed-request", f"{self.name} does not do channel binding")
        elif flag == "y" and self._plus_advertised:
            raise self.fail(
                "not-authorized", "channel binding was offered: possible downgrade attack"
            )

    async def _client_first(self, text: str) -> Outcome:
        flag, cb_type, authzid, bare = self._gs2(text)
        self._check_binding(flag, cb_type)
        self._gs2_header = text[: len(text) - len(bare)]
        self._cb_type = cb_type
        attrs = bare.split(",")
        if len(attrs) < 2 or attrs[0][:2] == "m=":
            raise self.fail("malformed-request", "unsupported or missing SCRAM attributes")
        if not attrs[0].startswith("n=") or not attrs[1].startswith("r="):
            raise self.fail("malformed-request", "bad SCRAM client-first-message")
        raw_user = _unescape_saslname(attrs[0][2:])
        if not raw_user:
            raise self.fail("malformed-request", "bad username in SCRAM message")
        client_nonce = attrs[1][2:]
        if not client_nonce or not _NONCE_CHARS.issuperset(client_nonce):
            raise self.fail("malformed-request", "bad client nonce")
        for extension in attrs[2:]:
            if len(extension) < 2 or extension[1] != "=":
                raise self.fail("malformed-request", "bad SCRAM extension")

        username = prepare_username(raw_user)
        self._claimed = raw_user
        credentials = None
        if username is not None:
            self._authzid = check_authzid(authzid, username, self._domain)
            credentials = await self.call(self._get_scram, username, self.hash.hash_name)
        self._username = username
        if credentials is None:
            salt, iterations = self._fake_salt(raw_user), self._fake_iterations
            self._stored_key = secrets.token_bytes(self.hash.size)
            self._server_key = secrets.token_bytes(self.hash.size)
            self._known = False
        else:
            salt, stored_key, server_key, iterations = credentials
            self._stored_key = bytes(stored_key)
            self._server_key = bytes(server_key)
            self._known = True
        self._nonce = client_nonce + self._server_nonce
        self._client_first_bare = bare
        self._server_first = (
            f"r={self._nonce},s={base64.b64encode(bytes(salt)).decode('ascii')},i={int(iterations)}"
        )
        return Challenge(self._server_first.encode("ascii"))

    def _fake_salt(self, username: str) -> bytes:
        message = b"mongoose-scram-salt\0" + self.hash.hash_name.encode() + b"\0"
        return _hmac("sha256", self._secret, message + username.encode("utf-8"))[:16]

    # -- client-final-message ------------------------------------------------

    def _client_final(self, text: str) -> Outcome:
        attrs = text.split(",")
        if (
            len(attrs) < 3
            or not attrs[0].startswith("c=")
            or not attrs[1].startswith("r=")
            or not attrs[-1].startswith("p=")
        ):
            raise self.fail("malformed-request", "bad SCRAM client-final-message")
        binding = _b64decode(attrs[0][2:])
        proof = _b64decode(attrs[-1][2:])
        if binding is None or proof is None:
            raise self.fail("malformed-request", "bad base64 in SCRAM message")
        expected = self._gs2_header.encode("utf-8")
        if self._cb_type is not None:
            expected += self._bindings[self._cb_type]
        if not hmac.compare_digest(binding, expected):
            raise self.fail("not-authorized", "channel binding mismatch", self._claimed)
        if not hmac.compare_digest(attrs[1][2:].encode("utf-8"), self._nonce.encode("utf-8")):
            raise self.fail("not-authorized", "nonce mismatch", self._claimed)
        if len(proof) != self.hash.size:
            raise self.fail("not-authorized", username=self._claimed)

        without_proof = text[: len(text) - len(attrs[-1]) - 1]
        auth_message = ",".join((self._client_first_bare, self._server_first, without_proof))
        auth_bytes = auth_message.encode("utf-8")
        digest = self.hash.digest
        client_signature = _hmac(digest, self._stored_key, auth_bytes)
        client_key = bytes(a ^ b for a, b in zip(proof, client_signature))
        valid = hmac.compare_digest(hashlib.new(digest, client_key).digest(), self._stored_key)
        if not (valid and self._known and self._username is not None):
            raise self.fail("not-authorized", username=self._claimed)
        server_signature = _hmac(digest, self._server_key, auth_bytes)
        return Success(b"v=" + base64.b64encode(server_signature), self._username, self._authzid)
