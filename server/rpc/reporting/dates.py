"""A reporting request's DateRange field as dates (either end may be open)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from engage.type.v1 import date_pb2
from server.rpc.convert import date_field


def date_range(message: Any, field_name: str) -> tuple[dt.date | None, dt.date | None]:
    if not message.HasField(field_name):
        return None, None
    dates: date_pb2.DateRange = getattr(message, field_name)
    return (date_field(dates, "start_date", f"{field_name}.start_date"),
            date_field(dates, "end_date", f"{field_name}.end_date"))
