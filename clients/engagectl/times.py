"""Durations (`7d`, `12h`, `1d12h`) and times (ISO 8601) typed on the command line, as the API's
Duration and Timestamp messages, and durations shown back the way they are typed."""

from __future__ import annotations

import datetime as dt
import re

import typer
from google.protobuf import duration_pb2, timestamp_pb2

_UNIT_SECONDS = {"d": 86_400, "h": 3_600, "m": 60, "s": 1}
_DURATION = re.compile(r"(?:\d+[dhms])+")
_PART = re.compile(r"(\d+)([dhms])")


def duration_value(text: str, option: str) -> duration_pb2.Duration:
    """`0`, `7d`, `12h`, `90m`, `1d12h` (days, hours, minutes, seconds); a usage error naming the
    option otherwise."""
    compact = text.strip().lower()
    if compact == "0":
        return duration_pb2.Duration()
    if not _DURATION.fullmatch(compact):
        raise typer.BadParameter(f"{text!r} is not a duration such as 7d, 12h, 30m or 1d12h", param_hint=option)
    seconds = sum(int(count) * _UNIT_SECONDS[unit] for count, unit in _PART.findall(compact))
    return duration_pb2.Duration(seconds=seconds)


def duration_text(value: duration_pb2.Duration) -> str:
    """`7d`, `1d12h`, `0`: the largest units that divide it exactly."""
    left, parts = value.seconds, []
    for unit, size in _UNIT_SECONDS.items():
        count, left = divmod(left, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts) or "0"


def timestamp_value(text: str, option: str) -> timestamp_pb2.Timestamp:
    """An ISO 8601 date or time; one without a zone is UTC."""
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError as exc:
        raise typer.BadParameter(f"{text!r} is not an ISO 8601 time", param_hint=option) from exc
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(when if when.tzinfo else when.replace(tzinfo=dt.UTC))
    return stamp
