"""Reading a paged List RPC (AIP-158) to its end, as a client would."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any


async def every_page(list_call: Callable[[Any], Awaitable[Any]], request_type: Callable[..., Any], field: str,
                     page_size: int) -> tuple[list[Any], int]:
    """Every item of a paged List RPC, `page_size` at a time, and the number of pages it took; each page
    holds at most `page_size` items."""
    items: list[Any] = []
    token, pages = "", 0
    while True:
        answer = await list_call(request_type(page_size=page_size, page_token=token))
        items.extend(getattr(answer, field))
        pages += 1
        assert len(getattr(answer, field)) <= page_size
        token = answer.next_page_token
        if not token:
            return items, pages
