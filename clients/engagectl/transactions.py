from __future__ import annotations

import datetime as dt

import typer

from clients.engagectl.context import cli_context
from clients.engagectl.money import show_money
from clients.engagectl.output import as_dict, emit_json, emit_table
from clients.engagectl.paging import collect
from engage.ingest.v1 import ingest_service_pb2 as pb
from engage.type.v1 import date_pb2

app = typer.Typer(no_args_is_help=True, help="Transactions ingested from the bank.")


def _date(text: str | None, option: str) -> date_pb2.Date | None:
    if not text:
        return None
    try:
        day = dt.date.fromisoformat(text)
    except ValueError as exc:
        raise typer.BadParameter(f"{text!r} is not a date (YYYY-MM-DD)", param_hint=option) from exc
    return date_pb2.Date(year=day.year, month=day.month, day=day.day)


@app.command("list")
def list_transactions(ctx: typer.Context,
                      account: str = typer.Option(..., help="Account id."),
                      since: str | None = typer.Option(None, "--from", help="First posting date, YYYY-MM-DD."),
                      until: str | None = typer.Option(None, "--to", help="Last posting date, YYYY-MM-DD."),
                      limit: int = typer.Option(50, min=1, help="At most this many (newest first)."),
                      ) -> None:
    """Lists an account's transactions, newest first."""
    cli = cli_context(ctx)
    date_range = pb.ListTransactionsRequest().date_range
    start, end = _date(since, "--from"), _date(until, "--to")
    if start:
        date_range.start_date.CopyFrom(start)
    if end:
        date_range.end_date.CopyFrom(end)

    async def fetch(stubs):  # type: ignore[no-untyped-def]
        async def page(size: int, token: str) -> tuple[list[pb.Transaction], str]:
            request = pb.ListTransactionsRequest(parent=f"accounts/{account}", page_size=size, page_token=token)
            if start or end:
                request.date_range.CopyFrom(date_range)
            response = await stubs.ingest.ListTransactions(request)
            return list(response.transactions), response.next_page_token
        return await collect(page, limit)

    transactions = cli.call(fetch)
    if cli.json_output:
        emit_json([as_dict(t) for t in transactions])
        return
    emit_table(f"transactions of {account}", ["id", "posted", "direction", "amount", "balance after", "description",
                                              "category"], [
        [t.transaction_id, t.post_time.ToDatetime(tzinfo=dt.UTC).isoformat(timespec="minutes"),
         pb.Direction.Name(t.direction).removeprefix("DIRECTION_"), show_money(t.amount),
         show_money(t.running_balance) if t.HasField("running_balance") else "", t.description, t.category]
        for t in transactions])
