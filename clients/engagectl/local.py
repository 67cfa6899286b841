"""Commands that act on the server's own store and settings rather than over gRPC."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

from server.config import Settings

if TYPE_CHECKING:
    from server.bootstrap import Services

T = TypeVar("T")


def with_services(work: Callable[[Services], Awaitable[T]]) -> T:
    from server.bootstrap import build_services  # the store's imports are slow: only for these commands

    async def run() -> T:
        services = await build_services(Settings(), with_queue=False)
        try:
            return await work(services)
        finally:
            await services.close()

    return asyncio.run(run())
