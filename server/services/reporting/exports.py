"""Streamed exports of the reporting views (docs/exports.md): a view read page after page through its own
service's `page` call (the one its List RPC makes, with larger pages), each page formatted as one chunk and
dropped, so that an export of any size holds one page in memory. Each chunk carries the view's page token
after it: passed back, the export goes on from there."""

from __future__ import annotations

import asyncio
import contextlib
import enum
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Generic, TypeVar

import structlog

from server.domain.auth import Caller, Role
from server.domain.errors import FieldViolation, InvalidArgument
from server.domain.pagination import Page, PageRequest
from server.domain.reporting.arrow_chunks import arrow_chunk
from server.domain.reporting.export_columns import ExportTable
from server.domain.reporting.export_formats import csv_chunk, jsonl_chunk
from server.faults import Fault, fault_of

L = TypeVar("L")
log = structlog.get_logger(__name__)

# Rows per chunk unless the request asks for another number (up to the most).
DEFAULT_CHUNK_ROWS = 10_000
MAX_CHUNK_ROWS = 10_000


class ExportFormat(enum.Enum):
    CSV = "csv"
    JSONL = "jsonl"
    ARROW = "arrow"  # Parquet's chunks: the client writes them into the Parquet file


Encoder = Callable[[ExportTable[Any], Sequence[Any], bool], bytes]
_ENCODERS: dict[ExportFormat, Encoder] = {
    ExportFormat.CSV: csv_chunk, ExportFormat.JSONL: jsonl_chunk, ExportFormat.ARROW: arrow_chunk}


@dataclass(frozen=True)
class ExportSource(Generic[L]):
    """One view with its filters bound: its columns, how to read a page of it (and a page token, as its List
    RPC reads one: the size it gives does not matter), and how to count it."""

    table: ExportTable[L]
    page_request: Callable[[str], PageRequest]
    page: Callable[[Caller, PageRequest], Awaitable[Page[L]]]
    count: Callable[[Caller], Awaitable[int]] | None = None
    # The same pages written as CSV by the database, where it can (a view of millions of rows on
    # PostgreSQL): what csv_chunk makes of page()'s lines, with the same tokens. None: Python formats them.
    csv_page: Callable[[Caller, PageRequest], Awaitable[EncodedPage]] | None = None


@dataclass(frozen=True, slots=True)
class EncodedPage:
    """A page of a view in an export's format."""

    data: bytes  # csv_page's: CSV rows, without the header row
    row_count: int
    next_page_token: str  # "" on the view's last page


@dataclass(frozen=True, slots=True)
class ExportChunk:
    data: bytes
    row_count: int
    resume_token: str  # "" on the last chunk
    total_rows: int  # 0 when the view is not counted


# A page of an export: (caller, page, whether it is the export's first) -> its bytes, rows and next token.
PageReader = Callable[[Caller, PageRequest, bool], Awaitable["EncodedPage"]]


def chunk_rows(asked: int) -> int:
    """Rows per chunk: the asked number (0: the default), at most MAX_CHUNK_ROWS."""
    return min(asked or DEFAULT_CHUNK_ROWS, MAX_CHUNK_ROWS)


async def _settle(task: asyncio.Future[Any]) -> None:
    """A task this export no longer waits for, cancelled if still running and its outcome dropped."""
    if not task.done():
        task.cancel()
    with contextlib.suppress(BaseException):
        await task


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
        if export_format is ExportFormat.CSV and source.csv_page is not None:
            read = self._csv_reader(source.table, source.csv_page)
        else:
            read = self._line_reader(source, _ENCODERS[export_format])
        counting = asyncio.ensure_future(self._count(caller, source))  # beside the first page
        try:
            found = await read(caller, page, not resume_token)
            total = await counting
        finally:
            await _settle(counting)
        while True:
            # The next page is read while this one is sent: the database's time then overlaps ours. One page
            # ahead at most, so the memory stays two pages.
            following = asyncio.ensure_future(read(caller, self._page(
                source, rows_per_chunk, found.next_page_token), False)) if found.next_page_token else None
            await asyncio.sleep(0)  # lets it send its query before this page's formatting holds the loop
            try:
                yield ExportChunk(found.data, found.row_count, found.next_page_token, total)
            except BaseException:
                if following is not None:
                    await _settle(following)
                raise
            if following is None:
                return
            found = await following

    @staticmethod
    async def _count(caller: Caller, source: ExportSource[Any]) -> int:
        """The view's rows for the chunks' total_rows, counted beside the first page; 0 when the view has no
        count or its count ran past the statement timeout (tens of millions of rows on a busy database):
        a progress bar's total is not worth failing the export for."""
        if source.count is None:
            return 0
        try:
            return await source.count(caller)
        except Exception as error:
            if fault_of(error) is not Fault.STORE_TIMEOUT:
                raise
            log.warning("export_count_timed_out", view=source.table.view)
            return 0

    @staticmethod
    def _line_reader(source: ExportSource[L], encode: Encoder) -> PageReader:
        """Pages read as the view's lines and formatted here; the first one with the format's header."""
        async def read(caller: Caller, page: PageRequest, first: bool) -> EncodedPage:
            found = await source.page(caller, page)
            return EncodedPage(encode(source.table, found.items, first), len(found.items), found.next_page_token)
        return read

    @staticmethod
    def _csv_reader(table: ExportTable[L], csv_page: Callable[[Caller, PageRequest], Awaitable[EncodedPage]]
                    ) -> PageReader:
        """Pages written as CSV by the database; the first one after the header row, made here."""
        header = csv_chunk(table, [], True)

        async def read(caller: Caller, page: PageRequest, first: bool) -> EncodedPage:
            found = await csv_page(caller, page)
            return replace(found, data=header + found.data) if first else found
        return read

    @staticmethod
    def _page(source: ExportSource[Any], size: int, token: str) -> PageRequest:
        # The token read and checked as the List RPC reads it; the size is the export's, not capped at theirs.
        return PageRequest(size, source.page_request(token).after)
