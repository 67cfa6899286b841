"""The allocation of a target account's balance to its goals: examples, then the invariants as properties."""

import datetime as dt
from dataclasses import replace
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from server.domain.events import Money
from server.domain.goals.allocation import (
    allocate,
    allocation_order,
    cash_flows,
    newly_achieved,
    settle,
    unallocated,
)
from server.domain.goals.model import Goal, GoalCategory, GoalStatus

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def goal(goal_id: str, target: str, priority: int = 1, *, day: int = 0, status=GoalStatus.ACTIVE) -> Goal:
    return Goal(
        goal_id=goal_id,
        customer_id="c1",
        account_id="a1",
        name=goal_id,
        category=GoalCategory.CUSTOM,
        target=Money(Decimal(target), "EUR"),
        target_date=None,
        priority=priority,
        status=status,
        saved=Decimal(0),
        created_at=T0 + dt.timedelta(days=day),
    )


def test_priority_first_then_oldest_then_id():
    goals = [
        goal("late", "100", 2, day=5),
        goal("b", "100", 2, day=1),
        goal("a", "100", 2, day=1),
        goal("first", "100", 1, day=9),
    ]
    assert [g.goal_id for g in allocation_order(goals)] == ["first", "a", "b", "late"]
    assert allocate(Decimal("250.50"), goals) == {
        "first": Decimal(100),
        "a": Decimal(100),
        "b": Decimal("50.50"),
        "late": Decimal(0),
    }


def test_a_withdrawal_releases_money_from_the_lowest_priority_first():
    goals = [goal("emergency", "1000", 1), goal("holiday", "500", 2), goal("car", "5000", 3)]
    before = allocate(Decimal(2000), goals)
    assert before == {"emergency": 1000, "holiday": 500, "car": 500}
    after = allocate(Decimal(1200), goals)
    assert after == {"emergency": 1000, "holiday": 200, "car": 0}
    assert cash_flows(before, after) == {"holiday": Decimal(-300), "car": Decimal(-500)}
    assert unallocated(Decimal(1200), after) == 0


def test_no_money_gives_every_goal_nothing():
    goals = [goal("a", "10"), goal("b", "20")]
    for balance in (Decimal(0), Decimal("-35.20")):
        assert allocate(balance, goals) == {"a": 0, "b": 0}
        assert unallocated(balance, allocate(balance, goals)) == 0


def test_the_rest_is_unallocated_and_archived_goals_hold_nothing():
    goals = [
        goal("a", "10"),
        goal("gone", "20", status=GoalStatus.ARCHIVED),
        goal("done", "5", 2, status=GoalStatus.ACHIEVED),
        goal("resting", "5", 3, status=GoalStatus.PAUSED),
    ]
    shares = allocate(Decimal(100), goals)
    assert shares == {"a": 10, "done": 5, "resting": 5}
    assert unallocated(Decimal(100), shares) == 80


def test_cash_flows_count_goals_that_came_or_went():
    assert cash_flows({"a": Decimal(5), "gone": Decimal(3)}, {"a": Decimal(5), "new": Decimal(2)}) == {
        "gone": Decimal(-3),
        "new": Decimal(2),
    }
    assert cash_flows({}, {"a": Decimal(0)}) == {}


def test_an_active_goal_is_achieved_when_full_and_stays_so_through_a_dip():
    goals = [goal("a", "100"), goal("b", "100", 2), goal("p", "10", 3, status=GoalStatus.PAUSED)]
    assert newly_achieved(goals, allocate(Decimal(150), goals)) == ["a"]
    # The service marks it achieved; a dip and a recovery do not achieve it again.
    marked = [replace(goals[0], status=GoalStatus.ACHIEVED), *goals[1:]]
    assert newly_achieved(marked, allocate(Decimal(50), marked)) == []
    assert newly_achieved(marked, allocate(Decimal(500), marked)) == ["b"]  # the paused goal is full: not achieved


# -- properties -------------------------------------------------------------------------------------------

amounts = st.integers(min_value=-(10**9), max_value=10**9).map(lambda n: Decimal(n).scaleb(-2))
targets = st.integers(min_value=1, max_value=10**8).map(lambda n: Decimal(n).scaleb(-2))


@st.composite
def goal_sets(draw):
    count = draw(st.integers(min_value=0, max_value=8))
    return [
        goal(
            f"g{i}",
            str(draw(targets)),
            draw(st.integers(1, 4)),
            day=draw(st.integers(0, 3)),
            status=draw(st.sampled_from(list(GoalStatus))),
        )
        for i in range(count)
    ]


@given(amounts, goal_sets())
def test_shares_are_bounded_by_the_balance_and_the_targets(balance, goals):
    shares = allocate(balance, goals)
    assert set(shares) == {g.goal_id for g in goals if g.status != GoalStatus.ARCHIVED}
    assert sum(shares.values()) <= max(balance, 0)
    by_id = {g.goal_id: g for g in goals}
    assert all(0 <= share <= by_id[goal_id].target.amount for goal_id, share in shares.items())
    # Nothing is left unallocated while a goal is short of its target.
    total_targets = sum((g.target.amount for g in goals if g.status != GoalStatus.ARCHIVED), Decimal(0))
    assert sum(shares.values()) == min(max(balance, 0), total_targets)
    assert unallocated(balance, shares) >= 0


@given(amounts, goal_sets(), st.randoms())
def test_the_order_the_goals_come_in_does_not_matter(balance, goals, random):
    shuffled = list(goals)
    random.shuffle(shuffled)
    assert allocate(balance, shuffled) == allocate(balance, goals)


@given(amounts, amounts, goal_sets())
def test_more_balance_never_lowers_a_goal(first, second, goals):
    low, high = sorted((first, second))
    less, more = allocate(low, goals), allocate(high, goals)
    assert all(less[goal_id] <= more[goal_id] for goal_id in less)


@given(amounts, goal_sets())
def test_a_goal_gets_nothing_until_every_goal_before_it_is_full(balance, goals):
    shares = allocate(balance, goals)
    ordered = allocation_order(goals)
    for i, later in enumerate(ordered):
        if shares[later.goal_id] > 0:
            assert all(shares[g.goal_id] == g.target.amount for g in ordered[:i])


@given(amounts, amounts, goal_sets())
def test_a_withdrawal_takes_from_the_lowest_priority_first(first, second, goals):
    low, high = sorted((first, second))
    before, after = allocate(high, goals), allocate(low, goals)
    ordered = allocation_order(goals)
    for i, g in enumerate(ordered):
        if after[g.goal_id] < before[g.goal_id]:
            assert all(after[h.goal_id] == 0 for h in ordered[i + 1 :])


@given(amounts, goal_sets())
def test_re_running_gives_the_same_allocation(balance, goals):
    shares = allocate(balance, goals)
    # The saved amounts written back are not an input: a re-run (or a duplicate posting) changes nothing.
    written = [replace(g, saved=shares.get(g.goal_id, Decimal(0))) for g in goals]
    assert allocate(balance, written) == shares
    assert cash_flows(shares, allocate(balance, written)) == {}


@given(amounts, amounts, goal_sets())
def test_cash_flows_take_one_allocation_to_the_other(first, second, goals):
    before, after = allocate(first, goals), allocate(second, goals)
    flows = cash_flows(before, after)
    assert all(flow != 0 for flow in flows.values())
    assert {k: before.get(k, Decimal(0)) + flows.get(k, Decimal(0)) for k in after} == after
    assert sum(flows.values(), Decimal(0)) == sum(after.values(), Decimal(0)) - sum(before.values(), Decimal(0))


@given(amounts, goal_sets())
def test_only_active_goals_filled_to_their_target_are_newly_achieved(balance, goals):
    shares = allocate(balance, goals)
    achieved = set(newly_achieved(goals, shares))
    for g in goals:
        full = g.status != GoalStatus.ARCHIVED and shares[g.goal_id] == g.target.amount
        assert (g.goal_id in achieved) == (g.status == GoalStatus.ACTIVE and full)


@given(amounts, goal_sets())
def test_settling_stores_each_share_and_achieves_each_filled_active_goal_once(balance, goals):
    goals = [g for g in goals if g.status != GoalStatus.ARCHIVED]
    shares = allocate(balance, goals)
    settled = settle(goals, shares, T0)
    changed = {g.goal_id for g in goals if g.saved != shares[g.goal_id]}
    achieved = set(newly_achieved(goals, shares))
    assert {g.goal_id for g, _ in settled} == changed | achieved
    assert {g.goal_id for g, now in settled if now} == achieved
    for updated, now in settled:
        assert updated.saved == shares[updated.goal_id]
        assert (updated.status == GoalStatus.ACHIEVED and updated.achieved_at == T0) if now else True
    again = [next((u for u, _ in settled if u.goal_id == g.goal_id), g) for g in goals]
    assert settle(again, shares, T0) == []  # settled goals need nothing more
