"""Unit of work: one database transaction, rolled back unless commit() is called."""

from __future__ import annotations

from types import TracebackType

from sqlalchemy.ext.asyncio import AsyncSession

from server.store.db import Database
from server.store.repositories.accounts import AccountsRepository
from server.store.repositories.balances import DailyBalancesRepository
from server.store.repositories.customers import CustomersRepository
from server.store.repositories.feed import FeedRepository
from server.store.repositories.holdings import HoldingsRepository
from server.store.repositories.ingest_events import IngestEventsRepository
from server.store.repositories.insight_batches import InsightBatchesRepository
from server.store.repositories.month_end_balances import MonthEndBalancesRepository
from server.store.repositories.subscriptions import SubscriptionsRepository
from server.store.repositories.tenants import TenantsRepository
from server.store.repositories.transactions import TransactionsRepository


class UnitOfWork:
    session: AsyncSession

    def __init__(self, database: Database, tenant_id: str | None = None) -> None:
        self._database = database
        self._tenant_id = tenant_id

    async def __aenter__(self) -> UnitOfWork:
        self.session = self._database.sessions()
        self.tenants = TenantsRepository(self.session)
        self.ingest_events = IngestEventsRepository(self.session)
        if self._tenant_id is not None:
            tenant = self._tenant_id
            self.customers = CustomersRepository(self.session, tenant)
            self.accounts = AccountsRepository(self.session, tenant)
            self.holdings = HoldingsRepository(self.session, tenant)
            self.transactions = TransactionsRepository(self.session, tenant)
            self.balances = DailyBalancesRepository(self.session, tenant)
            self.subscriptions = SubscriptionsRepository(self.session, tenant)
            self.feed = FeedRepository(self.session, tenant)
            self.month_end_balances = MonthEndBalancesRepository(self.session, tenant)
            self.insight_batches = InsightBatchesRepository(self.session, tenant)
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        try:
            await self.session.rollback()
        finally:
            await self.session.close()

    async def commit(self) -> None:
        await self.session.commit()
