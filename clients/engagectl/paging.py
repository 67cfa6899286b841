"""Following a list's pages (AIP-158) up to the number of items the user asked for."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

T = TypeVar("T")

# The most a server returns in one page; asking for more is asking for this much.
MAX_PAGE_SIZE = 1000

# One page: called with the page size to ask for and the page token ("" for the first page), it
# returns the page's items and its next_page_token.
FetchPage = Callable[[int, str], Awaitable[tuple[Sequence[T], str]]]


async def collect(fetch_page: FetchPage[T], limit: int) -> list[T]:
    """At most `limit` items, page after page, until the list ends (an empty next_page_token). Each
    request asks only for what is still missing, so no page is fetched beyond the limit."""
    found: list[T] = []
    token = ""
    while len(found) < limit:
        items, token = await fetch_page(min(limit - len(found), MAX_PAGE_SIZE), token)
        found.extend(items)
        if not token:
            break
    return found
