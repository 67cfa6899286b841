"""ReportingService.QueryMetrics: proto <-> domain translation only."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

import grpc

from engage.reporting.v1 import metrics_pb2 as pb
from server.domain.errors import FieldViolation, InvalidArgument
from server.domain.pagination import page_request, text_key
from server.domain.reporting.metrics import DEFAULT_CONVERSION_DAYS, Dimension, Granularity, MetricsLine, MetricsQuery
from server.rpc.context import current_caller
from server.rpc.convert import date_range_field, date_to_proto, enum_from_proto, money_to_proto
from server.services.reporting.metrics import METRICS

if TYPE_CHECKING:
    from server.bootstrap import Services

_DIMENSION_BY_NUMBER = {int(number): name for name, number in pb.MetricDimension.items()}
_GRANULARITY_BY_NUMBER = {int(number): name for name, number in pb.Granularity.items()}


def metrics_key(after: Any) -> list[str]:
    """A metrics page token's key: [dimension value, period's first day as ISO date]."""
    if not (isinstance(after, list) and len(after) == 2):
        raise TypeError("not a [value, date] key")
    period = text_key(after[1])
    dt.date.fromisoformat(period)  # the rows' periods are ISO dates, compared as text
    return [text_key(after[0]), period]


def metrics_query(request: pb.QueryMetricsRequest) -> MetricsQuery:
    dimension = enum_from_proto(Dimension, "METRIC_DIMENSION_", request.dimension, _DIMENSION_BY_NUMBER, "dimension")
    granularity = enum_from_proto(Granularity, "GRANULARITY_", request.granularity, _GRANULARITY_BY_NUMBER,
                                  "granularity") if request.granularity else Granularity.TOTAL
    since, until = date_range_field(request, "date_range")
    if since is None or until is None:
        raise InvalidArgument("METRICS_DATE_RANGE_INVALID", "date_range needs both a start_date and an end_date",
                              violations=[FieldViolation("date_range", "start_date and end_date are required")])
    return MetricsQuery(dimension, granularity, since, until, tuple(request.values),
                        request.conversion_days or DEFAULT_CONVERSION_DAYS)


def metrics_row(dimension: pb.MetricDimension.ValueType, line: MetricsLine) -> pb.MetricsRow:
    return pb.MetricsRow(
        dimension=dimension, value=line.value, period_start=date_to_proto(line.period_start),
        generated=line.generated, delivered=line.delivered, viewed=line.viewed, clicked=line.clicked,
        dismissed=line.dismissed, converted=line.converted, delivery_rate=line.delivery_rate,
        viewed_rate=line.viewed_rate, click_through_rate=line.click_through_rate,
        dismissal_rate=line.dismissal_rate, conversion_rate=line.conversion_rate,
        cost=[money_to_proto(amount, currency) for amount, currency in line.cost], firings=line.firings,
        delivery_outcomes=[pb.DeliveryOutcome(state=o.state, reason=o.reason, deliveries=o.deliveries)
                           for o in line.outcomes])


class MetricsRpcs:
    services: Services

    async def QueryMetrics(self, request: pb.QueryMetricsRequest,
                           context: grpc.aio.ServicerContext) -> pb.QueryMetricsResponse:
        # The page token first: a forged one is INVALID_PAGE_TOKEN whatever else the request holds.
        page_asked = page_request(request.page_size, request.page_token, METRICS, metrics_key)
        page = await self.services.engagement_metrics.page(current_caller(), metrics_query(request), page_asked)
        return pb.QueryMetricsResponse(rows=[metrics_row(request.dimension, line) for line in page.items],
                                       next_page_token=page.next_page_token)
