"""Wires the store, the queue and the use cases: one place, used by the server, workers and CLI."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

from arq import ArqRedis

from server.config import Settings
from server.domain.insights.catalogue import Catalogue, default_catalogue
from server.queue import ArqPublisher, open_queue
from server.security.receipt_urls import ReceiptUrls
from server.security.secret_box import SecretBox
from server.services.campaigns import CampaignService
from server.services.delivery_receipts import DeliveryReceiptsService
from server.services.engagement import EngagementService
from server.services.engagement_setup import EngagementSetupService
from server.services.events import EventPublisher, NoPublisher
from server.services.ingest_events import IngestEventsService
from server.services.ingestion import IngestionService
from server.services.insights import InsightsService
from server.services.otp import OtpService
from server.services.subscriptions import SubscriptionsService
from server.services.tenants import TenantService
from server.store.db import Database, open_database


@dataclass
class Services:
    settings: Settings
    database: Database
    redis: ArqRedis | None
    publisher: EventPublisher
    tenants: TenantService
    ingestion: IngestionService
    ingest_events: IngestEventsService
    catalogue: Catalogue
    insights: InsightsService
    subscriptions: SubscriptionsService
    secret_box: SecretBox
    receipt_urls: ReceiptUrls
    delivery_receipts: DeliveryReceiptsService
    engagement_setup: EngagementSetupService
    engagement: EngagementService
    campaigns: CampaignService
    otp: OtpService

    async def close(self) -> None:
        if self.redis is not None:
            await self.redis.aclose()
        await self.database.dispose()


async def build_services(settings: Settings, *, with_queue: bool = True,
                         statement_timeout_seconds: float | None = None) -> Services:
    """`statement_timeout_seconds`: the bound of one database statement, when not the calls' own
    (ENGAGE_DB_STATEMENT_TIMEOUT_SECONDS): the workers run longer ones."""
    database = open_database(settings.effective_database_url(), pool_size=settings.db_pool_size,
                             connect_timeout=settings.db_connect_timeout_seconds,
                             pool_timeout=settings.db_pool_timeout_seconds,
                             statement_timeout=statement_timeout_seconds or settings.db_statement_timeout_seconds)
    redis = None
    publisher: EventPublisher | ArqPublisher = NoPublisher()
    if with_queue:
        if not settings.redis_url:
            raise RuntimeError("REDIS_URL is not set (make run starts a local Redis and sets it)")
        redis = await open_queue(settings.redis_url)
        publisher = ArqPublisher(redis, settings.queue_name)
    catalogue = default_catalogue()
    insights = InsightsService(database, catalogue, publisher)  # type: ignore[arg-type]
    keys = settings.secret_keys()
    box = SecretBox.from_keys(keys)
    engagement = EngagementService(database, box, publisher)  # type: ignore[arg-type]
    # New feed items of insights bound to an event are sent too (insight notifications).
    insights.add_feed_listener(engagement)
    otp_hash_key = hashlib.sha256(b"engage-otp:" + keys[0].encode()).digest()
    return Services(settings=settings, database=database, redis=redis, publisher=publisher,
                    tenants=TenantService(database,
                                          cache_lifetime=dt.timedelta(seconds=settings.tenant_cache_seconds)),
                    ingestion=IngestionService(database, publisher, live_window=settings.live_window()),
                    # Each committed ingestion batch reaches the EVENT insights and the transaction alerts
                    # through the outbox.
                    ingest_events=IngestEventsService(database, publisher,
                                                      [insights.on_transactions, engagement.on_transactions]),
                    catalogue=catalogue, insights=insights,
                    subscriptions=SubscriptionsService(database, catalogue), secret_box=box,
                    receipt_urls=ReceiptUrls(settings.receipts_base_url or "", keys),
                    delivery_receipts=DeliveryReceiptsService(
                        database, box, ReceiptUrls(settings.receipts_base_url or "", keys), engagement),
                    engagement_setup=EngagementSetupService(database, box, catalogue), engagement=engagement,
                    campaigns=CampaignService(database, box, publisher, engagement),  # type: ignore[arg-type]
                    otp=OtpService(database, box, otp_hash_key, engagement,
                                   dt.timedelta(seconds=settings.otp_ttl_seconds), settings.otp_max_attempts,
                                   settings.otp_digits, settings.otp_max_sends_per_hour))
