"""What every engagectl command shares: where the server is, the token, the output format."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import typer

from clients.engagectl.output import json_wanted
from clients.engagectl.paging import FetchPage, Listed, Paging, collect_paging
from clients.stubs import Stubs, connect

T = TypeVar("T")


@dataclass
class CliContext:
    address: str
    token: str | None

    @property
    def json_output(self) -> bool:
        return json_wanted()

    def stubs(self) -> Stubs:
        return connect(self.address, self.token)

    def call(self, work: Callable[[Stubs], Awaitable[T]]) -> T:
        """Runs one async piece of work against the server and closes the channel."""

        async def run() -> T:
            async with self.stubs() as stubs:
                return await work(stubs)

        return asyncio.run(run())

    def list(self, page: Callable[[Stubs, int, str], Awaitable[tuple[Sequence[T], str]]],
             paging: Paging) -> Listed[T]:
        """Follows a list's pages as --limit, --page-token and --all ask. `page(stubs, size, token)`
        fetches one page and returns its items and next_page_token."""

        async def run(stubs: Stubs) -> Listed[T]:
            fetch: FetchPage[T] = lambda size, token: page(stubs, size, token)  # noqa: E731
            return await collect_paging(fetch, paging)

        return self.call(run)


def cli_context(ctx: typer.Context) -> CliContext:
    return ctx.find_root().obj
