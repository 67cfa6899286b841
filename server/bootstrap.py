"""Wires the store, the queue and the use cases: one place, used by the server, workers and CLI."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field

import structlog
from arq import ArqRedis

from server.config import Settings
from server.domain.engagement.egress import EgressPolicy
from server.domain.events import (
    AccountsChanged,
    AuthorizationsRecorded,
    BalancesRecorded,
    CustomerAttributesChanged,
    DerivedAttributesRefreshRequested,
    FeedItemsCreated,
    HoldingsChanged,
    PersonaEvaluationRequested,
    PersonaMembershipChanged,
    ScheduledPaymentsChanged,
    TransactionsPosted,
)
from server.domain.insights.catalogue import Catalogue, default_catalogue
from server.domain.triggers.parts import PARTS
from server.metrics import PrometheusActivityMetrics
from server.queue import ArqPublisher, open_queue
from server.security.receipt_urls import ReceiptUrls
from server.security.secret_box import SecretBox
from server.services.audiences import AudiencesService
from server.services.bus import EventHandler, EventHandlers, MessageBus
from server.services.campaigns import CampaignService
from server.services.delivery_receipts import DeliveryReceiptsService
from server.services.derived_attributes import DerivedAttributesService
from server.services.engagement import EngagementService
from server.services.engagement_setup import EngagementSetupService
from server.services.events import NoPublisher, Queue
from server.services.goals.funding import GoalFundingService
from server.services.goals.management import GoalsService
from server.services.goals.reports import GoalReportsService
from server.services.goals.tracking import GoalTrackingService
from server.services.in_process import InProcessHandlers
from server.services.ingestion import IngestionService
from server.services.insights import InsightsService
from server.services.journeys import JourneysService
from server.services.otp import OtpService
from server.services.payment_alerts import PaymentAlertsService
from server.services.personas import PersonasService
from server.services.products import ProductsService
from server.services.reporting.event_history import EventHistoryService
from server.services.reporting.exports import ExportService
from server.services.reporting.goals_summary import GoalsSummaryService
from server.services.reporting.insight_history import InsightHistoryService
from server.services.reporting.metrics import MetricsService
from server.services.statements import StatementsService
from server.services.subscriptions import SubscriptionsService
from server.services.tenants import TenantService
from server.services.triggers.actions import TriggerActions
from server.services.triggers.banners import BannersService
from server.services.triggers.evaluation import TriggerEvaluationService
from server.services.triggers.live_rules import InProcessTriggers
from server.services.triggers.notifications import BankNotificationsService
from server.services.triggers.offers import OffersService
from server.services.triggers.rules import TriggerRulesService
from server.services.wallet_passes import WalletPassService
from server.store.db import Database, open_database
from server.transfer_stream import RedisTransferStream

log = structlog.get_logger(__name__)


@dataclass
class Services:
    settings: Settings
    database: Database
    redis: ArqRedis | None
    publisher: Queue
    tenants: TenantService
    ingestion: IngestionService
    bus: MessageBus
    catalogue: Catalogue
    insights: InsightsService
    subscriptions: SubscriptionsService
    secret_box: SecretBox
    receipt_urls: ReceiptUrls
    delivery_receipts: DeliveryReceiptsService
    wallet_passes: WalletPassService
    engagement_setup: EngagementSetupService
    engagement: EngagementService
    campaigns: CampaignService
    otp: OtpService
    goals: GoalsService
    goal_tracking: GoalTrackingService
    goal_funding: GoalFundingService
    goal_reports: GoalReportsService
    insight_history: InsightHistoryService
    event_history: EventHistoryService
    personas: PersonasService
    products: ProductsService
    audiences: AudiencesService
    journeys: JourneysService
    bank_notifications: BankNotificationsService
    offers: OffersService
    trigger_rules: TriggerRulesService
    banners: BannersService
    trigger_evaluation: TriggerEvaluationService
    statements: StatementsService
    payment_alerts: PaymentAlertsService
    engagement_metrics: MetricsService
    goals_summary: GoalsSummaryService
    in_process: InProcessHandlers | None = None
    exports: ExportService = field(default_factory=ExportService)

    async def warm_up(self) -> None:
        """Before the server takes calls, when it runs trigger_rules itself: each enabled tenant's live rules
        compiled (docs/triggers.md#latency), which the first live batch did on its banner's path (the
        condition parser's first use alone took some 40 ms). Best effort: a failure is logged, and the
        first batch compiles them as it would have."""
        if self.in_process is None:
            return
        try:
            tenants = [tenant.tenant_id for tenant in await self.tenants.list() if not tenant.disabled]
            await self.trigger_evaluation.warm_up(tenants)
        except Exception as exc:
            log.warning("trigger_rules_not_warmed_up", error=repr(exc))

    async def close(self) -> None:
        if self.in_process is not None:
            await self.in_process.close()
        if self.redis is not None:
            await self.redis.aclose()
        await self.database.dispose()


# A bus job handles the tenant's next pending TransactionsPosted with its own, each handler once for them
# all (server.services.bus): each handler's transaction, claims and reads are shared between events,
# half of the bus's work when each event had a job of its own (docs/events.md#costs).
EVENTS_PER_JOB = 10
# trigger_rules in parts, by customer (server.domain.triggers.parts): each part a handler of its own, so
# that busy jobs overlap part by part instead of waiting for each other's accounts whole. The names are
# recorded progress; the one handler of before is taken as having done every part.
TRIGGER_RULES_HANDLERS = tuple(f"trigger_rules_{part + 1}_of_{PARTS}" for part in range(PARTS))


def is_live(event: TransactionsPosted) -> bool:
    return event.live


def event_handlers(insights: InsightsService, engagement: EngagementService,
                   goal_funding: GoalFundingService, goal_tracking: GoalTrackingService,
                   personas: PersonasService, derived_attributes: DerivedAttributesService,
                   triggers: TriggerEvaluationService, payment_alerts: PaymentAlertsService) -> EventHandlers:
    """EVENT_HANDLERS: which use cases react to which domain event, in the order they run. A handler's
    name is its recorded progress (see server.services.bus): keep it when the code moves."""
    return {
        TransactionsPosted: [
            # First: its banners are awaited by a customer's session (docs/triggers.md#latency).
            # In order: an account's day series depends on the order its postings are applied in.
            *(EventHandler(name, *triggers.part_handler(part), replaces=("trigger_rules",), in_order=True)
              for part, name in enumerate(TRIGGER_RULES_HANDLERS)),
            # History (backfill) is no news: it concerns only the handlers below that keep state.
            EventHandler("event_insights", insights.on_transactions_posted, wants=is_live),
            EventHandler("transaction_alerts", engagement.on_transactions_posted, wants=is_live),
            EventHandler("goal_allocation", goal_tracking.on_transactions_posted, hold=goal_tracking.hold_for_postings),
            EventHandler("goal_funding_rules", goal_funding.on_transactions_posted,
                         wants=goal_funding.wants_transactions_posted),
            EventHandler("derived_attributes_salary", derived_attributes.on_transactions_posted,
                         wants=derived_attributes.wants_transactions_posted),
        ],
        # PENDING and DECLINED transactions: no balance moved, so only alerts that ask for them.
        AuthorizationsRecorded: [
            EventHandler("transaction_alerts_authorizations", engagement.on_authorizations_recorded),
        ],
        FeedItemsCreated: [
            EventHandler("insight_notifications", engagement.on_feed_items_created),
        ],
        BalancesRecorded: [
            EventHandler("trigger_rules_balances", triggers.on_balances_recorded),
            EventHandler("derived_attributes_balances", derived_attributes.on_balances_recorded),
        ],
        AccountsChanged: [
            EventHandler("derived_attributes_accounts", derived_attributes.on_accounts_changed,
                         wants=derived_attributes.wants_accounts_changed),
        ],
        CustomerAttributesChanged: [
            EventHandler("persona_membership", personas.on_customer_attributes_changed),
            EventHandler("derived_attributes_birth_date", derived_attributes.on_customer_attributes_changed,
                         wants=derived_attributes.wants_customer_attributes_changed),
        ],
        HoldingsChanged: [
            EventHandler("persona_membership_holdings", personas.on_holdings_changed),
        ],
        # Written for whoever reacts to joining or leaving: trigger audiences read the kept memberships.
        PersonaMembershipChanged: [],
        PersonaEvaluationRequested: [
            EventHandler("persona_full_evaluation", personas.on_persona_evaluation_requested),
        ],
        DerivedAttributesRefreshRequested: [
            EventHandler("derived_attributes_refresh", derived_attributes.on_refresh_requested),
        ],
        ScheduledPaymentsChanged: [
            EventHandler("payment_notices", payment_alerts.on_scheduled_payments_changed),
        ],
    }


async def build_services(settings: Settings, *, with_queue: bool = True,
                         statement_timeout_seconds: float | None = None) -> Services:
    """`statement_timeout_seconds`: the bound of one database statement, when not the calls' own
    (ENGAGE_DB_STATEMENT_TIMEOUT_SECONDS): the workers run longer ones."""
    database = open_database(settings.effective_database_url(), pool_size=settings.db_pool_size,
                             connect_timeout=settings.db_connect_timeout_seconds,
                             pool_timeout=settings.db_pool_timeout_seconds,
                             statement_timeout=statement_timeout_seconds or settings.db_statement_timeout_seconds)
    redis = None
    publisher: Queue = NoPublisher()
    if with_queue:
        if not settings.redis_url:
            raise RuntimeError("REDIS_URL is not set (make run starts a local Redis and sets it)")
        redis = await open_queue(settings.redis_url)
        publisher = ArqPublisher(redis, settings.queue_name)
    catalogue = default_catalogue()
    activity_metrics = PrometheusActivityMetrics()
    insights = InsightsService(database, catalogue, publisher, publisher, metrics=activity_metrics)
    keys = settings.secret_keys()
    box = SecretBox.from_keys(keys)
    engagement = EngagementService(database, box, publisher)
    goal_funding = GoalFundingService(
        database, publisher, stream=None if redis is None else RedisTransferStream(redis, settings.queue_name))
    goal_tracking = GoalTrackingService(database, publisher, catalogue=catalogue, metrics=activity_metrics)
    personas = PersonasService(database, publisher)
    derived_attributes = DerivedAttributesService(database, publisher)
    bank_notifications = BankNotificationsService(
        database, box, publisher, EgressPolicy.from_setting(settings.provider_networks_allowed))
    trigger_evaluation = TriggerEvaluationService(database, TriggerActions(engagement, bank_notifications),
                                                  metrics=activity_metrics)
    payment_alerts = PaymentAlertsService(database, engagement)
    bus = MessageBus(database, publisher, event_handlers(insights, engagement, goal_funding, goal_tracking, personas,
                                                         derived_attributes, trigger_evaluation, payment_alerts),
                     events_per_job=EVENTS_PER_JOB, jobs_at_once=settings.bus_jobs_per_worker)
    # The server's own run of trigger_rules after an ingest commit (docs/triggers.md#latency). Not on
    # SQLite: its one writer would make the next batch's commit wait for it.
    in_process = (InProcessHandlers(bus, TRIGGER_RULES_HANDLERS,
                                    trigger_evaluation.parts_together(TRIGGER_RULES_HANDLERS),
                                    gate=InProcessTriggers(database))
                  if with_queue and settings.triggers_in_process and database.dialect == "postgresql" else None)
    ingestion = IngestionService(database, publisher, live_window=settings.live_window(),
                                 committed=None if in_process is None else in_process.committed,
                                 gather_seconds=settings.bus_gather_seconds)
    otp_hash_key = hashlib.sha256(b"engage-otp:" + keys[0].encode()).digest()
    tenants = TenantService(database, cache_lifetime=dt.timedelta(seconds=settings.tenant_cache_seconds))
    return Services(settings=settings, database=database, redis=redis, publisher=publisher, tenants=tenants,
                    ingestion=ingestion,
                    bus=bus,
                    catalogue=catalogue, insights=insights,
                    subscriptions=SubscriptionsService(database, catalogue), secret_box=box,
                    receipt_urls=ReceiptUrls(settings.receipts_base_url or "", keys),
                    delivery_receipts=DeliveryReceiptsService(
                        database, box, ReceiptUrls(settings.receipts_base_url or "", keys), engagement),
                    wallet_passes=WalletPassService(database, box, tenant_active=tenants.is_active),
                    engagement_setup=EngagementSetupService(
                        database, box, catalogue, EgressPolicy.from_setting(settings.provider_networks_allowed)),
                    engagement=engagement,
                    campaigns=CampaignService(database, box, publisher, engagement),
                    otp=OtpService(database, box, otp_hash_key, engagement,
                                   dt.timedelta(seconds=settings.otp_ttl_seconds), settings.otp_max_attempts,
                                   settings.otp_digits, settings.otp_max_sends_per_hour),
                    goals=GoalsService(database, publisher, max_active_goals=settings.goals_max_active),
                    goal_tracking=goal_tracking,
                    goal_funding=goal_funding,
                    goal_reports=GoalReportsService(database, publisher),
                    insight_history=InsightHistoryService(database), event_history=EventHistoryService(database),
                    personas=personas,
                    products=ProductsService(database), audiences=AudiencesService(database),
                    bank_notifications=bank_notifications,
                    journeys=JourneysService(database, publisher, personas),
                    offers=OffersService(database),
                    trigger_rules=TriggerRulesService(database), banners=BannersService(database),
                    trigger_evaluation=trigger_evaluation,
                    statements=StatementsService(database, publisher, ingestion), payment_alerts=payment_alerts,
                    engagement_metrics=MetricsService(database), goals_summary=GoalsSummaryService(database),
                    in_process=in_process)
