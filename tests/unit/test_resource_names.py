"""The one resource-name parser: valid names round-trip, everything else is RESOURCE_NAME_INVALID (or
RESOURCE_NAME_REQUIRED when empty) naming the field, and nothing else is ever raised."""

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.domain import resource_names
from server.domain.errors import InvalidArgument
from server.domain.resource_names import ResourcePattern

PATTERNS = [resource_names.CUSTOMER, resource_names.ACCOUNT, resource_names.FEED_ITEM,
            resource_names.INSIGHT_BATCH, *resource_names.ENGAGEMENT.values(),
            ResourcePattern("customers/{customer}/accounts/{account}")]


def _ids(pattern: ResourcePattern) -> st.SearchStrategy[tuple[str, ...]]:
    one = st.text(st.characters(exclude_characters="/", exclude_categories=["Cc", "Cs"]),
                  min_size=1, max_size=pattern.max_id_length)
    return st.tuples(*[one] * len(pattern.variables))


@st.composite
def _pattern_and_ids(draw: st.DrawFn) -> tuple[ResourcePattern, tuple[str, ...]]:
    pattern = draw(st.sampled_from(PATTERNS))
    return pattern, draw(_ids(pattern))


def _is_valid(pattern: ResourcePattern, name: str) -> bool:
    """The rule stated plainly, independently of the parser's regex."""
    literal = pattern.template.split("/")
    segments = name.split("/")
    if len(segments) == 1 and pattern.bare_id_ok and len(pattern.variables) == 1:
        segments = [literal[0], *segments]
    return len(segments) == len(literal) and all(
        (segment == part) if i % 2 == 0 else
        (0 < len(segment) <= pattern.max_id_length and not any(ord(c) < 32 or ord(c) == 127 for c in segment))
        for i, (segment, part) in enumerate(zip(segments, literal, strict=True)))


@given(_pattern_and_ids())
def test_a_valid_name_round_trips(case):
    pattern, ids = case
    assert pattern.parse(pattern.format(*ids), "name") == ids


@given(st.sampled_from(PATTERNS), st.one_of(
    st.text(),
    st.text(alphabet="/abcdefghijklmnopqrstuvwxyzACIN{}\x00\t ", max_size=80),
    st.builds(lambda prefix, rest: prefix + rest,
              st.sampled_from(["customers/", "accounts/", "apps/", "customers/c/feedItems/", "insightBatches/"]),
              st.text(max_size=80))))
def test_any_other_string_is_refused_with_the_domain_error_only(pattern, name):
    try:
        parsed = pattern.parse(name, "parent")
    except InvalidArgument as error:
        assert not _is_valid(pattern, name)
        assert error.code == ("RESOURCE_NAME_REQUIRED" if not name else "RESOURCE_NAME_INVALID")
        assert [v.field for v in error.violations] == ["parent"]
    else:
        assert _is_valid(pattern, name)
        assert len(parsed) == len(pattern.variables)


def test_the_error_names_the_pattern():
    with pytest.raises(InvalidArgument) as caught:
        resource_names.FEED_ITEM.parse("customers/c1/feedItems", "feed_item")
    assert caught.value.code == "RESOURCE_NAME_INVALID"
    assert re.search(r"customers/\{customer\}/feedItems/\{feed_item\}", caught.value.violations[0].description)


@pytest.mark.parametrize("template", ["customers", "customers/{customer}/", "{customer}", "customers/customer",
                                      "customers/{Customer}", "customers/{customer}/{account}"])
def test_a_malformed_pattern_is_a_programming_error(template):
    with pytest.raises(ValueError):
        ResourcePattern(template)
