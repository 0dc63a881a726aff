"""A small SCRAM client for tests (RFC 5802, RFC 7677), written independently.

``scramp`` only covers SHA-1, SHA-256 and SHA-512 and no ``tls-exporter``;
this client covers every hash and binding type the server offers and can be
told to misbehave (wrong proof, wrong nonce, odd GS2 headers).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

__all__ = ["ScramClient", "derive_credentials"]

_DIGESTS = {
    "sha": "sha1",
    "sha224": "sha224",
    "sha256": "sha256",
    "sha384": "sha384",
    "sha512": "sha512",
}
_BY_MECHANISM = {
    "SCRAM-SHA-1": "sha1",
    "SCRAM-SHA-224": "sha224",
    "SCRAM-SHA-256": "sha256",
    "SCRAM-SHA-384": "sha384",
    "SCRAM-SHA-512": "sha512",
}


def derive_credentials(
    password: str, hash_name: str, *, salt: bytes | None = None, iterations: int = 4096
) -> tuple[bytes, bytes, bytes, int]:
    """Return (salt, stored_key, server_key, iterations) as a server stores them."""
    digest = _DIGESTS[hash_name]
    salt = secrets.token_bytes(16) if salt is None else salt
    salted = hashlib.pbkdf2_hmac(digest, password.encode("utf-8"), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", digest).digest()
    stored_key = hashlib.new(digest, client_key).digest()
    server_key = hmac.new(salted, b"Server Key", digest).digest()
    return salt, stored_key, server_key, iterations


def _escape(name: str) -> str:
    return name.replace("=", "=3D").replace(",", "=2C")


class ScramClient:
    """The client side of one SCRAM exchange.

    Args:
        mechanism: e.g. ``"SCRAM-SHA-384-PLUS"``.
        username: the username, sent escaped.
        password: the password.
        cb_type: channel binding type for ``p=``; None for no binding.
        cb_data: the channel binding data.
        flag: override the GS2 flag ("n", "y" or "p").
        authzid: an authorization identity for ``a=``.
        nonce: the client nonce; random when None.
    """

    def __init__(
        self,
        mechanism: str,
        username: str,
        password: str,
        *,
        cb_type: str | None = None,
        cb_data: bytes = b"",
        flag: str | None = None,
        authzid: str | None = None,
        nonce: str | None = None,
    ):
        self.digest = _BY_MECHANISM[mechanism.removesuffix("-PLUS")]
        self.username = username
        self.password = password
        self.cb_data = cb_data
        if flag is None:
            flag = "p" if cb_type else "n"
        cbind = f"p={cb_type}" if flag == "p" else flag
        authz = f"a={_escape(authzid)}" if authzid else ""
        self.gs2_header = f"{cbind},{authz},"
        self.nonce = nonce or secrets.token_hex(12)
        self.server_signature = b""

    def first(self) -> bytes:
        """Return the client-first-message."""
        self.bare = f"n={_escape(self.username)},r={self.nonce}"
        return (self.gs2_header + self.bare).encode("utf-8")

    def final(
        self, server_first: bytes, *, tamper_proof: bool = False, nonce: str | None = None
    ) -> bytes:
        """Return the client-final-message for the server-first-message."""
        text = server_first.decode("utf-8")
        fields = dict(part.split("=", 1) for part in text.split(","))
        combined = fields["r"]
        if not combined.startswith(self.nonce):
            raise ValueError("server nonce does not extend ours")
        salt = base64.b64decode(fields["s"])
        iterations = int(fields["i"])
        salted = hashlib.pbkdf2_hmac(self.digest, self.password.encode("utf-8"), salt, iterations)
        client_key = hmac.new(salted, b"Client Key", self.digest).digest()
        stored_key = hashlib.new(self.digest, client_key).digest()
        server_key = hmac.new(salted, b"Server Key", self.digest).digest()
        cbind = self.gs2_header.encode("utf-8")
        if self.gs2_header.startswith("p="):
            cbind += self.cb_data
        without_proof = f"c={base64.b64encode(cbind).decode()},r={nonce or combined}"
        auth_message = f"{self.bare},{text},{without_proof}".encode()
        signature = hmac.new(stored_key, auth_message, self.digest).digest()
        proof = bytes(a ^ b for a, b in zip(client_key, signature))
        if tamper_proof:
            proof = bytes([proof[0] ^ 1]) + proof[1:]
        self.server_signature = hmac.new(server_key, auth_message, self.digest).digest()
        return f"{without_proof},p={base64.b64encode(proof).decode()}".encode()

    def check_server_final(self, data: bytes) -> bool:
        """Tell whether the server's final message proves it knew the keys."""
        return data == b"v=" + base64.b64encode(self.server_signature)
