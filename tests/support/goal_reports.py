"""A small bank's goals, customer history, programme and transfers, written straight into the store, for
the reporting views' tests: every figure and time below is what the views must show."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from server.store.db import Database
from server.store.goals_models import FundingProgrammeRow, GoalHistoryRow, GoalRow, GoalTransferRow
from server.store.uow import UnitOfWork


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


def _goal(goal_id: str, customer_id: str, account_id: str, name: str, category: str, target: str, saved: str,
          currency: str, status: str, created: str, *, achieved: str | None = None, archived: str | None = None,
          target_date: dt.date | None = None, milestones: tuple[str, ...] = ()) -> GoalRow:
    return GoalRow(goal_id=goal_id, customer_id=customer_id, account_id=account_id, name=name, category=category,
                   target=Decimal(target), saved=Decimal(saved), currency=currency, status=status,
                   target_date=target_date, priority=1, milestones=list(milestones), created_at=at(created),
                   updated_at=at(created), achieved_at=at(achieved) if achieved else None,
                   archived_at=at(archived) if archived else None)


def _goals() -> list[GoalRow]:
    return [
        _goal("g-a", "c1", "c1-sav", "Holiday", "TRAVEL", "1000", "250", "EUR", "ACTIVE", "2025-01-10T09:00:00",
              milestones=("percent:25",)),
        _goal("g-b", "c1", "c1-sav", "Rainy day", "EMERGENCY", "500", "500", "EUR", "ACHIEVED", "2025-01-12T09:00:00",
              achieved="2025-02-01T10:00:00", target_date=dt.date(2026, 6, 30),
              milestones=("percent:25", "percent:50", "percent:75", "percent:100")),
        _goal("g-c", "c1", "c1-sav", "Car", "CAR", "8000", "0", "EUR", "ARCHIVED", "2025-01-15T09:00:00",
              archived="2025-03-01T10:00:00"),
        # 08:30 on 12 January in Tokyo: a day later there than in UTC.
        _goal("g-d", "c2", "c2-chk", "Flat", "HOME", "20000", "1234.5", "USD", "PAUSED", "2025-01-11T23:30:00"),
        _goal("g-e", "c2", "c2-chk", "Wedding", "WEDDING", "3000", "2999.99", "USD", "ACTIVE", "2025-02-20T09:00:00"),
    ]


PROGRAMME = "customers/c1/goals/g-a/fundingProgrammes/p1"


def _entry(entry_id: str, customer_id: str, kind: str, actor: str, actor_id: str, when: str, goal_id: str | None,
           resource: str, before: dict[str, str | None] | None = None,
           after: dict[str, str | None] | None = None) -> GoalHistoryRow:
    return GoalHistoryRow(entry_id=entry_id, customer_id=customer_id, kind=kind, actor=actor, actor_id=actor_id,
                          at=at(when), goal_id=goal_id, resource=resource, before=before or {}, after=after or {})


def _history() -> list[GoalHistoryRow]:
    return [
        _entry("h01", "c1", "SIGNUP", "CUSTOMER", "c1", "2025-01-10T08:00:00", None, "customers/c1/goalsEnrolment",
               after={"account_id": "c1-sav", "status": "ACTIVE"}),
        _entry("h02", "c1", "GOAL_CREATED", "CUSTOMER", "c1", "2025-01-10T09:00:00", "g-a", "customers/c1/goals/g-a",
               after={"name": "Holiday", "target": "1000.00 EUR", "target_date": None}),
        _entry("h03", "c2", "SIGNUP", "BANK_ADMIN", "lisa", "2025-01-11T23:00:00", None, "customers/c2/goalsEnrolment",
               after={"account_id": "c2-chk", "status": "ACTIVE"}),
        _entry("h04", "c1", "GOAL_ACHIEVED", "SERVICE", "", "2025-02-01T10:00:00", "g-b", "customers/c1/goals/g-b",
               before={"status": "ACTIVE"}, after={"status": "ACHIEVED"}),
        _entry("h05", "c1", "PROGRAMME_CREATED", "CUSTOMER", "c1", "2025-03-01T10:00:00", "g-a", PROGRAMME,
               after={"source_account_id": "c1-chk", "status": "ACTIVE"}),
        _entry("h06", "c1", "PROGRAMME_CHANGED", "CUSTOMER", "c1", "2025-03-10T10:00:00", "g-a", PROGRAMME,
               before={"status": "ACTIVE"}, after={"status": "PAUSED"}),
        _entry("h07", "c1", "PROGRAMME_CHANGED", "BANK_ADMIN", "lisa", "2025-03-20T10:00:00", "g-a", PROGRAMME,
               before={"status": "PAUSED"}, after={"status": "ACTIVE"}),
        _entry("h08", "c1", "TRANSFER_REQUESTED", "SERVICE", "", "2025-04-01T06:00:00", "g-a",
               f"{PROGRAMME}/transfers/t1", after={"status": "REQUESTED"}),
        _entry("h09", "c1", "TRANSFER_EXECUTED", "SERVICE", "payments", "2025-04-02T06:00:00", "g-a",
               f"{PROGRAMME}/transfers/t1", before={"status": "REQUESTED"}, after={"status": "EXECUTED"}),
        _entry("h10", "c1", "TRANSFER_REQUESTED", "SERVICE", "", "2025-05-01T06:00:00", "g-a",
               f"{PROGRAMME}/transfers/t2", after={"status": "REQUESTED"}),
        _entry("h11", "c1", "TRANSFER_FAILED", "SERVICE", "payments", "2025-05-02T06:00:00", "g-a",
               f"{PROGRAMME}/transfers/t2", before={"status": "REQUESTED"}, after={"status": "FAILED"}),
        _entry("h12", "c1", "PROGRAMME_CANCELLED", "CUSTOMER", "c1", "2025-05-10T10:00:00", "g-a", PROGRAMME,
               before={"status": "ACTIVE"}, after={"status": "CANCELLED"}),
    ]


def _transfer(transfer_id: str, period_key: str, status: str, created: str, updated: str, *,
              failure_reason: str = "", transaction_id: str = "") -> GoalTransferRow:
    return GoalTransferRow(transfer_id=transfer_id, programme_id="p1", customer_id="c1", goal_id="g-a",
                           period_key=period_key, amount=Decimal("50"), currency="EUR", source_account_id="c1-chk",
                           target_account_id="c1-sav", status=status, failure_reason=failure_reason,
                           transaction_id=transaction_id, due_date=dt.date.fromisoformat(period_key + "-01"),
                           created_at=at(created), updated_at=at(updated), published_at=at(created))


def _rows() -> list[object]:
    programme = FundingProgrammeRow(
        programme_id="p1", customer_id="c1", goal_id="g-a", source_account_id="c1-chk", status="CANCELLED",
        plan={"kind": "FIXED_SCHEDULE", "frequency": "MONTHLY", "amount": "50.00"},
        created_at=at("2025-03-01T10:00:00"), updated_at=at("2025-05-10T10:00:00"))
    transfers = [
        _transfer("t1", "2025-04", "EXECUTED", "2025-04-01T06:00:00", "2025-04-02T06:00:00",
                  transaction_id="bank-tx-1"),
        _transfer("t2", "2025-05", "FAILED", "2025-05-01T06:00:00", "2025-05-02T06:00:00",
                  failure_reason="insufficient funds"),
    ]
    return [*_goals(), *_history(), programme, *transfers]


async def seed_goal_reports(database: Database, tenant_id: str) -> None:
    """The rows above, in `tenant_id`."""
    async with UnitOfWork(database, tenant_id) as uow:
        for row in _rows():
            row.tenant_id = tenant_id  # type: ignore[attr-defined]
            uow.session.add(row)
        await uow.commit()
