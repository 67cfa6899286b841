"""engagectl goals programmes|transfers: funding programmes that move money into a goal, and the
transfer instructions they request from the bank's payment system (docs/goals-funding.md)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

import typer
from google.protobuf.field_mask_pb2 import FieldMask

from clients.engagectl.context import cli_context
from clients.engagectl.dates import date_value
from clients.engagectl.engagement_common import label, time_of
from clients.engagectl.money import money, show_money
from clients.engagectl.output import Column, Id, emit_list, emit_record, enum_number
from clients.engagectl.paging import Paging, all_option, limit_option, page_token_option
from clients.stubs import Stubs
from engage.goals.v1 import goals_service_pb2 as pb

programmes_app = typer.Typer(no_args_is_help=True, help="Funding programmes of a goal.")
transfers_app = typer.Typer(no_args_is_help=True, help="Transfer instructions of funding programmes.")

FREQUENCIES = ("WEEKLY", "BIWEEKLY", "MONTHLY")


def _customer_argument() -> Any:
    return typer.Argument(..., metavar="CUSTOMER_ID", help="The customer (a user token: its own).")


def _programme_argument() -> Any:
    return typer.Argument(..., metavar="PROGRAMME",
                          help="customers/ID/goals/ID/fundingProgrammes/ID (as `goals programmes list` shows it).")


def _goal_name(customer: str, goal: str) -> str:
    return goal if goal.startswith("customers/") else f"customers/{customer}/goals/{goal}"


def _amount(text: str, currency: str, option: str) -> Any:
    try:
        return money(Decimal(text), currency)
    except (InvalidOperation, ValueError) as exc:
        raise typer.BadParameter(f"{text!r} is not an amount", param_hint=option) from exc


def _plan_options(schedule: str | None, start: str | None, day: int, amount: str | None, round_up: bool,
                  step: str | None, multiplier: int, salary_percent: str | None, currency: str
                  ) -> tuple[str, Any] | None:
    """The one plan the options describe, as (oneof field, message); None when they describe none."""
    chosen = [name for name, given in (("--schedule", schedule is not None), ("--round-up", round_up),
                                       ("--salary-percent", salary_percent is not None)) if given]
    if len(chosen) > 1:
        raise typer.BadParameter(f"give one plan, not {' and '.join(chosen)}", param_hint=chosen[1])
    if schedule is not None:
        if schedule.upper() not in FREQUENCIES:
            raise typer.BadParameter(f"{schedule!r} is not one of {', '.join(FREQUENCIES)}", param_hint="--schedule")
        if amount is None:
            raise typer.BadParameter("a schedule needs --amount", param_hint="--amount")
        fixed = pb.FixedSchedule(frequency=enum_number(pb.ScheduleFrequency, schedule), day_of_month=day,
                                 amount=_amount(amount, currency, "--amount"))
        start_date = date_value(start, "--start")
        if start_date is None:
            raise typer.BadParameter("a schedule needs --start", param_hint="--start")
        fixed.start_date.CopyFrom(start_date)
        return "fixed_schedule", fixed
    if round_up:
        rule = pb.RoundUpRule(multiplier=multiplier)
        if step is not None:
            rule.step.CopyFrom(_amount(step, currency, "--step"))
        return "round_up_rule", rule
    if salary_percent is not None:
        return "salary_percentage_rule", pb.SalaryPercentageRule(percent=salary_percent)
    return None


def _schedule_option() -> Any:
    return typer.Option(None, "--schedule", metavar="FREQUENCY",
                        help="A fixed amount on a calendar: WEEKLY, BIWEEKLY or MONTHLY (with --start, --amount).")


def _start_option() -> Any:
    return typer.Option(None, "--start", metavar="DATE", help="The schedule's first transfer date, YYYY-MM-DD.")


def _day_option() -> Any:
    return typer.Option(0, "--day", min=0, max=31, metavar="N",
                        help="MONTHLY: the day of the month (a shorter month uses its last day); 0: --start's day.")


def _amount_option() -> Any:
    return typer.Option(None, "--amount", metavar="AMOUNT", help="The schedule's amount per transfer, e.g. 50.00.")


def _round_up_option() -> Any:
    return typer.Option(False, "--round-up", help="Round up each card payment of the source account and save the "
                                                  "difference.")


def _step_option() -> Any:
    return typer.Option(None, "--step", metavar="AMOUNT", help="--round-up: to a multiple of this (default 1.00).")


def _multiplier_option() -> Any:
    return typer.Option(0, "--multiplier", min=0, max=10, metavar="N",
                        help="--round-up: save the difference N times over (0: once).")


def _salary_option() -> Any:
    return typer.Option(None, "--salary-percent", metavar="PERCENT",
                        help="Save this share of each salary credit of the source account, e.g. 10 or 12.5.")


def _currency_option() -> Any:
    return typer.Option("", "--currency", metavar="CURRENCY", help="The amounts' currency (default: the goal's).")


PROGRAMME_COLUMNS: list[str | Column] = [Id("programme"), "state", "source", "plan", "updated"]


def _plan_text(p: pb.FundingProgramme) -> str:
    which = p.WhichOneof("plan")
    if which == "fixed_schedule":
        fixed = p.fixed_schedule
        day = f" on day {fixed.day_of_month}" if fixed.day_of_month else ""
        return f"{label(pb.ScheduleFrequency, fixed.frequency)}{day}: {show_money(fixed.amount)}"
    if which == "round_up_rule":
        rule = p.round_up_rule
        return f"round up to {show_money(rule.step)} x{rule.multiplier}"
    if which == "salary_percentage_rule":
        return f"{p.salary_percentage_rule.percent}% of salary"
    return ""


def _programme_row(p: pb.FundingProgramme) -> list[str]:
    return [p.name, label(pb.ProgrammeState, p.state), p.source_account_id, _plan_text(p), time_of(p.update_time)]


@programmes_app.command("create")
def create(ctx: typer.Context, customer: str = _customer_argument(),
           goal: str = typer.Argument(..., metavar="GOAL_ID", help="Id or customers/ID/goals/ID."),
           source: str = typer.Option(..., "--source", metavar="ACCOUNT_ID",
                                      help="The customer's account the money comes from (and whose postings the "
                                           "rules watch)."),
           schedule: str | None = _schedule_option(), start: str | None = _start_option(), day: int = _day_option(),
           amount: str | None = _amount_option(), round_up: bool = _round_up_option(),
           step: str | None = _step_option(), multiplier: int = _multiplier_option(),
           salary_percent: str | None = _salary_option(), currency: str = _currency_option(),
           request_id: str = typer.Option("", metavar="REQUEST_ID",
                                          help="Makes a retry a no-op: the same id returns the first programme.")
           ) -> None:
    """Starts moving money into a goal: on a schedule, or by a rule on the source account's postings.

    Examples:
      engagectl goals programmes create c1 GOAL_ID --source c1-chk --schedule MONTHLY --start 2027-01-31 --amount 50
      engagectl goals programmes create c1 GOAL_ID --source c1-chk --round-up --step 1.00 --multiplier 2
      engagectl goals programmes create c1 GOAL_ID --source c1-chk --salary-percent 10
    """
    cli = cli_context(ctx)
    plan = _plan_options(schedule, start, day, amount, round_up, step, multiplier, salary_percent, currency)
    if plan is None:
        raise typer.BadParameter("give a plan: --schedule, --round-up or --salary-percent", param_hint="--schedule")
    programme = pb.FundingProgramme(source_account_id=source, **{plan[0]: plan[1]})
    request = pb.CreateFundingProgrammeRequest(parent=_goal_name(customer, goal), funding_programme=programme,
                                               request_id=request_id)
    emit_record("funding programme", cli.call(lambda s: s.goals.CreateFundingProgramme(request)))


@programmes_app.command("show")
def show(ctx: typer.Context, programme: str = _programme_argument()) -> None:
    """Shows one funding programme, cancelled ones too.

    Examples:
      engagectl goals programmes show customers/c1/goals/G/fundingProgrammes/P
    """
    cli = cli_context(ctx)
    emit_record("funding programme", cli.call(
        lambda s: s.goals.GetFundingProgramme(pb.GetFundingProgrammeRequest(name=programme))))


@programmes_app.command("list")
def list_programmes(ctx: typer.Context, customer: str = _customer_argument(),
                    goal: str = typer.Option("", "--goal", metavar="GOAL_ID", help="Only this goal's programmes."),
                    limit: int = limit_option(100, "programmes, oldest first"), page_token: str = page_token_option(),
                    every_page: bool = all_option()) -> None:
    """Lists a customer's funding programmes (or one goal's), oldest first.

    Examples:
      engagectl goals programmes list demo-c0001
      engagectl goals programmes list demo-c0001 --goal GOAL_ID --json
    """
    cli = cli_context(ctx)
    parent = _goal_name(customer, goal) if goal else f"customers/{customer}"

    async def page(stubs: Stubs, size: int, token: str) -> tuple[list[pb.FundingProgramme], str]:
        response = await stubs.goals.ListFundingProgrammes(pb.ListFundingProgrammesRequest(
            parent=parent, page_size=size, page_token=token))
        return list(response.funding_programmes), response.next_page_token

    listed = cli.list(page, Paging(limit, page_token, every_page))
    emit_list(f"funding programmes of {customer}", PROGRAMME_COLUMNS, listed.items, _programme_row,
              listed.next_page_token)


@programmes_app.command("update")
def update(ctx: typer.Context, programme: str = _programme_argument(),
           source: str | None = typer.Option(None, "--source", metavar="ACCOUNT_ID", help="A new source account."),
           schedule: str | None = _schedule_option(), start: str | None = _start_option(), day: int = _day_option(),
           amount: str | None = _amount_option(), round_up: bool = _round_up_option(),
           step: str | None = _step_option(), multiplier: int = _multiplier_option(),
           salary_percent: str | None = _salary_option(), currency: str = _currency_option()) -> None:
    """Changes the source account and/or replaces the plan (any kind); from the next period on.

    Examples:
      engagectl goals programmes update customers/c1/goals/G/fundingProgrammes/P --source c1-chk2
      engagectl goals programmes update customers/c1/goals/G/fundingProgrammes/P --salary-percent 15
    """
    cli = cli_context(ctx)
    body = pb.FundingProgramme(name=programme)
    paths = []
    if source is not None:
        body.source_account_id = source
        paths.append("source_account_id")
    plan = _plan_options(schedule, start, day, amount, round_up, step, multiplier, salary_percent, currency)
    if plan is not None:
        getattr(body, plan[0]).CopyFrom(plan[1])
        paths.append(plan[0])
    if not paths:
        raise typer.BadParameter("give --source or a plan (--schedule, --round-up, --salary-percent)",
                                 param_hint="--source")
    request = pb.UpdateFundingProgrammeRequest(funding_programme=body, update_mask=FieldMask(paths=paths))
    emit_record("funding programme", cli.call(lambda s: s.goals.UpdateFundingProgramme(request)))


@programmes_app.command("pause")
def pause(ctx: typer.Context, programme: str = _programme_argument()) -> None:
    """Pauses an ACTIVE programme: no transfer is requested for the periods while paused.

    Examples:
      engagectl goals programmes pause customers/c1/goals/G/fundingProgrammes/P
    """
    cli = cli_context(ctx)
    emit_record("funding programme", cli.call(
        lambda s: s.goals.PauseFundingProgramme(pb.PauseFundingProgrammeRequest(name=programme))))


@programmes_app.command("resume")
def resume(ctx: typer.Context, programme: str = _programme_argument()) -> None:
    """Resumes a PAUSED programme; the periods missed while paused are not made up.

    Examples:
      engagectl goals programmes resume customers/c1/goals/G/fundingProgrammes/P
    """
    cli = cli_context(ctx)
    emit_record("funding programme", cli.call(
        lambda s: s.goals.ResumeFundingProgramme(pb.ResumeFundingProgrammeRequest(name=programme))))


@programmes_app.command("cancel")
def cancel(ctx: typer.Context, programme: str = _programme_argument()) -> None:
    """Cancels a programme for good; its REQUESTED transfers become CANCELLED.

    Examples:
      engagectl goals programmes cancel customers/c1/goals/G/fundingProgrammes/P
    """
    cli = cli_context(ctx)
    emit_record("funding programme", cli.call(
        lambda s: s.goals.CancelFundingProgramme(pb.CancelFundingProgrammeRequest(name=programme))))


TRANSFER_COLUMNS: list[str | Column] = [Id("transfer"), "state", "amount", "period", "source", "target",
                                        "created", Column("transaction", wide=True), Column("failure", wide=True)]


def _transfer_row(t: pb.Transfer) -> list[str]:
    return [t.name, label(pb.TransferState, t.state), show_money(t.amount), t.period_key, t.source_account_id,
            t.target_account_id, time_of(t.create_time), t.transaction_id, t.failure_reason]


@transfers_app.command("list")
def list_transfers(ctx: typer.Context, customer: str = _customer_argument(),
                   programme: str = typer.Option("", "--programme", metavar="PROGRAMME",
                                                 help="Only this programme's (customers/ID/goals/ID/"
                                                      "fundingProgrammes/ID)."),
                   state: str | None = typer.Option(None, "--state", metavar="STATE",
                                                    help="REQUESTED, EXECUTED, FAILED or CANCELLED."),
                   limit: int = limit_option(100, "transfers, newest first"), page_token: str = page_token_option(),
                   every_page: bool = all_option()) -> None:
    """Lists a customer's transfer instructions (or one programme's), newest first.

    Examples:
      engagectl goals transfers list demo-c0001
      engagectl goals transfers list demo-c0001 --state REQUESTED --all
    """
    cli = cli_context(ctx)
    wanted = 0
    if state is not None:
        try:
            wanted = enum_number(pb.TransferState, state)
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="--state") from exc

    async def page(stubs: Stubs, size: int, token: str) -> tuple[list[pb.Transfer], str]:
        response = await stubs.goals.ListTransfers(pb.ListTransfersRequest(
            parent=programme or f"customers/{customer}", page_size=size, page_token=token,
            state=pb.TransferState.ValueType(wanted)))
        return list(response.transfers), response.next_page_token

    listed = cli.list(page, Paging(limit, page_token, every_page))
    emit_list(f"transfers of {customer}", TRANSFER_COLUMNS, listed.items, _transfer_row, listed.next_page_token)


@transfers_app.command("confirm")
def confirm(ctx: typer.Context,
            transfer: str = typer.Argument(..., metavar="TRANSFER",
                                           help="customers/ID/goals/ID/fundingProgrammes/ID/transfers/ID."),
            failed: str | None = typer.Option(None, "--failed", metavar="REASON",
                                              help="The bank could not move the money, for this reason "
                                                   "(default: EXECUTED)."),
            transaction_id: str = typer.Option("", "--transaction-id", metavar="ID",
                                               help="EXECUTED: the bank's transaction id of the posting.")) -> None:
    """Reports the bank's outcome of a REQUESTED transfer (role service): EXECUTED, or FAILED with a reason.
    Repeating the outcome it has already changes nothing.

    Examples:
      engagectl goals transfers confirm customers/c1/goals/G/fundingProgrammes/P/transfers/T --transaction-id tx-1
      engagectl goals transfers confirm customers/c1/goals/G/fundingProgrammes/P/transfers/T --failed "no funds"
    """
    cli = cli_context(ctx)
    request = pb.ConfirmTransferRequest(
        name=transfer, outcome=pb.TRANSFER_STATE_FAILED if failed is not None else pb.TRANSFER_STATE_EXECUTED,
        failure_reason=failed or "", transaction_id=transaction_id)
    emit_record("transfer", cli.call(lambda s: s.goals.ConfirmTransfer(request)))

