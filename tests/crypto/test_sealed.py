"""A sealed secret is a type that cannot leave the process by accident (SPEC §7)."""

from __future__ import annotations

import base64
import copy
import hashlib
import io
import json
import logging
import pickle
import uuid

import orjson
import pydantic
import pydantic_core
import pytest
from fastapi.encoders import jsonable_encoder
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from chatgate.api.responses import JsonResponse
from chatgate.crypto import KeyRing, KeyRingError, SealedSecret
from chatgate.db.sealed import provider_key_context, user_key_context
from chatgate.db.tables import ProviderKey
from tests.support.helpers import Env, open_planted_secrets, plant_sealed_secrets

PLAINTEXT = "sk-canary-3f9a1c7e5b2d4068"
KEY_A = base64.b64encode(b"a" * 32).decode()
KEY_B = base64.b64encode(b"b" * 32).decode()


def sealed_canary() -> tuple[KeyRing, SealedSecret]:
    ring = KeyRing.from_env_value(KEY_A)
    return ring, ring.seal(PLAINTEXT, provider_key_context(uuid.uuid4()))


def test_sealed_secret_prints_as_a_placeholder() -> None:
    _, sealed = sealed_canary()
    assert repr(sealed) == "<sealed>"
    assert str(sealed) == "<sealed>"
    assert f"{sealed} {sealed!r}" == "<sealed> <sealed>"
    assert PLAINTEXT not in repr({"key": sealed, "keys": [sealed]})


def test_sealed_secret_refuses_every_json_encoder() -> None:
    _, sealed = sealed_canary()
    with pytest.raises(TypeError):
        json.dumps({"key": sealed})
    with pytest.raises(TypeError):
        orjson.dumps({"key": sealed})
    with pytest.raises(TypeError):
        JsonResponse({"key": sealed})  # the API's response class
    with pytest.raises(pydantic_core.PydanticSerializationError):
        pydantic_core.to_json({"key": sealed})

    class Leaky(pydantic.BaseModel):
        model_config = pydantic.ConfigDict(arbitrary_types_allowed=True)
        key: SealedSecret

    with pytest.raises(pydantic_core.PydanticSerializationError):
        Leaky(key=sealed).model_dump_json()
    with pytest.raises((TypeError, ValueError)):
        jsonable_encoder({"key": sealed})  # what FastAPI uses for response bodies


def test_sealed_secret_cannot_be_pickled_or_copied_out() -> None:
    _, sealed = sealed_canary()
    with pytest.raises(TypeError):
        pickle.dumps(sealed)
    with pytest.raises(TypeError):
        copy.copy(sealed)


def test_logging_a_sealed_secret_writes_no_plaintext_or_ciphertext() -> None:
    _, sealed = sealed_canary()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(message)s %(key)s"))
    logger = logging.getLogger("chatgate.test.sealed")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        logger.warning(
            "storing %s (%r) in %s", sealed, sealed, {"k": sealed}, extra={"key": sealed}
        )
        logger.exception("failed with %s", sealed, extra={"key": [sealed]})
    finally:
        logger.removeHandler(handler)
    output = stream.getvalue()
    assert "<sealed>" in output
    assert PLAINTEXT not in output
    blob = sealed.to_storage()
    assert base64.b64encode(blob).decode() not in output
    assert blob.hex() not in output


def test_a_ciphertext_opens_only_for_the_row_table_and_column_it_was_sealed_for() -> None:
    ring = KeyRing.from_env_value(KEY_A)
    key_id, other_id = uuid.uuid4(), uuid.uuid4()
    sealed = ring.seal(PLAINTEXT, provider_key_context(key_id))
    assert ring.open(sealed, provider_key_context(key_id)) == PLAINTEXT
    with pytest.raises(KeyRingError) as wrong_row:
        ring.open(sealed, provider_key_context(other_id))
    assert PLAINTEXT not in str(wrong_row.value)
    with pytest.raises(KeyRingError):
        ring.open(sealed, user_key_context(key_id, other_id))
    user_sealed = ring.seal(PLAINTEXT, user_key_context(key_id, other_id))
    with pytest.raises(KeyRingError):
        ring.open(user_sealed, user_key_context(other_id, key_id))  # the pair, swapped


def test_a_tampered_ciphertext_does_not_open() -> None:
    ring, sealed = sealed_canary()
    blob = bytearray(sealed.to_storage())
    blob[-1] ^= 0x01
    with pytest.raises(KeyRingError):
        ring.open(SealedSecret(bytes(blob)), provider_key_context(uuid.uuid4()))


def test_a_secret_under_an_unknown_key_is_reported_as_undecryptable_by_digest() -> None:
    _, sealed = sealed_canary()
    other_ring = KeyRing.from_env_value(KEY_B)
    with pytest.raises(KeyRingError) as error:
        other_ring.open(sealed, provider_key_context(uuid.uuid4()))
    assert sealed.digest in str(error.value)
    assert "key_undecryptable" in str(error.value)


def test_ciphertext_carries_version_and_the_digest_of_its_data_key() -> None:
    ring, sealed = sealed_canary()
    assert sealed.to_storage()[0] == 1
    assert sealed.digest == ring.primary_digest
    assert len(sealed.digest) == 16
    assert ring.primary_digest == hashlib.sha256(b"a" * 32).hexdigest()[:16]


def test_a_revoked_primary_never_seals() -> None:
    ring = KeyRing.from_env_value(KEY_A)
    ring.revoked = frozenset({ring.primary_digest})
    with pytest.raises(KeyRingError, match="revoked"):
        ring.seal(PLAINTEXT, provider_key_context(uuid.uuid4()))


async def test_a_ciphertext_copied_to_another_row_does_not_open(env: Env) -> None:
    keyring = env.runtime.keyring
    owner_id = await env.owner_id()
    planted = await plant_sealed_secrets(env.runtime.db, keyring, owner_id)
    first, second = planted.provider_key_ids

    async def copy_first_onto_second(session: AsyncSession) -> None:
        row = await session.get(ProviderKey, first)
        assert row is not None
        await session.execute(
            update(ProviderKey).where(ProviderKey.id == second).values(secret=row.secret)
        )

    await env.runtime.db.write(copy_first_onto_second)

    async def open_second(session: AsyncSession) -> str:
        row = await session.get(ProviderKey, second)
        assert row is not None
        return keyring.open(row.secret, provider_key_context(second))

    with pytest.raises(KeyRingError):
        await env.runtime.db.read(open_second)
    planted.provider_key_ids.remove(second)
    opened = await open_planted_secrets(env.runtime.db, keyring, planted)
    assert opened == {k: v for k, v in planted.plaintexts.items() if k != str(second)}


async def test_a_sealed_column_refuses_plaintext(env: Env) -> None:
    owner_id = await env.owner_id()
    planted = await plant_sealed_secrets(env.runtime.db, env.runtime.keyring, owner_id)

    async def store_plaintext(session: AsyncSession) -> None:
        await session.execute(
            update(ProviderKey)
            .where(ProviderKey.id == planted.provider_key_ids[0])
            .values(secret=PLAINTEXT)
        )

    with pytest.raises(Exception, match="accepts only SealedSecret") as error:
        await env.runtime.db.write(store_plaintext)
    assert PLAINTEXT not in str(error.value)
