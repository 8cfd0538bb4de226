"""The one Settings object (prefix ``CHATGATE_``), built once at start and passed down."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from chatgate.families import BUILTIN_BASE_URLS, FAMILIES, env_suffix

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./data/chatgate.db"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CHATGATE_", extra="ignore")

    database_url: str = DEFAULT_DATABASE_URL
    listen: str = "127.0.0.1:8080"
    log_level: str = "info"
    # Comma-separated base64 32-byte keys, the first one is the primary (SPEC §7).
    encryption_keys: str | None = Field(default=None, repr=False)
    encryption_key_file: Path | None = None
    bootstrap_token: str | None = Field(default=None, repr=False)
    metrics_public: bool = False

    upstream_connect_timeout_s: float = 10.0
    upstream_first_byte_timeout_s: float = 600.0
    upstream_stream_first_byte_timeout_s: float = 120.0
    upstream_idle_timeout_s: float = 120.0
    upstream_allow_cidrs: str = ""
    upstream_deny_cidrs: str = ""
    gateway_max_attempts: int = 3
    max_request_bytes: int = 32 * 1024 * 1024
    installation_id: str | None = None

    @field_validator("log_level")
    @classmethod
    def _lower(cls, value: str) -> str:
        return value.lower()

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def listen_host_port(self) -> tuple[str, int]:
        host, _, port = self.listen.rpartition(":")
        return (host or "127.0.0.1"), int(port)

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
