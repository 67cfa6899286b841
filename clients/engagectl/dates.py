"""Dates typed on the command line (YYYY-MM-DD) as the API's Date messages."""

from __future__ import annotations

import datetime as dt

import typer

from engage.type.v1 import date_pb2


def date_message(day: dt.date) -> date_pb2.Date:
    return date_pb2.Date(year=day.year, month=day.month, day=day.day)


def day_of(value: date_pb2.Date) -> dt.date:
    return dt.date(value.year, value.month, value.day)


def date_value(text: str | None, option: str) -> date_pb2.Date | None:
    """None when not given; a usage error naming the option when it is not a date."""
    if not text:
        return None
    try:
        day = dt.date.fromisoformat(text)
    except ValueError as exc:
        raise typer.BadParameter(f"{text!r} is not a date (YYYY-MM-DD)", param_hint=option) from exc
    return date_message(day)


def date_range(request_range: date_pb2.DateRange, since: str | None, until: str | None) -> None:
    """Fills a request's date range from --from and --to (either may be left open)."""
    start, end = date_value(since, "--from"), date_value(until, "--to")
    if start:
        request_range.start_date.CopyFrom(start)
    if end:
        request_range.end_date.CopyFrom(end)


def date_text(value: date_pb2.Date) -> str:
    return day_of(value).isoformat() if value.year else ""
