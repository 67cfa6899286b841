"""Recalculation after every posting, milestones, the Goal Tracker, forecasts and safe-to-save.

The calculation "behind the scenes" (docs/goals-tracking.md): after every committed batch of postings,
each target account in it has its goals' saved amounts derived afresh from the account's current balance
(server.domain.goals.allocation), under a hold of the account (GoalsRepository.hold_accounts), so
duplicated, re-run or out-of-order events end in the same allocation. Each posting gets its goal cash-flow entries, the
difference between the allocation of its balance after and before it; goals filled to their target become
ACHIEVED; milestones newly reached are recorded on the goal (or the enrolment) and, for live postings
only, announced as GOAL_MILESTONE feed items."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import structlog

from server.domain.auth import Caller, Role
from server.domain.errors import FieldViolation, InvalidArgument, not_found
from server.domain.events import CreatedFeedItem, FeedItemsCreated, TransactionsPosted
from server.domain.goals.enrolment import EnrolmentStatus, require_enrolled
from server.domain.goals.forecast import (
    Forecast,
    SafeToSave,
    SavingPace,
    forecast_completion,
    safe_to_save,
    saving_pace,
)
from server.domain.goals.history import achieved_entry
from server.domain.goals.milestones import Milestone, MilestonePolicy, ReachedMilestones, new_milestones
from server.domain.goals.model import Goal, GoalStatus
from server.domain.goals.tracker import TrackerLine, tracker
from server.domain.ids import time_ordered_hexes
from server.domain.insights.catalogue import Catalogue, default_catalogue
from server.domain.insights.definition import EffectiveSubscription, SubscriptionSettings, effective_subscription
from server.domain.insights.feed import FeedItem, Origin
from server.domain.insights.plugins.goals import milestone_period, milestone_policy
from server.domain.resource_names import GOAL
from server.domain.subscriptions.levels import BANK_LEVEL
from server.services.activity_metrics import NO_ACTIVITY_METRICS, ActivityMetrics
from server.services.clock import Clock, utc_now
from server.services.events import Queue
from server.services.goals.inputs import DEFAULT_PACE_MONTHS, goals_inputs, local_midnight
from server.services.insight_evaluation import ItemMaker, subscriptions
from server.store.db import Database
from server.store.repositories.goal_cash_flows import HeldGoal, Settlement
from server.store.uow import UnitOfWork

log = structlog.get_logger(__name__)

# The history's actor id when the calculation changes a goal.
SERVICE_ACTOR_ID = "goal_allocation"
_ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class TrackedLine:
    """One goal in the tracker: its figures, the forecast behind them, and the goal."""

    goal: Goal
    line: TrackerLine
    forecast: Forecast
    explanation: str


@dataclass(frozen=True, slots=True)
class GoalTrackerView:
    customer_id: str
    currency: str
    lines: list[TrackedLine]
    period: tuple[dt.date, dt.date]  # first and last day shown
    pace: SavingPace
    safe_to_save: SafeToSave
    generated_at: dt.datetime


def explain(line: TrackerLine, forecast: Forecast) -> str:
    """The projection in words, e.g. "1200.00 to go at 300.00 a month: 4 months"."""
    if line.status == GoalStatus.ARCHIVED:
        return "archived: no longer saved for"
    if forecast.completed:
        return "target reached"
    ahead = f" (after {forecast.ahead} for the goals before it)" if forecast.ahead else ""
    to_go = f"{forecast.remaining} to go{ahead}"
    if line.months_needed is None:
        return f"{to_go}: not at the recent pace of {forecast.pace.monthly} a month"
    months = "month" if line.months_needed == 1 else "months"
    return f"{to_go} at {forecast.pace.monthly} a month: {line.months_needed} {months}"


class GoalTrackingService:
    """Recalculation after every posting, milestones, tracker, forecast and at-risk insights."""

    def __init__(self, database: Database, publisher: Queue, clock: Clock = utc_now,
                 catalogue: Catalogue | None = None, metrics: ActivityMetrics = NO_ACTIVITY_METRICS) -> None:
        self._database = database
        self._publisher = publisher
        self._clock = clock
        self._catalogue = catalogue or default_catalogue()
        self._metrics = metrics

    # -- the calculation after postings ---------------------------------------------------------

    async def hold_for_postings(self, uow: UnitOfWork, tenant_id: str, event: TransactionsPosted) -> None:
        """The bus handler's hold (EventHandler.hold), before its claim: the batch's target accounts."""
        accounts = await uow.goal_cash_flows.accounts_with_goals({p.account_id for p in event.postings})
        await uow.goals.hold_accounts_before_writing(accounts)

    async def on_transactions_posted(self, uow: UnitOfWork, tenant_id: str, event: TransactionsPosted) -> None:
        """Bus handler (goal_allocation), for live and backfill postings alike: recalculates the goals of
        every target account in the batch from its current balance. Backfill updates allocations, cash
        flows and reached milestones, and announces nothing."""
        now = self._clock()
        touched = {p.account_id for p in event.postings}
        held = uow.goals.held_before_writing
        if held is None:  # not run by the bus, whose hold_for_postings found and held them first
            accounts = await uow.goal_cash_flows.accounts_with_goals(touched)
        else:  # the events held for, or those of them this job claimed
            accounts = set(held & touched)
        if not accounts:
            return
        plugin = self._catalogue.goal_milestones()
        policy = None
        stored: dict[tuple[str, str], SubscriptionSettings] = {}
        if plugin is not None:  # the bank's thresholds; who is subscribed is read for the goals that moved
            stored = await uow.subscriptions.settings_of([BANK_LEVEL], [plugin.definition.name])
            policy = milestone_policy(effective_subscription(
                plugin.definition, stored.get((BANK_LEVEL, plugin.definition.name)), None))
        # From here to the commit the accounts are held: the postings' cash flows and the allocation from the
        # latest committed balance in one statement, then what it changed.
        if held is None:
            await uow.goals.hold_accounts(accounts)
        settled = await uow.goal_cash_flows.record_and_settle(event.postings, accounts, now, policy)
        changed: dict[str, HeldGoal] = {}
        items: list[FeedItem] = []
        if policy is not None and settled.moved:
            items = await self._milestones(uow, policy, settled, stored, changed, event.live, now)
        await uow.goal_cash_flows.save_changes([
            (goal.customer_id, achieved_entry(goal.goal_id, status_before, SERVICE_ACTOR_ID, now),
             GOAL.format(goal.customer_id, goal.goal_id)) for goal, status_before in settled.achieved],
            list(changed.values()), now)
        if items:
            inserted = await uow.feed.insert_new(items, Origin.EVENT)
            created = tuple(CreatedFeedItem(i.feed_item_id, i.customer_id, i.insight_name, i.period)
                            for i in items if i.feed_item_id in inserted)
            if created:
                await uow.domain_events.add(tenant_id, FeedItemsCreated(created), now)
                log.info("goal_milestones_announced", tenant=tenant_id, count=len(created))
                names = [item.insight_name for item in created]
                uow.after_commit(lambda: self._metrics.insights_generated(Origin.EVENT, names))

    async def _milestones(self, uow: UnitOfWork, policy: MilestonePolicy, settled: Settlement,
                          stored: dict[tuple[str, str], SubscriptionSettings], changed: dict[str, HeldGoal],
                          live: bool, now: dt.datetime) -> list[FeedItem]:
        """Records the milestones newly reached by the accounts whose allocation moved (marking their goals
        changed) and returns the GOAL_MILESTONE items to announce: live postings only, to customers who
        receive goal insights (enrolled, not paused) with milestone insights on and subscribed."""
        plugin = self._catalogue.goal_milestones()
        assert plugin is not None
        definition = plugin.definition
        customers = sorted({goals[0].goal.customer_id for goals, _ in settled.moved})
        stored = stored | await uow.subscriptions.settings_of(customers, [definition.name])
        subscribed = subscriptions(definition, customers, stored)
        enrolments = settled.enrolments
        # (customer, period, payload, subscription) of each milestone to announce
        announced: list[tuple[str, str, dict[str, Any], EffectiveSubscription]] = []
        for goals, allocation in settled.moved:
            customer_id = goals[0].goal.customer_id
            enrolment = enrolments.get(customer_id)
            reached = ReachedMilestones({h.goal.goal_id: frozenset(h.milestones) for h in goals},
                                        frozenset(enrolment.milestones if enrolment else ()))
            plain = [h.goal for h in goals]
            found = new_milestones(policy, plain, reached, saved=allocation)
            if not found:
                continue
            self._record(found, goals, changed)
            if enrolment is not None and any(m.goal_id is None for m in found):
                await uow.goal_cash_flows.set_enrolment_milestones(
                    customer_id, [*enrolment.milestones, *(m.key for m in found if m.goal_id is None)], now)
            subscription = subscribed.get(customer_id)
            if (live and enrolment is not None and enrolment.receives_insights
                    and enrolment.settings.milestone_insights and subscription is not None):
                announced += [(customer_id, milestone_period(m), plugin.evaluate(m, plain, allocation, subscription),
                               subscription) for m in found]
        # EVENT items get time-ordered ids, as evaluate_postings gives its own: the feed's primary key takes
        # them at its end.
        maker = ItemMaker(now)
        return [maker.item(definition, customer_id, period, payload, subscription, feed_item_id)
                for (customer_id, period, payload, subscription), feed_item_id
                in zip(announced, time_ordered_hexes(len(announced)), strict=True)]

    @staticmethod
    def _record(found: list[Milestone], goals: list[HeldGoal], changed: dict[str, HeldGoal]) -> None:
        """Appends each goal's new keys to what it reached (the enrolment's all-goals keys are the caller's)."""
        by_id = {h.goal.goal_id: h for h in goals}
        for milestone in found:
            if milestone.goal_id is not None:
                held_goal = by_id[milestone.goal_id]
                held_goal.milestones.append(milestone.key)
                changed[milestone.goal_id] = held_goal

    # -- the Goal Tracker -----------------------------------------------------------------------

    async def tracker(self, caller: Caller, customer_id: str, period: tuple[dt.date, dt.date] | None
                      ) -> GoalTrackerView:
        """GetGoalTracker (and the reference's getInsights with ctxId goalTracking): the customer's goals at
        a glance, computed now. `period`: the days (the bank's calendar) whose goal cash flow is shown;
        None: this month up to today."""
        caller.require_role(Role.USER, Role.SERVICE, Role.BANK_ADMIN)
        caller.require_customer_access(customer_id)
        if period is not None and period[0] > period[1]:
            raise InvalidArgument("INVALID_DATE", "the period's start is after its end",
                                  violations=[FieldViolation("period", "start on or before end")])
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            if await uow.customers.get(customer_id) is None:
                raise not_found("customer", customer_id)
            enrolment = (await uow.goal_cash_flows.enrolments([customer_id])).get(customer_id)
            if enrolment is None or enrolment.status == EnrolmentStatus.CANCELLED:
                require_enrolled(None, customer_id)
            assert enrolment is not None
            zone = await uow.tenants.zone(caller.tenant_id)
            now = self._clock()
            today = now.astimezone(zone).date()
            first, last = period or (today.replace(day=1), today)
            inputs = (await goals_inputs(uow, as_of=today, months=DEFAULT_PACE_MONTHS, zone=zone,
                                         period=(local_midnight(first, zone),
                                                 local_midnight(last + dt.timedelta(days=1), zone)),
                                         customer_ids=[customer_id])).get(customer_id)
            balance = (await uow.goal_cash_flows.current_balances([enrolment.account_id])).get(enrolment.account_id,
                                                                                                _ZERO)
            account = await uow.accounts.get(enrolment.account_id)
        currency = account.currency if account is not None else ""
        goals = list(inputs.customer.goals) if inputs else []
        months = inputs.months if inputs else []
        pace = saving_pace([m.net for m in months])
        lines = tracker(goals, inputs.customer.period_cash_flows if inputs else {}, pace, today)
        tracked = []
        ahead = _ZERO
        for goal, line in zip(goals, lines, strict=True):
            forecast = forecast_completion(goal.saved, goal.target.amount, pace, today, ahead)
            if goal.saved < goal.target.amount:
                ahead += goal.target.amount - goal.saved
            tracked.append(TrackedLine(goal, line, forecast, explain(line, forecast)))
        # The money the goals hold already stays in the account: only what is above it may be moved.
        held = sum((g.saved for g in goals), _ZERO)
        safe = safe_to_save([m.income for m in months], [m.spending for m in months], balance, held)
        return GoalTrackerView(customer_id, currency, tracked, (first, last), pace, safe, now)
