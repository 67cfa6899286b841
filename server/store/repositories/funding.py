"""Funding programmes and the transfers they request (server.store.goals_models)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import or_, select, update

from server.domain.goals.funding import (
    FixedAmount,
    Plan,
    Programme,
    ProgrammeStatus,
    RoundUp,
    SalaryPercentage,
    Schedule,
    ScheduledAmount,
    ScheduleKind,
    Transfer,
    TransferStatus,
)
from server.domain.goals.history import Actor, HistoryKind
from server.domain.ids import new_id
from server.store.driver import rowcount
from server.store.goals_models import FundingProgrammeRow, GoalHistoryRow, GoalRow, GoalTransferRow
from server.store.keyset import keyset_page
from server.store.repositories.base import TenantRepository

FIXED_SCHEDULE, ROUND_UP, SALARY_PERCENTAGE = "FIXED_SCHEDULE", "ROUND_UP", "SALARY_PERCENTAGE"


@dataclass(frozen=True, slots=True)
class GoalFacts:
    """What a programme needs of its goal: whose it is, where its money lives, and whether it is archived."""

    goal_id: str
    customer_id: str
    account_id: str
    currency: str
    status: str


def plan_to_json(plan: Plan, currency: str) -> dict[str, Any]:
    """The `plan` column: the kind and its parameters, amounts as decimal strings in the goal's currency."""
    if isinstance(plan, ScheduledAmount):
        schedule = plan.schedule
        return {"kind": FIXED_SCHEDULE, "frequency": schedule.kind.value, "start": schedule.start.isoformat(),
                "day_of_month": schedule.day_of_month, "amount": format(plan.amount.amount, "f"),
                "currency": currency}
    if isinstance(plan, RoundUp):
        return {"kind": ROUND_UP, "step": format(plan.step, "f"), "multiplier": plan.multiplier, "currency": currency}
    return {"kind": SALARY_PERCENTAGE, "percent": format(plan.percent, "f"), "currency": currency}


def plan_from_json(stored: dict[str, Any]) -> Plan:
    kind = stored["kind"]
    if kind == FIXED_SCHEDULE:
        return ScheduledAmount(Schedule(ScheduleKind(stored["frequency"]), dt.date.fromisoformat(stored["start"]),
                                        stored.get("day_of_month")), FixedAmount(Decimal(stored["amount"])))
    if kind == ROUND_UP:
        return RoundUp(Decimal(stored["step"]), int(stored["multiplier"]))
    return SalaryPercentage(Decimal(stored["percent"]))


def _programme(row: FundingProgrammeRow) -> Programme:
    return Programme(row.programme_id, row.customer_id, row.goal_id, row.source_account_id,
                     ProgrammeStatus(row.status), plan_from_json(row.plan), row.created_at, row.updated_at,
                     row.planned_through, row.plan.get("currency", ""))


def _transfer(row: GoalTransferRow) -> Transfer:
    return Transfer(row.transfer_id, row.programme_id, row.customer_id, row.goal_id, row.period_key,
                    row.amount, row.currency, row.source_account_id, row.target_account_id,
                    TransferStatus(row.status), row.due_date, row.created_at, row.updated_at, row.failure_reason,
                    row.transaction_id, row.published_at)


class FundingProgrammesRepository(TenantRepository):
    async def goal_facts(self, goal_ids: Collection[str]) -> dict[str, GoalFacts]:
        """The goals of these ids that exist (goal id -> facts)."""
        if not goal_ids:
            return {}
        rows = await self.session.execute(
            select(GoalRow.goal_id, GoalRow.customer_id, GoalRow.account_id, GoalRow.currency, GoalRow.status)
            .where(GoalRow.tenant_id == self.tenant_id, self.one_of(GoalRow.goal_id, goal_ids)))
        return {row.goal_id: GoalFacts(*row) for row in rows}

    async def add(self, programme: Programme, request_id: str | None) -> None:
        self.session.add(FundingProgrammeRow(
            tenant_id=self.tenant_id, programme_id=programme.programme_id, customer_id=programme.customer_id,
            goal_id=programme.goal_id, source_account_id=programme.source_account_id,
            status=programme.status.value, plan=plan_to_json(programme.plan, programme.currency), request_id=request_id,
            planned_through=programme.planned_through, created_at=programme.created_at,
            updated_at=programme.updated_at))
        await self.session.flush()

    async def by_request(self, customer_id: str, request_id: str) -> Programme | None:
        row = await self.session.scalar(select(FundingProgrammeRow).where(
            FundingProgrammeRow.tenant_id == self.tenant_id, FundingProgrammeRow.customer_id == customer_id,
            FundingProgrammeRow.request_id == request_id))
        return None if row is None else _programme(row)

    async def get(self, programme_id: str, *, for_update: bool = False) -> Programme | None:
        """`for_update`: held until the transaction ends (see hold_row), for a change that reads first."""
        if for_update and not await self.hold_row(FundingProgrammeRow.programme_id, programme_id):
            return None
        row = await self.session.get(FundingProgrammeRow, (self.tenant_id, programme_id),
                                     populate_existing=for_update)
        return None if row is None else _programme(row)

    async def list_page(self, customer_id: str, goal_id: str | None, after: str | None, limit: int) -> list[Programme]:
        """A customer's programmes (of one goal, when given), oldest first: ids sort by creation."""
        query = select(FundingProgrammeRow).where(FundingProgrammeRow.tenant_id == self.tenant_id,
                                                  FundingProgrammeRow.customer_id == customer_id)
        if goal_id is not None:
            query = query.where(FundingProgrammeRow.goal_id == goal_id)
        rows = await self.session.scalars(keyset_page(
            query, [FundingProgrammeRow.programme_id], None if after is None else (after,), limit))
        return [_programme(row) for row in rows]

    async def open_of_goals(self, customer_id: str, goal_ids: Collection[str]) -> list[Programme]:
        """The customer's goals' programmes that are not cancelled, held until the transaction ends, by id."""
        if not goal_ids:
            return []
        rows = await self.session.scalars(select(FundingProgrammeRow).where(
            FundingProgrammeRow.tenant_id == self.tenant_id, FundingProgrammeRow.customer_id == customer_id,
            self.one_of(FundingProgrammeRow.goal_id, sorted(goal_ids)),
            FundingProgrammeRow.status != ProgrammeStatus.CANCELLED.value)
            .order_by(FundingProgrammeRow.programme_id).with_for_update()
            .execution_options(populate_existing=True))
        return [_programme(row) for row in rows]

    async def save(self, programme: Programme) -> None:
        await self.session.execute(update(FundingProgrammeRow).where(
            FundingProgrammeRow.tenant_id == self.tenant_id,
            FundingProgrammeRow.programme_id == programme.programme_id).values(
            source_account_id=programme.source_account_id, status=programme.status.value,
            plan=plan_to_json(programme.plan, programme.currency), planned_through=programme.planned_through,
            updated_at=programme.updated_at), execution_options={"synchronize_session": False})

    async def mark_planned(self, programme_ids: Collection[str], through: dt.date) -> None:
        """Records that the programmes' due dates up to `through` have their transfers. Only that column: a
        pause or an update committed meanwhile is kept."""
        if programme_ids:
            await self.session.execute(update(FundingProgrammeRow).where(
                FundingProgrammeRow.tenant_id == self.tenant_id,
                self.one_of(FundingProgrammeRow.programme_id, programme_ids),
                or_(FundingProgrammeRow.planned_through.is_(None), FundingProgrammeRow.planned_through < through))
                .values(planned_through=through), execution_options={"synchronize_session": False})

    async def scheduled_to_plan(self, today: dt.date) -> list[Programme]:
        """ACTIVE scheduled programmes with due dates up to `today` possibly not planned yet."""
        rows = await self.session.scalars(select(FundingProgrammeRow).where(
            FundingProgrammeRow.tenant_id == self.tenant_id,
            FundingProgrammeRow.status == ProgrammeStatus.ACTIVE.value,
            FundingProgrammeRow.plan["kind"].as_string() == FIXED_SCHEDULE,
            or_(FundingProgrammeRow.planned_through.is_(None), FundingProgrammeRow.planned_through < today))
            .order_by(FundingProgrammeRow.programme_id))
        return [_programme(row) for row in rows]

    async def active_rules_of(self, customer_ids: Collection[str]) -> list[Programme]:
        """The ACTIVE rule programmes (round-up, salary percentage) of these customers."""
        if not customer_ids:
            return []
        rows = await self.session.scalars(select(FundingProgrammeRow).where(
            FundingProgrammeRow.tenant_id == self.tenant_id,
            self.one_of(FundingProgrammeRow.customer_id, customer_ids),
            FundingProgrammeRow.status == ProgrammeStatus.ACTIVE.value,
            FundingProgrammeRow.plan["kind"].as_string() != FIXED_SCHEDULE))
        return [_programme(row) for row in rows]

    async def record_history(self, customer_id: str, kind: HistoryKind, actor: Actor, actor_id: str,
                             at: dt.datetime, goal_id: str, resource: str, before: dict[str, str | None],
                             after: dict[str, str | None]) -> None:
        """Appends a customer-history entry for a programme or transfer event."""
        self.session.add(GoalHistoryRow(
            tenant_id=self.tenant_id, entry_id=new_id(), customer_id=customer_id, kind=kind.value,
            actor=actor.value, actor_id=actor_id, at=at, goal_id=goal_id, resource=resource, before=before,
            after=after))


class GoalTransfersRepository(TenantRepository):
    async def add_if_absent(self, transfers: Sequence[Transfer]) -> list[Transfer]:
        """Inserts the transfers whose (programme, period_key) has none yet; returns those inserted."""
        if not transfers:
            return []
        statement = self.upsert(GoalTransferRow.__table__).values([{
            "tenant_id": self.tenant_id, "transfer_id": t.transfer_id, "programme_id": t.programme_id,
            "customer_id": t.customer_id, "goal_id": t.goal_id, "period_key": t.period_key, "amount": t.amount,
            "currency": t.currency, "source_account_id": t.source_account_id,
            "target_account_id": t.target_account_id, "status": t.status.value, "failure_reason": "",
            "transaction_id": "", "due_date": t.due_date, "created_at": t.created_at, "updated_at": t.updated_at,
            "published_at": None} for t in transfers])
        statement = statement.on_conflict_do_nothing(
            index_elements=["tenant_id", "programme_id", "period_key"]).returning(GoalTransferRow.transfer_id)
        inserted = set(await self.session.scalars(statement))
        return [t for t in transfers if t.transfer_id in inserted]

    async def get(self, transfer_id: str) -> Transfer | None:
        row = await self.session.get(GoalTransferRow, (self.tenant_id, transfer_id))
        return None if row is None else _transfer(row)

    async def get_many(self, transfer_ids: Collection[str]) -> list[Transfer]:
        if not transfer_ids:
            return []
        rows = await self.session.scalars(select(GoalTransferRow).where(
            GoalTransferRow.tenant_id == self.tenant_id, self.one_of(GoalTransferRow.transfer_id, transfer_ids)))
        return [_transfer(row) for row in rows]

    async def list_page(self, customer_id: str, programme_id: str | None, status: TransferStatus | None,
                        after: tuple[dt.date, str] | None, limit: int) -> list[Transfer]:
        """A customer's transfers (of one programme, in one status, when given), newest due date first
        (one planning run creates several at once)."""
        query = select(GoalTransferRow).where(GoalTransferRow.tenant_id == self.tenant_id,
                                              GoalTransferRow.customer_id == customer_id)
        if programme_id is not None:
            query = query.where(GoalTransferRow.programme_id == programme_id)
        if status is not None:
            query = query.where(GoalTransferRow.status == status.value)
        rows = await self.session.scalars(keyset_page(
            query, [GoalTransferRow.due_date, GoalTransferRow.transfer_id], after, limit, descending=True))
        return [_transfer(row) for row in rows]

    async def requested_of(self, programme_id: str) -> list[Transfer]:
        rows = await self.session.scalars(select(GoalTransferRow).where(
            GoalTransferRow.tenant_id == self.tenant_id, GoalTransferRow.programme_id == programme_id,
            GoalTransferRow.status == TransferStatus.REQUESTED.value).order_by(GoalTransferRow.transfer_id))
        return [_transfer(row) for row in rows]

    async def change_status(self, transfer: Transfer, status: TransferStatus, now: dt.datetime, *,
                            failure_reason: str = "", transaction_id: str = "") -> bool:
        """Moves the transfer from the status it was read in to `status`; False when another caller changed
        it first (the caller reads it again)."""
        result = await self.session.execute(update(GoalTransferRow).where(
            GoalTransferRow.tenant_id == self.tenant_id, GoalTransferRow.transfer_id == transfer.transfer_id,
            GoalTransferRow.status == transfer.status.value).values(
            status=status.value, failure_reason=failure_reason, transaction_id=transaction_id, updated_at=now),
            execution_options={"synchronize_session": False})
        return rowcount(result) == 1

    async def unpublished(self, created_before: dt.datetime, limit: int) -> list[Transfer]:
        """REQUESTED transfers not yet on the stream, created before a time (younger ones are probably
        being published by the caller that created them)."""
        rows = await self.session.scalars(select(GoalTransferRow).where(
            GoalTransferRow.published_at.is_(None), GoalTransferRow.tenant_id == self.tenant_id,
            GoalTransferRow.status == TransferStatus.REQUESTED.value,
            GoalTransferRow.created_at < created_before).order_by(GoalTransferRow.transfer_id).limit(limit))
        return [_transfer(row) for row in rows]

    async def mark_published(self, transfer_ids: Collection[str], now: dt.datetime) -> None:
        if transfer_ids:
            await self.session.execute(update(GoalTransferRow).where(
                GoalTransferRow.tenant_id == self.tenant_id, self.one_of(GoalTransferRow.transfer_id, transfer_ids),
                GoalTransferRow.published_at.is_(None)).values(published_at=now),
                execution_options={"synchronize_session": False})
