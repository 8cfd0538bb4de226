"""The one Settings object (prefix ``CHATGATE_``), built once at start and passed down."""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from chatgate.crypto.keyring import KeyRing, KeyRingError
from chatgate.db.urls import DataLocation, describe, normalise_database_url
from chatgate.families import BUILTIN_BASE_URLS, FAMILIES, env_suffix

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./data/chatgate.db"
LOG_LEVELS = ("debug", "info", "warning", "error", "critical")
ENV_PREFIX = "CHATGATE_"
MAX_WORKERS = 64
MIN_BOOTSTRAP_TOKEN_LENGTH = 32


class SettingsError(Exception):
    """One line naming the variable that is wrong (the CLI exits 2 with it)."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        extra="ignore",
        # A rejected value may be a key: errors name the variable, never echo its value.
        hide_input_in_errors=True,
    )

    database_url: str = DEFAULT_DATABASE_URL
    listen: str = "127.0.0.1:8080"
    log_level: str = "info"
    log_format: Literal["text", "json"] = "text"
    # Comma-separated base64 32-byte keys, the first one is the primary (SPEC §7).
    encryption_keys: str | None = Field(default=None, repr=False)
    encryption_key_file: Path | None = None
    bootstrap_token: str | None = Field(default=None, repr=False)
    metrics_public: bool = False
    # Server processes on one address: a number, or "auto" for one per core.
    workers: str = "1"

    upstream_connect_timeout_s: float = 10.0
    upstream_first_byte_timeout_s: float = 600.0
    upstream_stream_first_byte_timeout_s: float = 120.0
    upstream_idle_timeout_s: float = 120.0
    upstream_allow_cidrs: str = ""
    upstream_deny_cidrs: str = ""
    gateway_max_attempts: int = 3
    max_request_bytes: int = 32 * 1024 * 1024
    installation_id: str | None = None
    # How often the server purges archived chats past the retention window (SPEC §10);
    # 0 turns the server's purge task off (``chatgate chats purge`` still runs one pass).
    chat_purge_interval_s: float = Field(default=3600.0, ge=0)

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        return normalise_database_url(value)

    @field_validator("listen")
    @classmethod
    def _listen(cls, value: str) -> str:
        split_listen(value)
        return value.strip()

    @field_validator("workers")
    @classmethod
    def _workers(cls, value: str) -> str:
        parse_workers(value)
        return value.strip().lower()

    @field_validator("upstream_allow_cidrs", "upstream_deny_cidrs")
    @classmethod
    def _cidrs(cls, value: str) -> str:
        for part in split_list(value):
            try:
                ipaddress.ip_network(part, strict=False)
            except ValueError:
                raise ValueError(f"{part!r} is not an address range like 10.0.0.0/8") from None
        return value

    @field_validator(
        "upstream_connect_timeout_s",
        "upstream_first_byte_timeout_s",
        "upstream_stream_first_byte_timeout_s",
        "upstream_idle_timeout_s",
        "gateway_max_attempts",
        "max_request_bytes",
    )
    @classmethod
    def _positive(cls, value: float) -> float:
        if value <= 0:
            raise ValueError("must be greater than 0")
        return value

    @field_validator("bootstrap_token")
    @classmethod
    def _bootstrap_token(cls, value: str | None) -> str | None:
        if value is not None and len(value) < MIN_BOOTSTRAP_TOKEN_LENGTH:
            raise ValueError(f"must be at least {MIN_BOOTSTRAP_TOKEN_LENGTH} characters")
        return value

    @field_validator("log_level")
    @classmethod
    def _log_level(cls, value: str) -> str:
        level = value.strip().lower()
        if level not in LOG_LEVELS:
            raise ValueError(f"must be one of {', '.join(LOG_LEVELS)}")
        return level

    @field_validator("log_format", mode="before")
    @classmethod
    def _log_format(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("encryption_keys")
    @classmethod
    def _encryption_keys(cls, value: str | None) -> str | None:
        if value is not None and value.strip():
            try:
                KeyRing.from_env_value(value)
            except KeyRingError as error:
                raise ValueError(str(error)) from None
        return value

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def listen_host_port(self) -> tuple[str, int]:
        return split_listen(self.listen)

    @property
    def worker_count(self) -> int:
        return parse_workers(self.workers)

    def data_location(self) -> DataLocation:
        return describe(self.database_url)

    def sqlite_path(self) -> Path | None:
        """The database file for a file-backed SQLite URL, else None."""
        if not self.is_sqlite:
            return None
        _, _, path = self.database_url.partition(":///")
        return Path(path) if path and path != ":memory:" else None

    def key_file_path(self) -> Path | None:
        """Where the embedded default keeps its generated key (next to the database)."""
        if self.encryption_key_file is not None:
            return self.encryption_key_file
        db_path = self.sqlite_path()
        return db_path.parent / "encryption.key" if db_path is not None else None


def usable_cores() -> int:
    """The cores this process may run on: a container or ``taskset`` limits them below
    what the machine has, and one worker per unusable core would only contend."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # not offered on every platform (macOS)
        return os.cpu_count() or 1


def parse_workers(value: str) -> int:
    text = value.strip().lower()
    if text == "auto":
        return min(usable_cores(), MAX_WORKERS)
    if not text.isdigit() or not 1 <= int(text) <= MAX_WORKERS:
        raise ValueError(f"must be a number from 1 to {MAX_WORKERS}, or auto (one per core)")
    return int(text)


def split_list(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def split_listen(value: str) -> tuple[str, int]:
    """``host:port`` (``[v6]:port`` for IPv6; an empty host is 127.0.0.1, port 0 = any)."""
    host, separator, port = value.strip().rpartition(":")
    if not separator or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError("must be host:port with a port from 0 to 65535, e.g. 127.0.0.1:8080")
    host = host.removeprefix("[").removesuffix("]")
    return (host or "127.0.0.1"), int(port)


def load_settings() -> Settings:
    """Settings from the environment, or one ``SettingsError`` line naming the variable."""
    try:
        return Settings()
    except ValidationError as error:
        first = error.errors()[0]
        variable = ENV_PREFIX + str(first["loc"][0]).upper() if first["loc"] else "settings"
        message = str(first["msg"]).removeprefix("Value error, ")
        raise SettingsError(f"{variable}: {message}") from None


class Deployment:
    """Per-family deployment keys and default base URLs read from the environment (SPEC §1).

    Deployment keys are never stored; only their presence is ever shown.
    """

    def __init__(self, environ: dict[str, str] | None = None) -> None:
        env = dict(os.environ if environ is None else environ)
        self._keys: dict[str, str] = {}
        self._base_urls: dict[str, str] = {}
        for family in FAMILIES:
            suffix = env_suffix(family)
            key = env.get(f"CHATGATE_{suffix}_API_KEY", "").strip()
            if key:
                self._keys[family] = key
            base_url = env.get(f"CHATGATE_{suffix}_BASE_URL", "").strip().rstrip("/")
            if base_url:
                self._base_urls[family] = base_url
            elif family in BUILTIN_BASE_URLS:
                self._base_urls[family] = BUILTIN_BASE_URLS[family]

    def has_key(self, family: str) -> bool:
        return family in self._keys

    def key(self, family: str) -> str | None:
        return self._keys.get(family)

    def default_base_url(self, family: str) -> str | None:
        return self._base_urls.get(family)

    def __repr__(self) -> str:
        return f"Deployment(families_with_keys={sorted(self._keys)})"
