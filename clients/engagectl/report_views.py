"""engagectl reports insight-history / event-history: the history views of ReportingService as lists
(docs/reporting.md), paged like every list command. Registered on the `reports` group by main.py."""

from __future__ import annotations

import typer

from clients.engagectl.context import cli_context
from clients.engagectl.dates import date_range
from clients.engagectl.engagement_common import label, time_of
from clients.engagectl.output import Column, Id, Wide, emit_list
from clients.engagectl.paging import Paging, all_option, limit_option, page_token_option
from clients.engagectl.report_options import enum_option, enum_options, order_by
from clients.stubs import Stubs
from engage.engagement.v1 import engagement_service_pb2 as engagement
from engage.reporting.v1 import event_history_pb2 as events
from engage.reporting.v1 import insight_history_pb2 as insights

INSIGHT_COLUMNS: list[str | Column] = [
    Id("feed item"), Id("customer"), "insight", "origin", "period", "created", "interactions", Wide("expires")]
EVENT_COLUMNS: list[str | Column] = [
    "time", "kind", Id("event id"), Id("customer"), "what", "state", "error / reason", Wide("attempts"),
    Wide("error message")]


def insight_row(row: insights.InsightHistoryRow) -> list[str]:
    return [row.feed_item_id, row.customer_id, row.insight, label(insights.InsightOrigin, row.origin)
            if row.origin else "", row.period, time_of(row.create_time),
            ",".join(label(insights.InteractionKind, i.kind) for i in row.interactions), time_of(row.expire_time)]


def _what(row: events.EventHistoryRow) -> str:
    """The row's subject in a few words, whatever its kind."""
    if row.kind == events.EVENT_KIND_DELIVERY:
        return " ".join(filter(None, [label(engagement.Channel, row.channel), row.provider,
                                      f"campaign {row.campaign_id}" if row.campaign_id else ""]))
    if row.kind in (events.EVENT_KIND_BANNER_IMPRESSION, events.EVENT_KIND_BANNER_CLICK):
        return f"banner {row.banner_id}" + (f" of rule {row.rule_id}" if row.rule_id else "")
    if row.kind == events.EVENT_KIND_RULE_FIRING:
        return f"rule {row.rule_id} v{row.rule_version} on {row.account_id}"
    if row.kind == events.EVENT_KIND_CAMPAIGN_STEP:
        return f"campaign {row.campaign_id}" + (f" by {row.actor}" if row.actor else "")
    return f"journey {row.journey_id} {row.from_step} -> {row.to_step or row.handed_to_journey}"


def _state(row: events.EventHistoryRow) -> str:
    if row.kind == events.EVENT_KIND_DELIVERY:
        return label(engagement.DeliveryState, row.delivery_state)
    if row.kind == events.EVENT_KIND_CAMPAIGN_STEP:
        return label(engagement.Campaign.State, row.campaign_state)
    return ""


def event_row(row: events.EventHistoryRow) -> list[str]:
    return [time_of(row.occur_time), label(events.EventKind, row.kind), row.event_id, row.customer_id, _what(row),
            _state(row), row.error_code or row.skip_reason or row.reason,
            str(row.attempts) if row.kind == events.EVENT_KIND_DELIVERY else "", row.error_message]


def insight_history(
        ctx: typer.Context,
        customer: str = typer.Option("", metavar="CUSTOMER_ID", help="Only this customer's."),
        insight: str = typer.Option("", metavar="NAME", help="Only this insight's, e.g. LOW_BALANCE_WARNING."),
        origin: str | None = typer.Option(None, metavar="ORIGIN", help="SCHEDULE, EVENT or ON_DEMAND."),
        interaction: str | None = typer.Option(None, metavar="KIND",
                                               help="Only items with one: VIEWED, CLICKED, DISMISSED, ACTED."),
        since: str | None = typer.Option(None, "--from", metavar="DATE", help="Generated on or after (YYYY-MM-DD)."),
        until: str | None = typer.Option(None, "--to", metavar="DATE", help="Generated on or before (YYYY-MM-DD)."),
        newest_first: bool = typer.Option(False, "--newest-first", help="Newest first (default: oldest first)."),
        limit: int = limit_option(100, "insights"), page_token: str = page_token_option(),
        every_page: bool = all_option()) -> None:
    """Lists every insight generated, how, and what its customer did with it.

    Examples:
      engagectl reports insight-history --origin SCHEDULE --from 2026-01-01 --to 2026-01-31
      engagectl reports insight-history --customer demo-c0002 --json
    """
    cli = cli_context(ctx)
    request = insights.ListInsightHistoryRequest(
        customer_id=customer, insight=insight, order_by=order_by(newest_first, "create_time"),
        origin=enum_option(insights.InsightOrigin, origin, "--origin"),
        interaction=enum_option(insights.InteractionKind, interaction, "--interaction"))
    if since or until:
        date_range(request.create_date_range, since, until)

    async def page(stubs: Stubs, size: int, token: str) -> tuple[list[insights.InsightHistoryRow], str]:
        request.page_size, request.page_token = size, token
        response = await stubs.reporting.ListInsightHistory(request)
        return list(response.rows), response.next_page_token

    listed = cli.list(page, Paging(limit, page_token, every_page))
    emit_list("insight history", INSIGHT_COLUMNS, listed.items, insight_row, listed.next_page_token)


def event_history(
        ctx: typer.Context,
        kind: list[str] = typer.Option(None, "--kind", metavar="KIND",
                                       help="DELIVERY, BANNER_IMPRESSION, BANNER_CLICK, RULE_FIRING, CAMPAIGN_STEP, "
                                            "JOURNEY_STEP (repeatable; default: all)."),
        customer: str = typer.Option("", metavar="CUSTOMER_ID", help="Only this customer's."),
        state: list[str] = typer.Option(None, "--state", metavar="STATE",
                                        help="Deliveries in this state: FAILED, DEAD_LETTER, SKIPPED... (repeatable)."),
        channel: list[str] = typer.Option(None, "--channel", metavar="CHANNEL",
                                          help="Deliveries through this channel (repeatable)."),
        campaign: str = typer.Option("", metavar="CAMPAIGN_ID", help="This campaign's deliveries and steps."),
        rule: str = typer.Option("", metavar="RULE_ID", help="This rule's firings and banner events."),
        event: str = typer.Option("", metavar="EVENT_ID", help="Deliveries of this engagement event."),
        journey: str = typer.Option("", metavar="JOURNEY_ID", help="This journey's steps."),
        since: str | None = typer.Option(None, "--from", metavar="DATE", help="On or after (YYYY-MM-DD)."),
        until: str | None = typer.Option(None, "--to", metavar="DATE", help="On or before (YYYY-MM-DD)."),
        newest_first: bool = typer.Option(False, "--newest-first", help="Newest first (default: oldest first)."),
        limit: int = limit_option(100, "events"), page_token: str = page_token_option(),
        every_page: bool = all_option()) -> None:
    """Lists deliveries, banner impressions and clicks, rule firings, campaign and journey steps, in time order.

    Examples:
      engagectl reports event-history --state FAILED --state DEAD_LETTER --newest-first --limit 50
      engagectl reports event-history --kind RULE_FIRING --kind BANNER_CLICK --rule 01934c5a7e2f0a1b2c3d4e5f
    """
    cli = cli_context(ctx)
    request = events.ListEventHistoryRequest(
        kinds=enum_options(events.EventKind, kind, "--kind"), customer_id=customer,
        delivery_states=enum_options(engagement.DeliveryState, state, "--state"),
        channels=enum_options(engagement.Channel, channel, "--channel"), campaign_id=campaign, rule_id=rule,
        engagement_event_id=event, journey_id=journey, order_by=order_by(newest_first, "occur_time"))
    if since or until:
        date_range(request.occur_date_range, since, until)

    async def page(stubs: Stubs, size: int, token: str) -> tuple[list[events.EventHistoryRow], str]:
        request.page_size, request.page_token = size, token
        response = await stubs.reporting.ListEventHistory(request)
        return list(response.rows), response.next_page_token

    listed = cli.list(page, Paging(limit, page_token, every_page))
    emit_list("event history", EVENT_COLUMNS, listed.items, event_row, listed.next_page_token)


def register(app: typer.Typer) -> None:
    app.command("insight-history")(insight_history)
    app.command("event-history")(event_history)
