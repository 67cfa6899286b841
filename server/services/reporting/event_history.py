"""The event history view (docs/reporting.md#event-history): deliveries, banner impressions and clicks,
rule firings, campaign steps and journey steps, tenant-wide, in one ordered stream."""

from __future__ import annotations

from server.domain.auth import Caller
from server.domain.pagination import Page, PageRequest, next_page_token, page_request, paginate
from server.domain.reporting.event_history import (
    EventHistoryFilter,
    EventHistoryLine,
    key_of,
    page_key,
    parse_key,
)
from server.domain.reporting.export_columns import ExportTable
from server.services.reporting.exports import EncodedPage
from server.services.reporting.history_common import authorize, period_of
from server.store.db import Database
from server.store.uow import UnitOfWork

# The page tokens' list names: a token of one order is refused by the other.
OLDEST_FIRST = "event-history"
NEWEST_FIRST = "event-history-desc"


def list_name(wanted: EventHistoryFilter) -> str:
    return NEWEST_FIRST if wanted.newest_first else OLDEST_FIRST


class EventHistoryService:
    def __init__(self, database: Database) -> None:
        self._database = database

    @staticmethod
    def page_request(wanted: EventHistoryFilter, page_size: int, page_token: str) -> PageRequest:
        """The page a List request (or an export's resume token) asks for; the token checked against the order.
        Its key is parsed here: page.after is an EventKey."""
        return page_request(page_size, page_token, list_name(wanted), parse_key)

    async def page(self, caller: Caller, wanted: EventHistoryFilter, page: PageRequest) -> Page[EventHistoryLine]:
        """By (time, kind, id), oldest (or newest) first; the page token holds [time, kind, id]."""
        authorize(caller)
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            occurred = await period_of(uow, wanted.occur_dates)
            found = await uow.event_history.page(wanted, occurred, page.after, page.size + 1)
        return paginate(found, page, list_name(wanted), page_key)

    async def count(self, caller: Caller, wanted: EventHistoryFilter) -> int:
        """The rows `page` reads with these filters, for an export's progress."""
        authorize(caller)
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            return await uow.event_history.count(wanted, await period_of(uow, wanted.occur_dates))

    @property
    def writes_csv(self) -> bool:
        """Whether the database writes an export's CSV pages itself (PostgreSQL's COPY)."""
        return self._database.dialect == "postgresql"

    async def csv_page(self, caller: Caller, wanted: EventHistoryFilter, page: PageRequest,
                       table: ExportTable[EventHistoryLine]) -> EncodedPage:
        """The rows `page` asks for as `table`'s CSV rows, written by PostgreSQL (writes_csv): the same
        rows, in the same order and text, as csv_chunk makes of page()'s lines, with the same tokens."""
        authorize(caller)
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            occurred = await period_of(uow, wanted.occur_dates)
            copied = await uow.event_history.copy_csv_page(wanted, occurred, page.after, page.size, table)
        token = next_page_token(list_name(wanted), key_of(copied.last)) if copied.last is not None else ""
        return EncodedPage(copied.data, copied.row_count, token)
