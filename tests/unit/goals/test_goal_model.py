"""Creating and changing goals: each validation answers with its reason code."""

import datetime as dt
from dataclasses import fields, replace
from decimal import Decimal

import pytest

from server.domain.errors import FailedPrecondition, InvalidArgument
from server.domain.events import Money
from server.domain.goals.model import (
    DEFAULT_MAX_ACTIVE_GOALS,
    EDITABLE_FIELDS,
    Goal,
    GoalCategory,
    GoalDraft,
    GoalStatus,
    archive,
    mark_achieved,
    new_goal,
    validate_goal_change,
    validate_new_goal,
)

TODAY = dt.date(2026, 3, 10)
NOW = dt.datetime(2026, 3, 10, 9, 30, tzinfo=dt.UTC)


def draft(**changes: object) -> GoalDraft:
    base = GoalDraft(
        name="Holiday",
        category=GoalCategory.TRAVEL,
        target=Money(Decimal("1500"), "EUR"),
        target_date=dt.date(2026, 8, 1),
        priority=2,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def goal(**changes: object) -> Goal:
    base = new_goal(draft(), goal_id="g1", customer_id="c1", account_id="a1", at=NOW)
    return replace(base, **changes)  # type: ignore[arg-type]


def check_new(d: GoalDraft, active_goals: int = 0) -> None:
    validate_new_goal(d, account_currency="EUR", today=TODAY, active_goals=active_goals)


def change(before: Goal, after: Goal, active_goals: int = 1) -> Goal:
    return validate_goal_change(before, after, account_currency="EUR", today=TODAY, active_goals=active_goals)


def test_a_valid_draft_becomes_an_active_goal_with_nothing_saved():
    check_new(draft(name="  Holiday  "))
    made = new_goal(draft(name="  Holiday  "), goal_id="g1", customer_id="c1", account_id="a1", at=NOW)
    assert (made.name, made.status, made.saved, made.created_at) == ("Holiday", GoalStatus.ACTIVE, 0, NOW)
    assert made.achieved_at is None and made.archived_at is None


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"name": ""}, "GOAL_NAME_INVALID"),
        ({"name": "   "}, "GOAL_NAME_INVALID"),
        ({"name": "x" * 81}, "GOAL_NAME_INVALID"),
        ({"target": Money(Decimal(0), "EUR")}, "GOAL_TARGET_NOT_POSITIVE"),
        ({"target": Money(Decimal("-5"), "EUR")}, "GOAL_TARGET_NOT_POSITIVE"),
        ({"target": Money(Decimal("NaN"), "EUR")}, "GOAL_TARGET_NOT_POSITIVE"),
        ({"target": Money(Decimal("1.00001"), "EUR")}, "INVALID_AMOUNT"),
        ({"target": Money(Decimal("1E+20"), "EUR")}, "INVALID_AMOUNT"),
        ({"target": Money(Decimal("100"), "USD")}, "GOAL_CURRENCY_MISMATCH"),
        ({"target_date": TODAY}, "GOAL_TARGET_DATE_NOT_FUTURE"),
        ({"target_date": TODAY - dt.timedelta(days=1)}, "GOAL_TARGET_DATE_NOT_FUTURE"),
        ({"priority": 0}, "GOAL_PRIORITY_INVALID"),
        ({"priority": 101}, "GOAL_PRIORITY_INVALID"),
        ({"priority": True}, "GOAL_PRIORITY_INVALID"),
    ],
)
def test_an_invalid_draft_is_refused_with_its_code(changes, code):
    with pytest.raises(InvalidArgument) as raised:
        check_new(draft(**changes))
    assert raised.value.code == code
    assert raised.value.violations


@pytest.mark.parametrize(
    "changes",
    [
        {"name": "x" * 80},
        {"name": "x"},
        {"priority": 1},
        {"priority": 100},
        {"target_date": None},
        {"target_date": TODAY + dt.timedelta(days=1)},
        {"target": Money(Decimal("0.0001"), "EUR")},
    ],
)
def test_the_edges_are_accepted(changes):
    check_new(draft(**changes))


def test_the_active_goal_limit():
    check_new(draft(), active_goals=DEFAULT_MAX_ACTIVE_GOALS - 1)
    with pytest.raises(FailedPrecondition) as raised:
        check_new(draft(), active_goals=DEFAULT_MAX_ACTIVE_GOALS)
    assert raised.value.code == "TOO_MANY_ACTIVE_GOALS"
    validate_new_goal(draft(), account_currency="EUR", today=TODAY, active_goals=2, max_active_goals=3)
    with pytest.raises(FailedPrecondition):
        validate_new_goal(draft(), account_currency="EUR", today=TODAY, active_goals=3, max_active_goals=3)


def test_a_change_checks_only_what_changed():
    # The target date passed long ago: a rename is still fine.
    old = goal(target_date=dt.date(2025, 1, 1))
    assert change(old, replace(old, name=" Trip ")).name == "Trip"
    with pytest.raises(InvalidArgument) as raised:
        change(old, replace(old, target_date=dt.date(2026, 1, 1)))
    assert raised.value.code == "GOAL_TARGET_DATE_NOT_FUTURE"
    assert change(old, replace(old, target_date=None)).target_date is None


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"name": ""}, "GOAL_NAME_INVALID"),
        ({"target": Money(Decimal(0), "EUR")}, "GOAL_TARGET_NOT_POSITIVE"),
        ({"target": Money(Decimal(10), "GBP")}, "GOAL_CURRENCY_MISMATCH"),
        ({"priority": 500}, "GOAL_PRIORITY_INVALID"),
        ({"status": GoalStatus.ACHIEVED}, "INVALID_ENUM"),
        ({"status": GoalStatus.ARCHIVED}, "INVALID_ENUM"),
    ],
)
def test_an_invalid_change_is_refused(changes, code):
    before = goal()
    with pytest.raises(InvalidArgument) as raised:
        change(before, replace(before, **changes))
    assert raised.value.code == code


def test_an_archived_goal_cannot_be_changed_or_archived_again():
    archived = archive(goal(saved=Decimal(40)), at=NOW)
    assert (archived.status, archived.archived_at, archived.saved) == (GoalStatus.ARCHIVED, NOW, 0)
    with pytest.raises(FailedPrecondition) as raised:
        change(archived, replace(archived, name="Again"))
    assert raised.value.code == "GOAL_ARCHIVED"
    with pytest.raises(FailedPrecondition) as raised:
        archive(archived, at=NOW)
    assert raised.value.code == "GOAL_ARCHIVED"


def test_resuming_a_paused_goal_counts_against_the_limit():
    paused = goal(status=GoalStatus.PAUSED)
    assert change(paused, replace(paused, status=GoalStatus.ACTIVE), active_goals=9).status == GoalStatus.ACTIVE
    with pytest.raises(FailedPrecondition) as raised:
        change(paused, replace(paused, status=GoalStatus.ACTIVE), active_goals=10)
    assert raised.value.code == "TOO_MANY_ACTIVE_GOALS"
    # An active goal at the limit may still be edited or paused.
    active = goal()
    assert change(active, replace(active, priority=5), active_goals=10).priority == 5
    assert change(active, replace(active, status=GoalStatus.PAUSED), active_goals=10).status == GoalStatus.PAUSED


def test_raising_an_achieved_goals_target_reopens_it():
    achieved = mark_achieved(goal(saved=Decimal(1500)), at=NOW)
    assert (achieved.status, achieved.achieved_at) == (GoalStatus.ACHIEVED, NOW)
    renamed = change(achieved, replace(achieved, name="Big trip"))
    assert renamed.status == GoalStatus.ACHIEVED
    lowered = change(achieved, replace(achieved, target=Money(Decimal(1000), "EUR")))
    assert lowered.status == GoalStatus.ACHIEVED
    raised = change(achieved, replace(achieved, target=Money(Decimal(2000), "EUR")), active_goals=0)
    assert (raised.status, raised.achieved_at) == (GoalStatus.ACTIVE, None)
    with pytest.raises(FailedPrecondition):
        change(achieved, replace(achieved, target=Money(Decimal(2000), "EUR")), active_goals=10)


def test_a_change_may_not_touch_what_is_not_editable():
    before = goal()
    for field, value in [
        ("goal_id", "g2"),
        ("customer_id", "c2"),
        ("account_id", "a2"),
        ("created_at", NOW + dt.timedelta(1)),
    ]:
        with pytest.raises(ValueError):
            change(before, replace(before, **{field: value}))
    assert set(EDITABLE_FIELDS) <= {f.name for f in fields(Goal)}


def test_an_achieved_goal_set_back_to_active_counts_against_the_limit():
    achieved = mark_achieved(goal(saved=Decimal(1500)), at=NOW)
    assert change(achieved, replace(achieved, status=GoalStatus.ACTIVE), active_goals=0).status == GoalStatus.ACTIVE
    with pytest.raises(FailedPrecondition):
        change(achieved, replace(achieved, status=GoalStatus.ACTIVE), active_goals=10)
