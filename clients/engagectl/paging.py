"""Following a list's pages (AIP-158), the same way in every list command: `--limit N` items (pages
followed), `--all` of them, or `--page-token TOKEN` to go on where an earlier list stopped. When
more items exist than were shown, the list says so on stderr with the token to go on from."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import typer

T = TypeVar("T")

# The most a server returns in one page; asking for more is asking for this much.
MAX_PAGE_SIZE = 1000

# One page: called with the page size to ask for and the page token ("" for the first page), it
# returns the page's items and its next_page_token.
FetchPage = Callable[[int, str], Awaitable[tuple[Sequence[T], str]]]


@dataclass(frozen=True)
class Listed(Generic[T]):
    items: list[T]
    # Where the next page starts; "" when the list has ended.
    next_page_token: str


@dataclass(frozen=True)
class Paging:
    """What a list command's --limit, --page-token and --all asked for."""

    limit: int
    page_token: str = ""
    every_page: bool = False


async def collect(fetch_page: FetchPage[T], limit: int | None, page_token: str = "") -> Listed[T]:
    """At most `limit` items (None: all of them), page after page from `page_token`, until the list
    ends (an empty next_page_token). Each request asks only for what is still missing, so no page is
    fetched beyond the limit."""
    found: list[T] = []
    token = page_token
    while limit is None or len(found) < limit:
        size = MAX_PAGE_SIZE if limit is None else min(limit - len(found), MAX_PAGE_SIZE)
        items, token = await fetch_page(size, token)
        found.extend(items)
        if not token:
            break
    return Listed(found, token)


async def collect_paging(fetch_page: FetchPage[T], paging: Paging) -> Listed[T]:
    return await collect(fetch_page, None if paging.every_page else paging.limit, paging.page_token)


# The three options, declared alike in every list command:
#     limit: int = limit_option(100, "accounts"), page_token: str = page_token_option(),
#     every_page: bool = all_option()
# and then Paging(limit, page_token, every_page).

def limit_option(default: int, what: str) -> Any:
    return typer.Option(default, "--limit", min=1, metavar="N",
                        help=f"At most this many {what} (pages are followed).")


def page_token_option() -> Any:
    return typer.Option("", "--page-token", metavar="TOKEN", show_default=False,
                        help="Go on where an earlier list stopped (its 'more results' line names the token).")


def all_option() -> Any:
    return typer.Option(False, "--all", help="Every item, page after page (--limit does not apply).")
