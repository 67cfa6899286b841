"""Insights use cases: catalogue, on-demand trigger, monthly batches in chunks, feed, interactions,
and the consumer that evaluates EVENT insights on each ingested batch."""

from __future__ import annotations

import datetime as dt
import uuid

import structlog

from server.domain.auth import Caller, Role
from server.domain.date_ranges import day_bounds
from server.domain.errors import FieldViolation, InvalidArgument, not_found
from server.domain.events import CreatedFeedItem, FeedItemsCreated, TransactionsPosted
from server.domain.insights.batches import Batch
from server.domain.insights.catalogue import Catalogue
from server.domain.insights.definition import InsightDefinition, TriggerType
from server.domain.insights.feed import FeedItem, Interaction, Origin
from server.domain.insights.periods import check_as_of
from server.domain.pagination import Page, PageRequest, paginate
from server.services.activity_metrics import NO_ACTIVITY_METRICS, ActivityMetrics
from server.services.clock import Clock, utc_now
from server.services.events import ChunkQueue, EventPublisher, announce_committed, hand_over
from server.services.insight_evaluation import EvaluationResult, evaluate_postings, evaluate_scheduled
from server.store.db import Database
from server.store.uow import UnitOfWork

log = structlog.get_logger(__name__)

# Measured with make bench (100k users, PostgreSQL): at 1,000 a fifth of the workers' time went to
# per-chunk bookkeeping; 2,500 ran about 20% faster; 5,000 no faster, with 15% more memory.
DEFAULT_CHUNK_SIZE = 2500
MAX_CHUNK_SIZE = 10000
# A chunk not finished this long after its batch started (or was last re-sent) is taken as lost.
CHUNK_LOST_AFTER = dt.timedelta(minutes=10)


class InsightsService:
    def __init__(self, database: Database, catalogue: Catalogue, queue: ChunkQueue, events: EventPublisher,
                 clock: Clock = utc_now, metrics: ActivityMetrics = NO_ACTIVITY_METRICS) -> None:
        self._database = database
        self._catalogue = catalogue
        self._queue = queue
        self._events = events
        self._clock = clock
        self._metrics = metrics

    async def _raise_feed_items_created(self, uow: UnitOfWork, tenant_id: str, items: list[FeedItem],
                                        origin: Origin) -> None:
        """New feed items are news (insight notifications react to them): the event is written in the
        transaction that writes the items, and they are counted once it commits."""
        if items:
            names = [i.insight_name for i in items]
            uow.after_commit(lambda: self._metrics.insights_generated(origin, names))
            created = tuple(CreatedFeedItem(i.feed_item_id, i.customer_id, i.insight_name, i.period) for i in items)
            await uow.domain_events.add(tenant_id, FeedItemsCreated(created), self._clock())

    def definitions(self, caller: Caller) -> list[InsightDefinition]:
        return list(self._catalogue)

    def _scheduled_names(self, names: list[str]) -> list[str]:
        for name in names:
            definition = self._catalogue.get(name)
            if definition is None:
                raise not_found("insight", name)
            if definition.trigger_type is not TriggerType.SCHEDULE:
                raise InvalidArgument("NOT_A_SCHEDULED_INSIGHT", f"{name} is evaluated on events, not on demand",
                                      violations=[FieldViolation("insight_names", f"{name} is an EVENT insight")])
        return names

    async def _today(self, uow: UnitOfWork, tenant_id: str) -> dt.date:
        return self._clock().astimezone(await uow.tenants.zone(tenant_id)).date()

    # -- on demand ------------------------------------------------------------------------------

    async def trigger(self, caller: Caller, customer_id: str, names: list[str], as_of: dt.date | None
                      ) -> EvaluationResult:
        """POST /insights/trigger: evaluates now; returns only what this call generated, and for each
        insight that generated nothing, why."""
        caller.require_role(Role.USER, Role.SERVICE)
        customer_id = _user_of(caller, customer_id)
        names = self._scheduled_names(names)
        if as_of is not None:
            check_as_of(as_of)
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            if await uow.customers.get(customer_id) is None:
                raise not_found("customer", customer_id)
            as_of = as_of or await self._today(uow, caller.tenant_id)
            result = await evaluate_scheduled(uow, self._catalogue, as_of=as_of, now=self._clock(),
                                              customer_ids=[customer_id], names=names or None, explain=True,
                                              origin=Origin.ON_DEMAND)
            await self._raise_feed_items_created(uow, caller.tenant_id, result.generated, Origin.ON_DEMAND)
            await uow.commit()
        await announce_committed(self._events, uow.domain_events.added)
        return result

    # -- batches --------------------------------------------------------------------------------

    async def run_batch(self, caller: Caller, as_of: dt.date | None, chunk_size: int) -> Batch:
        caller.require_role(Role.BANK_ADMIN)
        if not 0 <= chunk_size <= MAX_CHUNK_SIZE:
            raise InvalidArgument("INVALID_CHUNK_SIZE", f"chunk_size must be 1-{MAX_CHUNK_SIZE}",
                                  violations=[FieldViolation("chunk_size", f"1-{MAX_CHUNK_SIZE}")])
        if as_of is not None:
            check_as_of(as_of)
        return await self.start_batch(caller.tenant_id, as_of, chunk_size or DEFAULT_CHUNK_SIZE)

    async def start_batch(self, tenant_id: str, as_of: dt.date | None, chunk_size: int = DEFAULT_CHUNK_SIZE
                          ) -> Batch:
        """One batch per tenant and as-of date: starting it again returns the first (and re-sends its
        unfinished chunks)."""
        async with UnitOfWork(self._database, tenant_id) as uow:
            as_of = as_of or await self._today(uow, tenant_id)
            batch = await uow.insight_batches.by_as_of(as_of)
            if batch is None:
                ranges = await uow.insight_batches.customer_ranges(chunk_size)
                await uow.insight_batches.add(uuid.uuid4().hex, as_of, ranges, self._clock())
                batch = await uow.insight_batches.by_as_of(as_of)
                await uow.commit()
            assert batch is not None
            pending = [c.chunk_number for c in await uow.insight_batches.chunks(batch.batch_id, only_pending=True)]
        if pending:
            # Not taken: the lost-chunk sweep re-sends them after CHUNK_LOST_AFTER.
            await hand_over(self._queue.enqueue_insight_chunks(tenant_id, batch.batch_id, pending),
                            "insight_chunks_not_enqueued", tenant=tenant_id, batch=batch.batch_id)
        log.info("insight_batch_started", tenant=tenant_id, batch=batch.batch_id, as_of=str(as_of),
                 chunks=batch.total_chunks)
        return batch

    async def get_batch(self, caller: Caller, batch_id: str) -> Batch:
        caller.require_role(Role.BANK_ADMIN, Role.SERVICE)
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            batch = await uow.insight_batches.get(batch_id)
        if batch is None:
            raise not_found("insight_batch", batch_id)
        return batch

    async def list_batches(self, caller: Caller, page: PageRequest) -> Page[Batch]:
        """The latest as-of date first; the page token holds the last date shown (one batch per date)."""
        caller.require_role(Role.BANK_ADMIN, Role.SERVICE)
        before = None if page.after is None else dt.date.fromisoformat(page.after)
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            found = await uow.insight_batches.list_before(before, page.size + 1)
        return paginate(found, page, "insight_batches", lambda b: b.as_of.isoformat())

    async def evaluate_chunk(self, tenant_id: str, batch_id: str, chunk_number: int) -> int:
        """One job: evaluates the chunk's customers and marks it done in the same transaction, so a
        crash leaves nothing half-done and a retry after success changes nothing. A disabled tenant's
        chunk waits (the lost-chunk sweep sends it again once the tenant is enabled)."""
        async with UnitOfWork(self._database, tenant_id) as uow:
            batch = await uow.insight_batches.get(batch_id)
            chunk = await uow.insight_batches.chunk(batch_id, chunk_number)
            if batch is None or chunk is None or chunk.done:
                return 0
            tenant = await uow.tenants.get(tenant_id)
            if tenant is None or tenant.disabled:
                return 0
            customers = await uow.customers.ids_in_range(chunk.first_customer_id, chunk.last_customer_id)
            result = await evaluate_scheduled(uow, self._catalogue, as_of=batch.as_of, now=self._clock(),
                                              customer_ids=customers,
                                              id_range=(chunk.first_customer_id, chunk.last_customer_id))
            await uow.insight_batches.complete_chunk(batch_id, chunk_number, result.users_evaluated,
                                                     len(result.generated), self._clock())
            await self._raise_feed_items_created(uow, tenant_id, result.generated, Origin.SCHEDULE)
            await uow.commit()
        await announce_committed(self._events, uow.domain_events.added)
        return len(result.generated)

    async def start_due_batches(self) -> list[str]:
        """The monthly schedule: on the 1st in each enabled tenant's time zone, its batch as of that day."""
        async with UnitOfWork(self._database) as uow:
            tenants = [t for t in await uow.tenants.list() if not t.disabled]
        started = []
        for tenant in tenants:
            today = self._clock().astimezone(tenant.zone).date()
            if today.day == 1:
                started.append((await self.start_batch(tenant.tenant_id, today)).batch_id)
        return started

    async def resend_lost_chunks(self) -> int:
        """Re-sends the unfinished chunks of batches that have been running for a while (Redis may lose
        jobs); evaluating a chunk twice is harmless. Not a disabled tenant's (found again once enabled)."""
        cutoff = self._clock() - CHUNK_LOST_AFTER
        async with UnitOfWork(self._database) as uow:
            tenants = [t.tenant_id for t in await uow.tenants.list() if not t.disabled]
        resent = 0
        for tenant_id in tenants:
            async with UnitOfWork(self._database, tenant_id) as uow:
                for batch in await uow.insight_batches.unfinished(cutoff):
                    pending = [c.chunk_number for c in await uow.insight_batches.chunks(batch.batch_id, True)]
                    await self._queue.enqueue_insight_chunks(tenant_id, batch.batch_id, pending,
                                                             resend=int(self._clock().timestamp()))
                    resent += len(pending)
        return resent

    # -- feed -----------------------------------------------------------------------------------

    async def feed(self, caller: Caller, customer_id: str, names: list[str], since: dt.date | None,
                   until: dt.date | None, page: PageRequest) -> Page[FeedItem]:
        caller.require_role(Role.USER, Role.SERVICE, Role.BANK_ADMIN)
        customer_id = _user_of(caller, customer_id)
        for name in names:
            if self._catalogue.get(name) is None:
                raise not_found("insight", name)
        start, end = day_bounds(since, until)
        before = None
        if page.after is not None:
            try:
                before = (dt.datetime.fromisoformat(page.after[0]), str(page.after[1]))
            except (ValueError, TypeError, IndexError) as exc:
                raise InvalidArgument("INVALID_PAGE_TOKEN", "page_token is not one this list returned") from exc
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            if await uow.customers.get(customer_id) is None:
                raise not_found("customer", customer_id)
            found = await uow.feed.valid_newest_first(customer_id, names=names, since=start, until=end,
                                                      before=before, now=self._clock(), limit=page.size + 1)
        return paginate(found, page, "feed", lambda i: [i.created_at.isoformat(), i.feed_item_id])

    async def record_interaction(self, caller: Caller, customer_id: str, feed_item_id: str,
                                 interaction: Interaction) -> dt.datetime:
        caller.require_role(Role.USER, Role.SERVICE)
        customer_id = _user_of(caller, customer_id)
        now = self._clock()
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            if await uow.feed.get(customer_id, feed_item_id) is None:
                raise not_found("feed_item", feed_item_id)
            await uow.feed.record_interaction(feed_item_id, interaction, caller.subject, now)
            await uow.commit()
        return now

    # -- events ---------------------------------------------------------------------------------

    async def on_transactions_posted(self, uow: UnitOfWork, tenant_id: str, event: TransactionsPosted) -> None:
        """Bus handler: EVENT insights for the postings of a committed batch (each at most once per
        customer, insight and period: a re-run generates nothing new). History is no news."""
        if not event.live:
            return
        generated = await evaluate_postings(uow, self._catalogue, event.postings, self._clock())
        await self._raise_feed_items_created(uow, tenant_id, generated, Origin.EVENT)
        if generated:
            log.info("event_insights_generated", tenant=tenant_id, count=len(generated))


def _user_of(caller: Caller, customer_id: str) -> str:
    if caller.is_user:
        customer_id = customer_id or caller.subject
    if not customer_id:
        raise InvalidArgument("MISSING_CUSTOMER_ID", "customer_id is required",
                              violations=[FieldViolation("customer_id", "is required")])
    caller.require_customer_access(customer_id)
    return customer_id
