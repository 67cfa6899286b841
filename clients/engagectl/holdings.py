"""engagectl holdings: loans, cards and other products a customer holds besides accounts."""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import typer

from clients.batching import chunks
from clients.engagectl.context import cli_context
from clients.engagectl.dates import date_text, date_value
from clients.engagectl.engagement_common import label, pairs
from clients.engagectl.money import money, show_money
from clients.engagectl.output import Column, CommandFailed, Id, Wide, emit_list, emit_record, enum_number
from clients.engagectl.paging import Paging, all_option, limit_option, page_token_option
from clients.ingest_writer import UPSERT_BATCH
from clients.stubs import Stubs
from engage.ingest.v1 import ingest_service_pb2 as pb

app = typer.Typer(no_args_is_help=True, help="Holdings (loans, cards, insurance, overdraft protection): list, upsert.")
COLUMNS: list[str | Column] = [Id("holding"), Id("customer"), Id("account"), "kind", "amount", "since",
                               Wide("attributes")]
# The fields of one holding in a file, as the options name them.
FILE_FIELDS = ("holding_id", "kind", "customer_id", "account_id", "amount", "currency", "start_date", "attributes")


def row(h: pb.Holding) -> list[str]:
    return [h.holding_id, h.customer_id, h.account_id, label(pb.HoldingKind, h.kind),
            show_money(h.amount) if h.HasField("amount") else "", date_text(h.start_date),
            ", ".join(f"{k}={v}" for k, v in sorted(h.attributes.items()))]


def holding(fields: dict[str, Any], where: str) -> pb.Holding:
    """One holding from its fields (a file's line or the options); ValueError says what is wrong."""
    unknown = sorted(set(fields) - set(FILE_FIELDS))
    if unknown:
        raise ValueError(f"{where}: unknown field(s) {', '.join(unknown)} (fields: {', '.join(FILE_FIELDS)})")
    if not fields.get("holding_id"):
        raise ValueError(f"{where}: holding_id is required")
    try:
        kind = enum_number(pb.HoldingKind, str(fields.get("kind") or ""))
    except ValueError as exc:
        raise ValueError(f"{where}: kind {exc}") from exc
    made = pb.Holding(holding_id=str(fields["holding_id"]), kind=kind, customer_id=str(fields.get("customer_id") or ""),
                      account_id=str(fields.get("account_id") or ""),
                      attributes={str(k): str(v) for k, v in (fields.get("attributes") or {}).items()})
    if fields.get("amount") not in (None, ""):
        try:
            made.amount.CopyFrom(money(Decimal(str(fields["amount"])), str(fields.get("currency") or "")))
        except InvalidOperation as exc:
            raise ValueError(f"{where}: amount {fields['amount']!r} is not a decimal number") from exc
    if fields.get("start_date"):
        try:
            start = date_value(str(fields["start_date"]), "start_date")
        except typer.BadParameter as exc:
            raise ValueError(f"{where}: start_date {fields['start_date']!r} is not a date (YYYY-MM-DD)") from exc
        assert start is not None
        made.start_date.CopyFrom(start)
    return made


def read_holdings(path: Path) -> list[pb.Holding]:
    """A JSON Lines file (one holding per line) or a JSON array of holdings."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CommandFailed(f"cannot read {path}: {exc}") from exc
    try:
        if text.lstrip().startswith("["):
            documents = [(f"{path.name} item {i + 1}", d) for i, d in enumerate(json.loads(text))]
        else:
            documents = [(f"{path.name} line {n}", json.loads(line)) for n, line in enumerate(text.splitlines(), 1)
                         if line.strip()]
        return [holding(d, where) if isinstance(d, dict) else _not_an_object(where) for where, d in documents]
    except (ValueError, RecursionError) as exc:  # json.JSONDecodeError is a ValueError
        raise CommandFailed(str(exc) if not isinstance(exc, RecursionError) else "nested too deeply") from exc


def _not_an_object(where: str) -> pb.Holding:
    raise ValueError(f"{where}: not a JSON object")


@app.command("list")
def list_holdings(ctx: typer.Context,
                  customer: str = typer.Option("", metavar="CUSTOMER_ID", help="Only this customer's holdings."),
                  limit: int = limit_option(100, "holdings"), page_token: str = page_token_option(),
                  every_page: bool = all_option()) -> None:
    """Lists holdings, ordered by id.

    Examples:
      engagectl holdings list --customer demo-c0001
      engagectl holdings list --all -o json
    """
    cli = cli_context(ctx)

    async def page(stubs: Stubs, size: int, token: str) -> tuple[list[pb.Holding], str]:
        response = await stubs.ingest.ListHoldings(pb.ListHoldingsRequest(
            customer_id=customer, page_size=size, page_token=token))
        return list(response.holdings), response.next_page_token

    listed = cli.list(page, Paging(limit, page_token, every_page))
    emit_list("holdings", COLUMNS, listed.items, row, listed.next_page_token)


@app.command("upsert")
def upsert(ctx: typer.Context,
           holding_id: str = typer.Argument("", metavar="HOLDING_ID", show_default=False,
                                            help="The bank's id for it (not with --file)."),
           file: Path | None = typer.Option(None, "--file", metavar="FILE", dir_okay=False,
                                            help="Holdings from a JSON Lines file (or a JSON array), with the "
                                                 "fields " + ", ".join(FILE_FIELDS) + "."),
           kind: str = typer.Option("", metavar="KIND", help="LOAN, CARD, INSURANCE, OVERDRAFT_PROTECTION or OTHER."),
           customer: str = typer.Option("", metavar="CUSTOMER_ID", help="Who holds it."),
           account: str = typer.Option("", metavar="ACCOUNT_ID", help="The account it is tied to, if any."),
           amount: str = typer.Option("", metavar="AMOUNT", help="A loan's principal, a card's limit."),
           currency: str = typer.Option("", metavar="CURRENCY", help="The amount's ISO 4217 code."),
           start_date: str = typer.Option("", metavar="DATE", help="YYYY-MM-DD."),
           attribute: list[str] = typer.Option([], metavar="KEY=VALUE", help="An attribute; repeat.")) -> None:
    """Creates or replaces holdings: one from the options, or every one in a file (all or none per 1000).

    Needs a `service` token.

    Examples:
      engagectl holdings upsert demo-h0001 --kind LOAN --customer demo-c0001 --amount 250000 --currency CZK
      engagectl holdings upsert --file tests/data/records/holdings.jsonl
    """
    cli = cli_context(ctx)
    if file is not None and holding_id:
        raise typer.BadParameter("give HOLDING_ID with options, or --file, not both", param_hint="--file")
    if file is None and not holding_id:
        raise typer.BadParameter("give HOLDING_ID (with --kind) or --file", param_hint="HOLDING_ID")
    if file is not None:
        holdings = read_holdings(file)
    else:
        fields = {"holding_id": holding_id, "kind": kind, "customer_id": customer, "account_id": account,
                  "amount": amount, "currency": currency, "start_date": start_date,
                  "attributes": pairs(attribute, "--attribute")}
        try:
            holdings = [holding(fields, "options")]
        except ValueError as exc:
            raise typer.BadParameter(str(exc).removeprefix("options: ")) from exc

    async def send(stubs: Stubs) -> int:
        upserted = 0
        for chunk in chunks(holdings, UPSERT_BATCH):
            response = await stubs.ingest.BatchUpsertHoldings(pb.BatchUpsertHoldingsRequest(holdings=chunk))
            upserted += response.upserted_count
        return upserted

    emit_record("holdings upserted", {"upserted": cli.call(send)})
