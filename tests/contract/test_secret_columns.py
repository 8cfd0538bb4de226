"""No table stores a secret in the clear (SPEC §7, STYLE "Secrets are a type").

Every column whose name looks like a secret must be a ``SealedColumn`` or a hash
(``*_hash``), unless it is on the short allow-list below with the reason it holds no
secret. Tables added later are walked automatically.
"""

from __future__ import annotations

import re
import uuid
from types import SimpleNamespace

from sqlalchemy import Column, MetaData, String, Table, Uuid

from chatgate.db.sealed import SEALED_COLUMNS
from chatgate.db.tables import Base
from chatgate.db.types import SealedColumn

SECRET_LOOKING = re.compile(r"key|secret|token|password|credential", re.IGNORECASE)

# Column name -> why it holds no secret.
NOT_SECRETS: dict[str, str] = {
    "key_source": "which kind of key served a request: user, central or deployment",
    "secret_hint": "last 4 characters of keys of 16+ characters, to tell keys apart",
    "input_tokens": "a count of model tokens",
    "output_tokens": "a count of model tokens",
    "central_api_key_enabled": "a policy flag",
    "allow_user_api_key": "a policy flag",
    "allow_central_api_key_fallback": "a policy flag",
}


def unsealed_secret_columns(metadata: MetaData) -> list[str]:
    problems: list[str] = []
    for table in metadata.sorted_tables:
        for column in table.columns:
            if not SECRET_LOOKING.search(column.name):
                continue
            if isinstance(column.type, SealedColumn) or column.name.endswith("_hash"):
                continue
            if column.name in NOT_SECRETS:
                continue
            # A reference to another row (``key_id``) is a uuid: it cannot carry key text.
            if column.name.endswith("_id") and isinstance(column.type, Uuid):
                continue
            problems.append(f"{table.name}.{column.name} ({column.type!r})")
    return problems


def test_no_table_has_a_secret_looking_column_that_is_not_sealed_or_hashed() -> None:
    assert unsealed_secret_columns(Base.metadata) == []


def test_a_plaintext_api_key_column_would_be_caught() -> None:
    metadata = MetaData()
    Table(
        "planted",
        metadata,
        Column("id", Uuid, primary_key=True),
        Column("api_key", String(200)),
        Column("key_id", String(36)),  # a string "reference" could hold anything
        Column("token_hash", String(64)),
        Column("key_source", String(16)),
    )
    assert unsealed_secret_columns(metadata) == [
        "planted.api_key (String(length=200))",
        "planted.key_id (String(length=36))",
    ]


def test_the_allow_list_names_only_columns_that_exist() -> None:
    names = {c.name for t in Base.metadata.sorted_tables for c in t.columns}
    assert set(NOT_SECRETS) <= names


def test_every_sealed_column_is_registered_for_rotation_with_its_own_row_binding() -> None:
    sealed_in_tables = {
        (table.name, column.name)
        for table in Base.metadata.sorted_tables
        for column in table.columns
        if isinstance(column.type, SealedColumn)
    }
    registered = {(spec.model.__tablename__, spec.column) for spec in SEALED_COLUMNS}
    assert sealed_in_tables == registered
    assert len(registered) == len(SEALED_COLUMNS)
    for spec in SEALED_COLUMNS:
        columns = spec.model.__table__.columns
        row_a = SimpleNamespace(**{c.name: uuid.uuid4() for c in columns})
        row_b = SimpleNamespace(**{c.name: uuid.uuid4() for c in columns})
        context = spec.context(row_a)
        # Bound to its own table and column, and to the row's identity.
        assert (context.table, context.column) == (spec.model.__tablename__, spec.column)
        assert context.aad() != spec.context(row_b).aad()
