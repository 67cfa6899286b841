"""The outbox's figures the server's /metrics reads when scraped (MessageBus.outbox_figures), on both
databases: pending events (abandoned ones apart), the age of the oldest of them, abandoned events, and
the counts stopped at their cap. And what counters hear of a unit of work: only what it committed."""

import datetime as dt

from sqlalchemy import update

from server.domain.events import CustomerAttributesChanged
from server.services.bus import MAX_RESENDS, MessageBus
from server.services.events import NoPublisher
from server.store.models import DomainEventRow
from server.store.uow import UnitOfWork

T0 = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)


async def test_pending_oldest_and_abandoned_events(services):
    now = T0 + dt.timedelta(minutes=30)
    bus = MessageBus(services.database, NoPublisher(), {}, clock=lambda: now)
    assert (await bus.outbox_figures()).pending == 0
    async with UnitOfWork(services.database, "bank") as uow:
        given_up, handled, *_still_pending = [
            await uow.domain_events.add("bank", CustomerAttributesChanged(()), T0 + dt.timedelta(minutes=m))
            for m in (0, 1, 5, 10, 20)]
        await uow.domain_events.mark_processed([handled], now)
        await uow.session.execute(update(DomainEventRow).where(DomainEventRow.event_id == given_up)
                                  .values(attempts=MAX_RESENDS + 1))
        await uow.commit()

    figures = await bus.outbox_figures()
    assert (figures.readable, figures.pending, figures.abandoned) == (True, 3, 1)
    assert figures.oldest_pending_age == dt.timedelta(minutes=25)  # the event of minute 5; minute 0's gave up

    async with UnitOfWork(services.database) as uow:
        assert await uow.domain_events.outbox_figures(MAX_RESENDS + 1, count_cap=2) == \
            (2, T0 + dt.timedelta(minutes=5), 1)


async def test_after_commit_calls_run_on_commit_only(services):
    heard: list[str] = []
    async with UnitOfWork(services.database, "bank") as uow:
        uow.after_commit(lambda: heard.append("rolled back"))
    async with UnitOfWork(services.database, "bank") as uow:
        uow.after_commit(lambda: heard.append("committed"))
        assert heard == []
        await uow.commit()
        assert heard == ["committed"]
        await uow.commit()  # once each
    assert heard == ["committed"]
