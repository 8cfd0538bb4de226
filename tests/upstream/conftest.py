"""Fixtures for upstream tests: a fresh fake upstream and a started shared client."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from chatgate.upstream import UpstreamClient
from tests.support.fake_upstream import FakeUpstream


@pytest.fixture
async def fake() -> AsyncIterator[FakeUpstream]:
    async with FakeUpstream() as server:
        yield server


@pytest.fixture
async def client() -> AsyncIterator[UpstreamClient]:
    async with UpstreamClient() as upstream:
        yield upstream
