"""Page tokens (AIP-158): opaque to clients, bound to the list they came from."""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from server.domain.bounded_json import loads_bounded
from server.domain.errors import FieldViolation, InvalidArgument

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000


@dataclass(frozen=True)
class PageRequest:
    size: int
    after: Any  # the last key of the previous page, or None for the first page


def text_key(after: Any) -> str:
    """The key of most lists: an id (or a date). Never with NUL: no id has one, and PostgreSQL's text
    cannot hold it."""
    if not isinstance(after, str) or "\x00" in after:
        raise TypeError("not a text key")
    return after


def instant_and_text_key(after: Any) -> list[str]:
    """The key of lists in time order (transactions, the feed): [an ISO 8601 instant with its offset,
    an id]."""
    if not (isinstance(after, list) and len(after) == 2):
        raise TypeError("not an [instant, id] key")
    instant = dt.datetime.fromisoformat(text_key(after[0]))
    if instant.tzinfo is None:
        raise ValueError("an instant without its offset")
    instant.astimezone(dt.UTC)  # OverflowError at the ends of the calendar
    return [after[0], text_key(after[1])]


def instant_and_text_after(after: Any) -> tuple[dt.datetime, str] | None:
    """A page's checked [instant, id] key (instant_and_text_key's) as (a UTC instant, the id)."""
    return None if after is None else (dt.datetime.fromisoformat(after[0]).astimezone(dt.UTC), after[1])


def int64_key(after: Any) -> int:
    """The key of lists numbered by the database (subscription changes)."""
    if isinstance(after, bool) or not isinstance(after, int) or not -(2**63) <= after < 2**63:
        raise TypeError("not a 64-bit integer key")
    return after


K = TypeVar("K")  # the key a page token carries


def page_key(page: PageRequest, parse: Callable[[Any], K]) -> K | None:
    """The key inside a page token, parsed; a token that decodes but does not parse is still invalid."""
    if page.after is None:
        return None
    try:
        return parse(page.after)
    except (ValueError, TypeError, IndexError, KeyError) as exc:
        raise InvalidArgument("INVALID_PAGE_TOKEN", "page_token is not one this list returned",
                              violations=[FieldViolation("page_token", "not a token of this list")]) from exc


def page_request(page_size: int, page_token: str, list_name: str,
                 key: Callable[[Any], Any] = text_key) -> PageRequest:
    """`key` checks the token's key has the shape of the list's keys (raising ValueError or TypeError):
    a token is text a client can forge, and a key of another shape must not reach the query."""
    if page_size < 0:
        raise InvalidArgument("INVALID_PAGE_SIZE", "page_size must not be negative",
                              violations=[FieldViolation("page_size", "must not be negative")])
    size = min(page_size or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
    if not page_token:
        return PageRequest(size, None)
    try:
        decoded = loads_bounded(base64.urlsafe_b64decode(page_token.encode() + b"=="))
        if decoded["list"] != list_name:
            raise ValueError("token of another list")
        return PageRequest(size, key(decoded["after"]))
    except (ValueError, KeyError, TypeError, OverflowError) as exc:
        raise InvalidArgument("INVALID_PAGE_TOKEN", "page_token is not one this list returned",
                              violations=[FieldViolation("page_token", "not a token of this list")]) from exc


def next_page_token(list_name: str, last_key: Any) -> str:
    raw = json.dumps({"list": list_name, "after": last_key}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_page_token: str


def paginate(items: list[T], request: PageRequest, list_name: str, key: Callable[[T], Any]) -> Page[T]:
    """Repositories fetch one row more than the page: its presence means there is a next page."""
    if len(items) > request.size:
        items = items[: request.size]
        return Page(items, next_page_token(list_name, key(items[-1])))
    return Page(items, "")
