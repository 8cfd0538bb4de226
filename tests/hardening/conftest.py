"""Fixtures for hardening tests: the fake upstreams of the gateway tests."""

from __future__ import annotations

from tests.gateway.conftest import fake, fake2

__all__ = ["fake", "fake2"]
