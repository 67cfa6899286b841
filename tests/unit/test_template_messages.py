"""Template errors read as a message writer's mistakes, not as Jinja's parser or Python internals."""

from __future__ import annotations

import re

import pytest

from server.domain.engagement.templates import TemplateRenderError, render_parts, validate_parts

INTERNALS = re.compile(r"Jinja|print statement|statement block|token 'name'|object'|[A-Z]\w+Error")

SYNTAX = [
    ("{{ data.amount ", "the text ends too soon; expected '}}'"),
    ("{{ data.a b }}", "expected '}}', got 'b'"),
    ("{% if data.x %}hi", "the text ends too soon; expected 'elif' or 'else' or 'endif' (to close {% if %})"),
    ("{% foo %}", "unknown tag 'foo'"),
    ("{{ }}", "expected a token or a value, got '}}'"),
    ("{{ data.amount | }}", "expected a name, got '}}'"),
]


@pytest.mark.parametrize(("source", "expected"), SYNTAX)
def test_a_syntax_error_names_the_delimiters_as_written(source: str, expected: str) -> None:
    [violation] = validate_parts({"text": source})
    assert violation.description == f"template syntax error on line 1: {expected}"


RENDER = [
    ("{{ data.missing }}", {"data": {}}, "TOKEN_MISSING", "text: no value for 'missing'"),
    ("{{ data.a.b }}", {"data": {"a": "x"}}, "TOKEN_MISSING", "text: no value for 'b'"),
    ("{{ data.a.__class__ }}", {"data": {"a": "x"}}, "TOKEN_MISSING", "text: no value for '__class__'"),
    ("{{ data.a / data.b }}", {"data": {"a": "x", "b": "y"}}, "FAILED", None),
    ("{{ data.a | round }}", {"data": {"a": "x"}}, "FAILED",
     "text: a token's value does not fit the operator or filter applied to it"),
]


@pytest.mark.parametrize(("source", "context", "reason", "expected"), RENDER)
def test_a_render_error_names_no_internals(source: str, context: dict, reason: str, expected: str | None) -> None:
    with pytest.raises(TemplateRenderError) as caught:
        render_parts({"text": source}, context)
    assert caught.value.reason == reason
    if expected is not None:
        assert str(caught.value) == expected
    assert not INTERNALS.search(str(caught.value)), str(caught.value)
