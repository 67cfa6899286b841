"""Unit of work: one database transaction, rolled back unless commit() is called."""

from __future__ import annotations

from types import TracebackType

from sqlalchemy.ext.asyncio import AsyncSession

from server.store.db import Database
from server.store.repositories.accounts import AccountsRepository
from server.store.repositories.balances import DailyBalancesRepository
from server.store.repositories.campaigns import CampaignsRepository
from server.store.repositories.contacts import ContactsRepository
from server.store.repositories.customers import CustomersRepository
from server.store.repositories.deliveries import DeliveriesRepository, OutboxRepository
from server.store.repositories.engagement_bindings import InsightNotificationsRepository, TransactionAlertsRepository
from server.store.repositories.engagement_setup import (
    AppsRepository,
    ChannelConfigsRepository,
    EventsRepository,
    EventTypesRepository,
    TemplatesRepository,
)
from server.store.repositories.feed import FeedRepository
from server.store.repositories.holdings import HoldingsRepository
from server.store.repositories.ingest_events import IngestEventsRepository
from server.store.repositories.insight_batches import InsightBatchesRepository
from server.store.repositories.month_end_balances import MonthEndBalancesRepository
from server.store.repositories.otps import OtpsRepository
from server.store.repositories.subscriptions import SubscriptionsRepository
from server.store.repositories.tenants import TenantsRepository
from server.store.repositories.transactions import TransactionsRepository
from server.store.repositories.trigger_reads import TriggerReadsRepository


class UnitOfWork:
    session: AsyncSession

    def __init__(self, database: Database, tenant_id: str | None = None) -> None:
        self._database = database
        self._tenant_id = tenant_id

    @property
    def tenant_id(self) -> str:
        if self._tenant_id is None:
            raise ValueError("this unit of work is not bound to a tenant")
        return self._tenant_id

    async def __aenter__(self) -> UnitOfWork:
        self.session = self._database.sessions()
        self.tenants = TenantsRepository(self.session)
        self.ingest_events = IngestEventsRepository(self.session)
        self.outbox = OutboxRepository(self.session)
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
            self.apps = AppsRepository(self.session, tenant)
            self.event_types = EventTypesRepository(self.session, tenant)
            self.contacts = ContactsRepository(self.session, tenant)
            self.channel_configs = ChannelConfigsRepository(self.session, tenant)
            self.templates = TemplatesRepository(self.session, tenant)
            self.events = EventsRepository(self.session, tenant)
            self.deliveries = DeliveriesRepository(self.session, tenant)
            self.transaction_alerts = TransactionAlertsRepository(self.session, tenant)
            self.insight_notifications = InsightNotificationsRepository(self.session, tenant)
            self.campaigns = CampaignsRepository(self.session, tenant)
            self.otps = OtpsRepository(self.session, tenant)
            self.trigger_reads = TriggerReadsRepository(self.session, tenant)
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        try:
            await self.session.rollback()
        finally:
            await self.session.close()

    async def commit(self) -> None:
        await self.session.commit()
