"""Funding programmes, their transfer instructions and the bank's confirmations (docs/goals-funding.md).

A programme moves money into a goal: on a schedule (the worker's planning run requests a transfer for each
due date, idempotent per programme and period) or by a rule on the source account's postings (a bus handler
of TransactionsPosted, one transfer per programme and triggering transaction). Each new transfer is
REQUESTED and goes onto the goal-transfers Redis Stream from an outbox: `published_at` stays empty until
the stream took it, and a relay sweep publishes what Redis did not take. The bank answers with
ConfirmTransfer or with a posting that names the transfer (TRANSFER_MARKER)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Protocol

import structlog

from server.domain import resource_names
from server.domain.auth import Caller, Role
from server.domain.errors import FailedPrecondition, FieldViolation, InvalidArgument, not_found
from server.domain.events import TransactionsPosted
from server.domain.goals.funding import (
    CENT,
    Plan,
    Programme,
    ProgrammeAction,
    ProgrammeStatus,
    RoundUp,
    ScheduledAmount,
    Transfer,
    TransferStatus,
    advance,
    confirms,
    dates_to_plan,
    is_card_spending,
    is_salary_credit,
    marked_transfer_ids,
    period_key,
    planned_through_on_resume,
    programme_status_after,
    rule_amount,
)
from server.domain.goals.history import Actor, HistoryKind
from server.domain.ids import new_id
from server.domain.pagination import Page, PageRequest, paginate, text_key
from server.domain.reasons import Reason
from server.services.clock import Clock, utc_now
from server.services.events import AfterCommit, Queue
from server.store.db import Database
from server.store.repositories.funding import GoalFacts
from server.store.uow import UnitOfWork

log = structlog.get_logger(__name__)

ARCHIVED = "ARCHIVED"
MAX_REQUEST_ID = 120
MAX_FAILURE_REASON = 256
MAX_TRANSACTION_ID = 64
MAX_ACCOUNT_ID = 64
# A transfer younger than this is probably being published by the call that created it; the sweep
# leaves it alone.
PUBLISH_GRACE = dt.timedelta(seconds=15)
SWEEP_LIMIT = 1000
_ACTORS = {Role.USER: Actor.CUSTOMER, Role.BANK_ADMIN: Actor.BANK_ADMIN, Role.SERVICE: Actor.SERVICE}
_TRANSFER_KINDS = {TransferStatus.REQUESTED: HistoryKind.TRANSFER_REQUESTED,
                   TransferStatus.EXECUTED: HistoryKind.TRANSFER_EXECUTED,
                   TransferStatus.FAILED: HistoryKind.TRANSFER_FAILED,
                   TransferStatus.CANCELLED: HistoryKind.TRANSFER_CANCELLED}


class TransferStream(Protocol):
    async def publish(self, messages: Sequence[Mapping[str, str]]) -> None:
        """Appends the messages to the goal-transfers stream; raises when Redis did not take them."""


@dataclass(frozen=True, slots=True)
class PlanRequest:
    """A plan as asked for, with the currency its amount (or round-up step) came in (None: none given)."""

    plan: Plan
    currency: str | None = None


def programme_name(programme: Programme) -> str:
    return resource_names.FUNDING_PROGRAMME.format(programme.customer_id, programme.goal_id,
                                                   programme.programme_id)


def transfer_name(transfer: Transfer) -> str:
    return resource_names.TRANSFER.format(transfer.customer_id, transfer.goal_id, transfer.programme_id,
                                          transfer.transfer_id)


def amount_text(amount: Decimal) -> str:
    return format(amount.quantize(CENT), "f")


def plan_text(plan: Plan, currency: str) -> dict[str, str | None]:
    """A plan as the customer history shows it: its kind and parameters as text."""
    if isinstance(plan, ScheduledAmount):
        schedule = plan.schedule
        return {"plan": "FIXED_SCHEDULE", "frequency": schedule.kind.value, "start_date": schedule.start.isoformat(),
                "day_of_month": None if schedule.day_of_month is None else str(schedule.day_of_month),
                "amount": f"{amount_text(plan.amount.amount)} {currency}"}
    if isinstance(plan, RoundUp):
        return {"plan": "ROUND_UP", "step": f"{amount_text(plan.step)} {currency}", "multiplier": str(plan.multiplier)}
    return {"plan": "SALARY_PERCENTAGE", "percent": format(plan.percent, "f")}


def programme_text(programme: Programme, currency: str) -> dict[str, str | None]:
    return {"source_account_id": programme.source_account_id, "status": programme.status.value,
            **plan_text(programme.plan, currency)}


def _differences(before: Mapping[str, str | None], after: Mapping[str, str | None]
                 ) -> tuple[dict[str, str | None], dict[str, str | None]]:
    changed = [key for key in {**before, **after} if before.get(key) != after.get(key)]
    return {k: before.get(k) for k in changed}, {k: after.get(k) for k in changed}


def transfer_key(after: object) -> list[str]:
    """The key of a transfers page token: [an ISO due date, a transfer id] (ValueError when forged)."""
    if not (isinstance(after, list) and len(after) == 2):
        raise TypeError("not a [date, id] key")
    return [dt.date.fromisoformat(text_key(after[0])).isoformat(), text_key(after[1])]


def stream_message(tenant_id: str, transfer: Transfer) -> dict[str, str]:
    """One entry of the goal-transfers stream (docs/goals-funding.md lists the fields)."""
    return {"type": "transfer.requested", "tenant": tenant_id, "transfer": transfer_name(transfer),
            "transfer_id": transfer.transfer_id, "customer_id": transfer.customer_id, "goal_id": transfer.goal_id,
            "programme_id": transfer.programme_id, "amount": amount_text(transfer.amount),
            "currency": transfer.currency, "source_account_id": transfer.source_account_id,
            "target_account_id": transfer.target_account_id, "period_key": transfer.period_key,
            "due_date": transfer.due_date.isoformat(), "requested_at": transfer.created_at.isoformat()}


class GoalFundingService:
    """Funding programmes, their transfer instructions and the bank's confirmations."""

    def __init__(self, database: Database, publisher: Queue, clock: Clock = utc_now,
                 stream: TransferStream | None = None) -> None:
        self._database = database
        self._publisher = publisher
        self._clock = clock
        self._stream = stream

    # -- programmes -----------------------------------------------------------------------------------

    async def create(self, caller: Caller, customer_id: str, goal_id: str, source_account_id: str,
                     plan: PlanRequest, request_id: str = "") -> Programme:
        caller.require_customer_access(customer_id)
        if len(request_id) > MAX_REQUEST_ID:
            raise InvalidArgument(Reason.REQUEST_ID_TOO_LONG, "request_id must be at most 120 characters",
                                  violations=[FieldViolation("request_id", "at most 120 characters")])
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            if request_id:
                earlier = await uow.funding_programmes.by_request(customer_id, request_id)
                if earlier is not None:
                    return earlier
            goal = await self._live_goal(uow, customer_id, goal_id)
            await self._check_source(uow, customer_id, goal, source_account_id)
            self._check_currency(plan, goal)
            now = self._clock()
            programme = Programme(new_id(), customer_id, goal_id, source_account_id, ProgrammeStatus.ACTIVE,
                                  plan.plan, now, now, currency=goal.currency)
            await uow.funding_programmes.add(programme, request_id or None)
            await self._record(uow, caller, programme, HistoryKind.PROGRAMME_CREATED, {},
                               programme_text(programme, goal.currency), now)
            await uow.commit()
        return programme

    async def get(self, caller: Caller, customer_id: str, goal_id: str, programme_id: str) -> Programme:
        caller.require_customer_access(customer_id)
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            return await self._programme(uow, customer_id, goal_id, programme_id)

    async def list_programmes(self, caller: Caller, customer_id: str, goal_id: str | None,
                              page: PageRequest) -> Page[Programme]:
        caller.require_customer_access(customer_id)
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            if goal_id is not None:
                goals = await uow.funding_programmes.goal_facts([goal_id])
                if goal_id not in goals or goals[goal_id].customer_id != customer_id:
                    raise not_found("goal", goal_id)
            items = await uow.funding_programmes.list_page(customer_id, goal_id, page.after, page.size + 1)
        return paginate(items, page, "funding_programmes", lambda p: p.programme_id)

    async def update(self, caller: Caller, customer_id: str, goal_id: str, programme_id: str,
                     source_account_id: str | None, plan: PlanRequest | None) -> Programme:
        """Changes the source account and/or replaces the plan; from the next period on. A plan turned into
        a schedule requests the due dates from today on, never the ones before."""
        caller.require_customer_access(customer_id)
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            programme = await self._programme(uow, customer_id, goal_id, programme_id, for_update=True)
            programme_status_after(programme.status, ProgrammeAction.UPDATE)
            goal = await self._live_goal(uow, customer_id, goal_id)
            changed = programme
            if source_account_id is not None:
                await self._check_source(uow, customer_id, goal, source_account_id)
                changed = replace(changed, source_account_id=source_account_id)
            if plan is not None:
                self._check_currency(plan, goal)
                planned_through = changed.planned_through
                if isinstance(plan.plan, ScheduledAmount) and planned_through is None:
                    planned_through = planned_through_on_resume(None, await self._today(uow))
                changed = replace(changed, plan=plan.plan, planned_through=planned_through)
            if changed == programme:
                return programme
            now = self._clock()
            changed = replace(changed, updated_at=now)
            await uow.funding_programmes.save(changed)
            before, after = _differences(programme_text(programme, goal.currency),
                                         programme_text(changed, goal.currency))
            if after:
                await self._record(uow, caller, changed, HistoryKind.PROGRAMME_CHANGED, before, after, now)
            await uow.commit()
        return changed

    async def pause(self, caller: Caller, customer_id: str, goal_id: str, programme_id: str) -> Programme:
        return await self._act(caller, customer_id, goal_id, programme_id, ProgrammeAction.PAUSE)

    async def resume(self, caller: Caller, customer_id: str, goal_id: str, programme_id: str) -> Programme:
        return await self._act(caller, customer_id, goal_id, programme_id, ProgrammeAction.RESUME)

    async def cancel(self, caller: Caller, customer_id: str, goal_id: str, programme_id: str) -> Programme:
        """Final; the programme's REQUESTED transfers become CANCELLED."""
        return await self._act(caller, customer_id, goal_id, programme_id, ProgrammeAction.CANCEL)

    async def _act(self, caller: Caller, customer_id: str, goal_id: str, programme_id: str,
                   action: ProgrammeAction) -> Programme:
        caller.require_customer_access(customer_id)
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            programme = await self._programme(uow, customer_id, goal_id, programme_id, for_update=True)
            status = programme_status_after(programme.status, action)
            now = self._clock()
            planned_through = programme.planned_through
            if action == ProgrammeAction.RESUME and isinstance(programme.plan, ScheduledAmount):
                planned_through = planned_through_on_resume(planned_through, await self._today(uow))
            changed = replace(programme, status=status, planned_through=planned_through, updated_at=now)
            await uow.funding_programmes.save(changed)
            kind = HistoryKind.PROGRAMME_CANCELLED if status == ProgrammeStatus.CANCELLED \
                else HistoryKind.PROGRAMME_CHANGED
            await self._record(uow, caller, changed, kind, {"status": programme.status.value},
                               {"status": status.value}, now)
            if status == ProgrammeStatus.CANCELLED:
                for transfer in await uow.goal_transfers.requested_of(programme_id):
                    await settle_transfer(uow, caller, transfer, TransferStatus.CANCELLED, now)
            await uow.commit()
        return changed

    # -- transfers ------------------------------------------------------------------------------------

    async def list_transfers(self, caller: Caller, customer_id: str, goal_id: str | None, programme_id: str | None,
                             status: TransferStatus | None, page: PageRequest) -> Page[Transfer]:
        caller.require_customer_access(customer_id)
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            if programme_id is not None and goal_id is not None:
                await self._programme(uow, customer_id, goal_id, programme_id)
            after = None if page.after is None else (dt.date.fromisoformat(page.after[0]), page.after[1])
            items = await uow.goal_transfers.list_page(customer_id, programme_id, status, after, page.size + 1)
        return paginate(items, page, "goal_transfers", lambda t: [t.due_date.isoformat(), t.transfer_id])

    async def confirm(self, caller: Caller, customer_id: str, goal_id: str, programme_id: str, transfer_id: str,
                      outcome: TransferStatus, failure_reason: str = "", transaction_id: str = "") -> Transfer:
        """The bank's outcome of a REQUESTED transfer (role service). The outcome it has already returns it
        unchanged; another change of a settled transfer is TRANSFER_TRANSITION_NOT_ALLOWED."""
        caller.require_role(Role.SERVICE)
        _check_outcome(outcome, failure_reason, transaction_id)
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            transfer = await uow.goal_transfers.get(transfer_id)
            if transfer is None or (transfer.customer_id, transfer.goal_id, transfer.programme_id) != (
                    customer_id, goal_id, programme_id):
                raise not_found("transfer", transfer_id)
            settled = await settle_transfer(uow, caller, transfer, outcome, self._clock(),
                                         failure_reason=failure_reason.strip() if outcome == TransferStatus.FAILED
                                         else "", transaction_id=transaction_id)
            await uow.commit()
        return settled

    # -- the worker: schedules, rules, the stream ---------------------------------------------------

    async def plan_scheduled_transfers(self, as_of: dt.date | None = None) -> int:
        """The planning run (hourly, and on demand): for every enabled tenant, the transfers of each ACTIVE
        scheduled programme's due dates up to today (in the tenant's time zone; `as_of` instead when given)
        not planned yet. Returns how many it requested; running it again requests nothing new."""
        async with UnitOfWork(self._database) as uow:
            tenants = [t for t in await uow.tenants.list() if not t.disabled]
        requested = 0
        for tenant in tenants:
            today = as_of or self._clock().astimezone(tenant.zone).date()
            requested += len(await self.plan_tenant(tenant.tenant_id, today))
        return requested

    async def plan_tenant(self, tenant_id: str, today: dt.date) -> list[Transfer]:
        async with UnitOfWork(self._database, tenant_id) as uow:
            programmes = await uow.funding_programmes.scheduled_to_plan(today)
            if not programmes:
                return []
            goals = await uow.funding_programmes.goal_facts({p.goal_id for p in programmes})
            now = self._clock()
            wanted: list[Transfer] = []
            for programme in programmes:
                goal = goals.get(programme.goal_id)
                plan = programme.plan
                if goal is not None and goal.status != ARCHIVED and isinstance(plan, ScheduledAmount):
                    wanted += [Transfer(new_id(), programme.programme_id, programme.customer_id, programme.goal_id,
                                        period_key(plan.schedule, due), plan.amount.amount, goal.currency,
                                        programme.source_account_id, goal.account_id, TransferStatus.REQUESTED,
                                        due, now, now) for due in dates_to_plan(programme, today)]
            await uow.funding_programmes.mark_planned([p.programme_id for p in programmes], today)
            created = await self._request(uow, wanted, now)
            await uow.commit()
        await self._publish(tenant_id, created)
        return created

    @staticmethod
    def wants_transactions_posted(event: TransactionsPosted) -> bool:
        """Live postings (the rules), or a posting naming a transfer (its confirmation)."""
        return event.live or any(marked_transfer_ids(p.transaction_id, p.description) for p in event.postings)

    async def on_transactions_posted(self, uow: UnitOfWork, tenant_id: str, event: TransactionsPosted
                                     ) -> AfterCommit | None:
        """Bus handler: live postings of a rule programme's source account request its transfers (one per
        programme and transaction: a re-run requests nothing twice), and a posting naming a transfer
        (TRANSFER_MARKER) confirms it EXECUTED."""
        now = self._clock()
        created: list[Transfer] = []
        if event.live:
            created = await self._apply_rules(uow, event, now)
        marked = [(posting, ids) for posting in event.postings
                  if (ids := marked_transfer_ids(posting.transaction_id, posting.description))]
        if marked:
            transfers = {t.transfer_id: t for t in await uow.goal_transfers.get_many(
                {i for _, ids in marked for i in ids})}
            for posting, ids in marked:
                for transfer_id in sorted(ids):
                    transfer = transfers.get(transfer_id)
                    if transfer is None or not confirms(transfer, posting.account_id, posting.amount.amount,
                                                        posting.currency):
                        continue
                    if transfer.status != TransferStatus.REQUESTED:
                        if transfer.status != TransferStatus.EXECUTED:
                            log.warning("transfer_posting_after_settlement", tenant=tenant_id,
                                        transfer_id=transfer_id, status=str(transfer.status),
                                        transaction_id=posting.transaction_id)
                        continue
                    transfers[transfer_id] = await settle_transfer(uow, None, transfer, TransferStatus.EXECUTED, now,
                                                                transaction_id=posting.transaction_id)
        if not created:
            return None

        async def publish() -> None:
            await self._publish(tenant_id, created)

        return publish

    async def _apply_rules(self, uow: UnitOfWork, event: TransactionsPosted, now: dt.datetime) -> list[Transfer]:
        programmes = await uow.funding_programmes.active_rules_of({p.customer_id for p in event.postings})
        if not programmes:
            return []
        by_source: dict[str, list[Programme]] = defaultdict(list)
        for programme in programmes:
            by_source[programme.source_account_id].append(programme)
        goals = await uow.funding_programmes.goal_facts({p.goal_id for p in programmes})
        wanted: list[Transfer] = []
        for posting in event.postings:
            for programme in by_source.get(posting.account_id, ()):
                goal = goals.get(programme.goal_id)
                plan = programme.plan
                if goal is None or goal.status == ARCHIVED or posting.currency != goal.currency \
                        or isinstance(plan, ScheduledAmount):
                    continue
                amount = posting.amount.amount
                owed = rule_amount(plan, amount,
                                   card_spending=is_card_spending(posting.account_type, posting.account_container,
                                                                  amount),
                                   is_salary=is_salary_credit(posting.category, amount))
                if owed > 0:
                    wanted.append(Transfer(new_id(), programme.programme_id, programme.customer_id, programme.goal_id,
                                           posting.transaction_id, owed, goal.currency, programme.source_account_id,
                                           goal.account_id, TransferStatus.REQUESTED, posting.booking_date, now, now))
        return await self._request(uow, wanted, now)

    async def _request(self, uow: UnitOfWork, wanted: list[Transfer], now: dt.datetime) -> list[Transfer]:
        """Stores the transfers whose programme and period have none yet, each recorded as requested."""
        created = await uow.goal_transfers.add_if_absent(wanted)
        for transfer in created:
            await uow.funding_programmes.record_history(
                transfer.customer_id, HistoryKind.TRANSFER_REQUESTED, Actor.SERVICE, "", now, transfer.goal_id,
                transfer_name(transfer), {},
                {"status": TransferStatus.REQUESTED.value, "amount": f"{amount_text(transfer.amount)} "
                 f"{transfer.currency}", "source_account_id": transfer.source_account_id,
                 "target_account_id": transfer.target_account_id, "period_key": transfer.period_key})
        return created

    async def _publish(self, tenant_id: str, transfers: Sequence[Transfer]) -> None:
        """Puts committed transfers on the stream and marks them published. When Redis cannot take them
        they stay unpublished for the relay sweep: logged, not raised (the caller's change is done)."""
        if not transfers or self._stream is None:
            return
        try:
            await self._stream.publish([stream_message(tenant_id, t) for t in transfers])
        except Exception as exc:
            log.warning("goal_transfers_not_published", tenant=tenant_id, count=len(transfers), error=repr(exc))
            return
        async with UnitOfWork(self._database, tenant_id) as uow:
            await uow.goal_transfers.mark_published([t.transfer_id for t in transfers], self._clock())
            await uow.commit()

    async def relay_unpublished(self) -> int:
        """The relay sweep: publishes the REQUESTED transfers the stream never took (Redis down when they
        were created, or the process died first). A transfer may reach the stream twice (published, then
        the process died before marking it): the bank deduplicates by transfer_id."""
        cutoff = self._clock() - PUBLISH_GRACE
        async with UnitOfWork(self._database) as uow:
            tenants = [t.tenant_id for t in await uow.tenants.list() if not t.disabled]
        published = 0
        for tenant_id in tenants:
            async with UnitOfWork(self._database, tenant_id) as uow:
                lost = await uow.goal_transfers.unpublished(cutoff, SWEEP_LIMIT)
            if lost:
                await self._publish(tenant_id, lost)
                published += len(lost)
        return published

    # -- checks ---------------------------------------------------------------------------------------

    async def _programme(self, uow: UnitOfWork, customer_id: str, goal_id: str, programme_id: str, *,
                         for_update: bool = False) -> Programme:
        programme = await uow.funding_programmes.get(programme_id, for_update=for_update)
        if programme is None or programme.customer_id != customer_id or programme.goal_id != goal_id:
            raise not_found("funding_programme", programme_id)
        return programme

    async def _live_goal(self, uow: UnitOfWork, customer_id: str, goal_id: str) -> GoalFacts:
        goal = (await uow.funding_programmes.goal_facts([goal_id])).get(goal_id)
        if goal is None or goal.customer_id != customer_id:
            raise not_found("goal", goal_id)
        if goal.status == ARCHIVED:
            raise FailedPrecondition(Reason.GOAL_ARCHIVED, f"goal '{goal_id}' is archived",
                                     metadata={"goal_id": goal_id})
        return goal

    async def _check_source(self, uow: UnitOfWork, customer_id: str, goal: GoalFacts, source_account_id: str) -> None:
        account = await uow.accounts.get(source_account_id) \
            if 0 < len(source_account_id) <= MAX_ACCOUNT_ID else None
        problem = ""
        if account is None or account.customer_id != customer_id:
            problem = "must be an account of the customer"
        elif account.currency != goal.currency:
            problem = f"must be in the goal's currency, {goal.currency}"
        elif source_account_id == goal.account_id:
            problem = "must not be the goal's own target account"
        if problem:
            raise InvalidArgument(Reason.FUNDING_SOURCE_INVALID, f"the source account {problem}",
                                  violations=[FieldViolation("funding_programme.source_account_id", problem)])

    @staticmethod
    def _check_currency(plan: PlanRequest, goal: GoalFacts) -> None:
        if plan.currency and plan.currency != goal.currency:  # none given: the goal's
            field = "fixed_schedule.amount" if isinstance(plan.plan, ScheduledAmount) else "round_up_rule.step"
            raise InvalidArgument(Reason.GOAL_CURRENCY_MISMATCH, f"the plan's amount must be in {goal.currency}",
                                  violations=[FieldViolation(f"funding_programme.{field}",
                                                             f"must be in {goal.currency}")])

    async def _today(self, uow: UnitOfWork) -> dt.date:
        return self._clock().astimezone(await uow.tenants.zone(uow.tenant_id)).date()

    async def _record(self, uow: UnitOfWork, caller: Caller, programme: Programme, kind: HistoryKind,
                      before: dict[str, str | None], after: dict[str, str | None], now: dt.datetime) -> None:
        await uow.funding_programmes.record_history(
            programme.customer_id, kind, _ACTORS[caller.role], caller.subject, now, programme.goal_id,
            programme_name(programme), before, after)


def _check_outcome(outcome: TransferStatus, failure_reason: str, transaction_id: str) -> None:
    problem, field = "", "outcome"
    if outcome not in (TransferStatus.EXECUTED, TransferStatus.FAILED):
        problem = "must be EXECUTED or FAILED"
    elif outcome == TransferStatus.FAILED and not failure_reason.strip():
        problem, field = "is required when the outcome is FAILED", "failure_reason"
    elif len(failure_reason) > MAX_FAILURE_REASON:
        problem, field = f"at most {MAX_FAILURE_REASON} characters", "failure_reason"
    elif len(transaction_id) > MAX_TRANSACTION_ID:
        problem, field = f"at most {MAX_TRANSACTION_ID} characters", "transaction_id"
    if problem:
        raise InvalidArgument(Reason.TRANSFER_OUTCOME_INVALID, f"{field} {problem}",
                              violations=[FieldViolation(field, problem)])


async def settle_transfer(uow: UnitOfWork, caller: Caller | None, transfer: Transfer, status: TransferStatus,
                          now: dt.datetime, *, failure_reason: str = "", transaction_id: str = "") -> Transfer:
    """Moves a transfer to `status` and records it (by `caller`, or by SERVICE when None); a repeat of
    its status changes nothing."""
    for _ in range(2):
        if not advance(transfer.status, status):
            return transfer
        if await uow.goal_transfers.change_status(transfer, status, now, failure_reason=failure_reason,
                                                  transaction_id=transaction_id):
            break
        # Settled by another caller in the meantime: judged against what it became.
        current = await uow.goal_transfers.get(transfer.transfer_id)
        if current is None:
            raise not_found("transfer", transfer.transfer_id)
        transfer = current
    settled = replace(transfer, status=status, failure_reason=failure_reason, transaction_id=transaction_id,
                      updated_at=now)
    after: dict[str, str | None] = {"status": status.value}
    if failure_reason:
        after["failure_reason"] = failure_reason
    if transaction_id:
        after["transaction_id"] = transaction_id
    actor, actor_id = (_ACTORS[caller.role], caller.subject) if caller is not None else (Actor.SERVICE, "")
    await uow.funding_programmes.record_history(
        transfer.customer_id, _TRANSFER_KINDS[status], actor, actor_id, now, transfer.goal_id,
        transfer_name(transfer), {"status": transfer.status.value}, after)
    return settled


async def end_programmes_of_archived_goals(uow: UnitOfWork, customer_id: str, goal_ids: Collection[str],
                                           now: dt.datetime, actor_id: str) -> None:
    """An archived goal takes no more money: its programmes that are not cancelled become CANCELLED, and
    their REQUESTED transfers CANCELLED, recorded by SERVICE (`actor_id`: what ended them). Called in
    the unit of work that archives the goals."""
    for programme in await uow.funding_programmes.open_of_goals(customer_id, goal_ids):
        ended = replace(programme, status=ProgrammeStatus.CANCELLED, updated_at=now)
        await uow.funding_programmes.save(ended)
        await uow.funding_programmes.record_history(
            programme.customer_id, HistoryKind.PROGRAMME_CANCELLED, Actor.SERVICE, actor_id, now, programme.goal_id,
            programme_name(programme), {"status": programme.status.value}, {"status": ended.status.value})
        for transfer in await uow.goal_transfers.requested_of(programme.programme_id):
            await settle_transfer(uow, None, transfer, TransferStatus.CANCELLED, now)
