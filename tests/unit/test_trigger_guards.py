"""Guard families (server.domain.triggers.guards): which rules share a necessary test, and the live
evaluation that passes over a family where its loosest guard fails deciding exactly as the Decimal
evaluation of every rule does."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from functools import partial

from hypothesis import given, settings
from hypothesis import strategies as st

from server.domain.segments.attributes import AttributeCatalogue
from server.domain.segments.expression import Comparator
from server.domain.triggers.guards import families, guard_of
from server.domain.triggers.parser import parse_condition
from server.domain.triggers.rules import Audience, BannerAction, RuleDefinition, RuleStatus, TriggerRule
from server.domain.triggers.series import AccountSnapshot, apply_posting
from server.services.triggers.evaluation import _Batch, _evaluate_postings
from server.services.triggers.live_rules import compile_rule
from tests.unit.trigger_helpers import posting

CATALOGUE = AttributeCatalogue.of([])
NOW = dt.datetime(2026, 3, 20, 12, tzinfo=dt.UTC)
START = dt.date(2026, 3, 3)


def _parsed(*texts: str) -> list:
    return [parse_condition(text, CATALOGUE) for text in texts]


def test_one_comparison_at_several_thresholds_is_one_family_with_its_loosest_leaf() -> None:
    grouped = families(_parsed("balance < 100", "withdrawal > 3000", "balance <= 150",
                               "NOT holds('LOAN') AND balance < 120", "withdrawal > 2000", "balance > 900",
                               "balance = 5", "deposit > 50% OF balance", "min_balance(20d) < 0",
                               "min_balance(25d) < 0"))
    assert [positions for _, positions in grouped] == [[0, 2, 3], [1, 4], [5], [6], [7], [8], [9]]
    (below, _), (above, _) = grouped[:2]
    assert below is not None and (below.comparator, below.amount) == (Comparator.LE, Decimal(150))
    assert above is not None and (above.comparator, above.amount) == (Comparator.GE, Decimal(2000))
    assert [leaf for leaf, _ in grouped[2:]] == [None] * 5


def test_only_a_monotone_comparison_that_must_hold_is_a_guard() -> None:
    unguarded = ["balance = 5", "balance != 5", "deposit > 50% OF balance", "holds('SAVINGS')",
                 "balance < 5 OR balance > 10", "NOT (balance < 5)"]
    assert [guard_of(condition) for condition in _parsed(*unguarded)] == [None] * len(unguarded)
    guarded = _parsed("holds('SAVINGS') AND change(balance, 30d) < -60%", "withdrawal > 400% OF average_transaction",
                      "average_collected_balance(last_month) > 55000 FOR 2 MONTHS", "overdraft")
    assert all(guard_of(condition) is not None for condition in guarded)


SHAPES = ("balance {} {}", "average_collected_balance(10d) {} {}", "min_balance(5d) {} {}",
          "change(balance, 10d) {} {}", "change(balance, 10d) {} {}%", "withdrawal {} {}", "deposit {} {}",
          "withdrawal {} {}% OF average_transaction", "overdraft_count(30d) {} 1",
          "average_collected_balance(last_month) {} {} FOR 2 MONTHS")
THRESHOLDS = ("-200", "-50", "0", "25", "100", "150.5", "400", "1000")
comparators = st.sampled_from(["<", "<=", ">", ">="])


def _text(shape: int, comparator: str, amount: str) -> str:
    # A posting's magnitude is compared with amounts of 0 or more only (the parser's rule).
    return SHAPES[shape].format(comparator, amount.lstrip("-") if "deposit" in SHAPES[shape]
                                or "withdrawal" in SHAPES[shape] else amount)


rule_text = st.builds(lambda shape, comparator, amount, wrap: wrap.format(_text(shape, comparator, amount)),
                      st.integers(0, len(SHAPES) - 1), comparators, st.sampled_from(THRESHOLDS),
                      st.sampled_from(["{}", "{} AND holds('SAVINGS')", "NOT holds('SAVINGS') AND {}"]))
# Few shapes a draw, so that families form: the shape is drawn once for most of the rules.
rule_sets = st.integers(0, len(SHAPES) - 1).flatmap(lambda shape: st.lists(st.one_of(
    st.builds(partial(_text, shape), comparators, st.sampled_from(THRESHOLDS)), rule_text), min_size=2, max_size=12))
moves = st.lists(st.tuples(st.sampled_from([-1500, -400, -120, -30, 20, 90, 300, 1200, 2500]),
                           st.sampled_from([0, 0, 0, 1, 2, 7, 20, 35])), min_size=1, max_size=14)


def _rule(number: int, text: str) -> TriggerRule:
    banner = BannerAction("Title", "Body", "See", "https://bank.example/offer", dt.timedelta(days=1))
    definition = RuleDefinition(display_name=f"Rule {number}", description="", audience=Audience.everyone(),
                                condition=text, actions=(banner,), cooldown=dt.timedelta(0))
    return TriggerRule(f"r{number:02d}", definition, RuleStatus.ACTIVE, 1, "ana", "ana", NOW, NOW)


@settings(max_examples=300, deadline=None)
@given(rule_sets, st.sampled_from(["-300", "0", "80", "600", "2000"]), moves)
def test_the_live_evaluation_with_families_decides_as_the_decimal_one_rule_by_rule(
        texts: list[str], opening: str, drawn: list[tuple[int, int]]) -> None:
    rules = [compile_rule(_rule(number, text), CATALOGUE) for number, text in enumerate(texts)]
    balance, day, postings = Decimal(opening), START, []
    for number, (amount, days_later) in enumerate(drawn):
        balance += amount
        day += dt.timedelta(days=days_later)
        postings.append(posting(day, Decimal(amount), balance, f"t{number:02d}"))

    def batch() -> _Batch:
        return _Batch(NOW, rules, {rule.rule.rule_id: None for rule in rules}, {}, set(), {})

    live = batch()
    _evaluate_postings(live, {"acc1": postings}, {"acc1": 0}, {})
    rule_by_rule = batch()
    snapshot = AccountSnapshot("acc1", "cus1", "USD", Decimal(opening), Decimal(opening))
    for each in postings:
        before = snapshot
        snapshot, row = apply_posting(snapshot, each)
        rule_by_rule.evaluate(snapshot, row.day, each, before)
    assert [(rule.rule.rule_id, firing.transaction_id, firing.values) for rule, firing in live.firings] == [
        (rule.rule.rule_id, firing.transaction_id, firing.values) for rule, firing in rule_by_rule.firings]
    assert live.states == rule_by_rule.states
    assert sorted(live.became_true) == sorted(rule_by_rule.became_true)
    assert sorted(live.became_false) == sorted(rule_by_rule.became_false)
