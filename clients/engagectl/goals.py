"""engagectl goals: a customer's enrolment in the goals programme, goals, tracker and history; the
funding programmes and transfers are its sub-groups (clients.engagectl.goal_funding)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

import typer
from google.protobuf.field_mask_pb2 import FieldMask

from clients.engagectl import goal_funding, goal_tracker
from clients.engagectl.context import cli_context
from clients.engagectl.dates import date_text, date_value
from clients.engagectl.engagement_common import label, short, time_of
from clients.engagectl.money import money, show_money
from clients.engagectl.output import Column, Id, emit_list, emit_record, enum_number
from clients.engagectl.paging import Paging, all_option, limit_option, page_token_option
from clients.stubs import Stubs
from engage.goals.v1 import goals_service_pb2 as pb

app = typer.Typer(no_args_is_help=True, help="Goals-based savings: enrolment, goals, tracker, history, funding.")
app.add_typer(goal_funding.programmes_app, name="programmes")
app.add_typer(goal_funding.transfers_app, name="transfers")
app.command("tracker")(goal_tracker.tracker)


def _customer_argument() -> Any:
    return typer.Argument(..., metavar="CUSTOMER_ID", help="The customer (a user token: its own).")


def _goal_argument() -> Any:
    return typer.Argument(..., metavar="GOAL_ID", help="Id or customers/ID/goals/ID.")


def _enrolment_name(customer: str) -> str:
    return f"customers/{customer}/goalsEnrolment"


def _goal_name(customer: str, goal: str) -> str:
    return goal if goal.startswith("customers/") else f"customers/{customer}/goals/{goal}"


def _choice(enum_wrapper: Any, text: str, option: str) -> Any:
    try:
        return enum_number(enum_wrapper, text)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint=option) from exc


def _amount(text: str, currency: str, option: str) -> Any:
    try:
        return money(Decimal(text), currency)
    except (InvalidOperation, ValueError) as exc:
        raise typer.BadParameter(f"{text!r} is not an amount", param_hint=option) from exc


# -- enrolment ------------------------------------------------------------------------------------

@app.command("enrol")
def enrol(ctx: typer.Context, customer: str = _customer_argument(),
          account: str = typer.Option("", "--account", metavar="ACCOUNT_ID",
                                      help="The savings or checking account that hosts the goals (again after a "
                                           "cancel: the previous one when left out)."),
          tracker: bool = typer.Option(True, "--tracker/--no-tracker", help="Goal Tracker insights."),
          milestones: bool = typer.Option(True, "--milestones/--no-milestones", help="Milestone insights."),
          at_risk: bool = typer.Option(True, "--at-risk/--no-at-risk", help="At-risk insights."),
          request_id: str = typer.Option("", metavar="REQUEST_ID",
                                         help="Makes a retry a no-op: the same id returns the first answer.")) -> None:
    """Enrols a customer in the goals programme (SIGNUP), with the account that will hold the goals.

    Examples:
      engagectl goals enrol demo-c0001 --account demo-c0001-sav
      engagectl goals enrol demo-c0001 --account demo-c0001-sav --no-tracker --request-id signup-1
    """
    cli = cli_context(ctx)
    request = pb.EnrollInGoalsRequest(parent=f"customers/{customer}", account_id=account, request_id=request_id,
                                      settings=pb.GoalSettings(tracker_insights=tracker, milestone_insights=milestones,
                                                               at_risk_insights=at_risk))
    emit_record("goals enrolment", cli.call(lambda s: s.goals.EnrollInGoals(request)))


@app.command("enrolment")
def enrolment(ctx: typer.Context, customer: str = _customer_argument()) -> None:
    """Shows a customer's enrolment: its state, account and settings.

    Examples:
      engagectl goals enrolment demo-c0001
      engagectl goals enrolment demo-c0001 --json
    """
    cli = cli_context(ctx)
    emit_record("goals enrolment", cli.call(lambda s: s.goals.GetGoalsEnrolment(pb.GetGoalsEnrolmentRequest(
        name=_enrolment_name(customer)))))


@app.command("pause")
def pause(ctx: typer.Context, customer: str = _customer_argument()) -> None:
    """Pauses an ACTIVE enrolment: the goals keep their money; no tracker or milestone insights.

    Examples:
      engagectl goals pause demo-c0001
    """
    cli = cli_context(ctx)
    emit_record("goals enrolment", cli.call(lambda s: s.goals.PauseGoalsEnrolment(pb.PauseGoalsEnrolmentRequest(
        name=_enrolment_name(customer)))))


@app.command("resume")
def resume(ctx: typer.Context, customer: str = _customer_argument()) -> None:
    """Resumes a PAUSED enrolment.

    Examples:
      engagectl goals resume demo-c0001
    """
    cli = cli_context(ctx)
    emit_record("goals enrolment", cli.call(lambda s: s.goals.ResumeGoalsEnrolment(pb.ResumeGoalsEnrolmentRequest(
        name=_enrolment_name(customer)))))


@app.command("cancel")
def cancel(ctx: typer.Context, customer: str = _customer_argument()) -> None:
    """Cancels an enrolment; the customer's goals are archived. They may enrol again later.

    Examples:
      engagectl goals cancel demo-c0001
    """
    cli = cli_context(ctx)
    emit_record("goals enrolment", cli.call(lambda s: s.goals.CancelGoalsEnrolment(pb.CancelGoalsEnrolmentRequest(
        name=_enrolment_name(customer)))))


@app.command("settings")
def settings(ctx: typer.Context, customer: str = _customer_argument(),
             tracker: bool | None = typer.Option(None, "--tracker/--no-tracker", show_default=False,
                                                 help="Goal Tracker insights."),
             milestones: bool | None = typer.Option(None, "--milestones/--no-milestones", show_default=False,
                                                    help="Milestone insights."),
             at_risk: bool | None = typer.Option(None, "--at-risk/--no-at-risk", show_default=False,
                                                 help="At-risk insights.")) -> None:
    """Changes which goal insights a customer receives; only the settings given change.

    Examples:
      engagectl goals settings demo-c0001 --no-tracker
      engagectl goals settings demo-c0001 --milestones --no-at-risk
    """
    cli = cli_context(ctx)
    chosen = {"tracker_insights": tracker, "milestone_insights": milestones, "at_risk_insights": at_risk}
    given = {name: value for name, value in chosen.items() if value is not None}
    if not given:
        raise typer.BadParameter("give at least one of --tracker, --milestones, --at-risk (or their --no- forms)",
                                 param_hint="--tracker")
    request = pb.UpdateGoalsEnrolmentRequest(
        goals_enrolment=pb.GoalsEnrolment(name=_enrolment_name(customer), settings=pb.GoalSettings(**given)),
        update_mask=FieldMask(paths=[f"settings.{name}" for name in given]))
    emit_record("goals enrolment", cli.call(lambda s: s.goals.UpdateGoalsEnrolment(request)))


# -- goals ----------------------------------------------------------------------------------------

GOAL_COLUMNS: list[str | Column] = [Id("goal id"), "name", "category", "state", "priority", "saved", "target",
                                    "percent", "target date"]


def _goal_row(g: pb.Goal) -> list[str]:
    return [short(g.name), g.display_name, label(pb.GoalCategory, g.category), label(pb.GoalState, g.state),
            str(g.priority), show_money(g.saved), show_money(g.target), f"{g.percent}%",
            date_text(g.target_date) if g.HasField("target_date") else ""]


@app.command("create")
def create(ctx: typer.Context, customer: str = _customer_argument(),
           name: str = typer.Option(..., "--name", metavar="NAME", help="1-80 characters."),
           target: str = typer.Option(..., "--target", metavar="AMOUNT", help="The amount to save, e.g. 1000.00."),
           category: str = typer.Option("CUSTOM", "--category", metavar="CATEGORY",
                                        help="EMERGENCY, TRAVEL, HOME, EDUCATION, CAR, WEDDING, RETIREMENT or "
                                             "CUSTOM."),
           currency: str = typer.Option("", "--currency", metavar="CURRENCY",
                                        help="The target's currency (default: the goals account's)."),
           target_date: str | None = typer.Option(None, "--target-date", metavar="DATE",
                                                  help="Save it by YYYY-MM-DD (after today)."),
           priority: int = typer.Option(1, "--priority", min=1, max=100, metavar="N",
                                        help="1 (filled first) to 100."),
           request_id: str = typer.Option("", metavar="REQUEST_ID",
                                          help="Makes a retry a no-op: the same id returns the first goal.")) -> None:
    """Creates a goal in the customer's goals account; the account's balance is allocated again with it.

    Examples:
      engagectl goals create demo-c0001 --name Holiday --category TRAVEL --target 1500.00 --target-date 2027-07-01
      engagectl goals create demo-c0001 --name "Rainy day" --category EMERGENCY --target 3000 --priority 1
    """
    cli = cli_context(ctx)
    goal = pb.Goal(display_name=name, category=_choice(pb.GoalCategory, category, "--category"),
                   target=_amount(target, currency, "--target"), priority=priority)
    day = date_value(target_date, "--target-date")
    if day:
        goal.target_date.CopyFrom(day)
    request = pb.CreateGoalRequest(parent=f"customers/{customer}", goal=goal, request_id=request_id)
    emit_record("goal", cli.call(lambda s: s.goals.CreateGoal(request)))


@app.command("list")
def list_goals(ctx: typer.Context, customer: str = _customer_argument(),
               archived: bool = typer.Option(False, "--archived", help="Archived goals too."),
               limit: int = limit_option(100, "goals, in allocation order"), page_token: str = page_token_option(),
               every_page: bool = all_option()) -> None:
    """Lists a customer's goals by priority, then oldest first: the order money is allocated in.

    Examples:
      engagectl goals list demo-c0001
      engagectl goals list demo-c0001 --archived --all --json
    """
    cli = cli_context(ctx)

    async def page(stubs: Stubs, size: int, token: str) -> tuple[list[pb.Goal], str]:
        response = await stubs.goals.ListGoals(pb.ListGoalsRequest(
            parent=f"customers/{customer}", show_archived=archived, page_size=size, page_token=token))
        return list(response.goals), response.next_page_token

    listed = cli.list(page, Paging(limit, page_token, every_page))
    emit_list(f"goals of {customer}", GOAL_COLUMNS, listed.items, _goal_row, listed.next_page_token)


@app.command("show")
def show(ctx: typer.Context, customer: str = _customer_argument(), goal: str = _goal_argument()) -> None:
    """Shows one goal, every field (archived ones too).

    Examples:
      engagectl goals show demo-c0001 0f9c2d4e6a8b4c1d9e7f5a3b2c1d0e9f
    """
    cli = cli_context(ctx)
    emit_record("goal", cli.call(lambda s: s.goals.GetGoal(pb.GetGoalRequest(name=_goal_name(customer, goal)))))


@app.command("update")
def update(ctx: typer.Context, customer: str = _customer_argument(), goal: str = _goal_argument(),
           name: str | None = typer.Option(None, "--name", metavar="NAME", help="A new name."),
           category: str | None = typer.Option(None, "--category", metavar="CATEGORY", help="A new category."),
           target: str | None = typer.Option(None, "--target", metavar="AMOUNT", help="A new target amount."),
           currency: str = typer.Option("", "--currency", metavar="CURRENCY",
                                        help="With --target: its currency (default: the goals account's)."),
           target_date: str | None = typer.Option(None, "--target-date", metavar="DATE",
                                                  help="A new target date, YYYY-MM-DD."),
           no_target_date: bool = typer.Option(False, "--no-target-date", help="Clear the target date."),
           priority: int | None = typer.Option(None, "--priority", min=1, max=100, metavar="N",
                                               help="1 (filled first) to 100."),
           state: str | None = typer.Option(None, "--state", metavar="STATE",
                                            help="ACTIVE or PAUSED (pausing or reactivating the goal).")) -> None:
    """Changes a goal; only the options given change. A new target, priority or state moves money between
    the customer's goals.

    Examples:
      engagectl goals update demo-c0001 0f9c2d4e6a8b4c1d9e7f5a3b2c1d0e9f --target 2000.00
      engagectl goals update demo-c0001 0f9c2d4e6a8b4c1d9e7f5a3b2c1d0e9f --state PAUSED --no-target-date
    """
    cli = cli_context(ctx)
    body = pb.Goal(name=_goal_name(customer, goal))
    paths = []
    if name is not None:
        body.display_name = name
        paths.append("display_name")
    if category is not None:
        body.category = _choice(pb.GoalCategory, category, "--category")
        paths.append("category")
    if target is not None:
        body.target.CopyFrom(_amount(target, currency, "--target"))
        paths.append("target")
    if target_date is not None or no_target_date:
        if target_date is not None and no_target_date:
            raise typer.BadParameter("give --target-date or --no-target-date, not both", param_hint="--target-date")
        day = date_value(target_date, "--target-date")
        if day:
            body.target_date.CopyFrom(day)
        paths.append("target_date")
    if priority is not None:
        body.priority = priority
        paths.append("priority")
    if state is not None:
        body.state = _choice(pb.GoalState, state, "--state")
        paths.append("state")
    if not paths:
        raise typer.BadParameter("give at least one change (--name, --category, --target, --target-date, "
                                 "--priority, --state)", param_hint="--name")
    request = pb.UpdateGoalRequest(goal=body, update_mask=FieldMask(paths=paths))
    emit_record("goal", cli.call(lambda s: s.goals.UpdateGoal(request)))


@app.command("archive")
def archive(ctx: typer.Context, customer: str = _customer_argument(), goal: str = _goal_argument()) -> None:
    """Archives a goal (final): its money goes back to the customer's other goals.

    Examples:
      engagectl goals archive demo-c0001 0f9c2d4e6a8b4c1d9e7f5a3b2c1d0e9f
    """
    cli = cli_context(ctx)
    emit_record("goal", cli.call(lambda s: s.goals.DeleteGoal(pb.DeleteGoalRequest(name=_goal_name(customer, goal)))))


# -- history --------------------------------------------------------------------------------------

HISTORY_COLUMNS: list[str | Column] = [Id("entry id"), "time", "kind", "actor", "goal", "before", "after"]


def _changes(values: Any) -> str:
    return ", ".join(f"{key}={value}" for key, value in sorted(values.items()))


def _history_row(e: pb.HistoryEntry) -> list[str]:
    return [short(e.name), time_of(e.create_time), label(pb.HistoryKind, e.kind),
            f"{label(pb.Actor, e.actor)} {e.actor_id}".strip(), short(e.goal) if e.goal else "",
            _changes(e.before), _changes(e.after)]


@app.command("history")
def history(ctx: typer.Context, customer: str = _customer_argument(),
            kind: list[str] = typer.Option([], "--kind", metavar="KIND",
                                           help="Only these kinds (SIGNUP, PAUSE, GOAL_EDITED, ...); repeat."),
            since: str | None = typer.Option(None, "--from", "--since", metavar="DATE", help="First day, YYYY-MM-DD."),
            until: str | None = typer.Option(None, "--to", "--until", metavar="DATE", help="Last day, YYYY-MM-DD."),
            limit: int = limit_option(50, "entries, newest first"), page_token: str = page_token_option(),
            every_page: bool = all_option()) -> None:
    """Shows a customer's history: every enrolment and goal change, who made it, and what changed.

    Examples:
      engagectl goals history demo-c0001
      engagectl goals history demo-c0001 --kind GOAL_EDITED --kind GOAL_ARCHIVED --from 2026-12-01 --json
    """
    cli = cli_context(ctx)
    kinds = [_choice(pb.HistoryKind, k, "--kind") for k in kind]
    start, end = date_value(since, "--from"), date_value(until, "--to")

    async def page(stubs: Stubs, size: int, token: str) -> tuple[list[pb.HistoryEntry], str]:
        request = pb.ListHistoryEntriesRequest(parent=f"customers/{customer}", kinds=kinds, page_size=size,
                                               page_token=token)
        if start:
            request.create_date_range.start_date.CopyFrom(start)
        if end:
            request.create_date_range.end_date.CopyFrom(end)
        response = await stubs.goals.ListHistoryEntries(request)
        return list(response.history_entries), response.next_page_token

    listed = cli.list(page, Paging(limit, page_token, every_page))
    emit_list(f"history of {customer}", HISTORY_COLUMNS, listed.items, _history_row, listed.next_page_token)
