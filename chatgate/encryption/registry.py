"""Which data-key digests exist (start-up check), how many secrets each holds, rotation."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from chatgate.crypto.keyring import KeyRing, KeyRingError
from chatgate.db.engine import Database
from chatgate.db.sealed import SEALED_COLUMNS, SealedColumnSpec
from chatgate.store import encryption_keys as store
from chatgate.store.encryption_keys import secrets_per_digest

__all__ = ["RotationResult", "digest_states", "rotate", "secrets_per_digest", "sync_key_registry"]


async def sync_key_registry(session: AsyncSession, keyring: KeyRing) -> None:
    """Refuse to run when an active digest has no key; register the ring's digests.

    Marks revoked digests on the ring so a revoked primary refuses to seal.
    """
    rows = await store.list_keys(session)
    known = {row.digest: row for row in rows}
    missing = [row.digest for row in rows if row.state == "active" and not keyring.has(row.digest)]
    if missing:
        raise KeyRingError(
            "encryption key(s) with digest "
            + ", ".join(missing)
            + " are active in the database but not configured (CHATGATE_ENCRYPTION_KEYS)"
        )
    for digest in keyring.digests:
        if digest not in known:
            store.add_key(session, digest)
    keyring.revoked = frozenset(row.digest for row in rows if row.state == "revoked")


async def digest_states(session: AsyncSession) -> dict[str, str]:
    return {row.digest: row.state for row in await store.list_keys(session)}


@dataclass(frozen=True, slots=True)
class RotationResult:
    resealed: int
    # Secrets under a digest this ring has no key for (``key_undecryptable``): they stay
    # as they are, unusable, and are reported rather than stopping the rotation.
    undecryptable: int


async def rotate(
    db: Database,
    keyring: KeyRing,
    *,
    batch_size: int = 200,
    progress: Callable[[int], None] | None = None,
) -> RotationResult:
    """Re-seal every secret not under the primary key, in batches (each its own transaction),
    then mark every other digest revoked. Safe while servers keep answering: each batch only
    replaces ciphertexts with ones the servers' rings (new primary first) can open."""

    async def activate_primary(session: AsyncSession) -> None:
        # Rotating onto a digest revoked earlier makes it the active primary again.
        await store.set_state(session, keyring.primary_digest, "active")
        await sync_key_registry(session, keyring)

    await db.write(activate_primary)
    resealed = 0
    undecryptable = 0
    for spec in SEALED_COLUMNS:
        # Keyset paging (``lock_sealed_page``): rows that servers insert or delete while the
        # rotation runs cannot shift an unvisited row behind the cursor.
        after: tuple[Any, ...] | None = None
        while True:

            async def batch(
                session: AsyncSession,
                spec: SealedColumnSpec = spec,
                after: tuple[Any, ...] | None = after,
            ) -> tuple[int, int, int, tuple[Any, ...] | None]:
                rows = await store.lock_sealed_page(session, spec, after, batch_size)
                changed = skipped = 0
                for row in rows:
                    sealed = getattr(row, spec.column)
                    if sealed.digest == keyring.primary_digest:
                        continue
                    context = spec.context(row)
                    try:
                        plaintext = keyring.open(sealed, context)
                    except KeyRingError:
                        skipped += 1
                        continue
                    setattr(row, spec.column, keyring.seal(plaintext, context))
                    changed += 1
                last = store.row_position(spec, rows[-1]) if rows else None
                return len(rows), changed, skipped, last

            seen, changed, skipped, after = await db.write(batch)
            resealed += changed
            undecryptable += skipped
            if progress is not None:
                progress(seen)
            if seen < batch_size:
                break

    async def revoke_others(session: AsyncSession) -> None:
        await store.set_state_of_all_but(session, keyring.primary_digest, "revoked")
        await sync_key_registry(session, keyring)

    await db.write(revoke_others)
    return RotationResult(resealed=resealed, undecryptable=undecryptable)
