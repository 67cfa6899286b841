import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.domain.errors import InvalidArgument
from server.domain.pagination import MAX_PAGE_SIZE, next_page_token, page_request


@given(st.one_of(st.text(max_size=30), st.lists(st.text(max_size=10), max_size=3)))
def test_token_round_trips_its_key(key) -> None:
    assert page_request(10, next_page_token("accounts", key), "accounts").after == key


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
