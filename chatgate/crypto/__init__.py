"""Sealed secrets (SPEC §7): AES-256-GCM with a key ring, bound to the row they belong to.

A ``SealedSecret`` is opaque: it cannot be printed, logged or serialised; only
``KeyRing.open`` with the right ``SecretContext`` turns it back into text.
"""

from chatgate.crypto.keyring import KeyRing, KeyRingError, PrimaryKeyRevoked, SecretContext
from chatgate.crypto.sealed import SealedSecret

__all__ = ["KeyRing", "KeyRingError", "PrimaryKeyRevoked", "SealedSecret", "SecretContext"]
