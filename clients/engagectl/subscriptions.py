"""engagectl subscriptions: bank defaults and user overrides per insight."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from google.protobuf.json_format import ParseDict, ParseError

from clients.engagectl.context import cli_context
from clients.engagectl.output import Column, Id, as_dict, emit_json, emit_list, emit_table
from clients.engagectl.paging import Paging, all_option, limit_option, page_token_option
from clients.stubs import Stubs
from engage.subscriptions.v1 import subscriptions_service_pb2 as pb

app = typer.Typer(no_args_is_help=True, help="Bank-level defaults and user-level overrides per insight.")


def _rows(subscriptions: list[pb.InsightSubscription]) -> list[list[Any]]:
    rows = []
    for s in subscriptions:
        for level, configurations in (("bank", s.customer_configuration), ("user", s.user_configuration)):
            for c in configurations:
                rows.append([s.insight_name, level, c.is_subscribed, c.duration,
                             ", ".join(f"{t.name}={t.value}" for t in c.threshold), s.insight_title])
    return rows


def _emit(subscriptions: list[pb.InsightSubscription], json_output: bool) -> None:
    if json_output:
        emit_json([as_dict(s) for s in subscriptions])
    else:
        emit_table("subscriptions", [Id("insight"), "level", "subscribed", "duration", "thresholds", "title"],
                   _rows(subscriptions))


@app.command("get")
def get(ctx: typer.Context,
        customer: str | None = typer.Option(None, metavar="CUSTOMER_ID", help="A user's (default: the bank's)."),
        insight: list[str] = typer.Option([], metavar="INSIGHT_NAME", help="Only these insights; repeat.")) -> None:
    """Shows the bank's defaults, or a user's configuration beside the bank's.

    Examples:
      engagectl subscriptions get
      engagectl subscriptions get --customer demo-c0001 --insight LARGE_DEPOSIT
    """
    cli = cli_context(ctx)
    if customer is None:
        bank = cli.call(lambda s: s.subscriptions.GetBankSubscriptions(
            pb.GetBankSubscriptionsRequest(insight_names=insight)))
        _emit(list(bank.customer_subscription), cli.json_output)
    else:
        user = cli.call(lambda s: s.subscriptions.GetUserSubscriptions(
            pb.GetUserSubscriptionsRequest(customer_id=customer, insight_names=insight)))
        _emit(list(user.user_subscription), cli.json_output)


def _threshold(text: str) -> dict[str, str]:
    name, sep, value = text.partition("=")
    if not sep:
        raise typer.BadParameter("give thresholds as NAME=VALUE, e.g. CHANGE=15", param_hint="--threshold")
    return {"name": name, "value": value}


@app.command("set")
def set_subscription(
    ctx: typer.Context,
    insight: str = typer.Option(..., metavar="INSIGHT_NAME", help="e.g. LARGE_DEPOSIT."),
    customer: str | None = typer.Option(None, metavar="CUSTOMER_ID",
                                        help="Set a user's override (default: the bank's default)."),
    subscribed: bool | None = typer.Option(None, "--subscribed/--unsubscribed", help="Subscribe or unsubscribe."),
    duration: str | None = typer.Option(None, metavar="DURATION",
                                        help="LAST_THREE_MONTHS, LAST_SIX_MONTHS or LAST_TWELVE_MONTHS."),
    threshold: list[str] = typer.Option([], metavar="NAME=VALUE",
                                        help="Type taken from the catalogue, e.g. CHANGE=15; repeat."),
    title: str | None = typer.Option(None, metavar="TEXT", help="Bank level: the insight's title."),
    account_link_template: str | None = typer.Option(
        None, metavar="TEMPLATE", help="Bank level: the URL of each account's link in the insight's feed items, "
                                       "with the token {accountId}, e.g. /accounts?accountId={accountId}."),
    body: Path | None = typer.Option(None, metavar="FILE",
                                     help="A JSON body in the reference's shape instead of the options."),
) -> None:
    """Changes the bank's defaults or a user's override (only what is given changes).

    Examples:
      engagectl subscriptions set --insight SAVINGS_INCREASED_COMPARED_TO_YOUR_AVERAGE --threshold CHANGE=12.5
      engagectl subscriptions set --insight LARGE_DEPOSIT --customer demo-c0001 --unsubscribed
      engagectl subscriptions set --insight SAVINGS_INCREASED_COMPARED_TO_YOUR_AVERAGE \\
        --account-link-template 'https://app.yesbank.example/accounts/{accountId}'
    """
    cli = cli_context(ctx)
    level = "userSubscription" if customer is not None else "customerSubscription"
    if body is not None:
        try:
            document = json.loads(body.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise typer.BadParameter(f"cannot read a JSON body: {exc}", param_hint="--body") from exc
        except RecursionError:  # Python's JSON parser recurses once per level
            raise typer.BadParameter("cannot read a JSON body: nested too deeply", param_hint="--body") from None
    else:
        document = {level: [_element(cli, insight, customer, subscribed, duration, threshold, title,
                                     account_link_template)]}
    try:
        if customer is None:
            request: Any = ParseDict(document, pb.UpdateBankSubscriptionsRequest())
        else:
            request = ParseDict({**document, "customerId": customer}, pb.UpdateUserSubscriptionsRequest())
    except ParseError as exc:
        raise typer.BadParameter(f"the body does not fit the API: {exc}", param_hint="--body") from exc
    except RecursionError:  # a body parsed, but too deep for protobuf's parser or its error message
        raise typer.BadParameter("the body does not fit the API: nested too deeply", param_hint="--body") from None
    if customer is None:
        bank = cli.call(lambda s: s.subscriptions.UpdateBankSubscriptions(request))
        _emit(list(bank.customer_subscription), cli.json_output)
    else:
        user = cli.call(lambda s: s.subscriptions.UpdateUserSubscriptions(request))
        _emit(list(user.user_subscription), cli.json_output)


def _element(cli: Any, insight: str, customer: str | None, subscribed: bool | None, duration: str | None,
             thresholds: list[str], title: str | None, account_link_template: str | None) -> dict[str, Any]:
    configuration: dict[str, Any] = {"entityType": "ACCOUNT"}
    if subscribed is not None:
        configuration["isSubscribed"] = subscribed
    if duration:
        configuration["duration"] = duration
    if thresholds:
        from engage.insights.v1 import insights_service_pb2 as insights_pb

        catalogue = cli.call(lambda s: s.insights.ListInsightDefinitions(insights_pb.ListInsightDefinitionsRequest()))
        types = {t.name: insights_pb.ThresholdType.Name(t.type).removeprefix("THRESHOLD_TYPE_")
                 for d in catalogue.insight_definitions if d.insight_name == insight for t in d.thresholds}
        configuration["threshold"] = [{**(parsed := _threshold(t)), "type": types.get(parsed["name"], "")}
                                      for t in thresholds]
    element: dict[str, Any] = {"insightName": insight}
    if title is not None:
        element["insightTitle"] = title
    if account_link_template is not None:
        element["accountLinkTemplate"] = account_link_template
    if len(configuration) > 1:
        element["userConfiguration" if customer is not None else "customerConfiguration"] = [configuration]
    return element


CHANGE_COLUMNS: list[str | Column] = ["when", Id("insight"), "level", "by", "before", "after"]


def _change_row(c: pb.SubscriptionChange) -> list[str]:
    return [c.change_time.ToJsonString(), c.insight_name, c.customer_id or "bank",
            f"{c.changed_by} ({c.changed_by_role})", c.before_json, c.after_json]


@app.command("history")
def history(ctx: typer.Context,
            customer: str | None = typer.Option(None, metavar="CUSTOMER_ID", help="Only this user's changes."),
            limit: int = limit_option(50, "changes, newest first"), page_token: str = page_token_option(),
            every_page: bool = all_option()) -> None:
    """Lists configuration changes, newest first: who, when, before and after.

    Examples:
      engagectl subscriptions history
      engagectl subscriptions history --customer demo-c0001 --all
    """
    cli = cli_context(ctx)

    async def page(stubs: Stubs, size: int, token: str) -> tuple[list[pb.SubscriptionChange], str]:
        response = await stubs.subscriptions.ListSubscriptionChanges(pb.ListSubscriptionChangesRequest(
            customer_id=customer or "", page_size=size, page_token=token))
        return list(response.changes), response.next_page_token

    listed = cli.list(page, Paging(limit, page_token, every_page))
    emit_list("subscription changes", CHANGE_COLUMNS, listed.items, _change_row, listed.next_page_token)
