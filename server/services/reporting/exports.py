"""Streamed exports of the reporting views (docs/exports.md): a view read page after page through its own
service's `page` call (the one its List RPC makes, with larger pages), each page formatted as one chunk and
dropped, so that an export of any size holds one page in memory. Each chunk carries the view's page token
after it: passed back, the export goes on from there."""

from __future__ import annotations

import asyncio
import contextlib
import enum
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from server.domain.auth import Caller, Role
from server.domain.errors import FieldViolation, InvalidArgument
from server.domain.pagination import Page, PageRequest
from server.domain.reporting.arrow_chunks import arrow_chunk
from server.domain.reporting.export_columns import ExportTable
from server.domain.reporting.export_formats import csv_chunk, jsonl_chunk

L = TypeVar("L")

# Rows per chunk unless the request asks for another number (up to the most).
DEFAULT_CHUNK_ROWS = 5000
MAX_CHUNK_ROWS = 10_000


class ExportFormat(enum.Enum):
    CSV = "csv"
    JSONL = "jsonl"
    ARROW = "arrow"  # Parquet's chunks: the client writes them into the Parquet file


_ENCODERS: dict[ExportFormat, Callable[[ExportTable[Any], Sequence[Any], bool], bytes]] = {
    ExportFormat.CSV: csv_chunk, ExportFormat.JSONL: jsonl_chunk, ExportFormat.ARROW: arrow_chunk}


@dataclass(frozen=True)
class ExportSource(Generic[L]):
    """One view with its filters bound: its columns, how to read a page of it (and a page token, as its List
    RPC reads one: the size it gives does not matter), and how to count it."""

    table: ExportTable[L]
    page_request: Callable[[str], PageRequest]
    page: Callable[[Caller, PageRequest], Awaitable[Page[L]]]
    count: Callable[[Caller], Awaitable[int]] | None = None


@dataclass(frozen=True, slots=True)
class ExportChunk:
    data: bytes
    row_count: int
    resume_token: str  # "" on the last chunk
    total_rows: int  # 0 when the view is not counted


def chunk_rows(asked: int) -> int:
    """Rows per chunk: the asked number (0: the default), at most MAX_CHUNK_ROWS."""
    return min(asked or DEFAULT_CHUNK_ROWS, MAX_CHUNK_ROWS)


class ExportService:
    async def export(self, caller: Caller, source: ExportSource[L], export_format: ExportFormat,
                     resume_token: str, rows_per_chunk: int = DEFAULT_CHUNK_ROWS) -> AsyncIterator[ExportChunk]:
        """The view's chunks from the first row, or from the row after `resume_token` (a chunk's token of the
        same view; another view's or a forged one is INVALID_ARGUMENT INVALID_PAGE_TOKEN). Only a fresh
        export's first chunk opens with the format's header (the CSV header row, the Arrow schema)."""
        caller.require_role(Role.BANK_ADMIN, Role.SERVICE)
        try:
            page = self._page(source, rows_per_chunk, resume_token)
        except InvalidArgument as refused:
            raise InvalidArgument(refused.code, "resume_token is not one this view's export returned",
                                  violations=[FieldViolation("resume_token", "not a token of this view")]) from None
        total = await source.count(caller) if source.count is not None else 0
        encode = _ENCODERS[export_format]
        header = not resume_token
        found = await source.page(caller, page)
        while True:
            # The next page is read while this one is formatted and sent: the database's time then overlaps
            # ours. One page ahead at most, so the memory stays two pages.
            following = asyncio.ensure_future(source.page(caller, self._page(
                source, rows_per_chunk, found.next_page_token))) if found.next_page_token else None
            await asyncio.sleep(0)  # lets it send its query before this page's formatting holds the loop
            try:
                yield ExportChunk(encode(source.table, found.items, header), len(found.items),
                                  found.next_page_token, total)
            except BaseException:
                if following is not None:
                    following.cancel()
                    with contextlib.suppress(BaseException):
                        await following
                raise
            if following is None:
                return
            header = False
            found = await following

    @staticmethod
    def _page(source: ExportSource[Any], size: int, token: str) -> PageRequest:
        # The token read and checked as the List RPC reads it; the size is the export's, not capped at theirs.
        return PageRequest(size, source.page_request(token).after)
