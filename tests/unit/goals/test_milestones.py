"""Milestones: crossed once, the highest of a kind, never again after a dip."""

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.domain.errors import InvalidArgument
from server.domain.events import Money
from server.domain.goals.milestones import (
    Milestone,
    MilestoneKind,
    MilestonePolicy,
    ReachedMilestones,
    high_water,
    new_milestones,
    parse_key,
)
from server.domain.goals.model import Goal, GoalCategory, GoalStatus

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
NOTHING = ReachedMilestones()


def goal(goal_id: str, target: str, saved: str = "0", status=GoalStatus.ACTIVE) -> Goal:
    return Goal(
        goal_id=goal_id,
        customer_id="c1",
        account_id="a1",
        name=goal_id,
        category=GoalCategory.HOME,
        target=Money(Decimal(target), "EUR"),
        target_date=None,
        priority=1,
        status=status,
        saved=Decimal(saved),
        created_at=T0,
    )


def keys(milestones):
    return [(m.goal_id, m.key) for m in milestones]


def test_keys_are_stable_text():
    assert Milestone(MilestoneKind.PERCENT, "g", Decimal(50)).key == "percent:50"
    assert Milestone(MilestoneKind.AMOUNT, "g", Decimal("1000.00")).key == "amount:1000"
    assert Milestone(MilestoneKind.AMOUNT, "g", Decimal("1E+3")).key == "amount:1000"
    assert Milestone(MilestoneKind.ALL_GOALS_AMOUNT, None, Decimal("2500.50")).key == "all:2500.5"
    assert parse_key("all:2500.5") == (MilestoneKind.ALL_GOALS_AMOUNT, Decimal("2500.5"))
    assert parse_key("other:1") is None and parse_key("amount:x") is None and parse_key("amount:NaN") is None
    assert high_water(["percent:25", "percent:75", "amount:9000", "junk"], MilestoneKind.PERCENT) == 75
    assert high_water([], MilestoneKind.AMOUNT) is None


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"percentages": (50, 25)}, "percentages"),
        ({"percentages": (25, 25)}, "percentages"),
        ({"percentages": (0, 50)}, "percentages"),
        ({"percentages": (50, 101)}, "percentages"),
        ({"percentages": (True,)}, "percentages"),
        ({"percentages": (12.5,)}, "percentages"),
        ({"amount_step": Decimal(0)}, "amount_step"),
        ({"amount_step": Decimal(-100)}, "amount_step"),
        ({"amount_step": Decimal("0.00001")}, "amount_step"),
        ({"amount_step": Decimal("Infinity")}, "amount_step"),
        ({"all_goals_amount_step": Decimal(0)}, "all_goals_amount_step"),
    ],
)
def test_an_invalid_policy_is_refused(kwargs, field):
    with pytest.raises(InvalidArgument) as raised:
        MilestonePolicy(**kwargs)
    assert raised.value.code == "MILESTONE_POLICY_INVALID"
    assert raised.value.violations[0].field == f"milestone_policy.{field}"


def test_valid_policies():
    assert MilestonePolicy().percentages == (25, 50, 75, 100)
    MilestonePolicy(percentages=(), amount_step=Decimal("0.0001"), all_goals_amount_step=Decimal(5000))
    MilestonePolicy(percentages=(1, 100))


def test_the_highest_crossed_percentage_only():
    found = new_milestones(MilestonePolicy(), [goal("g", "1000", "800")], NOTHING)
    assert keys(found) == [("g", "percent:75")]
    assert new_milestones(MilestonePolicy(), [goal("g", "1000", "249.99")], NOTHING) == []
    assert keys(new_milestones(MilestonePolicy(), [goal("g", "1000", "250")], NOTHING)) == [("g", "percent:25")]


def test_a_dip_and_a_recovery_do_not_repeat_a_milestone():
    policy = MilestonePolicy(amount_step=Decimal(100))
    reached = NOTHING
    seen = []
    for saved in ("550", "120", "560", "760", "10", "760", "1000"):
        found = new_milestones(policy, [goal("g", "1000")], reached, saved={"g": Decimal(saved)})
        seen += keys(found)
        reached = reached.record(found)
    assert seen == [
        ("g", "percent:50"),
        ("g", "amount:500"),
        ("g", "percent:75"),
        ("g", "amount:700"),
        ("g", "percent:100"),
        ("g", "amount:1000"),
    ]


def test_a_point_added_later_below_the_mark_is_not_announced():
    reached = ReachedMilestones({"g": frozenset({"percent:75"})})
    policy = MilestonePolicy(percentages=(25, 50, 60, 75, 100))
    assert new_milestones(policy, [goal("g", "100", "80")], reached) == []


def test_all_goals_together_and_archived_goals_not_counted():
    policy = MilestonePolicy(percentages=(), all_goals_amount_step=Decimal(1000))
    goals = [goal("a", "5000", "700"), goal("b", "5000", "800"), goal("gone", "5000", "5000", GoalStatus.ARCHIVED)]
    found = new_milestones(policy, goals, NOTHING)
    assert keys(found) == [(None, "all:1000")]
    reached = NOTHING.record(found)
    assert reached.customer == {"all:1000"} and reached.per_goal == {}
    assert new_milestones(policy, goals, reached) == []
    assert keys(new_milestones(policy, goals, reached, saved={"a": Decimal(2000)})) == [(None, "all:2000")]


def test_saved_amounts_from_the_allocation_win_over_the_goals_own():
    goals = [goal("a", "100", "0"), goal("b", "100", "30")]
    found = new_milestones(MilestonePolicy(), goals, NOTHING, saved={"a": Decimal(50)})
    assert keys(found) == [("a", "percent:50"), ("b", "percent:25")]


# -- properties -------------------------------------------------------------------------------------------

money = st.integers(min_value=0, max_value=10**7).map(lambda n: Decimal(n).scaleb(-2))
policies = st.builds(
    MilestonePolicy,
    percentages=st.lists(st.integers(1, 100), unique=True, max_size=6).map(lambda ps: tuple(sorted(ps))),
    amount_step=st.none() | st.integers(1, 10**6).map(lambda n: Decimal(n).scaleb(-2)),
    all_goals_amount_step=st.none() | st.integers(1, 10**6).map(lambda n: Decimal(n).scaleb(-2)),
)
goal_sets = st.lists(
    st.tuples(st.integers(1, 10**7).map(lambda n: str(Decimal(n).scaleb(-2))), st.sampled_from(list(GoalStatus))),
    min_size=1,
    max_size=4,
).map(lambda specs: [goal(f"g{i}", target, status=status) for i, (target, status) in enumerate(specs)])


@given(policies, goal_sets, st.lists(st.lists(money, min_size=4, max_size=4), min_size=1, max_size=8))
def test_over_any_sequence_of_balances_each_milestone_comes_once_and_rises(policy, goals, steps):
    reached = NOTHING
    announced: list[Milestone] = []
    for amounts in steps:
        saved = {g.goal_id: min(a, g.target.amount) for g, a in zip(goals, amounts, strict=False)}
        found = new_milestones(policy, goals, reached, saved=saved)
        for m in found:
            already = reached.customer if m.goal_id is None else reached.per_goal.get(m.goal_id, frozenset())
            assert m.key not in already
            mark = high_water(already, m.kind)
            assert mark is None or m.value > mark
            assert m.goal_id is None or m.goal_id in saved
        # At most one per goal and kind.
        assert len({(m.goal_id, m.kind) for m in found}) == len(found)
        reached = reached.record(found)
        announced += found
        # Recorded, the same amounts give nothing more.
        assert new_milestones(policy, goals, reached, saved=saved) == []
    assert len({(m.goal_id, m.key) for m in announced}) == len(announced)


@given(policies, goal_sets, st.lists(money, min_size=4, max_size=4))
def test_every_milestone_is_really_crossed(policy, goals, amounts):
    saved = {g.goal_id: min(a, g.target.amount) for g, a in zip(goals, amounts, strict=False)}
    by_id = {g.goal_id: g for g in goals}
    live_total = sum((saved[g.goal_id] for g in goals if g.status != GoalStatus.ARCHIVED), Decimal(0))
    for m in new_milestones(policy, goals, NOTHING, saved=saved):
        if m.kind == MilestoneKind.PERCENT:
            assert m.value in policy.percentages
            assert saved[m.goal_id] * 100 >= m.value * by_id[m.goal_id].target.amount
        elif m.kind == MilestoneKind.AMOUNT:
            assert m.value % policy.amount_step == 0 and 0 < m.value <= saved[m.goal_id] < m.value + policy.amount_step
        else:
            step = policy.all_goals_amount_step
            assert m.value % step == 0 and 0 < m.value <= live_total < m.value + step
        assert m.goal_id is None or by_id[m.goal_id].status != GoalStatus.ARCHIVED
