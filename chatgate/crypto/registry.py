"""The ``encryption_keys`` table: which data-key digests exist, re-sealing, and status counts."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from sqlalchemy import inspect, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from chatgate.crypto.contexts import SEALED_COLUMNS, SealedColumnSpec
from chatgate.crypto.keyring import KeyRing, KeyRingError
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
    counts: Counter[str] = Counter()
    for spec in SEALED_COLUMNS:
        column = getattr(spec.model, spec.column)
        for sealed in (await session.execute(select(column))).scalars():
            counts[sealed.digest] += 1
    return dict(sorted(counts.items()))


async def digest_states(session: AsyncSession) -> dict[str, str]:
    rows = (await session.execute(select(EncryptionKey).order_by(EncryptionKey.digest))).scalars()
    return {row.digest: row.state for row in rows}


async def rotate(
    db: Database,
    keyring: KeyRing,
    *,
    batch_size: int = 200,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Re-seal every secret not under the primary key, in batches (each its own transaction),
    then mark every other digest revoked. Safe while servers keep answering: each batch only
    replaces ciphertexts with ones the servers' rings (new primary first) can open."""
    resealed = 0
    for spec in SEALED_COLUMNS:
        offset = 0
        while True:

            async def batch(
                session: AsyncSession, spec: SealedColumnSpec = spec, offset: int = offset
            ) -> tuple[int, int]:
                order = list(inspect(spec.model).primary_key)
                page = select(spec.model).order_by(*order).offset(offset).limit(batch_size)
                rows = (await session.execute(page.with_for_update())).scalars().all()
                changed = 0
                for row in rows:
                    sealed = getattr(row, spec.column)
                    if sealed.digest != keyring.primary_digest:
                        context = spec.context(row)
                        setattr(
                            row, spec.column, keyring.seal(keyring.open(sealed, context), context)
                        )
                        changed += 1
                return len(rows), changed

            seen, changed = await db.write(batch)
            resealed += changed
            if progress is not None:
                progress(changed)
            offset += seen
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
    return resealed
