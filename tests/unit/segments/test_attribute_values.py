"""Attribute values as text (what ingestion's attribute maps hold): read as the attribute's type,
refused with what was expected, and written back to text that reads to the same value."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.domain.segments.attributes import (
    INT_MAX,
    INT_MIN,
    MAX_ABS_DECIMAL,
    AttributeDefinition,
    AttributeType,
    value_from_text,
    value_to_text,
)

FLAG = AttributeDefinition("flag", AttributeType.BOOL)
COUNT = AttributeDefinition("count", AttributeType.INT)
AMOUNT = AttributeDefinition("amount", AttributeType.DECIMAL)
NAME = AttributeDefinition("nick", AttributeType.STRING)
RISK = AttributeDefinition("risk", AttributeType.ENUM, values=("LOW", "HIGH"))
DAY = AttributeDefinition("day", AttributeType.DATE)


@pytest.mark.parametrize(("definition", "text", "value"), [
    (FLAG, "true", True), (FLAG, "false", False), (COUNT, "-12", -12), (COUNT, str(INT_MAX), INT_MAX),
    (AMOUNT, "5000", Decimal(5000)), (AMOUNT, "-0.0001", Decimal("-0.0001")), (NAME, " Ana ", " Ana "),
    (RISK, "LOW", "LOW"), (DAY, "2024-02-29", dt.date(2024, 2, 29)),
])
def test_values_read_from_text(definition: AttributeDefinition, text: str, value: object) -> None:
    read = value_from_text(definition, text)
    assert read == value and type(read) is type(value)
    assert value_from_text(definition, value_to_text(read)) == read


@pytest.mark.parametrize(("definition", "text"), [
    (FLAG, "True"), (FLAG, "1"), (COUNT, "1.0"), (COUNT, "9223372036854775808"), (COUNT, " 1"), (COUNT, "9" * 5000),
    (AMOUNT, "1e3"), (AMOUNT, "0.00001"), (AMOUNT, "NaN"), (AMOUNT, "100000000000000"), (RISK, "low"),
    (DAY, "2023-02-29"), (DAY, "20240131"), (DAY, "2024-01-31T00:00"),
])
def test_values_of_the_wrong_type_name_the_attribute(definition: AttributeDefinition, text: str) -> None:
    with pytest.raises(ValueError, match=f"^{definition.name} is {definition.type}: "):
        value_from_text(definition, text)


@given(st.one_of(
    st.tuples(st.just(COUNT), st.integers(INT_MIN, INT_MAX)),
    st.tuples(st.just(AMOUNT), st.decimals(-MAX_ABS_DECIMAL, MAX_ABS_DECIMAL, places=4)),
    st.tuples(st.just(DAY), st.dates()), st.tuples(st.just(NAME), st.text())))
def test_text_reads_back_to_the_value(case: tuple[AttributeDefinition, object]) -> None:
    definition, value = case
    assert value_from_text(definition, value_to_text(value)) == value  # type: ignore[arg-type]
