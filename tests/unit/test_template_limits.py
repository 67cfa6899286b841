"""Templates in a server every bank shares: what could make a message of any size is refused when saved,
a rendered part stops at MAX_RENDERED_CHARS, and rendering fails only with TemplateRenderError, whose
reason tells the request's fault (a missing token, data too long) from the template's."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.domain.engagement.templates import (
    MAX_NESTING,
    MAX_RENDERED_CHARS,
    TemplateRenderError,
    render_parts,
    validate_parts,
)


@pytest.mark.parametrize(("source", "problem"), [
    ("{{ data.a * 100000000 }}", "'*' and '**' are not allowed"),
    ("{{ 'x' * 1000000000 }}", "'*' and '**' are not allowed"),  # refused before Jinja could fold it
    ("{{ 9 ** 9 ** 9 }}", "'*' and '**' are not allowed"),
    ("{% for a in data.a %}{% if a %}{% for b in data.a %}.{% endfor %}{% endif %}{% endfor %}", "cannot hold"),
])
def test_what_could_make_a_message_of_any_size_is_refused_when_saved(source, problem):
    [violation] = validate_parts({"text": source})
    assert violation.field == "text" and problem in violation.description


def test_a_loops_own_variables_are_tokens_of_its_body():
    assert validate_parts({"text": "{% for c in data.code %}{{ c }}{{ loop.index }}{% endfor %}"}) == []
    assert validate_parts({"text": "{% for k, v in data.pairs %}{{ k }}={{ v }}{% endfor %}"}) == []
    [outside] = validate_parts({"text": "{% for c in data.code %}{{ c }}{% endfor %}{{ c }}{{ d }}"})
    assert "'{{ d }}'" in outside.description
    assert render_parts({"text": "{% for c in data.code %}{{ c }}-{% endfor %}"}, {"data": {"code": "123"}}) == {
        "text": "1-2-3-"}


@pytest.mark.parametrize(("source", "data", "reason"), [
    ("{{ data.missing }}", {}, "TOKEN_MISSING"),
    ("{{ data.a.__class__ }}", {"a": "x"}, "TOKEN_MISSING"),  # what the sandbox hides is not there
    ("{{ data.a }}", {"a": "x" * (MAX_RENDERED_CHARS + 1)}, "TOO_LONG"),
    ("{% for c in data.a %}{{ data.a }}{% endfor %}", {"a": "x" * 1000}, "TOO_LONG"),
    ("{{ data.a / data.b }}", {"a": "1", "b": "2"}, "FAILED"),
    ("{{ data.a | round }}", {"a": "1.5"}, "FAILED"),
    ("{{ data.a | truncate(-5) }}", {"a": "text"}, "FAILED"),
])
def test_render_errors_say_whose_fault_they_are(source, data, reason):
    with pytest.raises(TemplateRenderError) as raised:
        render_parts({"text": source}, {"data": data})
    assert raised.value.reason == reason


def test_a_part_of_exactly_the_limit_renders():
    assert len(render_parts({"text": "{{ data.a }}"}, {"data": {"a": "x" * MAX_RENDERED_CHARS}})["text"]) == \
        MAX_RENDERED_CHARS


# Templates made of every kind of piece a bank admin may write, with and without the refused ones.
_VALUE = st.sampled_from(["data.a", "data.b", "customer.id", "data.missing"])
_PIECE = st.one_of(
    st.text(alphabet="ab {}%-.", max_size=8),
    _VALUE.map(lambda v: f"{{{{ {v} }}}}"),
    st.tuples(_VALUE, st.sampled_from(["upper", "trim", "round", "title", "truncate(5)", "truncate(-1)",
                                       "default('n/a')"])).map(lambda p: f"{{{{ {p[0]} | {p[1]} }}}}"),
    st.tuples(_VALUE, st.sampled_from(["+", "-", "/", "~", "*", "**", "%", "//"]), _VALUE).map(
        lambda p: f"{{{{ {p[0]} {p[1]} {p[2]} }}}}"),
    _VALUE.map(lambda v: f"{{% if {v} %}}yes{{% endif %}}"),
    _VALUE.map(lambda v: f"{{% for c in {v} %}}{{{{ c }}}}{{{{ {v} }}}}{{% endfor %}}"),
)


@settings(max_examples=300, deadline=None)
@given(pieces=st.lists(_PIECE, max_size=6), a=st.text(max_size=300),
       b=st.text(min_size=600, max_size=3000))  # a loop over b that writes b passes the limit
def test_a_template_that_passes_the_checks_renders_within_the_limit_or_fails_with_a_reason(pieces, a, b):
    source = "".join(pieces)
    if validate_parts({"text": source}):
        return
    try:
        rendered = render_parts({"text": source}, {"data": {"a": a, "b": b}, "customer": {"id": "c1"}})
    except TemplateRenderError as exc:
        assert exc.reason in {"TOKEN_MISSING", "TOO_LONG", "FAILED"}
    else:
        assert len(rendered["text"]) <= MAX_RENDERED_CHARS


# Nesting: Jinja parses and compiles by recursion, so depth is bounded before parsing (it was a
# RecursionError). Each wrapper nests an expression one level further; blocks wrap the whole output.
_WRAPPERS = ["({})", "[{}]", "{'k': {} }", "(not {})", "{} | upper", "{} | default(data.b)", "{} ~ data.a",
             "data.a ~ {}", "({} if data.a else data.b)", "(data.b if not data.a else {})",
             "({}).k", "({})[0]", "({} is defined)", "({} == data.a)"]


def _nested(blocks: int, wrappers: list[str], in_loop: bool) -> str:
    expression = "data.a"
    for wrapper in wrappers:
        expression = wrapper.replace("{}", expression)
    body = "{% if data.a %}" * blocks + "{{ " + expression + " }}" + "{% endif %}" * blocks
    return "{% for c in data.a %}" + body + "{% endfor %}" if in_loop else body


@settings(max_examples=300, deadline=None)
@given(blocks=st.integers(0, 80), wrappers=st.lists(st.sampled_from(_WRAPPERS), max_size=120),
       in_loop=st.booleans())
def test_a_template_of_any_depth_is_refused_as_too_deep_or_renders(blocks, wrappers, in_loop):
    source = _nested(blocks, wrappers, in_loop)
    violations = validate_parts({"text": source, "html": source})
    if violations:
        assert {v.field for v in violations} <= {"text", "html"}
        assert all("nested" in v.description for v in violations), violations
        return
    try:
        render_parts({"text": source, "html": source}, {"data": {"a": "q", "b": "r"}})
    except TemplateRenderError as exc:  # `.k` of a string: a token without a value, never a failure to compile
        assert exc.reason == "TOKEN_MISSING", exc


@pytest.mark.parametrize("source", [
    "{% if data.a %}" * 10_000 + "x" + "{% endif %}" * 10_000,
    "{{ " + "(" * 100_000 + "data.a" + ")" * 100_000 + " }}",
    "{{ " + "{'k': " * 10_000 + "1" + " }" * 10_000 + " }}",
    "{{ " + "not " * 10_000 + "data.a }}",
    "{{ " + "- " * 10_000 + "1 }}",
    "{{ " + "data.a if data.b else " * 10_000 + "x }}",
    "{{ data.a" + " + 1" * 10_000 + " }}",
    "{{ data.a" + " | upper" * 10_000 + " }}",
    "{{ data" + ".a" * 10_000 + " }}",
    "{% set x %}" * 10_000 + "{% endset %}" * 10_000,
])
def test_templates_nested_far_past_the_limit_are_refused_not_crashed(source):
    [violation] = validate_parts({"text": source})
    assert violation.field == "text" and "nested" in violation.description


def test_nesting_is_allowed_up_to_the_limit():
    deepest = "{% if data.a %}" * (MAX_NESTING - 1) + "{{ (data.a) }}" + "{% endif %}" * (MAX_NESTING - 1)
    assert validate_parts({"text": deepest}) == []
    assert render_parts({"text": deepest}, {"data": {"a": "q"}}) == {"text": "q"}
    [violation] = validate_parts({"text": "{% if data.a %}" + deepest + "{% endif %}"})
    assert f"more than {MAX_NESTING} levels" in violation.description
