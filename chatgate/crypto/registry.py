"""The ``encryption_keys`` table: which data-key digests exist, re-sealing, and status counts."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, inspect, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from chatgate.crypto.contexts import SEALED_COLUMNS, SealedColumnSpec
from chatgate.crypto.keyring import KeyRing, KeyRingError
from chatgate.crypto.sealed import DIGEST_BYTES
from chatgate.db.engine import Database
from chatgate.db.tables import EncryptionKey
from chatgate.ids import utcnow


async def sync_key_registry(session: AsyncSession, keyring: KeyRing) -> None:
    """Refuse to run when an active digest has no key; register the ring's digests.

    Marks revoked digests on the ring so a revoked primary refuses to seal.
    """
    rows = (
        (await session.execute(select(EncryptionKey).order_by(EncryptionKey.digest)))
        .scalars()
        .all()
    )
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
            session.add(EncryptionKey(digest=digest, state="active", created_at=utcnow()))
    keyring.revoked = frozenset(row.digest for row in rows if row.state == "revoked")


async def secrets_per_digest(session: AsyncSession) -> dict[str, int]:
    """How many sealed secrets each data-key digest holds, counted in the database (the
    digest is bytes 2-9 of every ciphertext) so no secret is loaded."""
    counts: Counter[str] = Counter()
    for spec in SEALED_COLUMNS:
        digest = func.substr(getattr(spec.model, spec.column), 2, DIGEST_BYTES)
        query = select(digest, func.count()).group_by(digest)
        for raw, count in (await session.execute(query)).all():
            counts[bytes(raw).hex()] += int(count)
    return dict(sorted(counts.items()))


async def digest_states(session: AsyncSession) -> dict[str, str]:
    rows = (await session.execute(select(EncryptionKey).order_by(EncryptionKey.digest))).scalars()
    return {row.digest: row.state for row in rows}


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
        await session.execute(
            update(EncryptionKey)
            .where(EncryptionKey.digest == keyring.primary_digest)
            .values(state="active")
        )
        await sync_key_registry(session, keyring)

    await db.write(activate_primary)
    resealed = 0
    undecryptable = 0
    for spec in SEALED_COLUMNS:
        # Keyset paging on the primary key (not OFFSET): rows that servers insert or delete
        # while the rotation runs cannot shift an unvisited row behind the cursor.
        after: tuple[Any, ...] | None = None
        while True:

            async def batch(
                session: AsyncSession,
                spec: SealedColumnSpec = spec,
                after: tuple[Any, ...] | None = after,
            ) -> tuple[int, int, int, tuple[Any, ...] | None]:
                order = list(inspect(spec.model).primary_key)
                page = select(spec.model).order_by(*order).limit(batch_size)
                if after is not None:
                    page = page.where(tuple_(*order) > tuple_(*after))
                rows = (await session.execute(page.with_for_update())).scalars().all()
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
                last = tuple(getattr(rows[-1], str(c.key)) for c in order) if rows else None
                return len(rows), changed, skipped, last

            seen, changed, skipped, after = await db.write(batch)
            resealed += changed
            undecryptable += skipped
            if progress is not None:
                progress(seen)
            if seen < batch_size:
                break

    async def revoke_others(session: AsyncSession) -> None:
        await session.execute(
            update(EncryptionKey)
            .where(EncryptionKey.digest != keyring.primary_digest)
            .values(state="revoked")
        )
        await sync_key_registry(session, keyring)

    await db.write(revoke_others)
    return RotationResult(resealed=resealed, undecryptable=undecryptable)
