"""The insight history view (docs/reporting.md#insight-history): every insight generated, tenant-wide."""

from __future__ import annotations

from server.domain.auth import Caller
from server.domain.pagination import (
    Page,
    PageRequest,
    instant_and_text_after,
    instant_and_text_key,
    page_request,
    paginate,
)
from server.domain.reporting.insight_history import InsightHistoryFilter, InsightHistoryLine, page_key
from server.services.reporting.history_common import authorize, period_of
from server.store.db import Database
from server.store.uow import UnitOfWork

# The page tokens' list names: a token of one order is refused by the other.
OLDEST_FIRST = "insight-history"
NEWEST_FIRST = "insight-history-desc"


def list_name(wanted: InsightHistoryFilter) -> str:
    return NEWEST_FIRST if wanted.newest_first else OLDEST_FIRST


class InsightHistoryService:
    def __init__(self, database: Database) -> None:
        self._database = database

    @staticmethod
    def page_request(wanted: InsightHistoryFilter, page_size: int, page_token: str) -> PageRequest:
        """The page a List request (or an export's resume token) asks for; the token checked against the order."""
        return page_request(page_size, page_token, list_name(wanted), instant_and_text_key)

    async def page(self, caller: Caller, wanted: InsightHistoryFilter, page: PageRequest) -> Page[InsightHistoryLine]:
        """By creation time, oldest (or newest) first; the page token holds [created, feed item id]."""
        authorize(caller)
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            created = await period_of(uow, wanted.create_dates)
            found = await uow.insight_history.page(wanted, created, instant_and_text_after(page.after), page.size + 1)
        return paginate(found, page, list_name(wanted), page_key)

    async def count(self, caller: Caller, wanted: InsightHistoryFilter) -> int:
        """The rows `page` reads with these filters (one COUNT of the tenant's feed items), for an export's
        progress."""
        authorize(caller)
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            return await uow.insight_history.count(wanted, await period_of(uow, wanted.create_dates))
