"""The key ring: data keys by digest, the first one seals, any known one opens."""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from chatgate.crypto.sealed import DIGEST_BYTES, HEADER_BYTES, NONCE_BYTES, VERSION, SealedSecret


class KeyRingError(Exception):
    """A configuration or decryption problem; messages name digests, never key material."""


class PrimaryKeyRevoked(KeyRingError):
    """This replica's primary key is revoked: it refuses to seal (HTTP 503, SPEC §7)."""


@dataclass(frozen=True, slots=True)
class SecretContext:
    """Where a secret lives: bound in as associated data so a copied ciphertext won't open."""

    table: str
    column: str
    row: str

    def aad(self) -> bytes:
        return f"chatgate|{self.table}|{self.column}|{self.row}".encode()


def key_digest(key: bytes) -> str:
    return hashlib.sha256(key).hexdigest()[:16]


class KeyRing:
    def __init__(self, keys: list[bytes]) -> None:
        if not keys:
            raise KeyRingError("no encryption key configured")
        for key in keys:
            if len(key) != 32:
                raise KeyRingError(
                    "every encryption key must be 32 bytes, base64-encoded "
                    "(`chatgate keys generate` prints one)"
                )
        self._ciphers = {key_digest(key): AESGCM(key) for key in keys}
        self.primary_digest = key_digest(keys[0])
        self.revoked: frozenset[str] = frozenset()

    @property
    def digests(self) -> list[str]:
        return list(self._ciphers)

    def has(self, digest: str) -> bool:
        return digest in self._ciphers

    @classmethod
    def from_env_value(cls, value: str) -> KeyRing:
        keys: list[bytes] = []
        for position, part in enumerate(p.strip() for p in value.split(",")):
            if not part:
                continue
            try:
                keys.append(base64.b64decode(part, validate=True))
            except binascii.Error:
                raise KeyRingError(
                    f"entry {position + 1} is not valid base64 "
                    "(`chatgate keys generate` prints a key)"
                ) from None
        return cls(keys)

    @classmethod
    def from_file(cls, path: Path, *, create: bool) -> KeyRing:
        """Read (or on first start create, mode 0600) the embedded default's key file."""
        if not path.exists():
            if not create:
                raise KeyRingError(f"encryption key file {path} does not exist")
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(base64.b64encode(os.urandom(32)).decode() + "\n")
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            raise KeyRingError(
                f"encryption key file {path} must not be readable by others (chmod 600)"
            )
        try:
            return cls.from_env_value(path.read_text().replace("\n", ","))
        except KeyRingError as error:
            raise KeyRingError(f"encryption key file {path}: {error}") from None

    def seal(self, plaintext: str, context: SecretContext) -> SealedSecret:
        if self.primary_digest in self.revoked:
            raise PrimaryKeyRevoked(f"the primary encryption key {self.primary_digest} is revoked")
        nonce = os.urandom(NONCE_BYTES)
        body = self._ciphers[self.primary_digest].encrypt(nonce, plaintext.encode(), context.aad())
        header = bytes([VERSION]) + bytes.fromhex(self.primary_digest)
        return SealedSecret(header + nonce + body)

    def open(self, sealed: SealedSecret, context: SecretContext) -> str:
        blob = sealed.to_storage()
        digest = blob[1 : 1 + DIGEST_BYTES].hex()
        cipher = self._ciphers.get(digest)
        if cipher is None:
            raise KeyRingError(f"no encryption key with digest {digest} (key_undecryptable)")
        nonce = blob[1 + DIGEST_BYTES : HEADER_BYTES]
        try:
            return cipher.decrypt(nonce, blob[HEADER_BYTES:], context.aad()).decode()
        except InvalidTag:
            raise KeyRingError(
                f"secret of {context.table}.{context.column} did not open (wrong row or key)"
            ) from None
