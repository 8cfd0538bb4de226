"""Fixtures of the SDK tests: a fake upstream for the gateway and connection tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.support.fake_upstream import FakeUpstream


@pytest.fixture
async def fake() -> AsyncIterator[FakeUpstream]:
    async with FakeUpstream() as upstream:
        yield upstream
