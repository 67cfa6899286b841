"""engagectl goals tracker: a customer's Goal Tracker (GetGoalTracker), one row per goal with a progress
bar, then safe-to-save and the figures behind it."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

import typer

from clients.engagectl.context import cli_context
from clients.engagectl.dates import date_text, date_value
from clients.engagectl.money import show_money
from clients.engagectl.output import Column, Id, as_dict, console, emit_json, emit_table, json_wanted
from engage.goals.v1 import goals_service_pb2 as pb
from engage.type.v1 import date_pb2

BAR_WIDTH = 20
_TRACK = {pb.TRACK_STATUS_ON_TRACK: "on track", pb.TRACK_STATUS_BEHIND: "behind",
          pb.TRACK_STATUS_NO_TARGET_DATE: "no target date"}


def progress_bar(percent: str, width: int = BAR_WIDTH) -> str:
    """`percent` ("42.5") as a bar of `width` cells and the figure, e.g. "████████░░░░░░░░░░░░  42.5%"."""
    try:
        value = min(max(Decimal(percent), Decimal(0)), Decimal(100))
    except InvalidOperation:
        value = Decimal(0)
    filled = int(value * width / 100)
    return f"{'█' * filled}{'░' * (width - filled)} {percent:>5}%"


def _state(number: int) -> str:
    return pb.GoalState.Name(number).removeprefix("GOAL_STATE_")  # type: ignore[arg-type]


def _row(line: pb.GoalTrackerLine) -> list[Any]:
    return [line.goal.rsplit("/", 1)[-1], line.display_name, _state(line.state), progress_bar(line.percent),
            show_money(line.saved), show_money(line.target), show_money(line.period_cash_flow),
            date_text(line.target_date),
            date_text(line.projected_completion_date) or "not at this pace",
            _TRACK.get(line.track_status, ""), line.explanation]


def tracker(ctx: typer.Context,
            customer: str = typer.Argument(..., metavar="CUSTOMER_ID", help="The customer (a user token: its own)."),
            since: str = typer.Option("", "--since", metavar="YYYY-MM-DD",
                                      help="First day of the cash-flow period (default: this month's 1st)."),
            until: str = typer.Option("", "--until", metavar="YYYY-MM-DD",
                                      help="Last day of the cash-flow period (default: today).")) -> None:
    """Shows a customer's Goal Tracker: each goal's progress, the period's goal cash flow, the completion
    date their recent saving pace projects, and what is safe to save this month.

    Examples:
      engagectl goals tracker demo-c0001
      engagectl goals tracker demo-c0001 --since 2024-01-01 --until 2024-03-31 --json
    """
    cli = cli_context(ctx)
    request = pb.GetGoalTrackerRequest(name=f"customers/{customer}/goalTracker")
    if since or until:
        if not (since and until):
            raise typer.BadParameter("give both --since and --until", param_hint="--since")
        request.period.CopyFrom(date_pb2.DateRange(start_date=date_value(since, "--since"),
                                                   end_date=date_value(until, "--until")))
    found: pb.GoalTracker = cli.call(lambda s: s.goals.GetGoalTracker(request))
    if json_wanted():
        emit_json(as_dict(found))
        return
    period = f"{date_text(found.period.start_date)} to {date_text(found.period.end_date)}"
    emit_table(f"Goal Tracker of {customer} (cash flow {period})",
               [Id("GOAL"), "NAME", "STATE", "PROGRESS", "SAVED", "TARGET", "CASH FLOW", "TARGET DATE",
                "PROJECTED", "TRACK", Column("WHY", wide=True)],
               [_row(line) for line in found.lines])
    console.print(f"Safe to save this month: {show_money(found.safe_to_save)}")
    for figure in found.safe_to_save_explanation.split("; "):
        if figure:
            console.print(f"  {figure}", highlight=False)
