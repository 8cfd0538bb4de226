"""Fixtures for chat tests: fake upstreams and a real server for disconnects."""

from __future__ import annotations

from tests.gateway.conftest import fake, live

__all__ = ["fake", "live"]
