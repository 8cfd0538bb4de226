"""The opaque sealed-secret value type."""

from __future__ import annotations

from typing import Any, NoReturn

VERSION = 1
DIGEST_BYTES = 8  # 16 hex characters
NONCE_BYTES = 12
HEADER_BYTES = 1 + DIGEST_BYTES + NONCE_BYTES


class SealedSecret:
    """Ciphertext of a secret: ``version | key digest | nonce | ciphertext+tag``.

    It refuses every road out of the process except storage: ``str``/``repr`` show a
    placeholder, and JSON encoders (stdlib, orjson, pydantic) raise on it.
    """

    __slots__ = ("_blob",)

    def __init__(self, blob: bytes) -> None:
        if len(blob) < HEADER_BYTES + 16 or blob[0] != VERSION:
            raise ValueError("not a sealed secret")
        self._blob = bytes(blob)

    @property
    def digest(self) -> str:
        """Hex digest (16 characters) of the data key that sealed this value."""
        return self._blob[1 : 1 + DIGEST_BYTES].hex()

    def to_storage(self) -> bytes:
        """The bytes stored in the database column (only the column type calls this)."""
        return self._blob

    def __repr__(self) -> str:
        return "<sealed>"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SealedSecret) and other._blob == self._blob

    def __hash__(self) -> int:
        return hash(self._blob)

    def __reduce__(self) -> NoReturn:
        raise TypeError("a sealed secret cannot be pickled")

    def __getstate__(self) -> NoReturn:
        raise TypeError("a sealed secret cannot be serialised")

    def __json__(self) -> Any:  # pragma: no cover - a guard for encoders that look for it
        raise TypeError("a sealed secret cannot be serialised")
