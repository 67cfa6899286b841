"""What every engagectl command shares: where the server is, the token, the output mode."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import typer

from clients.stubs import Stubs, connect

T = TypeVar("T")


@dataclass
class CliContext:
    address: str
    token: str | None
    json_output: bool

    def stubs(self) -> Stubs:
        return connect(self.address, self.token)

    def call(self, work: Callable[[Stubs], Awaitable[T]]) -> T:
        """Runs one async piece of work against the server and closes the channel."""

        async def run() -> T:
            async with self.stubs() as stubs:
                return await work(stubs)

        return asyncio.run(run())


def cli_context(ctx: typer.Context) -> CliContext:
    return ctx.find_root().obj  # type: ignore[no-any-return]
