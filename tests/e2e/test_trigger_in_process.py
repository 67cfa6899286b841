"""The server's own run of trigger_rules right after an ingest commit (docs/triggers.md#latency): the
banner is there before any worker ran, the event's job then skips the handler (no second firing) and
runs the others. PostgreSQL only: SQLite's server leaves it to the queue."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from server.bootstrap import TRIGGER_RULES_HANDLERS
from server.config import Settings
from server.domain.events import TransactionsPosted, kind_of
from server.domain.triggers.parts import part_of
from server.store.models import DomainEventHandlingRow, DomainEventRow
from tests.e2e.test_trigger_firing import TODAY, active_rule, banner, banners_of, firings_of, ingest, rule, with_account
from tests.integration.test_insight_batches import run_worker
from tests.support.builders import transaction

WAIT_SECONDS = 30.0  # a bound on a stuck test, not a measure: the bench times the path


@pytest.fixture
def settings(settings: Settings) -> Settings:
    if settings.database_url.startswith("sqlite"):
        pytest.skip("the server runs trigger_rules itself on PostgreSQL only")
    return settings.model_copy(update={"triggers_in_process": True})


async def _handlers_of_the_last_posting(services) -> tuple[set[str], bool]:
    async with services.database.sessions() as session:
        event_id, processed_at = (await session.execute(
            select(DomainEventRow.event_id, DomainEventRow.processed_at)
            .where(DomainEventRow.kind == kind_of(TransactionsPosted))
            .order_by(DomainEventRow.event_id.desc()).limit(1))).one()
        handlers = set(await session.scalars(select(DomainEventHandlingRow.handler)
                                             .where(DomainEventHandlingRow.event_id == event_id)))
    return handlers, processed_at is not None


async def test_the_banner_is_there_before_any_worker_and_fires_once(server, services, settings, tenant,
                                                                   service_stubs):
    name = await active_rule(server, tenant, "big_withdrawal", rule("withdrawal > 500", banner("Talk to us")))
    await with_account(service_stubs, "erin")
    await ingest(service_stubs, transaction("e1", "erin-chk", "600.00", "DEBIT", TODAY))

    waited = 0.0
    while await banners_of(service_stubs, "erin") != ["Talk to us"]:
        assert waited < WAIT_SECONDS, "the server did not run trigger_rules itself"
        await asyncio.sleep(0.05)
        waited += 0.05
    handlers, processed = await _handlers_of_the_last_posting(services)
    erins_part = TRIGGER_RULES_HANDLERS[part_of("erin")]  # the one part with a posting
    assert handlers == {erins_part} and not processed  # the rest is the queue's

    await run_worker(settings)
    handlers, processed = await _handlers_of_the_last_posting(services)
    assert erins_part in handlers and "event_insights" in handlers and processed
    assert await banners_of(service_stubs, "erin") == ["Talk to us"]
    assert len(await firings_of(server, tenant, name)) == 1


async def test_a_batch_of_several_parts_is_evaluated_at_once_and_records_each_part(server, services, settings,
                                                                                   tenant, service_stubs):
    """The server evaluates the postings of every part of a batch in one unit of work
    (MessageBus.run_together) and records each part's progress, so the job skips them all."""
    await active_rule(server, tenant, "big_withdrawal", rule("withdrawal > 500", banner("Talk to us")))
    owners = ["erin", "c1"]
    assert part_of("erin") != part_of("c1")
    for owner in owners:
        await with_account(service_stubs, owner)
    await ingest(service_stubs, *(transaction(f"{o}-t", f"{o}-chk", "600.00", "DEBIT", TODAY) for o in owners))

    waited = 0.0
    while [await banners_of(service_stubs, o) for o in owners] != [["Talk to us"]] * 2:
        assert waited < WAIT_SECONDS, "the server did not run trigger_rules itself"
        await asyncio.sleep(0.05)
        waited += 0.05
    handlers, processed = await _handlers_of_the_last_posting(services)
    assert handlers == {TRIGGER_RULES_HANDLERS[part_of(o)] for o in owners} and not processed
    async with services.database.sessions() as session:  # claimed in one unit of work: one time
        times = set(await session.scalars(select(DomainEventHandlingRow.finished_at).where(
            DomainEventHandlingRow.handler.in_(handlers))))
    assert len(times) == 1

    await run_worker(settings)
    handlers, processed = await _handlers_of_the_last_posting(services)
    assert "event_insights" in handlers and processed
    assert [await banners_of(service_stubs, o) for o in owners] == [["Talk to us"]] * 2
