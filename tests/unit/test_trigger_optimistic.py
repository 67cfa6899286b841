"""trigger_rules evaluates a batch before taking its accounts' locks, reads again under them and redoes
only the customers another batch changed meanwhile: whatever changed, the outcome is the one of
evaluating everything from the second read (docs/triggers.md#when-rules-are-evaluated)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from server.domain.segments.attributes import AttributeCatalogue
from server.domain.triggers.rules import Audience, BannerAction, RuleDefinition, RuleStatus, TriggerRule
from server.domain.triggers.series import AccountDay
from server.services.triggers.evaluation import (
    TriggerEvaluationService,
    _Batch,
    _changed_customers,
    _merged,
    _net,
    _Reads,
)
from server.services.triggers.live_rules import compile_rule
from tests.unit.trigger_helpers import posting

NOW = dt.datetime(2026, 12, 3, 12, tzinfo=dt.UTC)
TODAY = NOW.date()
CONDITIONS = ["balance < 100", "withdrawal > 500", "average_collected_balance(30d) < 200", "overdraft",
              "deposit > 50% OF balance", "min_balance(7d) < 0 AND NOT holds('LOAN')"]
RULES = [compile_rule(TriggerRule(f"r{n}", RuleDefinition(
    f"Rule {n}", "", Audience.everyone(), condition,
    (BannerAction("t", "b", "c", "https://bank.example", dt.timedelta(days=1)),), cooldown=dt.timedelta(days=n % 2)),
    RuleStatus.ACTIVE, 1, "a", "b", NOW, NOW), AttributeCatalogue.of(())) for n, condition in enumerate(CONDITIONS)]
ACCOUNTS = {"a1": "c1", "a2": "c1", "a3": "c2", "a4": "c3"}  # account -> customer
amounts = st.integers(min_value=-800, max_value=800).map(Decimal)


@st.composite
def reads(draw: st.DrawFn) -> _Reads:
    days = {}
    for account in ACCOUNTS:
        offsets = sorted(draw(st.sets(st.integers(min_value=1, max_value=20), max_size=3)), reverse=True)
        days[account] = [AccountDay(TODAY - dt.timedelta(days=d), draw(amounts), None, draw(amounts), 1, Decimal(5),
                                    False) for d in offsets]
    states = set(draw(st.sets(st.tuples(st.sampled_from([r.rule.rule_id for r in RULES]), st.just(1),
                                        st.sampled_from(list(ACCOUNTS))), max_size=6)))
    fired = draw(st.dictionaries(st.tuples(st.sampled_from([r.rule.rule_id for r in RULES]),
                                           st.sampled_from(sorted(set(ACCOUNTS.values())))),
                                 st.sampled_from([NOW - dt.timedelta(hours=2), NOW - dt.timedelta(days=3)]),
                                 max_size=4))
    return _Reads(days, states, fired)


@st.composite
def batches(draw: st.DrawFn) -> dict[str, list]:
    balances = {a: draw(amounts) for a in ACCOUNTS}
    by_account: dict[str, list] = {}
    for n in range(draw(st.integers(min_value=1, max_value=10))):
        account = draw(st.sampled_from(list(ACCOUNTS)))
        amount = draw(amounts)
        balances[account] += amount
        by_account.setdefault(account, []).append(
            posting(TODAY, amount, balances[account], f"t{n}", account_id=account, customer_id=ACCOUNTS[account]))
    return by_account


def _outcome(batch: _Batch) -> tuple:
    return (batch.changed_days, _net(batch.became_true, batch.states, True),
            _net(batch.became_false, batch.states, False),
            sorted((live.rule.rule_id, f.account_id, f.transaction_id, sorted(f.values.items()))
                   for live, f in batch.firings))


@settings(max_examples=300, deadline=None)
@given(batches(), reads(), reads(), st.sets(st.sampled_from(list(ACCOUNTS))))
def test_redoing_the_changed_customers_is_evaluating_from_the_second_read(by_account, first, other, touched):
    # The second read: the first, but for the accounts (and their customers' firings) another batch touched.
    customers = {ACCOUNTS[a] for a in touched}
    again = _Reads({a: other.days[a] if a in touched else first.days[a] for a in ACCOUNTS},
                   {k for k in first.states if k[2] not in touched} | {k for k in other.states if k[2] in touched},
                   {k: v for k, v in first.last_fired.items() if k[1] not in customers}
                   | {k: v for k, v in other.last_fired.items() if k[1] in customers})
    who = ({r.rule.rule_id: None for r in RULES}, {})
    evaluate = TriggerEvaluationService._posted_batch
    direct = evaluate(NOW, RULES, who, {}, by_account, again)
    optimistic = evaluate(NOW, RULES, who, {}, by_account, first)
    changed = _changed_customers(by_account, first, again)
    if changed:
        redone = {a: ps for a, ps in by_account.items() if ps[0].customer_id in changed}
        optimistic = _merged(optimistic, evaluate(NOW, RULES, who, {}, redone, again), redone, changed)
    assert _outcome(optimistic) == _outcome(direct)
