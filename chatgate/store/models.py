"""Model configs: live rows, soft deletes and the model-config write lock.

``lock_model_configs`` is the transaction-scoped advisory lock of SPEC §2 taken before
defaults are read; every model-config write and every provider-config delete takes it
first (lock order: this lock, then provider rows, then model rows), so default promotion
and binding checks never interleave. SQLite's ``BEGIN IMMEDIATE`` already serialises them.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from chatgate.db.tables import ModelConfig
from chatgate.store.savepoint import unique_or

# pg_advisory_xact_lock key: "cg-model" in ASCII, a constant no other lock uses.
MODEL_CONFIG_LOCK_ID = 0x63_67_2D_6D_6F_64_65_6C
_NAME_INDEX = "uq_model_configs_live_name"
_NAME_MARKERS = (_NAME_INDEX, "model_configs.name")


class ModelNameTaken(Exception):
    pass


async def lock_model_configs(session: AsyncSession) -> None:
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(
            text("SELECT pg_advisory_xact_lock(:id)"), {"id": MODEL_CONFIG_LOCK_ID}
        )


async def insert_model(session: AsyncSession, row: ModelConfig) -> ModelConfig:
    async with unique_or(session, _NAME_MARKERS, ModelNameTaken(row.name)):
        session.add(row)
    return row


async def flush_model(session: AsyncSession) -> None:
    """Flush pending changes under a savepoint; a taken live name becomes ``ModelNameTaken``."""
    async with unique_or(session, _NAME_MARKERS, ModelNameTaken()):
        pass  # the pending changes are flushed on leaving the block


async def get_live_model(
    session: AsyncSession, model_id: uuid.UUID, *, for_update: bool = False
) -> ModelConfig | None:
    query = select(ModelConfig).where(ModelConfig.id == model_id, ModelConfig.deleted.is_(False))
    if for_update:
        query = query.with_for_update().execution_options(populate_existing=True)
    return (await session.execute(query)).scalar_one_or_none()


async def list_live_models(
    session: AsyncSession, *, for_update: bool = False
) -> Sequence[ModelConfig]:
    query = select(ModelConfig).where(ModelConfig.deleted.is_(False))
    if for_update:
        query = (
            query.order_by(ModelConfig.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    else:
        query = query.order_by(ModelConfig.created_at, ModelConfig.id)
    return (await session.execute(query)).scalars().all()


async def list_live_models_of_family(session: AsyncSession, family: str) -> Sequence[ModelConfig]:
    query = (
        select(ModelConfig)
        .where(ModelConfig.deleted.is_(False), ModelConfig.family == family)
        .order_by(ModelConfig.created_at, ModelConfig.id)
    )
    return (await session.execute(query)).scalars().all()
