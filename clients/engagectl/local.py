"""Commands that act on the server's own store and settings rather than over gRPC."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from server.bootstrap import Services

T = TypeVar("T")


def with_services(work: Callable[[Services], Awaitable[T]]) -> T:
    # The store's and the settings' imports are slow: only for these commands.
    from server.bootstrap import build_services
    from server.config import Settings

    async def run() -> T:
        services = await build_services(Settings(), with_queue=False)
        try:
            return await work(services)
        finally:
            await services.close()

    return asyncio.run(run())
