"""Page tokens (AIP-158): opaque to clients, bound to the list they came from."""

from __future__ import annotations

import base64
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


def page_request(page_size: int, page_token: str, list_name: str) -> PageRequest:
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
        return PageRequest(size, decoded["after"])
    except (ValueError, KeyError, TypeError) as exc:
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
