"""engagectl's page following against a fake list: the first `limit` items, in order, asking only for
what is still missing and never past the last page; the token to go on from; --all from a token."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from clients.engagectl.paging import MAX_PAGE_SIZE, collect


@given(total=st.integers(0, 2500), limit=st.integers(1, 2500), short_pages=st.integers(0, 3))
async def test_collect_returns_the_first_items_in_order(total: int, limit: int, short_pages: int) -> None:
    items = list(range(total))
    asked: list[int] = []
    served = 0
    last_token = "start"

    async def fetch_page(size: int, token: str) -> tuple[list[int], str]:
        nonlocal served, last_token
        assert last_token, "a request after the last page"
        assert token == (str(served) if served else "")
        assert size == min(limit - served, MAX_PAGE_SIZE), "asks for exactly what is missing"
        asked.append(size)
        # A server may return fewer than asked (the first pages here); never more.
        end = min(served + (max(1, size // 2) if len(asked) <= short_pages else size), total)
        page, served = items[served:end], end
        last_token = str(end) if end < total else ""
        return page, last_token

    listed = await collect(fetch_page, limit)
    assert listed.items == items[:limit]
    assert served == limit or not last_token  # stopped at the limit or at the end of the list
    # The token to go on from: the last page's, empty only when the list has ended.
    assert listed.next_page_token == last_token


@given(total=st.integers(0, 2500), start=st.integers(0, 2500))
async def test_collect_everything_from_a_page_token_to_the_end(total: int, start: int) -> None:
    items = list(range(total))
    begin = min(start, total)

    async def fetch_page(size: int, token: str) -> tuple[list[int], str]:
        assert size == MAX_PAGE_SIZE
        first = int(token) if token else 0
        end = min(first + size, total)
        return items[first:end], str(end) if end < total else ""

    listed = await collect(fetch_page, None, str(begin) if begin else "")
    assert listed.items == items[begin:]
    assert listed.next_page_token == ""
