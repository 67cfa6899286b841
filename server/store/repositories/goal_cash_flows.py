"""What the goal calculation reads and writes (server.services.goals.tracking): the goals of target
accounts held while they are recalculated, each change of a goal's saved amount with the posting that
caused it (goal_cash_flows), milestone keys, and the monthly figures that forecasts and the tracker use."""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, CursorResult, and_, bindparam, case, func, insert, select, type_coerce, update

from server.domain.events import Money, Posting
from server.domain.goals.allocation import CashFlow, allocate, cash_flows, settle
from server.domain.goals.enrolment import EnrolmentStatus, GoalSettings
from server.domain.goals.history import HistoryEntry
from server.domain.goals.milestones import MilestonePolicy
from server.domain.goals.model import Goal, GoalCategory, GoalStatus
from server.domain.ids import new_id
from server.domain.money import MAX_ABS_AMOUNT, from_scaled, to_scaled
from server.store.array_literals import integer_array, text_array
from server.store.db import json_text
from server.store.goals_models import GoalCashFlowRow, GoalEnrolmentRow, GoalHistoryRow, GoalMilestoneRow, GoalRow
from server.store.models import AccountRow, TransactionRow
from server.store.repositories.base import TenantRepository
from server.store.repositories.goals import ALLOCATION_ORDER, goal_from_row, settings_from_json

_GOALS = GoalRow.__table__
_ZERO = Decimal(0)
# The tracker's goals of a chunk (plain SQL on PostgreSQL; no milestone keys: not read).
_TRACKED_GOALS = ("SELECT goal_id, customer_id, account_id, name, category, target, currency, target_date, priority, "
                  "status, saved, NULL, created_at, achieved_at FROM goals "
                  "WHERE tenant_id = $1 AND status <> 'ARCHIVED' AND {scope} "
                  "ORDER BY customer_id, priority, created_at, goal_id")
_TRACKED_GOALS_OF_IDS = _TRACKED_GOALS.format(scope="customer_id = ANY($2::text[])")
_TRACKED_GOALS_IN_RANGE = _TRACKED_GOALS.format(scope="customer_id BETWEEN $2 AND $3")
_BEYOND_BALANCES = 10 ** 18
assert to_scaled(MAX_ABS_AMOUNT) < _BEYOND_BALANCES
_BALANCES = "SELECT account_id, current_balance FROM accounts WHERE tenant_id = $1 AND account_id = ANY($2::text[])"
# The allocation rule of server.domain.goals.allocation in SQL (PostgreSQL's hot path; SQLite runs the
# domain functions): a goal's share of a balance B is min(target, max(0, max(B, 0) - the targets of the
# goals before it in allocation order)). Amounts are whole ten-thousandths (BIGINT) throughout. SUM of
# BIGINT is NUMERIC, which made every share NUMERIC arithmetic (a fifth of the cash-flow statement); the
# sum is capped at 10^18, past every storable balance (money.MAX_ABS_AMOUNT), so that no share changes.
# The statements below compute it inside each account's LATERAL read, over that account's few goals: one
# window over every goal of the event sorted them all by account first (about 15% of the settle's CPU).
_AHEAD = ("LEAST(COALESCE(SUM({g}target) OVER (PARTITION BY {g}account_id ORDER BY {g}priority, {g}created_at, "
          f"{{g}}goal_id ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0), {_BEYOND_BALANCES})::bigint")
# The event's accounts that host goals, one index probe per account. `account_id = ANY(accounts)` compared
# every goal of the tenant with every account of the event in PostgreSQL's generic plan (a connection's
# sixth execution on) while `goals` had no statistics (never analyzed: goals loaded at once, autovacuum
# off): 76 ms for 800 accounts of 1,000 against 3.4.
_ACCOUNTS_WITH_GOALS = ("SELECT x.account_id FROM unnest($2::text::text[]) AS x(account_id) "
                        "CROSS JOIN LATERAL (SELECT FROM goals WHERE tenant_id = $1 AND account_id = x.account_id "
                        "AND status <> 'ARCHIVED' LIMIT 1) AS g")
# Under the hold of the accounts (GoalsRepository.hold_accounts), one statement that reads each account's
# goals once: each posting's own effect on each goal of its account (the allocation of the balance after
# it minus that of the balance before it, from the balances the event carries: $4..$8), stored when not
# zero and not stored already; then every goal's share of its account's current balance, stored where it
# changed, ACTIVE goals it fills marked ACHIEVED (allocation.settle). Returns the goals achieved now, and
# the goals of the accounts whose allocation moved that may have reached a milestone, with the customer's
# enrolment; the caller decides which milestones are new, in Python. With amount steps set ($9: they count
# a customer's goals together) every goal of such an account with a share above 0; else each goal past a
# percentage ($10, increasing) whose key it has not: the highest one crossed,
# $10[width_bucket(floor(share * 100 / target), $10)] (`div` is exact), the only one new_milestones may
# announce. The goals' columns are as before the update, `share` the new saved amount. Each account's
# goals are allocated and tested together in its LATERAL read (windows over the account alone, no sort of
# the event's goals); the columns the allocation does not need, and the enrolment, are read by key for the
# goals handed back only (LATERAL ... OFFSET 0: a probe a row, not a hash of every goal and enrolment of
# the tenant, which the planner picks while `goals` has no statistics). The cash flows were a statement of
# their own before the hold, which read the same goals again (docs/goals-tracking.md, Costs). Under the
# hold a duplicate of the event waits, then sees these entries: `NOT EXISTS` (a key probe a row, OFFSET 0:
# not a hash of the tenant's every entry) suffices where ON CONFLICT cost a speculative insertion a row.
# The update finds the changed goals by the `ctid` read above (TID scan), not by a hash of every goal of
# the tenant; nobody else writes them while the accounts are held. Each goal handed back carries its row's
# `ctid` as the statement leaves it, so that save_changes finds it the same way: the changed goals come
# from the update's RETURNING (the new version's), the others from g (a join of g's goals with the
# update's rows, neither counted by the planner, was a nested loop: the settle 31 -> 60 ms a job).
_RECORD_AND_SETTLE = f"""
WITH g AS (
  SELECT x.account_id, g.* FROM unnest($3::text::text[]) AS x(account_id)
  CROSS JOIN LATERAL (SELECT GREATEST(COALESCE(max(current_balance), 0), 0) AS balance FROM accounts
                      WHERE tenant_id = $1 AND account_id = x.account_id) AS b
  CROSS JOIN LATERAL (
    SELECT c.*, bool_or(c.changed) OVER () AS moved, bool_or(c.share > 0) OVER () AS any_share
    FROM (SELECT a.*, a.status = 'ACTIVE' AND a.share >= a.target AS achieved,
                 a.share <> a.saved OR (a.status = 'ACTIVE' AND a.share >= a.target) AS changed
          FROM (SELECT s.*, LEAST(s.target, GREATEST(b.balance - s.ahead, 0)) AS share
                FROM (SELECT ctid AS tid, goal_id, customer_id, currency, target, priority, status, saved, milestones,
                             created_at, {_AHEAD.format(g="")} AS ahead
                      FROM goals WHERE tenant_id = $1 AND account_id = x.account_id AND status <> 'ARCHIVED') AS s
                ) AS a) AS c
    OFFSET 0) AS g
), f AS (
  SELECT g.goal_id, p.transaction_id, g.customer_id, g.account_id, g.currency, p.posted_at,
         LEAST(g.target, GREATEST(GREATEST(p.after, 0) - g.ahead, 0))
         - LEAST(g.target, GREATEST(GREATEST(p.after - p.amount, 0) - g.ahead, 0)) AS amount
  FROM unnest($4::text::text[], $5::text::text[], $6::text::bigint[], $7::text::bigint[], $8::timestamptz[])
       AS p(transaction_id, account_id, amount, after, posted_at)
  JOIN g ON g.account_id = p.account_id
), i AS (
  INSERT INTO goal_cash_flows (tenant_id, goal_id, transaction_id, customer_id, account_id, amount, currency,
                               posted_at, recorded_at)
  SELECT $1, goal_id, transaction_id, customer_id, account_id, amount, currency, posted_at, $2 FROM f
  WHERE amount <> 0 AND NOT EXISTS (SELECT FROM goal_cash_flows AS c WHERE c.tenant_id = $1 AND c.goal_id = f.goal_id
                                    AND c.posted_at = f.posted_at AND c.transaction_id = f.transaction_id OFFSET 0)
), u AS (
  UPDATE goals AS t
  SET saved = g.share, status = CASE WHEN g.achieved THEN 'ACHIEVED' ELSE t.status END,
      achieved_at = CASE WHEN g.achieved THEN $2 ELSE t.achieved_at END, updated_at = $2
  FROM g WHERE t.ctid = ANY(ARRAY(SELECT tid FROM g WHERE changed)) AND t.ctid = g.tid AND g.changed
  RETURNING g.*, t.ctid AS row_tid
)
SELECT r.goal_id, r.customer_id, r.account_id, d.name, d.category, r.target, r.currency, d.target_date, r.priority,
       r.status, r.share, r.milestones, r.created_at, d.achieved_at, r.achieved, r.watched,
       e.account_id, e.status, e.settings, e.milestones, r.row_tid
FROM (SELECT * FROM (SELECT w.*, w.moved AND CASE WHEN $9 THEN w.any_share
        ELSE w.share > 0 AND COALESCE(position('"percent:' || ($10::int[])[width_bucket(
          div(w.share::numeric * 100, NULLIF(w.target, 0)::numeric)::int, $10::int[])] || '"'
          IN COALESCE(w.milestones::text, '')) = 0, false) END AS watched
        FROM (SELECT * FROM u UNION ALL SELECT g.*, g.tid FROM g WHERE NOT g.changed) AS w) AS v
      WHERE v.achieved OR v.watched) AS r
CROSS JOIN LATERAL (SELECT name, category, target_date, achieved_at FROM goals
                    WHERE tenant_id = $1 AND goal_id = r.goal_id OFFSET 0) AS d
LEFT JOIN LATERAL (SELECT account_id, status, settings, milestones FROM goal_enrolments
                   WHERE tenant_id = $1 AND customer_id = r.customer_id OFFSET 0) AS e ON true
ORDER BY r.account_id, r.priority, r.created_at, r.goal_id
"""
# What the settle changed, written in one round trip under the hold: the history entries ($3..$12), the
# milestone keys dated now ($13, $14: the keys already there keep their date) and each changed goal's keys
# in the order reached ($15, $16), each goal found by the `ctid` the settle handed back ($17: a TID scan; by
# key, `goals` without statistics, it hashed every goal of the tenant, a job of ~300 milestones 2.4 of its
# 11.6 ms with 10,000 goals). A goal whose row another transaction rewrote meanwhile (none does under the
# hold) is not found there: the caller writes the keys again by goal id (_SAVE_MILESTONE_KEYS). The tenant
# is tested as `(...) IS TRUE`, which no index serves: as a plain condition the planner (no statistics)
# scanned the tenant's goals through ix_goals_tenant_customer and compared each with every ctid; and the
# ctids are an array it cannot count (ARRAY(SELECT ...), as in the settle's update): given as a constant of
# ~400 elements it priced a TID scan above a scan of every goal.
_SAVE_CHANGES_HEAD = """
WITH h AS (
  INSERT INTO goal_history (tenant_id, entry_id, customer_id, kind, actor, actor_id, at, goal_id, resource,
                            before, after)
  SELECT $1, e.entry_id, e.customer_id, e.kind, e.actor, e.actor_id, e.at, e.goal_id, e.resource, e.before::json,
         e.after::json
  FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::timestamptz[], $9::text[],
              $10::text[], $11::text[], $12::text[])
       AS e(entry_id, customer_id, kind, actor, actor_id, at, goal_id, resource, before, after)
), k AS (
  INSERT INTO goal_milestones (tenant_id, goal_id, milestone, reached_at)
  SELECT $1, k.goal_id, k.milestone, $2 FROM unnest($13::text[], $14::text[]) AS k(goal_id, milestone)
  ON CONFLICT DO NOTHING
)
"""
_SAVE_CHANGES = _SAVE_CHANGES_HEAD + """UPDATE goals AS g SET milestones = u.milestones::json, updated_at = $2
FROM unnest($15::text[], $16::text[], $17::tid[]) AS u(goal_id, milestones, tid)
WHERE g.ctid = ANY(ARRAY(SELECT unnest($17::tid[]))) AND g.ctid = u.tid AND g.goal_id = u.goal_id
  AND (g.tenant_id = $1) IS TRUE
"""
_SAVE_MILESTONE_KEYS = """UPDATE goals AS g SET milestones = u.milestones::json, updated_at = $2
FROM unnest($3::text[], $4::text[]) AS u(goal_id, milestones)
WHERE g.tenant_id = $1 AND g.goal_id = u.goal_id
"""
# What a Goal is made of (not the milestone keys: JSON the tracker does not read).
_TRACKED_GOAL_COLUMNS = (GoalRow.goal_id, GoalRow.customer_id, GoalRow.account_id, GoalRow.name, GoalRow.category,
                         GoalRow.target, GoalRow.currency, GoalRow.target_date, GoalRow.priority, GoalRow.status,
                         GoalRow.saved, GoalRow.created_at, GoalRow.achieved_at, GoalRow.archived_at)


@dataclass(slots=True)
class HeldGoal:
    """A goal being recalculated, with the milestone keys it reached (in the order reached)."""

    goal: Goal
    milestones: list[str]
    # PostgreSQL: the row's ctid as record_and_settle left it (save_changes finds the row by it).
    tid: tuple[int, int] | None = None


@dataclass(frozen=True, slots=True)
class Settlement:
    """What a recalculation from the current balances changed (GoalCashFlowsRepository.record_and_settle)."""

    # The goals achieved now, as they are after it, each with its status before.
    achieved: list[tuple[Goal, str]]
    # Per account whose allocation moved and that may have reached a milestone: its goals that may have
    # (all of them with amount steps set, and on SQLite; not archived, in allocation order, as after the
    # allocation) and their allocation (goal id -> share).
    moved: list[tuple[list[HeldGoal], dict[str, Decimal]]]
    # The enrolments of the customers of `moved` (customer id -> enrolment; absent: not enrolled).
    enrolments: dict[str, EnrolmentState]


@dataclass(frozen=True, slots=True)
class EnrolmentState:
    """What the calculation needs of a customer's enrolment."""

    customer_id: str
    account_id: str
    status: EnrolmentStatus
    settings: GoalSettings
    milestones: tuple[str, ...]

    @property
    def receives_insights(self) -> bool:
        return self.status == EnrolmentStatus.ACTIVE


@dataclass(frozen=True, slots=True)
class MonthFigures:
    """One calendar month of an account: money in and money out (both ≥ 0)."""

    income: Decimal
    spending: Decimal

    @property
    def net(self) -> Decimal:
        return self.income - self.spending


@dataclass(slots=True)
class TrackedCustomer:
    """An enrolled customer's goals (not archived, in allocation order) for the tracker insights."""

    enrolment: EnrolmentState
    goals: list[Goal] = field(default_factory=list)


_CATEGORIES = {c.value: c for c in GoalCategory}
_STATUSES = {s.value: s for s in GoalStatus}


def _goal_of_columns(row: Any) -> Goal:
    """A goal from _TRACKED_GOALS' columns (plain driver values: amounts in whole ten-thousandths)."""
    return Goal(goal_id=row[0], customer_id=row[1], account_id=row[2], name=row[3], category=_CATEGORIES[row[4]],
                target=Money(from_scaled(int(row[5])), row[6]), target_date=row[7], priority=row[8],
                status=_STATUSES[row[9]], saved=from_scaled(int(row[10])), created_at=row[12], achieved_at=row[13],
                archived_at=None)


def _enrolment(row: Any) -> EnrolmentState:
    return EnrolmentState(row.customer_id, row.account_id, EnrolmentStatus(row.status),
                          settings_from_json(row.settings), tuple(row.milestones or ()))


class GoalCashFlowsRepository(TenantRepository):
    # -- recalculation after postings -------------------------------------------------------------

    async def _read_goals(self, account_ids: Collection[str]) -> dict[str, list[HeldGoal]]:
        """SQLite's path: account id -> its goals that are not archived, in allocation order, as committed.
        Accounts without goals are absent."""
        if not account_ids:
            return {}
        found: dict[str, list[HeldGoal]] = defaultdict(list)
        query = (select(GoalRow.__table__).where(
            GoalRow.tenant_id == self.tenant_id, self.one_of(GoalRow.account_id, sorted(account_ids)),
            GoalRow.status != GoalStatus.ARCHIVED.value).order_by(GoalRow.account_id, *ALLOCATION_ORDER))
        for row in await self.session.execute(query):
            found[row.account_id].append(HeldGoal(goal_from_row(row), list(row.milestones or ())))
        return dict(found)

    async def current_balances(self, account_ids: Collection[str]) -> dict[str, Decimal]:
        """The accounts' current balances as committed (under hold_accounts: the latest)."""
        connection = await self.session.connection()
        if connection.dialect.name == "postgresql":
            balances: CursorResult[*tuple[Any, ...]] = await connection.exec_driver_sql(
                _BALANCES, (self.tenant_id, sorted(account_ids)))
            return {row[0]: from_scaled(int(row[1])) for row in balances}
        found = await self.session.execute(select(AccountRow.account_id, AccountRow.current_balance).where(
            AccountRow.tenant_id == self.tenant_id, self.one_of(AccountRow.account_id, sorted(account_ids))))
        return {account_id: balance for account_id, balance in found}

    async def _insert_cash_flows(self, flows: Sequence[CashFlow], goals: Mapping[str, Goal],
                                 now: dt.datetime) -> None:
        """SQLite's path: stores the cash-flow entries whose (goal, transaction) has none yet, so that
        recalculating a posting again writes nothing new. `goals`: goal id -> goal (its customer, account
        and currency)."""
        flows = [f for f in flows if f.transaction_id is not None]
        if not flows:
            return
        rows = [{"tenant_id": self.tenant_id, "goal_id": f.goal_id, "transaction_id": f.transaction_id,
                 "customer_id": goals[f.goal_id].customer_id, "account_id": goals[f.goal_id].account_id,
                 "amount": f.amount, "currency": goals[f.goal_id].target.currency, "posted_at": f.at,
                 "recorded_at": now} for f in flows]
        await self.session.execute(self.upsert(GoalCashFlowRow).on_conflict_do_nothing(
            index_elements=["tenant_id", "goal_id", "posted_at", "transaction_id"]), rows)

    async def accounts_with_goals(self, account_ids: Collection[str]) -> set[str]:
        """Those of the accounts that host goals (not archived). Most postings land in accounts without
        goals: this plain lookup, and the recalculation (record_and_settle) only for the accounts found."""
        if not account_ids:
            return set()
        connection = await self.session.connection()
        if connection.dialect.name == "postgresql":
            return {row[0] for row in await connection.exec_driver_sql(
                _ACCOUNTS_WITH_GOALS, (self.tenant_id, text_array(sorted(account_ids))))}
        return set(await self._read_goals(account_ids))

    async def record_and_settle(self, postings: Sequence[Posting], account_ids: Collection[str], now: dt.datetime,
                                policy: MilestonePolicy | None) -> Settlement:
        """The recalculation of the accounts (GoalsRepository.hold_accounts held: the balance read here is
        the latest committed), postings of other accounts ignored:
        - stores each posting's goal cash flows (allocation.cash_flows of the allocations of its balance
          after and before it) that are not stored yet: each entry is the posting's own effect, from the
          balance the posting carries, so handling the postings again stores nothing;
        - allocates each account's current balance to its goals and stores what changed (saved amounts;
          ACTIVE goals filled become ACHIEVED at `now`): allocation.allocate and settle.
        `policy`: the milestones to watch for; the result's `moved` has the accounts whose allocation
        moved and that may have reached one of them (None: none). One statement on PostgreSQL."""
        if not account_ids:
            return Settlement([], [], {})
        postings = [p for p in postings if p.account_id in account_ids]
        connection = await self.session.connection()
        if connection.dialect.name != "postgresql":
            await self._record_cash_flows(postings, now)
            return await self._settle(account_ids, now, policy)
        watch_all = policy is not None and (policy.amount_step is not None or policy.all_goals_amount_step is not None)
        # A job of ten events is estimated past jit_above_cost (the key probe a cash flow, priced as a disk
        # read each), and compiling took a third of the statement's time: it runs in tens of milliseconds.
        await connection.exec_driver_sql("SET LOCAL jit = off")
        rows: CursorResult[*tuple[Any, ...]] = await connection.exec_driver_sql(_RECORD_AND_SETTLE, (
            self.tenant_id, now, text_array(sorted(account_ids)), text_array([p.transaction_id for p in postings]),
            text_array([p.account_id for p in postings]), integer_array([to_scaled(p.amount.amount) for p in postings]),
            integer_array([to_scaled(p.balance_after.amount) for p in postings]), [p.posted_at for p in postings],
            watch_all, list(policy.percentages) if policy is not None else []))
        settlement = Settlement([], [], {})
        current: tuple[list[HeldGoal], dict[str, Decimal]] | None = None
        for row in rows:
            share, achieved = from_scaled(int(row[10])), row[14]
            goal = Goal(goal_id=row[0], customer_id=row[1], account_id=row[2], name=row[3],
                        category=_CATEGORIES[row[4]], target=Money(from_scaled(int(row[5])), row[6]),
                        target_date=row[7], priority=row[8],
                        status=GoalStatus.ACHIEVED if achieved else _STATUSES[row[9]], saved=share,
                        created_at=row[12], achieved_at=now if achieved else row[13], archived_at=None)
            if achieved:
                settlement.achieved.append((goal, row[9]))
            if row[15]:
                if row[16] is not None and goal.customer_id not in settlement.enrolments:
                    settlement.enrolments[goal.customer_id] = EnrolmentState(
                        goal.customer_id, row[16], EnrolmentStatus(row[17]), settings_from_json(row[18]),
                        tuple(row[19] or ()))
                if current is None or current[0][0].goal.account_id != goal.account_id:
                    current = ([], {})
                    settlement.moved.append(current)
                current[0].append(HeldGoal(goal, list(row[11] or ()), row[20]))
                current[1][goal.goal_id] = share
        return settlement

    async def _record_cash_flows(self, postings: Sequence[Posting], now: dt.datetime) -> None:
        """SQLite's path of record_and_settle's cash flows."""
        by_account: dict[str, list[Posting]] = defaultdict(list)
        for posting in postings:
            by_account[posting.account_id].append(posting)
        held = await self._read_goals(by_account)
        flows: list[CashFlow] = []
        for account_id, goals in held.items():
            plain = [h.goal for h in goals]
            for posting in by_account[account_id]:
                after = posting.balance_after.amount
                moves = cash_flows(allocate(after - posting.amount.amount, plain), allocate(after, plain))
                flows += [CashFlow(goal_id, amount, posting.transaction_id, posting.posted_at)
                          for goal_id, amount in moves.items()]
        await self._insert_cash_flows(flows, {h.goal.goal_id: h.goal for goals in held.values() for h in goals}, now)

    async def _settle(self, account_ids: Collection[str], now: dt.datetime,
                      policy: MilestonePolicy | None) -> Settlement:
        """SQLite's path of record_and_settle's allocation."""
        held = await self._read_goals(account_ids)
        balances = await self.current_balances(held)
        settlement = Settlement([], [], {})
        changed: list[HeldGoal] = []
        for account_id, goals in held.items():
            by_id = {h.goal.goal_id: h for h in goals}
            allocation = allocate(balances.get(account_id, _ZERO), [h.goal for h in goals])
            settled = settle([h.goal for h in goals], allocation, now)
            for updated, achieved in settled:
                if achieved:
                    settlement.achieved.append((updated, by_id[updated.goal_id].goal.status.value))
                by_id[updated.goal_id].goal = updated
                changed.append(by_id[updated.goal_id])
            if settled and policy is not None:
                settlement.moved.append((goals, allocation))
        if changed:
            stmt = update(_GOALS).where(_GOALS.c.tenant_id == self.tenant_id,
                                        _GOALS.c.goal_id == bindparam("b_goal_id")
                                        ).values(saved=bindparam("b_saved"), status=bindparam("b_status"),
                                                 achieved_at=bindparam("b_achieved_at"), updated_at=now)
            await self.session.execute(stmt, [
                {"b_goal_id": g.goal.goal_id, "b_saved": g.goal.saved, "b_status": g.goal.status.value,
                 "b_achieved_at": g.goal.achieved_at} for g in changed],
                execution_options={"synchronize_session": False})
        settlement.enrolments.update(
            await self.enrolments({goals[0].goal.customer_id for goals, _ in settlement.moved}))
        return settlement

    async def save_changes(self, entries: Sequence[tuple[str, HistoryEntry, str]], goals: Sequence[HeldGoal],
                           now: dt.datetime) -> None:
        """Appends the history entries ((customer id, entry, resource name) each), stores the goals'
        milestone keys (what they reached, in the order reached) and dates the new ones `now` in
        goal_milestones (the keys already there keep their date). One statement on PostgreSQL."""
        if not entries and not goals:
            return
        connection = await self.session.connection()
        if connection.dialect.name != "postgresql":
            await self._append_history(entries)
            await self._save_milestones(goals, now)
            return
        ids = [new_id() for _ in entries]
        reached = [(g.goal.goal_id, key) for g in goals for key in dict.fromkeys(g.milestones)]
        located = [g for g in goals if g.tid is not None]
        saved: CursorResult[*tuple[Any, ...]] = await connection.exec_driver_sql(_SAVE_CHANGES, (
            self.tenant_id, now, ids, [c for c, _, _ in entries], [e.kind.value for _, e, _ in entries],
            [e.actor.value for _, e, _ in entries], [e.actor_id for _, e, _ in entries], [e.at for _, e, _ in entries],
            [e.goal_id for _, e, _ in entries], [r for _, _, r in entries],
            [json_text(dict(e.before)) for _, e, _ in entries], [json_text(dict(e.after)) for _, e, _ in entries],
            [goal_id for goal_id, _ in reached], [key for _, key in reached],
            [g.goal.goal_id for g in located], [json.dumps(g.milestones) for g in located],
            [g.tid for g in located]))
        if saved.rowcount != len(goals):
            await connection.exec_driver_sql(_SAVE_MILESTONE_KEYS, (
                self.tenant_id, now, [g.goal.goal_id for g in goals], [json.dumps(g.milestones) for g in goals]))

    async def _save_milestones(self, goals: Sequence[HeldGoal], now: dt.datetime) -> None:
        """SQLite's path of save_changes' milestones."""
        if not goals:
            return
        reached = [{"tenant_id": self.tenant_id, "goal_id": g.goal.goal_id, "milestone": key, "reached_at": now}
                   for g in goals for key in dict.fromkeys(g.milestones)]
        if reached:
            await self.session.execute(self.upsert(GoalMilestoneRow.__table__).on_conflict_do_nothing(), reached)
        stmt = update(_GOALS).where(_GOALS.c.tenant_id == self.tenant_id, _GOALS.c.goal_id == bindparam("b_goal_id")
                                    ).values(milestones=bindparam("b_milestones"), updated_at=now)
        await self.session.execute(stmt, [{"b_goal_id": g.goal.goal_id, "b_milestones": g.milestones} for g in goals],
                                   execution_options={"synchronize_session": False})

    async def enrolments(self, customer_ids: Collection[str]) -> dict[str, EnrolmentState]:
        if not customer_ids:
            return {}
        rows = await self.session.execute(select(GoalEnrolmentRow.__table__).where(
            GoalEnrolmentRow.tenant_id == self.tenant_id,
            self.one_of(GoalEnrolmentRow.customer_id, sorted(customer_ids))))
        return {row.customer_id: _enrolment(row) for row in rows}

    async def set_enrolment_milestones(self, customer_id: str, keys: Sequence[str], now: dt.datetime) -> None:
        await self.session.execute(
            update(GoalEnrolmentRow).where(GoalEnrolmentRow.tenant_id == self.tenant_id,
                                           GoalEnrolmentRow.customer_id == customer_id)
            .values(milestones=list(keys)), execution_options={"synchronize_session": False})

    async def _append_history(self, entries: Sequence[tuple[str, HistoryEntry, str]]) -> None:
        """SQLite's path of save_changes' history."""
        if entries:
            await self.session.execute(insert(GoalHistoryRow), [
                {"tenant_id": self.tenant_id, "entry_id": new_id(), "customer_id": customer_id,
                 "kind": entry.kind.value, "actor": entry.actor.value, "actor_id": entry.actor_id, "at": entry.at,
                 "goal_id": entry.goal_id,
                 "resource": resource, "before": dict(entry.before), "after": dict(entry.after)}
                for customer_id, entry, resource in entries])

    # -- tracker and forecasts ----------------------------------------------------------------------

    async def period_cash_flows(self, goal_ids: Collection[str], since: dt.datetime, until: dt.datetime
                                ) -> dict[str, Decimal]:
        """goal id -> the net of its cash-flow entries posted in [since, until); goals without any absent."""
        if not goal_ids:
            return {}
        rows = await self.session.execute(
            select(GoalCashFlowRow.goal_id, func.sum(GoalCashFlowRow.amount)).where(
                GoalCashFlowRow.tenant_id == self.tenant_id,
                self.one_of(GoalCashFlowRow.goal_id, sorted(goal_ids)),
                GoalCashFlowRow.posted_at >= since, GoalCashFlowRow.posted_at < until)
            .group_by(GoalCashFlowRow.goal_id))
        return {goal_id: total for goal_id, total in rows}

    async def monthly_figures(self, account_ids: Collection[str], month_starts: Sequence[dt.datetime]
                              ) -> dict[str, list[MonthFigures]]:
        """account id -> each month's income and spending from its transactions, oldest first: months
        [month_starts[i], month_starts[i + 1]); one statement (one index range scan per account). Every
        asked account is in the result (months without transactions are 0)."""
        months = len(month_starts) - 1
        if not account_ids or months < 1:
            return {}
        # As stored, whole ten-thousandths: summed as plain integers and scaled once below.
        amount = type_coerce(TransactionRow.signed_amount, BigInteger)
        columns = []
        for i in range(months):
            within = and_(TransactionRow.posted_at >= month_starts[i], TransactionRow.posted_at < month_starts[i + 1])
            columns.append(func.sum(case((and_(within, amount > 0), amount), else_=0), type_=BigInteger))
            columns.append(func.sum(case((and_(within, amount < 0), -amount), else_=0), type_=BigInteger))
        rows = await self.session.execute(
            select(TransactionRow.account_id, *columns).where(
                TransactionRow.tenant_id == self.tenant_id,
                self.one_of(TransactionRow.account_id, sorted(account_ids)),
                TransactionRow.posted_at >= month_starts[0], TransactionRow.posted_at < month_starts[-1])
            .group_by(TransactionRow.account_id))
        zero = MonthFigures(Decimal(0), Decimal(0))
        found = {account_id: [zero] * months for account_id in account_ids}
        for account_id, *sums in rows:
            found[account_id] = [MonthFigures(from_scaled(int(sums[2 * i] or 0)),
                                              from_scaled(int(sums[2 * i + 1] or 0))) for i in range(months)]
        return found

    async def tracked_customers(self, *, customer_ids: Collection[str] | None = None,
                                id_range: tuple[str, str] | None = None) -> list[TrackedCustomer]:
        """Enrolled customers (not cancelled) with their goals that are not archived, in allocation order:
        of the ids given, or of every id in the range (a batch chunk). Two statements."""
        enrolments = select(GoalEnrolmentRow.__table__).where(
            GoalEnrolmentRow.tenant_id == self.tenant_id, GoalEnrolmentRow.status != EnrolmentStatus.CANCELLED.value)
        goals = select(*_TRACKED_GOAL_COLUMNS).where(GoalRow.tenant_id == self.tenant_id,
                                                     GoalRow.status != GoalStatus.ARCHIVED.value)
        if customer_ids is not None:
            enrolments = enrolments.where(self.one_of(GoalEnrolmentRow.customer_id, sorted(customer_ids)))
            goals = goals.where(self.one_of(GoalRow.customer_id, sorted(customer_ids)))
        elif id_range is not None:
            enrolments = enrolments.where(GoalEnrolmentRow.customer_id.between(*id_range))
            goals = goals.where(GoalRow.customer_id.between(*id_range))
        found = {row.customer_id: TrackedCustomer(_enrolment(row))
                 for row in await self.session.execute(enrolments.order_by(GoalEnrolmentRow.customer_id))}
        if not found:
            return []
        connection = await self.session.connection()
        if connection.dialect.name == "postgresql":
            # Plain SQL for the chunk's goals (five or so per customer): the driver's values as they are.
            rows: CursorResult[*tuple[Any, ...]]
            if customer_ids is not None:
                rows = await connection.exec_driver_sql(_TRACKED_GOALS_OF_IDS, (self.tenant_id, sorted(customer_ids)))
            else:
                assert id_range is not None
                rows = await connection.exec_driver_sql(_TRACKED_GOALS_IN_RANGE, (self.tenant_id, *id_range))
            for row in rows:
                customer = found.get(row[1])
                if customer is not None and row[2] == customer.enrolment.account_id:
                    customer.goals.append(_goal_of_columns(row))
            return list(found.values())
        for row in await self.session.execute(goals.order_by(GoalRow.customer_id, *ALLOCATION_ORDER)):
            customer = found.get(row.customer_id)
            if customer is not None and row.account_id == customer.enrolment.account_id:
                customer.goals.append(goal_from_row(row))
        return list(found.values())
