"""How the reports commands read their shared options (enum labels, order, periods), so that a list
command and `engagectl reports export` of the same view read them alike."""

from __future__ import annotations

from typing import Any

import typer

from clients.engagectl.dates import date_message
from clients.engagectl.output import enum_number
from clients.html_report.period import parse_period
from engage.reporting.v1 import metrics_pb2
from engage.type.v1 import date_pb2


def enum_options(enum_type: Any, texts: list[str] | None, option: str) -> list[Any]:
    """The enum values a repeated option names; a usage error naming the option when one is unknown."""
    try:
        return [enum_number(enum_type, text) for text in texts or []]
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint=option) from exc


def enum_option(enum_type: Any, text: str | None, option: str) -> Any:
    """The enum value an option names; 0 (unspecified: no filter) when not given."""
    return enum_options(enum_type, [text], option)[0] if text else 0


def order_by(newest_first: bool, column: str) -> str:
    return f"{column} desc" if newest_first else column


def period_range(period: str, option: str) -> date_pb2.DateRange:
    """A --period (months 2026-01..2026-06 or days, both included) as a DateRange."""
    try:
        start, end = parse_period(period)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint=option) from exc
    return date_pb2.DateRange(start_date=date_message(start), end_date=date_message(end))


def metrics_request(dimension: str, period: str, granularity: str, values: list[str], conversion_days: int,
                    page_size: int) -> metrics_pb2.QueryMetricsRequest:
    """QueryMetrics' request as `engagectl reports metrics` reads its options."""
    try:
        dimension_number = enum_number(metrics_pb2.MetricDimension, f"METRIC_DIMENSION_{dimension.upper()}")
    except ValueError as exc:
        raise typer.BadParameter("one of insight, campaign, rule, persona, channel", param_hint="--dimension") from exc
    try:
        granularity_number = enum_number(metrics_pb2.Granularity, f"GRANULARITY_{granularity.upper()}")
    except ValueError as exc:
        raise typer.BadParameter("one of day, week, month, total", param_hint="--granularity") from exc
    return metrics_pb2.QueryMetricsRequest(dimension=dimension_number, granularity=granularity_number,
                                           date_range=period_range(period, "--period"), values=values,
                                           conversion_days=conversion_days, page_size=page_size)
