"""Wires the store, the queue and the use cases: one place, used by the server, workers and CLI."""

from __future__ import annotations

from dataclasses import dataclass

from arq import ArqRedis

from server.config import Settings
from server.domain.insights.catalogue import Catalogue, default_catalogue
from server.queue import ArqPublisher, open_queue
from server.services.events import EventPublisher, NoPublisher
from server.services.ingest_events import IngestEventsService
from server.services.ingestion import IngestionService
from server.services.insights import InsightsService
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

    async def close(self) -> None:
        if self.redis is not None:
            await self.redis.aclose()
        await self.database.dispose()


async def build_services(settings: Settings, *, with_queue: bool = True) -> Services:
    database = open_database(settings.effective_database_url(), pool_size=settings.db_pool_size)
    redis = None
    publisher: EventPublisher | ArqPublisher = NoPublisher()
    if with_queue:
        if not settings.redis_url:
            raise RuntimeError("REDIS_URL is not set (make run starts a local Redis and sets it)")
        redis = await open_queue(settings.redis_url)
        publisher = ArqPublisher(redis, settings.queue_name)
    catalogue = default_catalogue()
    insights = InsightsService(database, catalogue, publisher)  # type: ignore[arg-type]
    return Services(settings=settings, database=database, redis=redis, publisher=publisher,
                    tenants=TenantService(database), ingestion=IngestionService(database, publisher),
                    # Each committed ingestion batch reaches the EVENT insights through the outbox.
                    ingest_events=IngestEventsService(database, publisher, [insights.on_transactions]),
                    catalogue=catalogue, insights=insights,
                    subscriptions=SubscriptionsService(database, catalogue))
