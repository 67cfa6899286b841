"""engagectl insights: the catalogue, on-demand triggers, feeds and monthly batches."""

from __future__ import annotations

import asyncio
import datetime as dt

import typer

from clients.engagectl.context import cli_context
from clients.engagectl.money import show_money
from clients.engagectl.output import as_dict, emit_json, emit_table
from clients.engagectl.paging import collect
from engage.insights.v1 import insights_service_pb2 as pb
from engage.type.v1 import date_pb2

app = typer.Typer(no_args_is_help=True, help="Insight definitions, triggers, feeds and batches.")


def _date(text: str | None, option: str) -> date_pb2.Date | None:
    if not text:
        return None
    try:
        day = dt.date.fromisoformat(text)
    except ValueError as exc:
        raise typer.BadParameter(f"{text!r} is not a date (YYYY-MM-DD)", param_hint=option) from exc
    return date_pb2.Date(year=day.year, month=day.month, day=day.day)


def _summary(item: pb.FeedItem) -> str:
    if item.change_values:
        change = item.change_values[0]
        return f"{show_money(change.change_amount)} ({change.change_percent}%)"
    if item.HasField("transaction"):
        return f"{show_money(item.transaction.amount)} on {item.transaction.account_id}"
    return ""


def _emit_items(title: str, items: list[pb.FeedItem], json_output: bool) -> None:
    if json_output:
        emit_json([as_dict(i) for i in items])
        return
    emit_table(title, ["id", "insight", "period", "created", "figures"], [
        [i.feed_item_id, i.insight_name, i.period,
         i.create_time.ToDatetime(tzinfo=dt.UTC).isoformat(timespec="seconds"),
         _summary(i)] for i in items])


@app.command("list")
def list_definitions(ctx: typer.Context) -> None:
    """Lists the insight catalogue."""
    cli = cli_context(ctx)
    response = cli.call(lambda s: s.insights.ListInsightDefinitions(pb.ListInsightDefinitionsRequest()))
    if cli.json_output:
        emit_json([as_dict(d) for d in response.insight_definitions])
        return
    emit_table("insights", ["name", "trigger", "frequency", "thresholds"], [
        [d.insight_name, pb.TriggerType.Name(d.trigger_type).removeprefix("TRIGGER_TYPE_"),
         pb.Frequency.Name(d.frequency).removeprefix("FREQUENCY_"),
         ", ".join(f"{t.name} {t.minimum}-{t.maximum} (default {t.default_value})" for t in d.thresholds)]
        for d in response.insight_definitions])


@app.command("trigger")
def trigger(ctx: typer.Context, customer: str = typer.Option("", help="Customer id (a user token: its own)."),
            insight: list[str] = typer.Option([], help="Insight name; repeat for several (default: all scheduled)."),
            as_of: str | None = typer.Option(None, help="Evaluate as of YYYY-MM-DD (default: today).")) -> None:
    """Evaluates a user's scheduled insights now and shows what was generated."""
    cli = cli_context(ctx)
    request = pb.TriggerInsightsRequest(customer_id=customer, insight_names=insight)
    day = _date(as_of, "--as-of")
    if day:
        request.as_of.CopyFrom(day)
    response = cli.call(lambda s: s.insights.TriggerInsights(request))
    _emit_items("generated", list(response.generated), cli.json_output)


@app.command("feed")
def feed(ctx: typer.Context, customer: str = typer.Option("", help="Customer id (a user token: its own)."),
         insight: list[str] = typer.Option([], help="Only these insights."),
         limit: int = typer.Option(50, min=1, help="At most this many items, newest first.")) -> None:
    """Shows a user's valid feed items, newest first."""
    cli = cli_context(ctx)

    async def fetch(stubs):  # type: ignore[no-untyped-def]
        async def page(size: int, token: str) -> tuple[list[pb.FeedItem], str]:
            response = await stubs.insights.GetFeed(pb.GetFeedRequest(
                customer_id=customer, insight_names=insight, page_size=size, page_token=token))
            return list(response.feed), response.next_page_token
        return await collect(page, limit)

    _emit_items(f"feed of {customer or 'me'}", cli.call(fetch), cli.json_output)


def _emit_batch(batch: pb.InsightBatch, json_output: bool) -> None:
    if json_output:
        emit_json(as_dict(batch))
        return
    emit_table("insight batch", ["id", "as of", "state", "chunks", "users", "items"], [[
        batch.batch_id, f"{batch.as_of.year:04d}-{batch.as_of.month:02d}-{batch.as_of.day:02d}",
        pb.BatchState.Name(batch.state).removeprefix("BATCH_STATE_"), f"{batch.done_chunks}/{batch.total_chunks}",
        batch.users_evaluated, batch.items_generated]])


@app.command("run-batch")
def run_batch(ctx: typer.Context, as_of: str | None = typer.Option(None, help="As of YYYY-MM-DD (default: today)."),
              chunk_size: int = typer.Option(2500, min=1, max=10000, help="Users per worker job."),
              wait: bool = typer.Option(False, help="Wait until the workers have finished it."),
              ) -> None:
    """Starts the scheduled evaluation of every subscribed user (what the 1st-of-month cron does)."""
    cli = cli_context(ctx)
    request = pb.RunInsightBatchRequest(chunk_size=chunk_size)
    day = _date(as_of, "--as-of")
    if day:
        request.as_of.CopyFrom(day)

    async def run(stubs):  # type: ignore[no-untyped-def]
        batch = await stubs.insights.RunInsightBatch(request)
        while wait and batch.state != pb.BATCH_STATE_SUCCEEDED:
            await asyncio.sleep(0.5)
            batch = await stubs.insights.GetInsightBatch(pb.GetInsightBatchRequest(name=batch.name))
        return batch

    _emit_batch(cli.call(run), cli.json_output)


@app.command("batch")
def batch_status(ctx: typer.Context, batch_id: str = typer.Argument(...)) -> None:
    """Shows a batch's progress."""
    cli = cli_context(ctx)
    batch = cli.call(lambda s: s.insights.GetInsightBatch(pb.GetInsightBatchRequest(name=f"insightBatches/{batch_id}")))
    _emit_batch(batch, cli.json_output)
