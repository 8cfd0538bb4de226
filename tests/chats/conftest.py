"""Fixtures for chat tests: fake upstreams (``live``, a real server for disconnects, is
shared by every test package from ``tests/conftest.py``)."""

from __future__ import annotations

from tests.gateway.conftest import fake

__all__ = ["fake"]
