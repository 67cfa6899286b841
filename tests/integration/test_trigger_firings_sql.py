"""Firings written with their banners (TriggerFiringsRepository.add_firings) on both databases: PostgreSQL
in one statement of arrays, SQLite through SQLAlchemy's statements. A firing already written (its rule,
account and dedupe key) is skipped with its banner, and every column comes back as given."""

from __future__ import annotations

import datetime as dt

from server.bootstrap import Services
from server.domain.triggers.records import Banner, FiringAction, FiringRecord
from server.store.uow import UnitOfWork

AT = dt.datetime(2026, 12, 5, 9, 30, 15, 123456, tzinfo=dt.UTC)


def _firing(firing_id: str, rule_id: str, dedupe_key: str) -> FiringRecord:
    return FiringRecord(firing_id, rule_id, 3, "c1", "acc1", AT, "tx-1", dedupe_key,
                        {"balance": "-3.00", "withdrawal": "9500.00"},
                        (FiringAction("banner", f"customers/c1/banners/b-{firing_id}"),))


def _banner(firing: FiringRecord) -> Banner:
    return Banner(f"b-{firing.firing_id}", firing.customer_id, "Large withdrawal", "Talk to us", "See",
                  "https://bank.example/w", AT, AT + dt.timedelta(days=7), "prod-1", firing.rule_id, firing.version,
                  firing.firing_id)


async def test_firings_and_the_banners_of_those_inserted(services: Services, tenant: str) -> None:
    first = _firing("f1", "rule_a", "tx-1")
    async with UnitOfWork(services.database, tenant) as uow:
        assert await uow.trigger_firings.add_firings([first], [_banner(first)]) == ["f1"]
        await uow.commit()
    # The handler run again: f1's rule, account and key were fired (as f9 now): skipped, and its banner too.
    again, other = _firing("f9", "rule_a", "tx-1"), _firing("f2", "rule_b", "tx-1")
    async with UnitOfWork(services.database, tenant) as uow:
        assert await uow.trigger_firings.add_firings([again, other], [_banner(again), _banner(other)]) == ["f2"]
        await uow.commit()
    async with UnitOfWork(services.database, tenant) as uow:
        listed = await uow.banners.list_active("c1", AT, None, 10)
        stored = await uow.trigger_firings.get("rule_b", "f2")
        assert await uow.trigger_firings.get("rule_a", "f9") is None
    assert listed == [_banner(other), _banner(first)]  # newest first by id
    assert stored == other


async def test_no_firings_write_nothing(services: Services, tenant: str) -> None:
    async with UnitOfWork(services.database, tenant) as uow:
        assert await uow.trigger_firings.add_firings([], []) == []
        assert await uow.banners.list_active("c1", AT, None, 10) == []
