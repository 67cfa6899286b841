"""Trigger conditions: the typed tree of the issue's examples, the kinds and history a condition has,
each problem of a refused condition with its position in the whole text, and properties: render and
parse round-trip over generated trees, and nothing but InvalidArgument comes out of any text."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from server.domain.errors import InvalidArgument
from server.domain.ingest.model import Direction
from server.domain.reasons import Reason
from server.domain.segments.attributes import MAX_ABS_DECIMAL
from server.domain.segments.expression import Between, Comparator, Comparison, Expression, Holds, Span
from server.domain.triggers.condition import (
    AllOf,
    AnyOf,
    ChangeCompare,
    Condition,
    Metric,
    MetricCompare,
    MetricName,
    Negation,
    PostingCompare,
    RelativeTo,
    SegmentLeaf,
    Window,
    WindowKind,
    history_days,
    is_calendar_dependent,
    is_event_condition,
    leaves,
    render,
)
from server.domain.triggers.parser import MAX_DEPTH, MAX_LEAVES, MAX_LENGTH, RESERVED_WORDS, parse_condition
from tests.support.segment_strategies import CATALOGUE, conditions

ROOT = Path(__file__).resolve().parents[2]
AGE, VIP, RISK = (CATALOGUE.attributes[name] for name in ("age", "vip", "risk"))
DAYS_30 = Window(WindowKind.DAYS, 30)
LAST_MONTH = Window(WindowKind.LAST_MONTH)
BALANCE = Metric(MetricName.BALANCE)


def parse(text: str) -> Condition:
    return parse_condition(text, CATALOGUE)


def refused(text: str, field: str = "condition") -> InvalidArgument:
    with pytest.raises(InvalidArgument) as caught:
        parse_condition(text, CATALOGUE, field=field)
    error = caught.value
    assert error.code is Reason.TRIGGER_CONDITION_INVALID
    assert error.violations[0].field == field
    assert error.message.startswith(f"line {error.metadata['line']}, column {error.metadata['column']}: ")
    return error


def where(error: InvalidArgument) -> tuple[str, int, int, int]:
    meta = error.metadata
    return meta["problem"], int(meta["line"]), int(meta["column"]), int(meta["offset"])


# -- the examples ------------------------------------------------------------------------------

def test_a_low_average_without_overdraft_protection() -> None:
    parsed = parse("average_collected_balance(30d) < 100 AND NOT holds('OVERDRAFT_PROTECTION')")
    assert parsed == AllOf((
        MetricCompare(Metric(MetricName.AVERAGE_COLLECTED_BALANCE, DAYS_30), Comparator.LT, Decimal(100)),
        Negation(SegmentLeaf(Holds("OVERDRAFT_PROTECTION")))))
    assert not is_event_condition(parsed) and is_calendar_dependent(parsed)
    assert history_days(parsed) == 30


def test_an_average_held_for_two_months() -> None:
    parsed = parse("average_collected_balance(last_month) > 2500 FOR 2 MONTHS")
    assert parsed == MetricCompare(Metric(MetricName.AVERAGE_COLLECTED_BALANCE, LAST_MONTH), Comparator.GT,
                                   Decimal(2500), months=2)
    assert is_calendar_dependent(parsed) and history_days(parsed) == 31 * 3


@pytest.mark.parametrize(("text", "expected"), [
    ("withdrawal > 1000", PostingCompare(Direction.DEBIT, Comparator.GT, Decimal(1000))),
    ("deposit > 50% OF balance", PostingCompare(Direction.CREDIT, Comparator.GT, Decimal(50), RelativeTo.BALANCE)),
    ("Deposit >= 12.5% of Average_Transaction",
     PostingCompare(Direction.CREDIT, Comparator.GE, Decimal("12.5"), RelativeTo.AVERAGE_TRANSACTION)),
])
def test_posting_conditions_are_event_conditions(text: str, expected: Condition) -> None:
    parsed = parse(text)
    assert parsed == expected
    assert is_event_condition(parsed) and not is_calendar_dependent(parsed)
    assert is_event_condition(parse(f"NOT ({text} OR overdraft)"))


def test_overdraft_is_a_negative_balance() -> None:
    assert parse("overdraft") == parse("balance < 0") == MetricCompare(BALANCE, Comparator.LT, Decimal(0))
    assert parse("OVERDRAFT") == parse("((overdraft))")
    assert not is_event_condition(parse("overdraft")) and not is_calendar_dependent(parse("overdraft"))
    assert history_days(parse("overdraft")) == 0


def test_counts_changes_and_attributes() -> None:
    assert parse("overdraft_count(90d) >= 3") == MetricCompare(
        Metric(MetricName.OVERDRAFT_COUNT, Window(WindowKind.DAYS, 90)), Comparator.GE, Decimal(3))
    change = parse("change(balance, 30d) <= -20%")
    assert change == ChangeCompare(BALANCE, DAYS_30, Comparator.LE, Decimal(-20), percent=True)
    assert history_days(change) == 31 and is_calendar_dependent(change)
    assert parse("age >= 30") == SegmentLeaf(Comparison(AGE, Comparator.GE, 30))
    assert not is_calendar_dependent(parse("age >= 30 OR available_balance > 5"))


def test_every_form_of_leaf_and_window() -> None:
    text = ("change(average_collected_balance(month), last_month) > 100 AND age BETWEEN 1 AND 5 AND vip\n"
            "OR min_balance(last_month) < 0 FOR 1 month OR available_balance != 0.0001 AND risk IN ('LOW')")
    assert parse(text) == AnyOf((
        AllOf((ChangeCompare(Metric(MetricName.AVERAGE_COLLECTED_BALANCE, Window(WindowKind.MONTH_TO_DATE)),
                             LAST_MONTH, Comparator.GT, Decimal(100)),
               SegmentLeaf(Between(AGE, 1, 5)), SegmentLeaf(Comparison(VIP, Comparator.EQ, True)))),
        MetricCompare(Metric(MetricName.MIN_BALANCE, LAST_MONTH), Comparator.LT, Decimal(0), months=1),
        AllOf((MetricCompare(Metric(MetricName.AVAILABLE_BALANCE), Comparator.NE, Decimal("0.0001")),
               SegmentLeaf(parse_leaf("risk IN ('LOW')")))),
    ))
    assert history_days(parse(text)) == 2 * 31 + 31  # change over last_month of a month-to-date average


def parse_leaf(text: str) -> Expression:
    parsed = parse(text)
    assert isinstance(parsed, SegmentLeaf)
    return parsed.expression


def test_history_days() -> None:
    assert history_days(parse("change(average_collected_balance(7d), 30d) > 0")) == 37
    assert history_days(parse("deposit > 200% OF average_transaction")) == 91
    assert history_days(parse("deposit > 200% OF balance OR min_balance(month) < 0")) == 31


def test_the_canonical_text() -> None:
    assert render(parse("NOT  not(overdraft or vip)and deposit>5%of balance")) == \
        "NOT NOT (balance < 0 OR vip = true) AND deposit > 5% OF balance"
    assert render(parse("(age = 1 AND age = 2) AND age = 3")) == "(age = 1 AND age = 2) AND age = 3"
    assert render(parse("min_balance(31D) > 1 FOR 1 MONTHS".replace("31D", "last_month"))) == \
        "min_balance(last_month) > 1 FOR 1 MONTH"


def test_spans_are_positions_in_the_whole_text() -> None:
    text = "overdraft AND\n  age >= 30"
    parsed = parse(text)
    assert isinstance(parsed, AllOf)
    first, leaf = parsed.parts
    assert first.span == Span(0, 9, 1, 1)
    assert isinstance(leaf, SegmentLeaf)
    assert leaf.span == Span(16, 25, 2, 3) and leaf.expression.span == leaf.span
    assert text[leaf.span.offset:leaf.span.end] == "age >= 30"


def test_the_examples_of_the_docs_parse() -> None:
    section = (ROOT / "docs" / "triggers.md").read_text().split("## Conditions")[1].split("\n## ")[0]
    examples = section.split("### Examples")[1].split("```")[1]
    texts = [line.split("--")[0].strip() for line in examples.strip().splitlines()]
    assert len(texts) >= 8
    for text in texts:
        parsed = parse(text)
        assert parse(render(parsed)) == parsed


# -- refusals --------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "problem", "column", "says"), [
    ("average_collected_balance(45x) < 1", "BAD_WINDOW", 27, "unknown window '45x'"),
    ("min_balance(400d) < 1", "BAD_WINDOW", 13, "'400d' is not 1d to 366d"),
    ("min_balance(0d) < 1", "BAD_WINDOW", 13, "'0d'"),
    ("average_collected_balance > 3", "BAD_WINDOW", 1, "needs a window"),
    ("balance(30d) > 1", "BAD_WINDOW", 9, "takes no window"),
    ("min_balance(last_month) > 1 FOR 13 MONTHS", "BAD_WINDOW", 33, "1 to 12 months, not 13"),
    ("min_balance(last_month) > 1 FOR 1.5 MONTHS", "BAD_WINDOW", 33, "not 1.5"),
    ("max_balance(30d) > 1", "UNKNOWN_METRIC", 1, "unknown metric 'max_balance' (did you mean min_balance?)"),
    ("change(foo, 30d) > 1", "UNKNOWN_METRIC", 8, "not 'foo'"),
    ("change(available_balance, 30d) > 1", "UNKNOWN_METRIC", 8, "not available_balance"),
    ("balance > 1.00001", "BAD_AMOUNT", 11, "1.00001 has more than 4 decimal places"),
    (f"balance > {MAX_ABS_DECIMAL + 1}", "BAD_AMOUNT", 11, "too large"),
    ("overdraft_count(3d) > 1.5", "BAD_AMOUNT", 23, "whole number"),
    ("overdraft_count(3d) > -1", "BAD_AMOUNT", 23, "whole number"),
    ("withdrawal > -1", "BAD_AMOUNT", 14, "never negative"),
    ("balance > 5%", "BAD_PERCENT", 11, "not a percent"),
    ("deposit > 5%", "BAD_PERCENT", 11, "OF balance"),
    ("deposit > 50 OF balance", "BAD_PERCENT", 11, "50% OF balance"),
    ("deposit > -50% OF balance", "BAD_PERCENT", 11, "never negative"),
    ("change(balance, 30d) < 1.23456%", "BAD_PERCENT", 24, "1.23456%"),
    ("balance > 1 FOR 2 MONTHS", "FOR_NEEDS_LAST_MONTH", 13, "not balance"),
    ("min_balance(30d) > 1 FOR 2 MONTHS", "FOR_NEEDS_LAST_MONTH", 22, "min_balance(last_month)"),
    ("change(balance, last_month) > 1 FOR 2 MONTHS", "FOR_NEEDS_LAST_MONTH", 33, "not change(balance, …)"),
    ("deposit > 1 FOR 2 MONTHS", "FOR_NEEDS_LAST_MONTH", 13, "not deposit"),
    ("balance >", "SYNTAX", 10, "ends early; expected a number"),
    ("Overdraft < -100", "SYNTAX", 11, "overdraft alone means balance < 0"),
    ("balance > 1 $", "SYNTAX", 13, "unexpected character '$'"),
    ("change(balance 30d) > 1", "SYNTAX", 16, "unexpected '30'"),
    ("month = 3", "SYNTAX", 1, "'month' is a word of the trigger condition language"),
    ("age > 1 AND Of", "SYNTAX", 13, "'Of' is a word"),
    ("", "SYNTAX", 1, "ends early"),
    ("age >= 30 AND\n  agee > 3", "UNKNOWN_ATTRIBUTE", 3, "unknown attribute 'agee' (did you mean age?)"),
    ("overdraft OR holds('PENSION')", "UNKNOWN_HOLDING", 20, "unknown holding 'PENSION'"),
    ("overdraft OR age = 'x'", "TYPE_MISMATCH", 20, "age is INT"),
])
def test_each_problem_is_named_where_it_is(text: str, problem: str, column: int, says: str) -> None:
    error = refused(text)
    found, line, found_column, offset = where(error)
    assert (found, found_column) == (problem, column), error.message
    line_start = text.rfind("\n", 0, offset) + 1
    assert line == text.count("\n", 0, offset) + 1 and offset - line_start + 1 == column
    assert says in error.message


def test_a_segment_problem_on_a_later_line_has_its_position_in_the_whole_text() -> None:
    text = "overdraft\nAND (vip OR\n     risk = 'NONE')"
    error = refused(text, field="rule.condition")
    assert where(error) == ("VALUE_NOT_ALLOWED", 3, 13, text.index("'NONE'"))
    assert error.violations[0].description == error.message


def test_the_limits() -> None:
    assert where(refused("vip OR " * 600 + "vip")) == ("TOO_LONG", 1, MAX_LENGTH + 1, MAX_LENGTH)
    parse(" OR ".join(["overdraft"] * MAX_LEAVES))
    error = refused(" OR ".join(["overdraft"] * (MAX_LEAVES + 1)))
    assert where(error) == ("TOO_MANY_LEAVES", 1, 1 + 13 * MAX_LEAVES, 13 * MAX_LEAVES)
    parse("NOT " * MAX_DEPTH + "vip")
    assert where(refused("NOT " * (MAX_DEPTH + 1) + "vip")) == ("TOO_DEEP", 1, 4 * MAX_DEPTH + 1, 4 * MAX_DEPTH)
    # Parentheses alone do not nest conditions, and thousands of them are refused for length only.
    assert parse("(" * 1900 + "vip" + ")" * 1900) == parse("vip")


def test_reserved_words_include_every_metric_word() -> None:
    assert {m.value for m in MetricName} < RESERVED_WORDS
    assert {"overdraft", "change", "deposit", "withdrawal", "average_transaction", "of", "for", "months",
            "month", "last_month"} < RESERVED_WORDS


# -- properties ------------------------------------------------------------------------------------------

AMOUNTS = (Decimal(0), Decimal("0.0001"), Decimal(100), Decimal("2500.50"), Decimal("-20"), Decimal("-0.0001"),
           MAX_ABS_DECIMAL, -MAX_ABS_DECIMAL)
windows = st.one_of(st.builds(Window, st.just(WindowKind.DAYS), st.sampled_from((1, 7, 30, 90, 366))),
                    st.sampled_from((Window(WindowKind.MONTH_TO_DATE), LAST_MONTH)))
comparators = st.sampled_from(list(Comparator))
amounts = st.sampled_from(AMOUNTS)
magnitudes = st.sampled_from([a for a in AMOUNTS if a >= 0])
windowed_names = st.sampled_from([n for n in MetricName if n.windowed])
metrics = st.one_of(st.builds(Metric, st.sampled_from([MetricName.BALANCE, MetricName.AVAILABLE_BALANCE])),
                    st.builds(Metric, windowed_names, windows))


@st.composite
def metric_compares(draw: st.DrawFn) -> MetricCompare:
    metric = draw(metrics)
    counts = metric.name is MetricName.OVERDRAFT_COUNT
    amount = draw(st.sampled_from((Decimal(0), Decimal(3), Decimal(366))) if counts else amounts)
    last_month = metric.window == LAST_MONTH
    return MetricCompare(metric, draw(comparators), amount, draw(st.integers(1, 12)) if last_month else 0)


changes = st.builds(
    ChangeCompare,
    st.one_of(st.just(BALANCE), st.builds(Metric, st.just(MetricName.AVERAGE_COLLECTED_BALANCE), windows)),
    windows, comparators, amounts, st.booleans())
postings = st.builds(PostingCompare, st.sampled_from(list(Direction)), comparators, magnitudes,
                     st.one_of(st.none(), st.sampled_from(list(RelativeTo))))
# The strategies' catalogue has an attribute `balance`, which a condition cannot name.
def _nameable(expression: Expression) -> bool:
    attribute = getattr(expression, "attribute", None)
    return attribute is None or attribute.name.lower() not in RESERVED_WORDS


segment_leaves = st.builds(SegmentLeaf, conditions.filter(_nameable))


def _grow(children: st.SearchStrategy[Condition]) -> st.SearchStrategy[Condition]:
    several = st.lists(children, min_size=2, max_size=3).map(tuple)
    return st.one_of(st.builds(Negation, children), st.builds(AllOf, several), st.builds(AnyOf, several))


trigger_conditions: st.SearchStrategy[Condition] = st.recursive(
    st.one_of(metric_compares(), changes, postings, segment_leaves), _grow, max_leaves=12)


def depth(condition: Condition) -> int:
    match condition:
        case Negation(part):
            return 1 + depth(part)
        case AllOf(parts) | AnyOf(parts):
            return 1 + max(depth(p) for p in parts)
    return 0


@given(trigger_conditions)
def test_render_then_parse_gives_the_same_tree(condition: Condition) -> None:
    assume(depth(condition) <= MAX_DEPTH)
    text = render(condition)
    parsed = parse(text)
    assert parsed == condition
    assert render(parsed) == text
    assert len(leaves(parsed)) == len(leaves(condition))


_WORDS = ("balance", "available_balance", "average_collected_balance", "min_balance", "overdraft_count",
          "overdraft", "change", "deposit", "withdrawal", "average_transaction", "OF", "FOR", "MONTHS", "month",
          "last_month", "AND", "OR", "NOT", "(", ")", ",", "%", "30d", "45x", "0d", "1.5", "-3", "12", "<", ">=",
          "=", "!=", "age", "vip", "risk", "balances", "IN", "BETWEEN", "IS", "SET", "holds", "'LOW'", "'CARD'",
          "DATE", "'2020-01-01'", "true", "\n", "$", "é", "'")
_fragments = st.lists(st.sampled_from(_WORDS), max_size=14)


@given(st.one_of(st.text(max_size=60), _fragments.map(" ".join), _fragments.map("".join),
                 trigger_conditions.map(render).flatmap(
                     lambda text: st.integers(0, len(text)).map(lambda cut: text[:cut]))))
def test_any_text_parses_or_is_refused_as_invalid_argument(text: str) -> None:
    try:
        parsed = parse(text)
    except InvalidArgument as error:
        assert error.code is Reason.TRIGGER_CONDITION_INVALID
        assert 0 <= int(error.metadata["offset"]) <= len(text)
        return
    assert parse(render(parsed)) == parsed
