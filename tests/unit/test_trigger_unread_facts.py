"""The live evaluation with customers' facts read on demand (server.domain.triggers.unread_facts): a first
pass with no facts read leaves the accounts where a rule asked for them, undone, and a second pass once
their customers' facts are read decides exactly what one pass with every customer's facts decides."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.domain.money import to_scaled
from server.domain.segments.attributes import AttributeCatalogue, AttributeDefinition, AttributeType
from server.domain.segments.evaluate import CustomerFacts
from server.domain.triggers.firing import ConditionKind
from server.domain.triggers.rules import Audience, BannerAction, RuleDefinition, RuleStatus, TriggerRule
from server.domain.triggers.scaled_series import ScaledColumns
from server.domain.triggers.unread_facts import UNREAD_FACTS, FactsNotRead
from server.services.triggers.evaluation import NO_FACTS, _Batch, _evaluate_postings
from server.services.triggers.live_rules import LiveRule, compile_rule
from tests.unit.test_trigger_guards import CATALOGUE, NOW, START, rule_text
from tests.unit.trigger_helpers import posting

# Two customers with two accounts each, one with one: a customer's accounts are evaluated in order.
ACCOUNTS = (("acc1", "cus1"), ("acc2", "cus2"), ("acc3", "cus1"), ("acc4", "cus3"), ("acc5", "cus2"))
CUSTOMERS = ("cus1", "cus2", "cus3")
KINDS = ("SAVINGS", "LOAN")

texts = st.one_of(rule_text, rule_text.map(lambda text: f"holds('LOAN') OR {text}"))  # the second, unguarded
rules = st.lists(st.tuples(texts, st.sampled_from([0, 30])), min_size=1, max_size=8)
account_moves = st.lists(st.tuples(st.sampled_from([-1500, -400, -120, -30, 20, 90, 300, 1200, 2500]),
                                   st.sampled_from([0, 0, 1, 2, 7, 20])), min_size=1, max_size=5)


def _live(number: int, text: str, cooldown_days: int) -> LiveRule:
    banner = BannerAction("Title", "Body", "See", "https://bank.example/offer", dt.timedelta(days=1))
    definition = RuleDefinition(display_name=f"Rule {number}", description="", audience=Audience.everyone(),
                                condition=text, actions=(banner,), cooldown=dt.timedelta(days=cooldown_days))
    return compile_rule(TriggerRule(f"r{number:02d}", definition, RuleStatus.ACTIVE, 1, "ana", "ana", NOW, NOW),
                        CATALOGUE)


def _columns(opening: Decimal) -> ScaledColumns:
    """One row read, three days before the postings, closing at the opening balance."""
    scaled = to_scaled(opening)
    return ScaledColumns([(START - dt.timedelta(days=3)).toordinal()], [scaled], [None], [scaled], [1], [0], [False])


def _decided(batch: _Batch) -> tuple[object, ...]:
    firings = sorted((rule.rule.rule_id, f.account_id, f.transaction_id, sorted(f.values.items()))
                     for rule, f in batch.firings)
    by_customer = {c: [(rule.rule.rule_id, f.transaction_id) for rule, f in batch.firings if f.customer_id == c]
                   for c in CUSTOMERS}
    return (firings, by_customer, batch.states, sorted(batch.became_true), sorted(batch.became_false),
            sorted(batch.changed_rows), batch.last_fired)


@settings(max_examples=300, deadline=None)
@given(rules, st.lists(st.sampled_from(["-300", "0", "80", "600", "2000"]), min_size=5, max_size=5),
       st.lists(account_moves, min_size=5, max_size=5),
       st.dictionaries(st.sampled_from(CUSTOMERS), st.frozensets(st.sampled_from(KINDS))),
       st.sets(st.tuples(st.integers(0, 7), st.sampled_from([a for a, _ in ACCOUNTS]))),
       st.dictionaries(st.tuples(st.integers(0, 7), st.sampled_from(CUSTOMERS)), st.sampled_from([5, 40])))
def test_facts_read_for_the_accounts_that_ask_decide_as_facts_read_for_all(
        drawn_rules: list[tuple[str, int]], openings: list[str], moves: list[list[tuple[int, int]]],
        holdings: dict[str, frozenset[str]], held: set[tuple[int, str]],
        fired_days_ago: dict[tuple[int, str], int]) -> None:
    live = [_live(number, text, cooldown) for number, (text, cooldown) in enumerate(drawn_rules)]
    by_account = {}
    for (account_id, customer_id), opening, account_moves_drawn in zip(ACCOUNTS, openings, moves, strict=True):
        balance, day, postings = Decimal(opening), START, []
        for number, (amount, days_later) in enumerate(account_moves_drawn):
            balance += amount
            day += dt.timedelta(days=days_later)
            postings.append(posting(day, Decimal(amount), balance, f"{account_id}-t{number}", account_id=account_id,
                                    customer_id=customer_id))
        by_account[account_id] = postings
    facts = {customer: CustomerFacts(holdings=holdings.get(customer, frozenset())) for customer in CUSTOMERS}
    state_rules = [r for r in live if r.kind is ConditionKind.STATE]

    def batch(known: dict[str, CustomerFacts], absent: CustomerFacts) -> _Batch:
        states = {(*state_rules[n % len(state_rules)].key, account) for n, account in held} if state_rules else set()
        last_fired = {(live[n % len(live)].rule.rule_id, customer): NOW - dt.timedelta(days=days)
                      for (n, customer), days in fired_days_ago.items()}
        return _Batch(NOW, live, {r.rule.rule_id: None for r in live}, known, states, last_fired, absent_facts=absent)

    def columns() -> dict[str, ScaledColumns]:
        return {account_id: _columns(Decimal(opening))
                for (account_id, _), opening in zip(ACCOUNTS, openings, strict=True)}

    every = batch(facts, NO_FACTS)
    assert _evaluate_postings(every, by_account, {}, columns()) == []

    on_demand, read = batch({}, UNREAD_FACTS), columns()
    unread = _evaluate_postings(on_demand, by_account, {}, read)
    if not any(r.reads_holdings for r in live):
        assert unread == []
    on_demand.facts = {by_account[a][0].customer_id: facts[by_account[a][0].customer_id] for a in unread}
    on_demand.absent_facts = NO_FACTS
    assert _evaluate_postings(on_demand, {a: by_account[a] for a in unread}, {}, read) == []
    assert _decided(on_demand) == _decided(every)


def test_reading_unread_facts_raises() -> None:
    with pytest.raises(FactsNotRead):
        _ = "SAVINGS" in UNREAD_FACTS.holdings
    with pytest.raises(FactsNotRead):
        _ = UNREAD_FACTS.attributes
    assert repr(UNREAD_FACTS) == "UNREAD_FACTS"


def test_an_account_cut_short_by_unread_facts_is_undone_before_it_is_evaluated_again() -> None:
    """At acc1's posting a rule asks for cus1's holdings once three others were decided: a firing whose
    cool-down had run out, a state become true, a state that held become false. All of it is taken back, the
    series too, and acc3 (cus1's too, after acc1) waits with it though it does not ask; acc2 (cus2) never
    asks. Decided again with the facts, acc1's firing starts the cool-down that keeps acc3's withdrawal from
    firing, as in one pass."""
    live = [_live(0, "withdrawal > 100", 30), _live(1, "balance < 0", 0), _live(2, "balance > 50", 0),
            _live(3, "min_balance(5d) < -50 AND holds('OVERDRAFT_PROTECTION')", 0)]
    by_account = {
        "acc1": [posting(START, Decimal(-200), Decimal(-100), "a1", account_id="acc1", customer_id="cus1")],
        "acc2": [posting(START, Decimal(50), Decimal(150), "b1", account_id="acc2", customer_id="cus2")],
        "acc3": [posting(START, Decimal(-300), Decimal(700), "c1", account_id="acc3", customer_id="cus1")],
    }
    last_fired = {("r00", "cus1"): NOW - dt.timedelta(days=40)}
    facts = {"cus1": CustomerFacts(holdings=frozenset({"SAVINGS"})), "cus2": CustomerFacts()}

    def batch(known: dict[str, CustomerFacts], absent: CustomerFacts) -> _Batch:
        return _Batch(NOW, live, {r.rule.rule_id: None for r in live}, known, {("r02", 1, "acc1")},
                      dict(last_fired), absent_facts=absent)

    def columns() -> dict[str, ScaledColumns]:
        return {"acc1": _columns(Decimal(100)), "acc2": _columns(Decimal(100)), "acc3": _columns(Decimal(1000))}

    every = batch(facts, NO_FACTS)
    _evaluate_postings(every, by_account, {}, columns())
    assert sorted((r.rule.rule_id, f.transaction_id) for r, f in every.firings) == [
        ("r00", "a1"), ("r01", "a1"), ("r02", "b1"), ("r02", "c1")]

    on_demand, read = batch({}, UNREAD_FACTS), columns()
    assert _evaluate_postings(on_demand, by_account, {}, read) == ["acc1", "acc3"]
    assert [(r.rule.rule_id, f.transaction_id) for r, f in on_demand.firings] == [("r02", "b1")]
    assert on_demand.states == {("r02", 1, "acc1"), ("r02", 1, "acc2")}
    assert on_demand.last_fired[("r00", "cus1")] == NOW - dt.timedelta(days=40)
    assert read["acc1"] == _columns(Decimal(100))
    on_demand.facts, on_demand.absent_facts = {"cus1": facts["cus1"]}, NO_FACTS
    assert _evaluate_postings(on_demand, {a: by_account[a] for a in ("acc1", "acc3")}, {}, read) == []
    assert _decided(on_demand) == _decided(every)


def test_a_rule_on_an_attribute_reads_it_on_demand_too() -> None:
    catalogue = AttributeCatalogue.of([AttributeDefinition("income", AttributeType.DECIMAL)])
    banner = BannerAction("Title", "Body", "See", "https://bank.example/offer", dt.timedelta(days=1))
    definition = RuleDefinition(display_name="Earners", description="", audience=Audience.everyone(),
                                condition="balance < 0 AND income > 1000", actions=(banner,),
                                cooldown=dt.timedelta(0))
    live = [compile_rule(TriggerRule("r00", definition, RuleStatus.ACTIVE, 1, "ana", "ana", NOW, NOW), catalogue)]
    by_account = {account: [posting(START, Decimal(-300), Decimal(-200), f"{account}-t", account_id=account,
                                    customer_id=customer)]
                  for account, customer in (("acc1", "cus1"), ("acc2", "cus2"), ("acc4", "cus3"))}
    facts = {"cus1": CustomerFacts({"income": Decimal(2000)}), "cus2": CustomerFacts({"income": Decimal(500)}),
             "cus3": CustomerFacts()}

    def batch(known: dict[str, CustomerFacts], absent: CustomerFacts) -> _Batch:
        return _Batch(NOW, live, {"r00": None}, known, set(), {}, absent_facts=absent)

    every = batch(facts, NO_FACTS)
    _evaluate_postings(every, by_account, {}, {})
    on_demand = batch({}, UNREAD_FACTS)
    assert _evaluate_postings(on_demand, by_account, {}, {}) == ["acc1", "acc2", "acc4"]
    on_demand.facts, on_demand.absent_facts = facts, NO_FACTS
    assert _evaluate_postings(on_demand, by_account, {}, {}) == []
    assert [f.customer_id for _, f in on_demand.firings] == ["cus1"]
    assert _decided(on_demand) == _decided(every)


def test_a_rule_is_compiled_with_whether_it_has_a_guard() -> None:
    """What decides whether a batch reads facts on demand, found once per rule version."""
    assert _live(0, "NOT holds('OVERDRAFT_PROTECTION') AND average_collected_balance(30d) < 100", 0).guarded
    assert not _live(1, "holds('LOAN') OR balance < 0", 0).guarded
    assert not _live(2, "holds('SAVINGS')", 0).guarded
