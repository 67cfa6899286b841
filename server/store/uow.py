"""Unit of work: one database transaction, rolled back unless commit() is called."""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Any, Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from server.store import driver
from server.store.db import Database
from server.store.errors import request_error
from server.store.repositories.accounts import AccountsRepository
from server.store.repositories.audiences import AudiencesRepository
from server.store.repositories.balances import DailyBalancesRepository
from server.store.repositories.bank_notifications import BankNotificationsRepository, WebhookDeliveriesSweep
from server.store.repositories.campaigns import CampaignsRepository, CampaignsSweep
from server.store.repositories.contacts import ContactsRepository
from server.store.repositories.customers import CustomersRepository
from server.store.repositories.deliveries import DeliveriesRepository, OutboxRepository
from server.store.repositories.domain_events import DomainEventsRepository
from server.store.repositories.early_receipts import EarlyReceiptsRepository, EarlyReceiptsSweep
from server.store.repositories.engagement_bindings import InsightNotificationsRepository, TransactionAlertsRepository
from server.store.repositories.engagement_metrics import EngagementMetricsRepository
from server.store.repositories.engagement_setup import (
    AppsRepository,
    ChannelConfigsRepository,
    EventsRepository,
    EventTypesRepository,
    TemplatesRepository,
)
from server.store.repositories.event_history import EventHistoryRepository
from server.store.repositories.feed import FeedRepository
from server.store.repositories.funding import FundingProgrammesRepository, GoalTransfersRepository
from server.store.repositories.goal_cash_flows import GoalCashFlowsRepository
from server.store.repositories.goal_reports import GoalReportsRepository
from server.store.repositories.goals import GoalEnrolmentsRepository, GoalHistoryRepository, GoalsRepository
from server.store.repositories.goals_summary import GoalsSummaryRepository
from server.store.repositories.holdings import HoldingsRepository
from server.store.repositories.insight_batches import InsightBatchesRepository
from server.store.repositories.insight_history import InsightHistoryRepository
from server.store.repositories.journeys import JourneyInstancesRepository, JourneyVersionsRepository
from server.store.repositories.month_end_balances import MonthEndBalancesRepository
from server.store.repositories.offers import OfferRecommendationsRepository, OfferSuggestionsRepository
from server.store.repositories.otps import OtpsRepository
from server.store.repositories.payments import (
    PaymentAlertsRepository,
    ScheduledPaymentsRepository,
    StatementsRepository,
)
from server.store.repositories.personas import (
    AttributeDefinitionsRepository,
    CustomerAttributeValuesRepository,
    PersonaMembersRepository,
    PersonasRepository,
    SegmentReadsRepository,
)
from server.store.repositories.products import ProductsRepository, ProductVersionsRepository
from server.store.repositories.references import ReferencesRepository
from server.store.repositories.subscriptions import SubscriptionsRepository
from server.store.repositories.tenants import TenantsRepository
from server.store.repositories.transactions import TransactionsRepository
from server.store.repositories.trigger_reads import TriggerReadsRepository
from server.store.repositories.trigger_runtime import TriggerRuntimeRepository
from server.store.repositories.triggers import BannersRepository, TriggerFiringsRepository, TriggerRulesRepository
from server.store.repositories.wallet_passes import WalletPassesRepository, WalletRegistrationsRepository

Repository = TypeVar("Repository")


class _Repository(Generic[Repository]):
    """A repository of the unit of work, made on first use: most units of work touch two or three of
    the twenty, and making all of them was a measurable part of a small request."""

    def __init__(self, make: Any, *, tenant_bound: bool = True) -> None:
        self._make = make
        self._tenant_bound = tenant_bound
        self._name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self._name = name

    def __get__(self, uow: UnitOfWork, owner: type) -> Repository:
        repository = self._make(uow.session, uow.tenant_id) if self._tenant_bound else self._make(uow.session)
        uow.__dict__[self._name] = repository  # later reads find the instance attribute first
        return repository


class UnitOfWork:
    session: AsyncSession

    tenants = _Repository[TenantsRepository](TenantsRepository, tenant_bound=False)
    domain_events = _Repository[DomainEventsRepository](DomainEventsRepository, tenant_bound=False)
    outbox = _Repository[OutboxRepository](OutboxRepository, tenant_bound=False)
    early_receipts_sweep = _Repository[EarlyReceiptsSweep](EarlyReceiptsSweep, tenant_bound=False)
    campaigns_sweep = _Repository[CampaignsSweep](CampaignsSweep, tenant_bound=False)
    webhook_deliveries_sweep = _Repository[WebhookDeliveriesSweep](WebhookDeliveriesSweep, tenant_bound=False)
    # Bound to the unit of work's tenant: reaching one of these without a tenant is a ValueError.
    customers = _Repository[CustomersRepository](CustomersRepository)
    accounts = _Repository[AccountsRepository](AccountsRepository)
    holdings = _Repository[HoldingsRepository](HoldingsRepository)
    transactions = _Repository[TransactionsRepository](TransactionsRepository)
    balances = _Repository[DailyBalancesRepository](DailyBalancesRepository)
    subscriptions = _Repository[SubscriptionsRepository](SubscriptionsRepository)
    feed = _Repository[FeedRepository](FeedRepository)
    month_end_balances = _Repository[MonthEndBalancesRepository](MonthEndBalancesRepository)
    insight_batches = _Repository[InsightBatchesRepository](InsightBatchesRepository)
    apps = _Repository[AppsRepository](AppsRepository)
    event_types = _Repository[EventTypesRepository](EventTypesRepository)
    contacts = _Repository[ContactsRepository](ContactsRepository)
    channel_configs = _Repository[ChannelConfigsRepository](ChannelConfigsRepository)
    templates = _Repository[TemplatesRepository](TemplatesRepository)
    events = _Repository[EventsRepository](EventsRepository)
    deliveries = _Repository[DeliveriesRepository](DeliveriesRepository)
    early_receipts = _Repository[EarlyReceiptsRepository](EarlyReceiptsRepository)
    transaction_alerts = _Repository[TransactionAlertsRepository](TransactionAlertsRepository)
    insight_notifications = _Repository[InsightNotificationsRepository](InsightNotificationsRepository)
    campaigns = _Repository[CampaignsRepository](CampaignsRepository)
    otps = _Repository[OtpsRepository](OtpsRepository)
    trigger_reads = _Repository[TriggerReadsRepository](TriggerReadsRepository)
    goal_enrolments = _Repository[GoalEnrolmentsRepository](GoalEnrolmentsRepository)
    goals = _Repository[GoalsRepository](GoalsRepository)
    goal_history = _Repository[GoalHistoryRepository](GoalHistoryRepository)
    goal_cash_flows = _Repository[GoalCashFlowsRepository](GoalCashFlowsRepository)
    funding_programmes = _Repository[FundingProgrammesRepository](FundingProgrammesRepository)
    goal_transfers = _Repository[GoalTransfersRepository](GoalTransfersRepository)
    goal_reports = _Repository[GoalReportsRepository](GoalReportsRepository)
    insight_history = _Repository[InsightHistoryRepository](InsightHistoryRepository)
    event_history = _Repository[EventHistoryRepository](EventHistoryRepository)
    engagement_metrics = _Repository[EngagementMetricsRepository](EngagementMetricsRepository)
    goals_summary = _Repository[GoalsSummaryRepository](GoalsSummaryRepository)
    attribute_definitions = _Repository[AttributeDefinitionsRepository](AttributeDefinitionsRepository)
    customer_attribute_values = _Repository[CustomerAttributeValuesRepository](CustomerAttributeValuesRepository)
    personas = _Repository[PersonasRepository](PersonasRepository)
    persona_members = _Repository[PersonaMembersRepository](PersonaMembersRepository)
    audiences = _Repository[AudiencesRepository](AudiencesRepository)
    segment_reads = _Repository[SegmentReadsRepository](SegmentReadsRepository)
    journey_versions = _Repository[JourneyVersionsRepository](JourneyVersionsRepository)
    journey_instances = _Repository[JourneyInstancesRepository](JourneyInstancesRepository)
    products = _Repository[ProductsRepository](ProductsRepository)
    product_versions = _Repository[ProductVersionsRepository](ProductVersionsRepository)
    trigger_rules = _Repository[TriggerRulesRepository](TriggerRulesRepository)
    trigger_firings = _Repository[TriggerFiringsRepository](TriggerFiringsRepository)
    banners = _Repository[BannersRepository](BannersRepository)
    trigger_runtime = _Repository[TriggerRuntimeRepository](TriggerRuntimeRepository)
    offer_recommendations = _Repository[OfferRecommendationsRepository](OfferRecommendationsRepository)
    offer_suggestions = _Repository[OfferSuggestionsRepository](OfferSuggestionsRepository)
    bank_notifications = _Repository[BankNotificationsRepository](BankNotificationsRepository)
    references = _Repository[ReferencesRepository](ReferencesRepository)
    wallet_passes = _Repository[WalletPassesRepository](WalletPassesRepository)
    wallet_registrations = _Repository[WalletRegistrationsRepository](WalletRegistrationsRepository)
    statements = _Repository[StatementsRepository](StatementsRepository)
    scheduled_payments = _Repository[ScheduledPaymentsRepository](ScheduledPaymentsRepository)
    payment_alerts = _Repository[PaymentAlertsRepository](PaymentAlertsRepository)

    def __init__(self, database: Database, tenant_id: str | None = None, *,
                 single_statement_write: bool = False) -> None:
        """`single_statement_write`: the caller writes with at most one statement (atomic by itself), so
        on PostgreSQL that statement may commit on its own instead of inside BEGIN ... COMMIT."""
        self._database = database
        self._tenant_id = tenant_id
        self._single_statement_write = single_statement_write
        self._after_commit: list[Callable[[], None]] = []

    @property
    def tenant_id(self) -> str:
        if self._tenant_id is None:
            raise ValueError("this unit of work is not bound to a tenant")
        return self._tenant_id

    async def __aenter__(self) -> UnitOfWork:
        self.session = self._database.sessions()
        if self._single_statement_write:
            self.session.info[driver.SINGLE_STATEMENT_WRITE] = True
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        try:
            await self.session.rollback()
        finally:
            await self.session.close()
        refused = request_error(exc)
        if refused is not None:
            raise refused from exc

    def writes_more(self) -> None:
        """The caller writes more than the one statement it declared (single_statement_write): its
        writes join one transaction again."""
        self.session.info.pop(driver.SINGLE_STATEMENT_WRITE, None)

    def after_commit(self, call: Callable[[], None]) -> None:
        """`call` runs once this unit of work has committed, never if it rolls back: counts of what it
        wrote (server.services.activity_metrics) move with what is really stored."""
        self._after_commit.append(call)

    async def commit(self) -> None:
        await self.session.commit()
        calls, self._after_commit = self._after_commit, []
        for call in calls:
            call()
