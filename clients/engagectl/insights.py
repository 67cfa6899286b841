"""engagectl insights: the catalogue, on-demand triggers, feeds and monthly batches."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import typer

from clients.engagectl.context import cli_context
from clients.engagectl.dates import date_text, date_value
from clients.engagectl.engagement_common import label
from clients.engagectl.money import show_money
from clients.engagectl.output import (
    Column,
    Id,
    as_dict,
    emit_json,
    emit_list,
    emit_record,
    emit_table,
    enum_number,
    notice,
)
from clients.engagectl.paging import Paging, all_option, limit_option, page_token_option
from clients.stubs import Stubs
from engage.insights.v1 import insights_service_pb2 as pb

app = typer.Typer(no_args_is_help=True, help="Insight definitions, triggers, feeds and batches.")


def _summary(item: pb.FeedItem) -> str:
    if item.change_values:
        change = item.change_values[0]
        return f"{show_money(change.change_amount)} ({change.change_percent}%)"
    if item.HasField("transaction"):
        return f"{show_money(item.transaction.amount)} on {item.transaction.account_id}"
    return ""


FEED_COLUMNS: list[str | Column] = [Id("id"), "insight", "period", "created", "figures"]


def feed_row(i: pb.FeedItem) -> list[str]:
    return [i.feed_item_id, i.insight_name, i.period, i.create_time.ToDatetime(tzinfo=dt.UTC).isoformat(
        timespec="seconds"), _summary(i)]


@app.command("list")
def list_definitions(ctx: typer.Context) -> None:
    """Lists the insight catalogue: every insight, its trigger, frequency and thresholds.

    Examples:
      engagectl insights list
      engagectl insights list --json
    """
    cli = cli_context(ctx)
    response = cli.call(lambda s: s.insights.ListInsightDefinitions(pb.ListInsightDefinitionsRequest()))
    if cli.json_output:
        emit_json([as_dict(d) for d in response.insight_definitions])
        return
    emit_table("insights", [Id("name"), "trigger", "frequency", "thresholds"], [
        [d.insight_name, label(pb.TriggerType, d.trigger_type), label(pb.Frequency, d.frequency),
         ", ".join(f"{t.name} {t.minimum}-{t.maximum} (default {t.default_value})" for t in d.thresholds)]
        for d in response.insight_definitions])


@app.command("trigger")
def trigger(ctx: typer.Context,
            customer: str = typer.Option("", metavar="CUSTOMER_ID", help="The customer (a user token: its own)."),
            insight: list[str] = typer.Option([], metavar="INSIGHT_NAME",
                                              help="Repeat for several (default: all scheduled)."),
            as_of: str | None = typer.Option(None, metavar="DATE", help="Evaluate as of YYYY-MM-DD (default: today).")
            ) -> None:
    """Evaluates a user's scheduled insights now and shows what was generated; each insight that
    generated nothing says why on stderr (not subscribed, condition not met, or already generated for
    the period). --json gives both: {"generated": [...], "not_generated": [...]}.

    Examples:
      engagectl insights trigger --customer demo-c0001
      engagectl insights trigger --customer demo-c0001 --insight LOW_BALANCE_WARNING --as-of 2026-11-01
    """
    cli = cli_context(ctx)
    request = pb.TriggerInsightsRequest(customer_id=customer, insight_names=insight)
    day = date_value(as_of, "--as-of")
    if day:
        request.as_of.CopyFrom(day)
    response = cli.call(lambda s: s.insights.TriggerInsights(request))
    if cli.json_output:
        emit_json(as_dict(response))
        return
    emit_table("generated", FEED_COLUMNS, [feed_row(i) for i in response.generated])
    who = customer or "ID"
    for skipped in response.not_generated:
        why = NOT_GENERATED.get(skipped.reason, "").format(customer=who)
        notice(f"not generated: {skipped.insight_name} for {skipped.period}: {skipped.reason}"
               + (f" ({why})" if why else ""))


# What a TriggerInsights reason means, and where to look next.
NOT_GENERATED = {
    "UNSUBSCRIBED": "not subscribed: engagectl subscriptions get --customer {customer}",
    "CONDITION_NOT_MET": "its figures do not reach its thresholds, or the balances it compares are missing",
    "ALREADY_GENERATED": "the period's item exists already: engagectl insights feed --customer {customer}",
}


@app.command("feed")
def feed(ctx: typer.Context,
         customer: str = typer.Option("", metavar="CUSTOMER_ID", help="The customer (a user token: its own)."),
         insight: list[str] = typer.Option([], metavar="INSIGHT_NAME", help="Only these insights; repeat."),
         limit: int = limit_option(50, "items, newest first"), page_token: str = page_token_option(),
         every_page: bool = all_option()) -> None:
    """Shows a user's valid feed items, newest first.

    Examples:
      engagectl insights feed --customer demo-c0001
      engagectl insights feed --customer demo-c0001 --insight LARGE_DEPOSIT --all --json
    """
    cli = cli_context(ctx)

    async def page(stubs: Stubs, size: int, token: str) -> tuple[list[pb.FeedItem], str]:
        response = await stubs.insights.GetFeed(pb.GetFeedRequest(
            customer_id=customer, insight_names=insight, page_size=size, page_token=token))
        return list(response.feed), response.next_page_token

    listed = cli.list(page, Paging(limit, page_token, every_page))
    emit_list(f"feed of {customer or 'me'}", FEED_COLUMNS, listed.items, feed_row, listed.next_page_token)


@app.command("interact")
def interact(ctx: typer.Context,
             feed_item: str = typer.Argument(..., metavar="FEED_ITEM_ID",
                                             help="Id (with --customer) or customers/ID/feedItems/ID."),
             type_: str = typer.Option(..., "--type", metavar="TYPE", help="VIEWED, CLICKED, DISMISSED or ACTED."),
             customer: str = typer.Option("", metavar="CUSTOMER_ID", help="Whose feed item (with a bare id).")
             ) -> None:
    """Records that the user viewed, clicked, dismissed or acted on a feed item (the feed shows the latest).

    Examples:
      engagectl insights interact 4a9d9440c8a14a0492803d0ff33b21f9 --customer demo-c0001 --type VIEWED
      engagectl insights interact customers/demo-c0001/feedItems/4a9d9440c8a14a0492803d0ff33b21f9 --type DISMISSED
    """
    cli = cli_context(ctx)
    try:
        kind = enum_number(pb.InteractionType, type_)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--type") from exc
    if feed_item.startswith("customers/"):
        item_name = feed_item
    elif customer:
        item_name = f"customers/{customer}/feedItems/{feed_item}"
    else:
        raise typer.BadParameter("give --customer, or the item's whole name customers/ID/feedItems/ID",
                                 param_hint="--customer")
    emit_record("interaction", cli.call(lambda s: s.insights.RecordInteraction(pb.RecordInteractionRequest(
        feed_item=item_name, type=kind))))


def _emit_batch(batch: pb.InsightBatch) -> None:
    emit_record("insight batch", batch)


@app.command("run-batch")
def run_batch(ctx: typer.Context,
              as_of: str | None = typer.Option(None, metavar="DATE", help="As of YYYY-MM-DD (default: today)."),
              chunk_size: int = typer.Option(2500, min=1, max=10000, metavar="N", help="Users per worker job."),
              wait: bool = typer.Option(False, help="Wait until the workers have finished it."),
              ) -> None:
    """Starts the scheduled evaluation of every subscribed user (what the 1st-of-month cron does).

    Examples:
      engagectl insights run-batch --as-of 2026-12-01
      engagectl insights run-batch --wait
    """
    cli = cli_context(ctx)
    request = pb.RunInsightBatchRequest(chunk_size=chunk_size)
    day = date_value(as_of, "--as-of")
    if day:
        request.as_of.CopyFrom(day)

    async def run(stubs: Stubs):
        batch = await stubs.insights.RunInsightBatch(request)
        while wait and batch.state != pb.BATCH_STATE_SUCCEEDED:
            await asyncio.sleep(0.5)
            batch = await stubs.insights.GetInsightBatch(pb.GetInsightBatchRequest(name=batch.name))
        return batch

    _emit_batch(cli.call(run))


@app.command("batch")
def batch_status(ctx: typer.Context, batch_id: str = typer.Argument(..., metavar="BATCH_ID",
                                                                    help="Id or insightBatches/ID.")) -> None:
    """Shows a batch's progress, every field.

    Examples:
      engagectl insights batch 2026-12-01-a1b2
    """
    cli = cli_context(ctx)
    batch_name = batch_id if batch_id.startswith("insightBatches/") else f"insightBatches/{batch_id}"
    _emit_batch(cli.call(lambda s: s.insights.GetInsightBatch(pb.GetInsightBatchRequest(name=batch_name))))


BATCH_COLUMNS: list[str | Column] = [Id("batch id"), "as of", "state", "chunks done", "users", "items", "started",
                                     "finished"]


def _batch_row(b: pb.InsightBatch) -> list[str]:
    return [b.batch_id, date_text(b.as_of),
            label(pb.BatchState, b.state), f"{b.done_chunks}/{b.total_chunks}", str(b.users_evaluated),
            str(b.items_generated), _stamp(b.create_time), _stamp(b.finish_time)]


def _stamp(value: Any) -> str:
    return value.ToDatetime(tzinfo=dt.UTC).isoformat(timespec="seconds") if value.seconds else ""


@app.command("batches")
def batches(ctx: typer.Context, limit: int = limit_option(20, "batches, the latest first"),
            page_token: str = page_token_option(), every_page: bool = all_option()) -> None:
    """Lists the insight batches (the monthly cron's and run-batch's), the latest as-of date first.

    Examples:
      engagectl insights batches
      engagectl insights batches --all --json
    """
    cli = cli_context(ctx)

    async def page(stubs: Stubs, size: int, token: str) -> tuple[list[pb.InsightBatch], str]:
        response = await stubs.insights.ListInsightBatches(pb.ListInsightBatchesRequest(
            page_size=size, page_token=token))
        return list(response.insight_batches), response.next_page_token

    listed = cli.list(page, Paging(limit, page_token, every_page))
    emit_list("insight batches", BATCH_COLUMNS, listed.items, _batch_row, listed.next_page_token)
