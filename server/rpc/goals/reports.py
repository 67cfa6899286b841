"""The reporting views' List RPCs: proto <-> domain translation only."""

from __future__ import annotations

from typing import Any

import grpc

from engage.goals.v1 import goals_service_pb2 as pb
from server.domain.errors import FieldViolation, InvalidArgument
from server.domain.goals.history import HistoryKind
from server.domain.goals.model import GoalCategory, GoalStatus
from server.domain.goals.reports import (
    FUNDING_KINDS,
    GoalReportFilter,
    GoalReportLine,
    HistoryReportFilter,
    HistoryReportLine,
    TransferReportFilter,
    TransferReportLine,
)
from server.domain.pagination import instant_and_text_key, page_request, text_key
from server.domain.reporting.ordering import Dates
from server.rpc.context import current_caller
from server.rpc.convert import date_range_field, date_to_proto, enum_from_proto, money_to_proto, timestamp_to_proto
from server.services.goals.reports import (
    GOALS_REPORT,
    HISTORY_REPORT,
    TRANSFERS_REPORT,
    GoalReportsService,
)

Context = grpc.aio.ServicerContext

_CATEGORY_BY_NUMBER = {int(number): name for name, number in pb.GoalCategory.items()}
_GOAL_STATE_BY_NUMBER = {int(number): name for name, number in pb.GoalState.items()}
_HISTORY_KIND_BY_NUMBER = {int(number): name for name, number in pb.HistoryKind.items()}


def goals_key(after: Any) -> list[str]:
    """A Goals view page token's key: [customer id, created ISO instant, goal id]."""
    if not (isinstance(after, list) and len(after) == 3):
        raise TypeError("not a [customer, instant, id] key")
    return [text_key(after[0]), *instant_and_text_key(after[1:])]


def _kinds(numbers: Any, allowed: tuple[str, ...] | None = None) -> tuple[str, ...]:
    kinds = []
    for index, number in enumerate(numbers):
        kind = enum_from_proto(HistoryKind, "HISTORY_KIND_", number, _HISTORY_KIND_BY_NUMBER, f"kinds[{index}]")
        if allowed is not None and kind.value not in allowed:
            raise InvalidArgument("INVALID_ENUM", "kinds must be PROGRAMME_* and TRANSFER_* kinds",
                                  violations=[FieldViolation(f"kinds[{index}]", f"one of {', '.join(allowed)}")])
        kinds.append(kind.value)
    return tuple(kinds)


def goal_report_filters(request: pb.ListGoalReportRowsRequest) -> tuple[GoalReportFilter, Dates]:
    """The goals view's filters in a request (its List RPC's, or an export's)."""
    status = enum_from_proto(GoalStatus, "GOAL_STATE_", request.state, _GOAL_STATE_BY_NUMBER, "state").value \
        if request.state else ""
    category = enum_from_proto(GoalCategory, "GOAL_CATEGORY_", request.category, _CATEGORY_BY_NUMBER,
                               "category").value if request.category else ""
    return GoalReportFilter(request.customer_id, status, category), date_range_field(request, "create_date_range")


def history_report_filters(request: pb.ListCustomerHistoryReportRowsRequest
                           ) -> tuple[HistoryReportFilter, Dates]:
    return (HistoryReportFilter(request.customer_id, _kinds(request.kinds)),
            date_range_field(request, "create_date_range"))


def transfer_report_filters(request: pb.ListTransferReportRowsRequest) -> tuple[TransferReportFilter, Dates]:
    return (TransferReportFilter(request.customer_id, _kinds(request.kinds, FUNDING_KINDS)),
            date_range_field(request, "event_date_range"))


def goal_report_row(line: GoalReportLine) -> pb.GoalReportRow:
    return pb.GoalReportRow(
        customer_id=line.customer_id, account_id=line.account_id, goal_id=line.goal_id, display_name=line.name,
        category=pb.GoalCategory.Value(f"GOAL_CATEGORY_{line.category}"),
        target=money_to_proto(line.target, line.currency), saved=money_to_proto(line.saved, line.currency),
        percent=str(line.percent), state=pb.GoalState.Value(f"GOAL_STATE_{line.status}"),
        create_time=timestamp_to_proto(line.created_at), achieve_time=timestamp_to_proto(line.achieved_at),
        archive_time=timestamp_to_proto(line.archived_at), target_date=date_to_proto(line.target_date),
        milestones_reached=list(line.milestones_reached))


_HISTORY_KINDS = {name.removeprefix("HISTORY_KIND_"): number for name, number in pb.HistoryKind.items()}
_ACTORS = {name.removeprefix("ACTOR_"): number for name, number in pb.Actor.items()}


def _kind(kind: str) -> pb.HistoryKind.ValueType:
    return _HISTORY_KINDS.get(kind, pb.HISTORY_KIND_UNSPECIFIED)


def _actor(actor: str) -> pb.Actor.ValueType:
    return _ACTORS.get(actor, pb.ACTOR_UNSPECIFIED)


def history_report_row(line: HistoryReportLine) -> pb.CustomerHistoryReportRow:
    # A value None (a field that had none) is an empty string on the wire, as in HistoryEntry.
    return pb.CustomerHistoryReportRow(
        customer_id=line.customer_id, entry_id=line.entry_id, kind=_kind(line.kind), actor=_actor(line.actor),
        actor_id=line.actor_id, create_time=timestamp_to_proto(line.at), goal_id=line.goal_id, resource=line.resource,
        before={k: v or "" for k, v in line.before.items()}, after={k: v or "" for k, v in line.after.items()})


def transfer_report_row(line: TransferReportLine) -> pb.TransferReportRow:
    row = pb.TransferReportRow(
        customer_id=line.customer_id, goal_id=line.goal_id, funding_programme_id=line.programme_id,
        transfer_id=line.transfer_id, kind=_kind(line.kind), actor=_actor(line.actor),
        event_time=timestamp_to_proto(line.at),
        programme_state=pb.ProgrammeState.Value(f"PROGRAMME_STATE_{line.programme_status}")
        if line.programme_status else pb.PROGRAMME_STATE_UNSPECIFIED,
        source_account_id=line.source_account_id, target_account_id=line.target_account_id,
        period_key=line.period_key, failure_reason=line.failure_reason, transaction_id=line.transaction_id)
    if line.amount is not None:
        row.amount.CopyFrom(money_to_proto(line.amount, line.currency))
    if line.transfer_status:
        row.transfer_state = pb.TransferState.Value(f"TRANSFER_STATE_{line.transfer_status}")
    return row


class ReportRpcs:
    reports: GoalReportsService

    async def ListGoalReportRows(self, request: pb.ListGoalReportRowsRequest, context: Context
                                 ) -> pb.ListGoalReportRowsResponse:
        page = await self.reports.goals(
            current_caller(), *goal_report_filters(request),
            page_request(request.page_size, request.page_token, GOALS_REPORT, goals_key))
        return pb.ListGoalReportRowsResponse(rows=[goal_report_row(line) for line in page.items],
                                             next_page_token=page.next_page_token)

    async def ListCustomerHistoryReportRows(self, request: pb.ListCustomerHistoryReportRowsRequest, context: Context
                                            ) -> pb.ListCustomerHistoryReportRowsResponse:
        page = await self.reports.history(
            current_caller(), *history_report_filters(request),
            page_request(request.page_size, request.page_token, HISTORY_REPORT, instant_and_text_key))
        return pb.ListCustomerHistoryReportRowsResponse(rows=[history_report_row(line) for line in page.items],
                                                        next_page_token=page.next_page_token)

    async def ListTransferReportRows(self, request: pb.ListTransferReportRowsRequest, context: Context
                                     ) -> pb.ListTransferReportRowsResponse:
        page = await self.reports.transfers(
            current_caller(), *transfer_report_filters(request),
            page_request(request.page_size, request.page_token, TRANSFERS_REPORT, instant_and_text_key))
        return pb.ListTransferReportRowsResponse(rows=[transfer_report_row(line) for line in page.items],
                                                 next_page_token=page.next_page_token)
