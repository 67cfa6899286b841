"""Funding programme and transfer RPCs: translation between the wire and GoalFundingService only."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

import grpc

from engage.goals.v1 import goals_service_pb2 as pb
from server.domain import resource_names
from server.domain.errors import FieldViolation, InvalidArgument
from server.domain.goals.funding import (
    FixedAmount,
    Programme,
    RoundUp,
    SalaryPercentage,
    Schedule,
    ScheduledAmount,
    ScheduleKind,
    Transfer,
    TransferStatus,
)
from server.domain.pagination import page_request
from server.domain.reasons import Reason
from server.rpc.context import current_caller
from server.rpc.convert import (
    date_field,
    date_to_proto,
    enum_from_proto,
    money_field,
    money_to_proto,
    timestamp_to_proto,
)
from server.services.goals.funding import (
    GoalFundingService,
    PlanRequest,
    programme_name,
    transfer_key,
    transfer_name,
)

PROGRAMME = "funding_programme"
PLAN_FIELDS = ("fixed_schedule", "round_up_rule", "salary_percentage_rule")
_FREQUENCIES: dict[int, str] = {int(number): name for name, number in pb.ScheduleFrequency.items()}
_TRANSFER_STATES: dict[int, str] = {int(number): name for name, number in pb.TransferState.items()}
# The domain names its fields as a plan's parts; the wire as the request's.
_DOMAIN_FIELDS = {"schedule.kind": "fixed_schedule.frequency", "schedule.start": "fixed_schedule.start_date",
                  "schedule.day_of_month": "fixed_schedule.day_of_month",
                  "rule.fixed_amount.amount": "fixed_schedule.amount", "rule.round_up.step": "round_up_rule.step",
                  "rule.round_up.multiplier": "round_up_rule.multiplier",
                  "rule.salary_percentage.percent": "salary_percentage_rule.percent"}
MAX_PERCENT_TEXT = 12


def programme_to_proto(programme: Programme) -> pb.FundingProgramme:
    message = pb.FundingProgramme(
        name=programme_name(programme),
        state=pb.ProgrammeState.Value(f"PROGRAMME_STATE_{programme.status.value}"),
        source_account_id=programme.source_account_id, create_time=timestamp_to_proto(programme.created_at),
        update_time=timestamp_to_proto(programme.updated_at))
    plan, currency = programme.plan, programme.currency
    if isinstance(plan, ScheduledAmount):
        schedule = plan.schedule
        message.fixed_schedule.CopyFrom(pb.FixedSchedule(
            frequency=pb.ScheduleFrequency.Value(f"SCHEDULE_FREQUENCY_{schedule.kind.value}"),
            start_date=date_to_proto(schedule.start), day_of_month=schedule.day_of_month or 0,
            amount=money_to_proto(plan.amount.amount, currency)))
    elif isinstance(plan, RoundUp):
        message.round_up_rule.CopyFrom(pb.RoundUpRule(step=money_to_proto(plan.step, currency),
                                                      multiplier=plan.multiplier))
    else:
        message.salary_percentage_rule.CopyFrom(pb.SalaryPercentageRule(percent=format(plan.percent, "f")))
    return message


def transfer_to_proto(transfer: Transfer) -> pb.Transfer:
    return pb.Transfer(
        name=transfer_name(transfer), amount=money_to_proto(transfer.amount, transfer.currency),
        source_account_id=transfer.source_account_id, target_account_id=transfer.target_account_id,
        state=pb.TransferState.Value(f"TRANSFER_STATE_{transfer.status.value}"), period_key=transfer.period_key,
        create_time=timestamp_to_proto(transfer.created_at), update_time=timestamp_to_proto(transfer.updated_at),
        failure_reason=transfer.failure_reason, transaction_id=transfer.transaction_id)


def plan_from_proto(message: pb.FundingProgramme, which: str | None) -> PlanRequest:
    """The plan in `which` of the programme's oneof; the domain's validation, with the wire's field names."""
    try:
        return _plan(message, which)
    except InvalidArgument as error:
        error.violations = [FieldViolation(f"{PROGRAMME}.{_DOMAIN_FIELDS.get(v.field, v.field)}", v.description)
                            for v in error.violations]
        raise


def _plan(message: pb.FundingProgramme, which: str | None) -> PlanRequest:
    if which == "fixed_schedule":
        fixed = message.fixed_schedule
        kind = enum_from_proto(ScheduleKind, "SCHEDULE_FREQUENCY_", fixed.frequency, _FREQUENCIES,
                               f"{PROGRAMME}.fixed_schedule.frequency")
        start = date_field(fixed, "start_date", f"{PROGRAMME}.fixed_schedule.start_date")
        if start is None:
            raise InvalidArgument(Reason.FUNDING_SCHEDULE_INVALID, "a fixed schedule needs its start_date",
                                  violations=[FieldViolation("schedule.start", "is required")])
        day: int | None = fixed.day_of_month or None
        if kind == ScheduleKind.MONTHLY and day is None:
            day = start.day
        amount, currency = money_field(fixed, "amount", f"{PROGRAMME}.fixed_schedule.amount")
        if amount is None:
            raise InvalidArgument(Reason.FUNDING_AMOUNT_INVALID, "a fixed schedule needs its amount",
                                  violations=[FieldViolation("rule.fixed_amount.amount", "is required")])
        return PlanRequest(ScheduledAmount(Schedule(kind, start, day), FixedAmount(amount)), currency)
    if which == "round_up_rule":
        rule = message.round_up_rule
        step, currency = money_field(rule, "step", f"{PROGRAMME}.round_up_rule.step")
        return PlanRequest(RoundUp(Decimal("1.00") if step is None else step, rule.multiplier or 1), currency)
    if which == "salary_percentage_rule":
        text = message.salary_percentage_rule.percent.strip()
        try:
            percent = Decimal(text) if len(text) <= MAX_PERCENT_TEXT else None
        except InvalidOperation:
            percent = None
        if percent is None:
            raise InvalidArgument(Reason.FUNDING_AMOUNT_INVALID, "percent must be a decimal such as 10 or 12.5",
                                  violations=[FieldViolation("rule.salary_percentage.percent", "a decimal string")])
        return PlanRequest(SalaryPercentage(percent))
    raise InvalidArgument(Reason.FUNDING_RULE_INVALID,
                          "a funding programme needs one plan: fixed_schedule, round_up_rule or salary_percentage_rule",
                          violations=[FieldViolation(f"{PROGRAMME}.plan", "exactly one of " + ", ".join(PLAN_FIELDS))])


def _programme_name(name: str, path: str) -> tuple[str, str, str]:
    customer_id, goal_id, programme_id = resource_names.FUNDING_PROGRAMME.parse(name, path)
    return customer_id, goal_id, programme_id


class FundingRpcs:
    funding: GoalFundingService

    async def CreateFundingProgramme(self, request: pb.CreateFundingProgrammeRequest,
                                     context: grpc.aio.ServicerContext) -> pb.FundingProgramme:
        customer_id, goal_id = resource_names.GOAL.parse(request.parent, "parent")
        message = request.funding_programme
        plan = plan_from_proto(message, message.WhichOneof("plan"))
        programme = await self.funding.create(current_caller(), customer_id, goal_id, message.source_account_id,
                                              plan, request.request_id)
        return programme_to_proto(programme)

    async def GetFundingProgramme(self, request: pb.GetFundingProgrammeRequest,
                                  context: grpc.aio.ServicerContext) -> pb.FundingProgramme:
        return programme_to_proto(await self.funding.get(current_caller(), *_programme_name(request.name, "name")))

    async def ListFundingProgrammes(self, request: pb.ListFundingProgrammesRequest,
                                    context: grpc.aio.ServicerContext) -> pb.ListFundingProgrammesResponse:
        goal_id: str | None = None
        if request.parent.count("/") == 3:
            customer_id, goal_id = resource_names.GOAL.parse(request.parent, "parent")
        else:
            customer_id = resource_names.CUSTOMER.id(request.parent, "parent")
        page = await self.funding.list_programmes(
            current_caller(), customer_id, goal_id,
            page_request(request.page_size, request.page_token, "funding_programmes"))
        return pb.ListFundingProgrammesResponse(funding_programmes=[programme_to_proto(p) for p in page.items],
                                                next_page_token=page.next_page_token)

    async def UpdateFundingProgramme(self, request: pb.UpdateFundingProgrammeRequest,
                                     context: grpc.aio.ServicerContext) -> pb.FundingProgramme:
        message = request.funding_programme
        customer_id, goal_id, programme_id = _programme_name(message.name, f"{PROGRAMME}.name")
        paths = list(request.update_mask.paths)
        if not paths:
            raise InvalidArgument(Reason.UPDATE_MASK_REQUIRED, "update_mask must name the fields to change",
                                  violations=[FieldViolation("update_mask", "is required")])
        unknown = [p for p in paths if p not in ("source_account_id", *PLAN_FIELDS)]
        plans = [p for p in paths if p in PLAN_FIELDS]
        if unknown or len(set(plans)) > 1:
            problem = f"only source_account_id and one of {', '.join(PLAN_FIELDS)}"
            raise InvalidArgument(Reason.UPDATE_MASK_INVALID, f"update_mask may name {problem}",
                                  violations=[FieldViolation("update_mask", problem)])
        plan = None
        if plans:
            if message.WhichOneof("plan") != plans[0]:
                raise InvalidArgument(Reason.FUNDING_RULE_INVALID, f"update_mask names {plans[0]}, which is not set",
                                      violations=[FieldViolation(f"{PROGRAMME}.{plans[0]}", "is required")])
            plan = plan_from_proto(message, plans[0])
        source = message.source_account_id if "source_account_id" in paths else None
        programme = await self.funding.update(current_caller(), customer_id, goal_id, programme_id, source, plan)
        return programme_to_proto(programme)

    async def PauseFundingProgramme(self, request: pb.PauseFundingProgrammeRequest,
                                    context: grpc.aio.ServicerContext) -> pb.FundingProgramme:
        return programme_to_proto(await self.funding.pause(current_caller(), *_programme_name(request.name, "name")))

    async def ResumeFundingProgramme(self, request: pb.ResumeFundingProgrammeRequest,
                                     context: grpc.aio.ServicerContext) -> pb.FundingProgramme:
        return programme_to_proto(await self.funding.resume(current_caller(),
                                                            *_programme_name(request.name, "name")))

    async def CancelFundingProgramme(self, request: pb.CancelFundingProgrammeRequest,
                                     context: grpc.aio.ServicerContext) -> pb.FundingProgramme:
        return programme_to_proto(await self.funding.cancel(current_caller(),
                                                            *_programme_name(request.name, "name")))

    async def ListTransfers(self, request: pb.ListTransfersRequest,
                            context: grpc.aio.ServicerContext) -> pb.ListTransfersResponse:
        goal_id = programme_id = None
        if "/" in request.parent and request.parent.count("/") != 1:
            customer_id, goal_id, programme_id = _programme_name(request.parent, "parent")
        else:
            customer_id = resource_names.CUSTOMER.id(request.parent, "parent")
        status = None
        if request.state != pb.TRANSFER_STATE_UNSPECIFIED:
            status = enum_from_proto(TransferStatus, "TRANSFER_STATE_", request.state, _TRANSFER_STATES, "state")
        page = await self.funding.list_transfers(
            current_caller(), customer_id, goal_id, programme_id, status,
            page_request(request.page_size, request.page_token, "goal_transfers", transfer_key))
        return pb.ListTransfersResponse(transfers=[transfer_to_proto(t) for t in page.items],
                                        next_page_token=page.next_page_token)

    async def ConfirmTransfer(self, request: pb.ConfirmTransferRequest,
                              context: grpc.aio.ServicerContext) -> pb.Transfer:
        customer_id, goal_id, programme_id, transfer_id = resource_names.TRANSFER.parse(request.name, "name")
        outcome = enum_from_proto(TransferStatus, "TRANSFER_STATE_", request.outcome, _TRANSFER_STATES, "outcome")
        transfer = await self.funding.confirm(current_caller(), customer_id, goal_id, programme_id, transfer_id,
                                              outcome, request.failure_reason, request.transaction_id)
        return transfer_to_proto(transfer)
