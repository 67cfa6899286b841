"""What the personas and audiences commands share: members listed as customer ids, and an update
request's fields set from the options given."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from clients.engagectl.engagement_common import short
from clients.engagectl.output import Id, emit_json, emit_table, json_wanted, more_results
from clients.engagectl.paging import Listed


def emit_members(resource: str, listed: Listed[str]) -> None:
    """`customers/…` names as ids: a JSON array, or a one-column table."""
    if json_wanted():
        emit_json([short(customer) for customer in listed.items])
    else:
        emit_table(f"members of {short(resource)}", [Id("customer")], [[short(c)] for c in listed.items])
    more_results(listed.next_page_token)


def set_given(message: Any, fields: Iterable[tuple[str, str | None]]) -> list[str]:
    """Sets each field whose option was given (not None); returns their paths, for the update mask."""
    paths = []
    for path, value in fields:
        if value is not None:
            setattr(message, path, value)
            paths.append(path)
    return paths
