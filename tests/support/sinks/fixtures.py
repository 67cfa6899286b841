"""pytest fixtures for the sinks; tests/conftest.py imports them."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio

from tests.support.sinks.providers import ProviderSink
from tests.support.sinks.smtp import SmtpSink


@pytest_asyncio.fixture
async def smtp_sink() -> AsyncIterator[SmtpSink]:
    async with SmtpSink() as sink:
        yield sink


@pytest_asyncio.fixture
async def provider_sink() -> AsyncIterator[ProviderSink]:
    async with ProviderSink() as sink:
        yield sink
