import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.domain.errors import InvalidArgument
from server.domain.pagination import (
    MAX_PAGE_SIZE,
    instant_and_text_key,
    int64_key,
    next_page_token,
    page_request,
    text_key,
)

ids = st.text(st.characters(blacklist_characters="\x00"), max_size=30)


@given(ids)
def test_token_round_trips_its_key(key) -> None:
    assert page_request(10, next_page_token("accounts", key), "accounts").after == key


@given(st.datetimes(dt.datetime(1900, 1, 1), dt.datetime(9998, 1, 1), timezones=st.timezones()), ids)
def test_token_round_trips_an_instant_and_id(instant, key) -> None:
    token = next_page_token("transactions", [instant.isoformat(), key])
    assert page_request(10, token, "transactions", instant_and_text_key).after == [instant.isoformat(), key]


@given(st.integers(min_value=-(2**63), max_value=2**63 - 1))
def test_token_round_trips_a_change_id(change_id) -> None:
    assert page_request(10, next_page_token("changes", change_id), "changes", int64_key).after == change_id


@pytest.mark.parametrize(("key", "after"), [
    (text_key, 5), (text_key, ["a"]), (text_key, {"a": "b"}), (text_key, None), (text_key, "a\x00"),
    (instant_and_text_key, "2026-01-01T00:00:00+00:00"), (instant_and_text_key, ["2026-01-01T00:00:00", "a"]),
    (instant_and_text_key, ["0001-01-01T00:00:00+14:00", "a"]), (instant_and_text_key, ["yesterday", "a"]),
    (instant_and_text_key, ["2026-01-01T00:00:00+00:00", 1]), (instant_and_text_key, [None, "a"]),
    (int64_key, 2**63), (int64_key, -(2**63) - 1), (int64_key, True), (int64_key, "1"), (int64_key, 1.0),
])
def test_a_key_of_another_shape_is_an_invalid_token(key, after) -> None:
    with pytest.raises(InvalidArgument) as caught:
        page_request(10, next_page_token("x", after), "x", key)
    assert caught.value.code == "INVALID_PAGE_TOKEN"


def test_token_of_another_list_is_invalid() -> None:
    with pytest.raises(InvalidArgument) as caught:
        page_request(10, next_page_token("customers", "x"), "accounts")
    assert caught.value.code == "INVALID_PAGE_TOKEN"


@given(st.text(min_size=1, max_size=40))
def test_arbitrary_tokens_are_invalid_argument_never_a_crash(token: str) -> None:
    try:
        page_request(10, token, "accounts")
    except InvalidArgument as error:
        assert error.code == "INVALID_PAGE_TOKEN"


def test_sizes() -> None:
    assert page_request(0, "", "a").size == 100
    assert page_request(10**6, "", "a").size == MAX_PAGE_SIZE
    with pytest.raises(InvalidArgument):
        page_request(-1, "", "a")
