"""Column types shared by every table: UTC microsecond timestamps and sealed secrets."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Dialect, LargeBinary
from sqlalchemy.types import TypeDecorator

from chatgate.crypto.sealed import SealedSecret


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on both databases (SQLite keeps them as naive UTC text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; use chatgate.ids.utcnow()")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class SealedColumn(TypeDecorator[SealedSecret]):
    """A column that only ever holds ``SealedSecret`` values: plaintext cannot be bound."""

    impl = LargeBinary
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> bytes | None:
        if value is None:
            return None
        if not isinstance(value, SealedSecret):
            raise TypeError("a sealed column accepts only SealedSecret values")
        return value.to_storage()

    def process_result_value(self, value: bytes | None, dialect: Dialect) -> SealedSecret | None:
        return None if value is None else SealedSecret(value)
