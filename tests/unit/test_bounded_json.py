"""loads_bounded: JSON of any nesting is read, or refused as JsonTooDeep (a ValueError), never a
RecursionError, wherever in the stack it is called."""

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.domain.bounded_json import MAX_DEPTH, JsonTooDeep, loads_bounded


def nested(shapes: str) -> str:
    """JSON with one array ('[') or object ('{') per character of `shapes`, the first outermost."""
    opening = "".join('{"k": ' if shape == "{" else "[" for shape in shapes)
    closing = "".join("}" if shape == "{" else "]" for shape in reversed(shapes))
    return opening + "1" + closing


def at_stack_depth(frames: int, call):  # type: ignore[no-untyped-def]
    return call() if frames == 0 else at_stack_depth(frames - 1, call)


@given(st.text(alphabet="[{", min_size=1, max_size=3000), st.integers(min_value=0, max_value=600))
def test_any_nesting_is_read_or_refused_wherever_it_is_called(shapes: str, frames: int) -> None:
    text = nested(shapes)
    if len(shapes) > MAX_DEPTH:
        with pytest.raises(JsonTooDeep):
            at_stack_depth(frames, lambda: loads_bounded(text))
    else:
        assert at_stack_depth(frames, lambda: loads_bounded(text)) == json.loads(text)


@pytest.mark.parametrize("text", ["[" * 100_000, nested("[" * 100_000), nested("{" * 100_000), b"[" * 100_000,
                                  '{"list": "x", "after": ' + nested("[" * 900) + "}"])
def test_text_nested_past_the_parser_is_a_value_error(text) -> None:
    with pytest.raises(ValueError, match="nested more than 32 levels deep"):
        loads_bounded(text)


def test_the_bound_counts_arrays_and_objects_not_scalars() -> None:
    assert loads_bounded(nested("[" * 3), max_depth=3) == [[[1]]]
    with pytest.raises(JsonTooDeep):
        loads_bounded(nested("[" * 4), max_depth=3)
    assert loads_bounded('"[[[["', max_depth=1) == "[[[["
    assert loads_bounded("7", max_depth=1) == 7


def test_other_faults_stay_json_errors() -> None:
    with pytest.raises(json.JSONDecodeError):
        loads_bounded("[1,")
