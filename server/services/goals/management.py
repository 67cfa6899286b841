"""Enrolment lifecycle, goals (AIP standard methods) and the customer history.

Every change writes its history entry in the unit of work that makes it. A change of a goal's target,
priority or status (creating and archiving included) allocates the target account's balance again."""

from __future__ import annotations

import datetime as dt
import uuid
import zoneinfo
from collections.abc import Collection, Mapping
from dataclasses import replace
from decimal import Decimal
from typing import Any

from server.domain import resource_names
from server.domain.auth import Caller, Role
from server.domain.errors import FieldViolation, InvalidArgument, not_found
from server.domain.events import Money
from server.domain.goals.enrolment import (
    Enrolment,
    EnrolmentAction,
    GoalSettings,
    apply,
    check_target_account,
    require_enrolled,
)
from server.domain.goals.history import Actor, HistoryEntry, HistoryKind, as_text, changes, kind_of_action
from server.domain.goals.model import (
    DEFAULT_MAX_ACTIVE_GOALS,
    EDITABLE_FIELDS,
    Goal,
    GoalDraft,
    archive,
    new_goal,
    validate_goal_change,
    validate_new_goal,
)
from server.domain.pagination import Page, PageRequest, paginate
from server.services.clock import Clock, utc_now
from server.services.events import Queue
from server.services.goals.allocation_state import reallocate_account
from server.services.goals.funding import end_programmes_of_archived_goals
from server.store.db import Database
from server.store.repositories.goals import StoredGoal, StoredHistoryEntry
from server.store.uow import UnitOfWork

_ACTORS = {Role.USER: Actor.CUSTOMER, Role.BANK_ADMIN: Actor.BANK_ADMIN, Role.SERVICE: Actor.SERVICE}
# The actor id of Engage's own changes here: the goals archived with a CANCEL.
CANCEL_ACTOR_ID = "enrolment_cancel"
# ... and the funding programmes ended with their archived goal.
ARCHIVE_ACTOR_ID = "goal_archived"
SETTINGS_FIELDS = ("tracker_insights", "milestone_insights", "at_risk_insights")
# A goal's fields in its GOAL_CREATED entry.
_CREATED_FIELDS = ("account_id", *EDITABLE_FIELDS)
# A change of one of these moves money between the account's goals.
_ALLOCATION_FIELDS = ("target", "priority", "status")
GOALS_LIST = "goals"
MAX_REQUEST_ID = 120  # the column's size
HISTORY_LIST = "goal-history"


def goals_page_key(goal: StoredGoal) -> list[Any]:
    return [goal.goal.priority, goal.goal.created_at.isoformat(), goal.goal.goal_id]


def history_page_key(entry: StoredHistoryEntry) -> list[str]:
    return [entry.entry.at.isoformat(), entry.entry_id]


def enrolment_name(customer_id: str) -> str:
    return resource_names.GOALS_ENROLMENT.format(customer_id)


def goal_name(customer_id: str, goal_id: str) -> str:
    return resource_names.GOAL.format(customer_id, goal_id)


def _enrolment_text(enrolment: Enrolment | None) -> dict[str, str | None]:
    if enrolment is None:
        return {}
    return {"account_id": enrolment.account_id, "status": as_text(enrolment.status),
            **{name: as_text(getattr(enrolment.settings, name)) for name in SETTINGS_FIELDS}}


def _enrolment_changes(before: Enrolment | None, after: Enrolment
                       ) -> tuple[dict[str, str | None], dict[str, str | None]]:
    old, new = _enrolment_text(before), _enrolment_text(after)
    changed = [name for name in new if old.get(name) != new[name]]
    return {name: old[name] for name in changed if name in old}, {name: new[name] for name in changed}


_CENT = Decimal("0.01")
_MAX_CENTS = Decimal(10) ** 20


def _amount(value: Decimal) -> Decimal:
    """An amount as the history shows it: cents at least, no zeros past them (the wire gives nine
    decimals, the store four)."""
    cents = value.quantize(_CENT) if value.is_finite() and abs(value) < _MAX_CENTS else value
    return cents if cents == value else value.normalize()


def _shown(goal: Goal) -> Goal:
    """A goal with its amounts as the history shows them."""
    return replace(goal, target=Money(_amount(goal.target.amount), goal.target.currency), saved=_amount(goal.saved))


def _goal_changes(before: Goal | None, after: Goal, fields: tuple[str, ...]
                  ) -> tuple[dict[str, str | None], dict[str, str | None]]:
    return changes(_shown(before) if before is not None else None, _shown(after), fields)


def _check_request_id(request_id: str) -> None:
    if len(request_id) > MAX_REQUEST_ID:
        raise InvalidArgument("REQUEST_ID_TOO_LONG", f"request_id must be at most {MAX_REQUEST_ID} characters",
                              violations=[FieldViolation("request_id", f"at most {MAX_REQUEST_ID} characters")])


def _in_currency(target: Money, account_currency: str) -> Money:
    """A target without a currency is in the account's."""
    return target if target.currency else Money(target.amount, account_currency)


class GoalsService:
    """Enrolment lifecycle, goals (AIP standard methods) and the customer history."""

    def __init__(self, database: Database, publisher: Queue, clock: Clock = utc_now, *,
                 max_active_goals: int = DEFAULT_MAX_ACTIVE_GOALS) -> None:
        self._database = database
        self._publisher = publisher
        self._clock = clock
        self._max_active_goals = max_active_goals

    # -- shared ---------------------------------------------------------------------------------

    @staticmethod
    def _authorize(caller: Caller, customer_id: str) -> None:
        caller.require_role(Role.USER, Role.BANK_ADMIN, Role.SERVICE)
        caller.require_customer_access(customer_id)

    @staticmethod
    def _entry(caller: Caller, kind: HistoryKind, at: dt.datetime, before: Mapping[str, str | None],
               after: Mapping[str, str | None], goal_id: str | None = None) -> HistoryEntry:
        return HistoryEntry(kind=kind, actor=_ACTORS[caller.role], actor_id=caller.subject, at=at, goal_id=goal_id,
                            before=before, after=after)

    async def _time_zone(self, uow: UnitOfWork) -> zoneinfo.ZoneInfo:
        return await uow.tenants.zone(uow.tenant_id)

    @staticmethod
    async def _require_customer(uow: UnitOfWork, customer_id: str) -> None:
        if await uow.customers.get(customer_id) is None:
            raise not_found("customer", customer_id)

    @staticmethod
    async def _enrolled(uow: UnitOfWork, customer_id: str, *, hold: bool = False) -> Enrolment:
        """The customer's enrolment, ACTIVE or PAUSED (NOT_ENROLLED otherwise); `hold`: held until the
        unit of work ends, so that one customer's changes run one after the other."""
        if hold:
            await uow.goal_enrolments.hold(customer_id)
        enrolment = await uow.goal_enrolments.get(customer_id)
        if enrolment is None:
            await GoalsService._require_customer(uow, customer_id)
        enrolment = require_enrolled(enrolment, customer_id)
        if hold:  # before any goal row is written: postings hold the account's allocation in this order too
            await uow.goals.hold_accounts([enrolment.account_id])
        return enrolment

    async def _account_currency(self, uow: UnitOfWork, account_id: str) -> str:
        account = await uow.accounts.get(account_id)
        if account is None:  # accounts are not deleted: the enrolment's is there
            raise not_found("account", account_id)
        return account.currency

    # -- enrolment ------------------------------------------------------------------------------

    async def get_enrolment(self, caller: Caller, customer_id: str) -> Enrolment:
        self._authorize(caller, customer_id)
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            enrolment = await uow.goal_enrolments.get(customer_id)
            if enrolment is None:
                await self._require_customer(uow, customer_id)
                raise not_found("enrolment", customer_id)
        return enrolment

    async def enrol(self, caller: Caller, customer_id: str, account_id: str | None,
                    settings: GoalSettings | None, request_id: str = "") -> Enrolment:
        """SIGNUP. A repeated `request_id` returns the enrolment as it is, changing nothing."""
        self._authorize(caller, customer_id)
        _check_request_id(request_id)
        now = self._clock()
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            if not await uow.customers.hold(customer_id):
                raise not_found("customer", customer_id)
            previous = await uow.goal_enrolments.get(customer_id)
            if previous is not None and request_id \
                    and await uow.goal_enrolments.signup_request_id(customer_id) == request_id:
                return previous
            if previous is None and not account_id:
                raise InvalidArgument("ENROLMENT_ACCOUNT_INVALID", "account_id is required to enrol",
                                      violations=[FieldViolation("account_id", "the customer's savings or "
                                                                               "checking account")])
            enrolment = apply(previous, EnrolmentAction.SIGNUP, at=now, customer_id=customer_id,
                              account_id=account_id or None, settings=settings)
            account = await uow.accounts.get(enrolment.account_id)
            if account is None:
                raise not_found("account", enrolment.account_id)
            check_target_account(customer_id, owner_id=account.customer_id, account_type=account.type.value,
                                 authorized_customer_ids=account.authorized_customer_ids)
            await uow.goal_enrolments.save(enrolment, request_id=request_id or "")
            before, after = _enrolment_changes(previous, enrolment)
            await uow.goal_history.append(customer_id, self._entry(caller, HistoryKind.SIGNUP, now, before, after),
                                          resource=enrolment_name(customer_id))
            await uow.commit()
        return enrolment

    async def pause(self, caller: Caller, customer_id: str) -> Enrolment:
        return await self._act(caller, customer_id, EnrolmentAction.PAUSE)

    async def resume(self, caller: Caller, customer_id: str) -> Enrolment:
        return await self._act(caller, customer_id, EnrolmentAction.RESUME)

    async def cancel(self, caller: Caller, customer_id: str) -> Enrolment:
        """CANCEL; the customer's goals are archived with it (by SERVICE in the history), so that a new
        SIGNUP starts without goals."""
        return await self._act(caller, customer_id, EnrolmentAction.CANCEL)

    async def update_settings(self, caller: Caller, customer_id: str, settings: Mapping[str, bool],
                              account_id: str | None = None) -> Enrolment:
        """MODIFY_SETTINGS: `settings` names the settings to change (SETTINGS_FIELDS); an `account_id`
        must be the current one (ENROLMENT_ACCOUNT_INVALID)."""
        return await self._act(caller, customer_id, EnrolmentAction.MODIFY_SETTINGS, settings=settings,
                               account_id=account_id)

    async def _act(self, caller: Caller, customer_id: str, action: EnrolmentAction, *,
                   settings: Mapping[str, bool] | None = None, account_id: str | None = None) -> Enrolment:
        self._authorize(caller, customer_id)
        now = self._clock()
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            await uow.goal_enrolments.hold(customer_id)
            previous = await uow.goal_enrolments.get(customer_id)
            if previous is None:
                await self._require_customer(uow, customer_id)
            elif action == EnrolmentAction.CANCEL:
                await uow.goals.hold_accounts([previous.account_id])
            new_settings = None
            if settings is not None:
                base = previous.settings if previous is not None else GoalSettings()
                new_settings = replace(base, **settings)
            enrolment = apply(previous, action, at=now, account_id=account_id, settings=new_settings)
            await uow.goal_enrolments.save(enrolment)
            before, after = _enrolment_changes(previous, enrolment)
            await uow.goal_history.append(customer_id, self._entry(caller, kind_of_action(action), now, before, after),
                                          resource=enrolment_name(customer_id))
            if action == EnrolmentAction.CANCEL:
                await self._archive_all(uow, customer_id, now)
            await uow.commit()
        return enrolment

    async def _archive_all(self, uow: UnitOfWork, customer_id: str, now: dt.datetime) -> None:
        goals = await uow.goals.of_customer(customer_id)
        await end_programmes_of_archived_goals(uow, customer_id, [g.goal_id for g in goals], now, CANCEL_ACTOR_ID)
        for goal in goals:
            archived = archive(goal, at=now)
            await uow.goals.update(archived, now)
            before, after = _goal_changes(goal, archived, ("status", "saved"))
            await uow.goal_history.append(customer_id, HistoryEntry(
                kind=HistoryKind.GOAL_ARCHIVED, actor=Actor.SERVICE, actor_id=CANCEL_ACTOR_ID, at=now,
                goal_id=goal.goal_id, before=before, after=after), resource=goal_name(customer_id, goal.goal_id))

    # -- goals ----------------------------------------------------------------------------------

    async def create_goal(self, caller: Caller, customer_id: str, draft: GoalDraft, request_id: str = "") -> StoredGoal:
        """A new ACTIVE goal in the enrolment's account, with its share of the balance. A repeated
        `request_id` returns the goal the first call created."""
        self._authorize(caller, customer_id)
        _check_request_id(request_id)
        now = self._clock()
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            enrolment = await self._enrolled(uow, customer_id, hold=True)
            if request_id:
                first = await uow.goals.by_request(customer_id, request_id)
                if first is not None:
                    return first
            zone = await self._time_zone(uow)
            currency = await self._account_currency(uow, enrolment.account_id)
            draft = replace(draft, target=_in_currency(draft.target, currency))
            validate_new_goal(draft, account_currency=currency, today=now.astimezone(zone).date(),
                              active_goals=await uow.goals.count_active(customer_id),
                              max_active_goals=self._max_active_goals)
            goal = new_goal(draft, goal_id=uuid.uuid4().hex, customer_id=customer_id,
                            account_id=enrolment.account_id, at=now)
            await uow.goals.add(goal, request_id=request_id or None)
            before, after = _goal_changes(None, goal, _CREATED_FIELDS)
            await uow.goal_history.append(customer_id, self._entry(caller, HistoryKind.GOAL_CREATED, now, before,
                                                                   after, goal.goal_id),
                                          resource=goal_name(customer_id, goal.goal_id))
            await reallocate_account(uow, goal.account_id, at=now)
            stored = await uow.goals.get(customer_id, goal.goal_id)
            await uow.commit()
        assert stored is not None
        return stored

    async def get_goal(self, caller: Caller, customer_id: str, goal_id: str) -> StoredGoal:
        self._authorize(caller, customer_id)
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            await self._enrolled(uow, customer_id)
            stored = await uow.goals.get(customer_id, goal_id)
        if stored is None:
            raise not_found("goal", goal_id)
        return stored

    async def list_goals(self, caller: Caller, customer_id: str, page: PageRequest, *,
                         show_archived: bool = False) -> Page[StoredGoal]:
        """By priority, then oldest first (the allocation order)."""
        self._authorize(caller, customer_id)
        after = None
        if page.after is not None:
            priority, created, goal_id = page.after
            after = (priority, dt.datetime.fromisoformat(created), goal_id)
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            await self._enrolled(uow, customer_id)
            found = await uow.goals.list_by_customer(customer_id, show_archived=show_archived, after=after,
                                                     limit=page.size + 1)
        return paginate(found, page, GOALS_LIST, goals_page_key)

    async def update_goal(self, caller: Caller, customer_id: str, goal_id: str, fields: Mapping[str, Any]
                          ) -> StoredGoal:
        """`fields`: the goal's editable fields to set (model.EDITABLE_FIELDS), by their domain names."""
        unknown = set(fields) - set(EDITABLE_FIELDS)
        if unknown:
            raise ValueError(f"not editable: {sorted(unknown)}")
        self._authorize(caller, customer_id)
        now = self._clock()
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            enrolment = await self._enrolled(uow, customer_id, hold=True)
            stored = await uow.goals.get(customer_id, goal_id)
            if stored is None:
                raise not_found("goal", goal_id)
            before_goal = stored.goal
            zone = await self._time_zone(uow)
            currency = await self._account_currency(uow, enrolment.account_id)
            if "target" in fields:
                fields = {**fields, "target": _in_currency(fields["target"], currency)}
            after_goal = validate_goal_change(
                before_goal, replace(before_goal, **fields), account_currency=currency,
                today=now.astimezone(zone).date(), active_goals=await uow.goals.count_active(customer_id),
                max_active_goals=self._max_active_goals)
            before, after = _goal_changes(before_goal, after_goal, EDITABLE_FIELDS)
            if not after:
                return stored
            await uow.goals.update(after_goal, now)
            await uow.goal_history.append(customer_id, self._entry(caller, HistoryKind.GOAL_EDITED, now, before, after,
                                                                   goal_id), resource=goal_name(customer_id, goal_id))
            if any(name in after for name in _ALLOCATION_FIELDS):
                await reallocate_account(uow, after_goal.account_id, at=now)
            updated = await uow.goals.get(customer_id, goal_id)
            await uow.commit()
        assert updated is not None
        return updated

    async def archive_goal(self, caller: Caller, customer_id: str, goal_id: str) -> StoredGoal:
        """DeleteGoal: final; its money goes back to the account's other goals."""
        self._authorize(caller, customer_id)
        now = self._clock()
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            await self._enrolled(uow, customer_id, hold=True)
            stored = await uow.goals.get(customer_id, goal_id)
            if stored is None:
                raise not_found("goal", goal_id)
            archived = archive(stored.goal, at=now)
            await uow.goals.update(archived, now)
            before, after = _goal_changes(stored.goal, archived, ("status", "saved"))
            await uow.goal_history.append(customer_id, self._entry(caller, HistoryKind.GOAL_ARCHIVED, now, before,
                                                                   after, goal_id),
                                          resource=goal_name(customer_id, goal_id))
            await end_programmes_of_archived_goals(uow, customer_id, [goal_id], now, ARCHIVE_ACTOR_ID)
            await reallocate_account(uow, archived.account_id, at=now)
            updated = await uow.goals.get(customer_id, goal_id)
            await uow.commit()
        assert updated is not None
        return updated

    # -- history --------------------------------------------------------------------------------

    async def list_history(self, caller: Caller, customer_id: str, page: PageRequest, *,
                           kinds: Collection[HistoryKind] = (), since: dt.date | None = None,
                           until: dt.date | None = None) -> Page[StoredHistoryEntry]:
        """Newest first; `since`..`until` are whole days in the tenant's time zone. Readable after a
        CANCEL too (and by a customer never enrolled: empty)."""
        self._authorize(caller, customer_id)
        before = None
        if page.after is not None:
            before = (dt.datetime.fromisoformat(page.after[0]), page.after[1])
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            await self._require_customer(uow, customer_id)
            zone = await self._time_zone(uow)
            start = dt.datetime.combine(since, dt.time(), zone) if since else None
            end = dt.datetime.combine(until + dt.timedelta(days=1), dt.time(), zone) \
                if until and until < dt.date.max else None
            found = await uow.goal_history.list_by_customer(
                customer_id, kinds={kind.value for kind in kinds}, since=start, until=end, before=before,
                limit=page.size + 1)
        return paginate(found, page, HISTORY_LIST, history_page_key)
