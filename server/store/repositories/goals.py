"""Enrolments in the goals programme, goals, and the customer history (server.store.goals_models)."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
from collections import defaultdict
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import CursorResult, bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from server.domain.events import Money
from server.domain.goals.enrolment import Enrolment, EnrolmentStatus, GoalSettings
from server.domain.goals.history import Actor, HistoryEntry, HistoryKind
from server.domain.goals.model import Goal, GoalCategory, GoalStatus
from server.domain.ids import new_id
from server.store.driver import dialect_of
from server.store.goals_models import GoalEnrolmentRow, GoalHistoryRow, GoalRow
from server.store.keyset import keyset_page
from server.store.repositories.base import TenantRepository

# The enrolment's goal settings as its JSON column keeps them (one flag each; absent: on).
SETTINGS = ("tracker_insights", "milestone_insights", "at_risk_insights")


def settings_from_json(stored: Mapping[str, Any] | None) -> GoalSettings:
    stored = stored or {}
    return GoalSettings(**{name: bool(stored.get(name, True)) for name in SETTINGS})


def _enrolment(row: GoalEnrolmentRow) -> Enrolment:
    return Enrolment(customer_id=row.customer_id, account_id=row.account_id, status=EnrolmentStatus(row.status),
                     settings=settings_from_json(row.settings), enrolled_at=row.enrolled_at,
                     updated_at=row.updated_at)


class GoalEnrolmentsRepository(TenantRepository):
    """One enrolment per customer."""

    async def get(self, customer_id: str) -> Enrolment | None:
        row = await self.session.get(GoalEnrolmentRow, (self.tenant_id, customer_id), populate_existing=True)
        return None if row is None else _enrolment(row)

    async def signup_request_id(self, customer_id: str) -> str | None:
        """The request id of the customer's latest SIGNUP (EnrollInGoals' idempotency)."""
        return await self.session.scalar(select(GoalEnrolmentRow.request_id).where(
            GoalEnrolmentRow.tenant_id == self.tenant_id, GoalEnrolmentRow.customer_id == customer_id))

    async def hold(self, customer_id: str) -> bool:
        """Holds the customer's enrolment until the unit of work ends: the goal changes of one customer
        (counting its active goals, then adding one) run one after the other."""
        return await self.hold_row(GoalEnrolmentRow.customer_id, customer_id)

    async def save(self, enrolment: Enrolment, *, request_id: str | None = None) -> None:
        """Inserts or replaces the enrolment; `request_id` (a SIGNUP's) replaces the stored one when given."""
        values: dict[str, Any] = {"tenant_id": self.tenant_id, "customer_id": enrolment.customer_id,
                  "account_id": enrolment.account_id, "status": enrolment.status.value,
                  "settings": {name: getattr(enrolment.settings, name) for name in SETTINGS},
                  "milestones": [], "request_id": request_id, "enrolled_at": enrolment.enrolled_at,
                  "updated_at": enrolment.updated_at}
        stmt = self.upsert(GoalEnrolmentRow)
        replaced = {name: getattr(stmt.excluded, name)
                    for name in ("account_id", "status", "settings", "enrolled_at", "updated_at")}
        if request_id is not None:
            replaced["request_id"] = stmt.excluded.request_id
        await self.session.execute(
            stmt.on_conflict_do_update(index_elements=["tenant_id", "customer_id"], set_=replaced), [values])


@dataclass(frozen=True, slots=True)
class StoredGoal:
    """A goal as stored: the domain goal, when it last changed, and the milestones it reached."""

    goal: Goal
    updated_at: dt.datetime
    milestones: tuple[str, ...] = ()


def goal_from_row(row: Any) -> Goal:
    """A goal from a GoalRow, or from a result row with the goals table's columns."""
    return Goal(goal_id=row.goal_id, customer_id=row.customer_id, account_id=row.account_id, name=row.name,
                category=GoalCategory(row.category), target=Money(row.target, row.currency),
                target_date=row.target_date, priority=row.priority, status=GoalStatus(row.status), saved=row.saved,
                created_at=row.created_at, achieved_at=row.achieved_at, archived_at=row.archived_at)


def _stored(row: GoalRow) -> StoredGoal:
    return StoredGoal(goal_from_row(row), row.updated_at, tuple(row.milestones or ()))


def _goal_values(goal: Goal) -> dict[str, Any]:
    """The columns a change may set."""
    return {"name": goal.name, "category": goal.category.value, "target": goal.target.amount,
            "currency": goal.target.currency, "target_date": goal.target_date, "priority": goal.priority,
            "status": goal.status.value, "saved": goal.saved, "achieved_at": goal.achieved_at,
            "archived_at": goal.archived_at}


# The hold of target accounts' allocations (hold_accounts): pg_advisory_xact_lock(class, key), the key
# one of a tenant's HOLD_SLOTS slots, the account's by a hash. Slots, not one lock per account: advisory
# locks live in PostgreSQL's shared lock table (max_locks_per_transaction x connections, 6,400 entries
# by default), which concurrent events of hundreds of accounts each would fill; with slots a transaction
# takes at most HOLD_SLOTS. Two accounts of one slot wait for each other: harmless, rare for small events
# (the events of a large batch touch most slots and are held one after the other anyway).
_ACCOUNT_HOLD_CLASS = 0x60A1
HOLD_SLOTS = 64
_HOLD_ACCOUNTS = "SELECT count(pg_advisory_xact_lock($1::int, k)) FROM unnest($2::int[]) AS k"
# hold_accounts_before_writing: every slot or none, without waiting (a slot taken stays taken until the
# rollback that follows a refusal); and whether the transaction has written, which that rollback would undo.
_TRY_HOLD_ACCOUNTS = ("SELECT bool_and(pg_try_advisory_xact_lock($1::int, k)), "
                      "pg_current_xact_id_if_assigned() IS NOT NULL FROM unnest($2::int[]) AS k")
# How hold_accounts_before_writing waits between its tries: doubling from the first pause to the last, and
# after this long in all it waits in PostgreSQL's lock queue, where holders' turns are kept in order.
FIRST_HOLD_PAUSE_SECONDS = 0.002
LAST_HOLD_PAUSE_SECONDS = 0.025
POLITE_HOLD_SECONDS = 2.0


def _hash32(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=4).digest(), "big", signed=True)


def _hold_key(tenant_id: str, account_id: str) -> int:
    return _hash32(f"{tenant_id}\x00{_hash32(account_id) % HOLD_SLOTS}")


# The order an account's balance is allocated in (server.domain.goals.allocation): the list order too.
ALLOCATION_ORDER = (GoalRow.priority, GoalRow.created_at, GoalRow.goal_id)


class GoalsRepository(TenantRepository):
    """Goals, by customer and by target account."""

    def __init__(self, session: AsyncSession, tenant_id: str) -> None:
        super().__init__(session, tenant_id)
        # The target accounts held by hold_accounts_before_writing in this unit of work (None: none held so).
        self.held_before_writing: frozenset[str] | None = None

    async def add(self, goal: Goal, *, request_id: str | None = None) -> None:
        self.session.add(GoalRow(tenant_id=self.tenant_id, goal_id=goal.goal_id, customer_id=goal.customer_id,
                                 account_id=goal.account_id, milestones=[], request_id=request_id or None,
                                 created_at=goal.created_at, updated_at=goal.created_at, **_goal_values(goal)))
        await self.session.flush()

    async def by_request(self, customer_id: str, request_id: str) -> StoredGoal | None:
        """The goal a CreateGoal with this request id created (its idempotency)."""
        row = await self.session.scalar(select(GoalRow).where(
            GoalRow.tenant_id == self.tenant_id, GoalRow.customer_id == customer_id,
            GoalRow.request_id == request_id))
        return None if row is None else _stored(row)

    async def get(self, customer_id: str, goal_id: str) -> StoredGoal | None:
        row = await self.session.get(GoalRow, (self.tenant_id, goal_id), populate_existing=True)
        return None if row is None or row.customer_id != customer_id else _stored(row)

    async def list_by_customer(self, customer_id: str, *, show_archived: bool,
                               after: tuple[int, dt.datetime, str] | None, limit: int) -> list[StoredGoal]:
        """In allocation order (priority, oldest first, id), after the key `after`."""
        query = select(GoalRow).where(GoalRow.tenant_id == self.tenant_id, GoalRow.customer_id == customer_id)
        if not show_archived:
            query = query.where(GoalRow.status != GoalStatus.ARCHIVED.value)
        rows = await self.session.scalars(keyset_page(query, ALLOCATION_ORDER, after, limit))
        return [_stored(row) for row in rows]

    async def of_customer(self, customer_id: str) -> list[Goal]:
        """The customer's goals that are not archived, in allocation order."""
        rows = await self.session.scalars(select(GoalRow).where(
            GoalRow.tenant_id == self.tenant_id, GoalRow.customer_id == customer_id,
            GoalRow.status != GoalStatus.ARCHIVED.value).order_by(*ALLOCATION_ORDER))
        return [goal_from_row(row) for row in rows]

    async def of_accounts(self, account_ids: Collection[str]) -> dict[str, list[Goal]]:
        """account id -> its goals that are not archived, in allocation order; one statement. Accounts
        without goals are absent. To recalculate them, hold the accounts first (hold_accounts)."""
        if not account_ids:
            return {}
        query = select(GoalRow).where(
            GoalRow.tenant_id == self.tenant_id, self.one_of(GoalRow.account_id, sorted(account_ids)),
            GoalRow.status != GoalStatus.ARCHIVED.value).order_by(GoalRow.account_id, *ALLOCATION_ORDER)
        rows = await self.session.scalars(query.execution_options(populate_existing=True))
        found: dict[str, list[Goal]] = defaultdict(list)
        for row in rows:
            found[row.account_id].append(goal_from_row(row))
        return dict(found)

    async def hold_accounts(self, account_ids: Collection[str]) -> None:
        """Holds the allocation of the target accounts until the unit of work ends: whoever allocates an
        account's balance to its goals (postings, goal changes) does so one after the other, each reading
        the balance and goals the one before left. PostgreSQL: an advisory lock per slot of accounts (not
        the goal rows: see HOLD_SLOTS), taken in key order, so holders of overlapping accounts wait instead
        of deadlocking; SQLite has one writer, which the caller's first write holds."""
        if not account_ids or dialect_of(self.session).name != "postgresql":
            return
        keys = sorted({_hold_key(self.tenant_id, account_id) for account_id in account_ids})
        connection = await self.session.connection()
        await connection.exec_driver_sql(_HOLD_ACCOUNTS, (_ACCOUNT_HOLD_CLASS, keys))

    async def hold_accounts_before_writing(self, account_ids: Collection[str], *,
                                           polite_seconds: float = POLITE_HOLD_SECONDS) -> None:
        """hold_accounts, for a unit of work that has only read so far, waiting so that it keeps back no
        other transaction's cleanup: PostgreSQL prunes no row version that the oldest running transaction or
        statement may still see, and one waiting in pg_advisory_xact_lock is both (while goal jobs queued
        for each other's holds, ingestion's balance updates of `accounts` went unpruned and the table grew
        ninefold: docs/goals-tracking.md#costs). It tries for every slot at once; refused, it rolls back
        (freeing the slots it got; what was read stays read) and tries again after a pause spent outside
        any transaction. After `polite_seconds` it waits in the lock queue as hold_accounts does, where
        turns are kept in order. Remembered in `held_before_writing`."""
        if account_ids and dialect_of(self.session).name == "postgresql":
            keys = sorted({_hold_key(self.tenant_id, account_id) for account_id in account_ids})
            loop = asyncio.get_running_loop()
            give_up_at = loop.time() + polite_seconds
            pause = FIRST_HOLD_PAUSE_SECONDS
            while True:
                connection = await self.session.connection()
                if loop.time() >= give_up_at:
                    await connection.exec_driver_sql(_HOLD_ACCOUNTS, (_ACCOUNT_HOLD_CLASS, keys))
                    break
                tried: CursorResult[*tuple[Any, ...]]  # exec_driver_sql() is typed as giving one-column rows
                tried = await connection.exec_driver_sql(_TRY_HOLD_ACCOUNTS, (_ACCOUNT_HOLD_CLASS, keys))
                taken, wrote = tried.one()
                if taken:
                    break
                if wrote:
                    raise RuntimeError("hold_accounts_before_writing after a write: its rollback would undo it")
                await self.session.rollback()
                await asyncio.sleep(pause)
                pause = min(pause * 2, LAST_HOLD_PAUSE_SECONDS)
        self.held_before_writing = frozenset(account_ids)

    async def count_active(self, customer_id: str) -> int:
        return await self.session.scalar(select(func.count()).select_from(GoalRow).where(
            GoalRow.tenant_id == self.tenant_id, GoalRow.customer_id == customer_id,
            GoalRow.status == GoalStatus.ACTIVE.value)) or 0

    async def update(self, goal: Goal, now: dt.datetime) -> None:
        """Stores a changed goal (its identity, account and creation time stay)."""
        await self.session.execute(
            update(GoalRow).where(GoalRow.tenant_id == self.tenant_id, GoalRow.goal_id == goal.goal_id)
            .values(updated_at=now, **_goal_values(goal)), execution_options={"synchronize_session": False})

    async def set_saved(self, saved: Mapping[str, Decimal], now: dt.datetime) -> None:
        """Each goal's new saved amount (goal id -> amount), in one statement."""
        if not saved:
            return
        table = GoalRow.__table__
        stmt = update(table).where(table.c.tenant_id == self.tenant_id, table.c.goal_id == bindparam("b_goal_id")
                                   ).values(saved=bindparam("b_saved"), updated_at=now)
        await self.session.execute(stmt, [{"b_goal_id": goal_id, "b_saved": amount}
                                          for goal_id, amount in saved.items()],
                                   execution_options={"synchronize_session": False})


@dataclass(frozen=True, slots=True)
class StoredHistoryEntry:
    entry_id: str
    customer_id: str
    resource: str  # the resource name that changed
    entry: HistoryEntry


class GoalHistoryRepository(TenantRepository):
    """The customer history: appended to, listed by customer, kind and period."""

    async def append(self, customer_id: str, entry: HistoryEntry, *, resource: str = "") -> str:
        """Writes one entry; its id sorts by creation time (ids.new_id)."""
        entry_id = new_id()
        self.session.add(GoalHistoryRow(
            tenant_id=self.tenant_id, entry_id=entry_id, customer_id=customer_id, kind=entry.kind.value,
            actor=entry.actor.value, actor_id=entry.actor_id, at=entry.at, goal_id=entry.goal_id, resource=resource,
            before=dict(entry.before), after=dict(entry.after)))
        return entry_id

    async def list_by_customer(self, customer_id: str, *, kinds: Collection[str] = (),
                               since: dt.datetime | None = None, until: dt.datetime | None = None,
                               before: tuple[dt.datetime, str] | None = None, limit: int) -> list[StoredHistoryEntry]:
        """Newest first, from the key `before` (exclusive); `kinds` empty: every kind; [since, until)."""
        await self.session.flush()
        query = select(GoalHistoryRow).where(GoalHistoryRow.tenant_id == self.tenant_id,
                                             GoalHistoryRow.customer_id == customer_id)
        if kinds:
            query = query.where(GoalHistoryRow.kind.in_(sorted(kinds)))
        if since is not None:
            query = query.where(GoalHistoryRow.at >= since)
        if until is not None:
            query = query.where(GoalHistoryRow.at < until)
        rows = await self.session.scalars(keyset_page(query, [GoalHistoryRow.at, GoalHistoryRow.entry_id], before,
                                                      limit, descending=True))
        return [StoredHistoryEntry(row.entry_id, row.customer_id, row.resource, HistoryEntry(
            kind=HistoryKind(row.kind), actor=Actor(row.actor), actor_id=row.actor_id, at=row.at, goal_id=row.goal_id,
            before=dict(row.before or {}), after=dict(row.after or {}))) for row in rows]
