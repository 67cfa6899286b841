"""Parsing segment expressions: the typed tree of valid ones, and for invalid ones the reason code,
the problem and the position (line, column, offset) of what is wrong."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.domain.errors import InvalidArgument
from server.domain.reasons import Reason
from server.domain.segments.attributes import AttributeCatalogue, AttributeDefinition, AttributeType
from server.domain.segments.expression import (
    And,
    Between,
    Comparator,
    Comparison,
    Expression,
    Holds,
    InSet,
    IsSet,
    Not,
    Or,
    attributes_named,
    reads_holdings,
    render,
)
from server.domain.segments.parser import MAX_DEPTH, MAX_LENGTH, parse_expression
from tests.support.segment_strategies import CATALOGUE, expressions

GLOBETROTTER = AttributeDefinition("IsGlobetrotter", AttributeType.BOOL, default=False,
                                   description="Are you a Globetrotter? (likes to travel)")
RISK = AttributeDefinition("risk_profile", AttributeType.ENUM, values=("LOW", "MEDIUM", "HIGH"))
CITY = AttributeDefinition("city", AttributeType.STRING)
BORN = AttributeDefinition("born", AttributeType.DATE)
BANK = AttributeCatalogue.of([GLOBETROTTER, RISK, CITY, BORN])
AGE, SALARY = BANK.attributes["age"], BANK.attributes["avg_monthly_salary"]
ROOT = Path(__file__).resolve().parents[3]


def refused(text: str, catalogue: AttributeCatalogue = BANK) -> InvalidArgument:
    with pytest.raises(InvalidArgument) as caught:
        parse_expression(text, catalogue)
    error = caught.value
    assert error.code is Reason.SEGMENT_EXPRESSION_INVALID
    assert error.violations[0].field == "expression"
    assert error.message.startswith(f"line {error.metadata['line']}, column {error.metadata['column']}: ")
    return error


def where(error: InvalidArgument) -> tuple[str, int, int, int]:
    meta = error.metadata
    return meta["problem"], int(meta["line"]), int(meta["column"]), int(meta["offset"])


def test_the_examples_of_the_docs_parse() -> None:
    examples = (ROOT / "docs" / "segments.md").read_text().split("## Examples")[1].split("```")[1]
    texts = [line.split("--")[0].strip() for line in examples.strip().splitlines()]
    assert len(texts) >= 5
    for text in texts:
        parsed = parse_expression(text, BANK)
        assert parse_expression(render(parsed), BANK) == parsed


def test_the_globetrotter_persona() -> None:
    parsed = parse_expression("IsGlobetrotter = true AND age BETWEEN 30 AND 45 AND risk_profile = 'LOW'", BANK)
    assert parsed == And((Comparison(GLOBETROTTER, Comparator.EQ, True), Between(AGE, 30, 45),
                          Comparison(RISK, Comparator.EQ, "LOW")))


def test_every_form_of_condition() -> None:
    text = ("IsGlobetrotter and not (risk_profile not in ('HIGH', 'MEDIUM') or city is not set) "
            "or born >= date '1980-02-29' and avg_monthly_salary > 5000.5 and city In (\"o\"\"k\", 'x') "
            "OR age NOT BETWEEN -1 AND 17 AND born IS SET AND holds('LOAN')")
    assert parse_expression(text, BANK) == Or((
        And((Comparison(GLOBETROTTER, Comparator.EQ, True),
             Not(Or((InSet(RISK, ("HIGH", "MEDIUM"), negated=True), IsSet(CITY, negated=True)))))),
        And((Comparison(BORN, Comparator.GE, dt.date(1980, 2, 29)),
             Comparison(SALARY, Comparator.GT, Decimal("5000.5")), InSet(CITY, ('o"k', "x")))),
        And((Between(AGE, -1, 17, negated=True), IsSet(BORN), Holds("LOAN"))),
    ))


def test_precedence_not_then_and_then_or() -> None:
    parsed = parse_expression("NOT holds('CARD') OR holds('LOAN') AND NOT NOT holds('SAVINGS')", BANK)
    assert parsed == Or((Not(Holds("CARD")), And((Holds("LOAN"), Not(Not(Holds("SAVINGS")))))))
    # Parentheses group, and are kept as a group of their own.
    grouped = parse_expression("(holds('CARD') OR holds('LOAN')) AND (holds('SAVINGS') AND holds('CHECKING'))", BANK)
    assert grouped == And((Or((Holds("CARD"), Holds("LOAN"))), And((Holds("SAVINGS"), Holds("CHECKING")))))


def test_a_decimal_attribute_takes_whole_numbers_and_names_are_case_sensitive() -> None:
    assert parse_expression("avg_monthly_salary >= 5000", BANK) == Comparison(SALARY, Comparator.GE, Decimal(5000))
    assert where(refused("isglobetrotter = true"))[0] == "UNKNOWN_ATTRIBUTE"
    assert "did you mean IsGlobetrotter?" in refused("isglobetrotter = true").message


def test_spans_point_at_the_clauses() -> None:
    parsed = parse_expression("age > 3 AND\n  holds('LOAN')", BANK)
    assert isinstance(parsed, And)
    assert [(o.span.line, o.span.column, o.span.offset) for o in parsed.operands] == [(1, 1, 0), (2, 3, 14)]


@pytest.mark.parametrize(("text", "problem", "line", "column"), [
    ("", "SYNTAX", 1, 1),
    ("age >", "SYNTAX", 1, 6),
    ("age >> 3", "SYNTAX", 1, 6),
    ("age = 3 AND", "SYNTAX", 1, 12),
    ("(age = 3", "SYNTAX", 1, 9),
    ("age = 3)", "SYNTAX", 1, 8),
    ("age IN ()", "SYNTAX", 1, 9),
    ("age = 3 # note", "SYNTAX", 1, 9),
    ("age == 3", "SYNTAX", 1, 6),
    ("age = 3\n  AND income > 5", "UNKNOWN_ATTRIBUTE", 2, 7),
    ("holds('BOAT')", "UNKNOWN_HOLDING", 1, 7),
    ("risk_profile = 'VERY_LOW'", "VALUE_NOT_ALLOWED", 1, 16),
    ("risk_profile IN ('LOW', 'low')", "VALUE_NOT_ALLOWED", 1, 25),
    ("born > 20240101", "TYPE_MISMATCH", 1, 8),
    ("born = '2024-01-01'", "TYPE_MISMATCH", 1, 8),
    ("age = 30.5", "TYPE_MISMATCH", 1, 7),
    ("age = '30'", "TYPE_MISMATCH", 1, 7),
    ("IsGlobetrotter = 1", "TYPE_MISMATCH", 1, 18),
    ("city = true", "TYPE_MISMATCH", 1, 8),
    ("age AND holds('LOAN')", "TYPE_MISMATCH", 1, 1),
    ("city < 'm'", "OPERATOR_NOT_ALLOWED", 1, 6),
    ("risk_profile BETWEEN 'LOW' AND 'HIGH'", "OPERATOR_NOT_ALLOWED", 1, 1),
    ("IsGlobetrotter >= false", "OPERATOR_NOT_ALLOWED", 1, 16),
    ("age BETWEEN 45 AND 30", "EMPTY_RANGE", 1, 13),
    ("born = DATE '2023-02-29'", "VALUE_OUT_OF_RANGE", 1, 8),
    ("born = DATE '20230228'", "VALUE_OUT_OF_RANGE", 1, 8),
    ("age > 9223372036854775808", "VALUE_OUT_OF_RANGE", 1, 7),
    ("age > -9223372036854775809", "VALUE_OUT_OF_RANGE", 1, 7),
    ("age > " + "9" * 5000, "VALUE_OUT_OF_RANGE", 1, 7),
    ("avg_monthly_salary > 0.00001", "VALUE_OUT_OF_RANGE", 1, 22),
    ("avg_monthly_salary > 100000000000000", "VALUE_OUT_OF_RANGE", 1, 22),
])
def test_invalid_expressions_name_the_problem_and_where(text: str, problem: str, line: int, column: int) -> None:
    error = refused(text)
    offset = sum(len(x) + 1 for x in text.split("\n")[:line - 1]) + column - 1
    assert where(error) == (problem, line, column, offset)


def test_limits() -> None:
    assert where(refused("holds('LOAN') OR " * 700 + "holds('CARD')"))[:2] == ("TOO_LONG", 1)
    deep = "NOT (" * (MAX_DEPTH + 1) + "holds('LOAN')" + ")" * (MAX_DEPTH + 1)
    assert where(refused(deep)) == ("TOO_DEEP", 1, 5 * MAX_DEPTH + 1, 5 * MAX_DEPTH)
    assert parse_expression("NOT (" * MAX_DEPTH + "holds('LOAN')" + ")" * MAX_DEPTH, BANK)
    nested_groups = "holds('LOAN') AND (" * (MAX_DEPTH + 1) + "holds('CARD')" + ")" * (MAX_DEPTH + 1)
    assert where(refused(nested_groups))[0] == "TOO_DEEP"
    assert where(refused("age IN (" + ", ".join(["1"] * 1001) + ")"))[0] == "TOO_MANY_VALUES"
    assert len("holds('LOAN') OR " * 700) > MAX_LENGTH


def test_parentheses_nested_as_deep_as_the_length_allows_parse() -> None:
    # Each pair of them once cost two frames of recursion: about 600 raised RecursionError (INTERNAL).
    text = "holds('CARD')"
    most = (MAX_LENGTH - len(text)) // 2
    assert parse_expression("(" * most + text + ")" * most, BANK) == Holds("CARD")
    assert where(refused("(" * (most + 1) + text + ")" * (most + 1)))[0] == "TOO_LONG"


@settings(max_examples=100)
@given(expression=expressions, pairs=st.integers(0, 50))
def test_parentheses_around_an_expression_change_nothing(expression: Expression, pairs: int) -> None:
    assert parse_expression("(" * pairs + render(expression) + ")" * pairs, CATALOGUE) == expression


def test_parentheses_alone_add_no_depth() -> None:
    def nested(groups: int) -> str:
        return "(" * 1000 + "holds('LOAN') AND ((" * groups + "holds('CARD')" + "))" * groups + ")" * 1000
    assert parse_expression(nested(MAX_DEPTH), BANK)
    assert where(refused(nested(MAX_DEPTH + 1)))[0] == "TOO_DEEP"
    assert parse_expression("(" * 1000 + "NOT " + "(" * 1000 + "holds('LOAN')" + ")" * 2000, BANK) == \
        Not(Holds("LOAN"))


def test_keywords_are_words_of_any_case_and_names_may_start_with_them() -> None:
    catalogue = AttributeCatalogue.of([AttributeDefinition("android", AttributeType.BOOL),
                                       AttributeDefinition("dated", AttributeType.DATE),
                                       AttributeDefinition("Notes", AttributeType.STRING)])
    parsed = parse_expression("android aNd dated Is sEt Or NOT Notes = 'x'", catalogue)
    assert render(parsed) == "(android = true AND dated IS SET) OR NOT Notes = 'x'"
    with pytest.raises(ValueError):
        AttributeDefinition("between", AttributeType.INT)


def test_attribute_definitions_check_their_values() -> None:
    with pytest.raises(ValueError):
        AttributeDefinition("risk", AttributeType.ENUM)
    with pytest.raises(ValueError):
        AttributeDefinition("risk", AttributeType.ENUM, values=("LOW", "LOW"))
    with pytest.raises(ValueError):
        AttributeDefinition("risk", AttributeType.ENUM, values=("LOW",), default="HIGH")
    with pytest.raises(ValueError):
        AttributeDefinition("flag", AttributeType.INT, default=True)  # a bool is no INT
    with pytest.raises(ValueError):
        AttributeDefinition("when", AttributeType.DATE, default=dt.datetime(2024, 1, 1))
    with pytest.raises(ValueError):
        AttributeDefinition("amount", AttributeType.DECIMAL, default=Decimal("0.00001"))
    with pytest.raises(ValueError):
        AttributeCatalogue.of([AttributeDefinition("age", AttributeType.INT)])  # a built-in's name


def test_what_an_expression_reads() -> None:
    parsed = parse_expression("age > 3 AND (city IS SET OR NOT holds('LOAN'))", BANK)
    assert attributes_named(parsed) == {"age", "city"}
    assert reads_holdings(parsed)
    assert not reads_holdings(parse_expression("age > 3", BANK))


@settings(max_examples=300)
@given(expression=expressions)
def test_the_canonical_text_parses_back_to_the_same_tree(expression: Expression) -> None:
    text = render(expression)
    assert parse_expression(text, CATALOGUE) == expression
    assert render(parse_expression(text, CATALOGUE)) == text
