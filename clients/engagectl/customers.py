"""engagectl customers: the bank's customers, and one customer's whole picture on one screen."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import grpc
import typer

from clients.engagectl import accounts as account_view
from clients.engagectl import deliveries as delivery_view
from clients.engagectl import holdings as holding_view
from clients.engagectl import insights as feed_view
from clients.engagectl import transactions as transaction_view
from clients.engagectl.context import cli_context
from clients.engagectl.output import (
    Column,
    Id,
    Wide,
    as_dict,
    console,
    emit_json,
    emit_list,
    emit_record,
    emit_table,
    notice,
)
from clients.engagectl.paging import Paging, all_option, limit_option, page_token_option
from clients.stubs import Stubs
from engage.engagement.v1 import engagement_service_pb2 as engagement_pb
from engage.ingest.v1 import ingest_service_pb2 as pb
from engage.insights.v1 import insights_service_pb2 as insights_pb
from engage.subscriptions.v1 import subscriptions_service_pb2 as subscriptions_pb

T = TypeVar("T")

app = typer.Typer(no_args_is_help=True, help="Customers: list, get, show (everything about one).")
COLUMNS: list[str | Column] = [Id("customer"), "attributes", "updated", Wide("created")]
# A customer's accounts shown by `show` (more are counted, not listed).
SHOWN_ACCOUNTS = 100


def _time(stamp: Any) -> str:
    return stamp.ToDatetime(tzinfo=dt.UTC).isoformat(timespec="seconds") if stamp.seconds else ""


def row(c: pb.Customer) -> list[str]:
    return [c.customer_id, ", ".join(f"{k}={v}" for k, v in sorted(c.attributes.items())), _time(c.update_time),
            _time(c.create_time)]


def _customer_name(customer_id: str) -> str:
    return customer_id if customer_id.startswith("customers/") else f"customers/{customer_id}"


@app.command("list")
def list_customers(ctx: typer.Context, limit: int = limit_option(100, "customers"),
                   page_token: str = page_token_option(), every_page: bool = all_option()) -> None:
    """Lists customers, ordered by id.

    Examples:
      engagectl customers list
      engagectl customers list --all -o json
    """
    cli = cli_context(ctx)

    async def page(stubs: Stubs, size: int, token: str) -> tuple[list[pb.Customer], str]:
        response = await stubs.ingest.ListCustomers(pb.ListCustomersRequest(page_size=size, page_token=token))
        return list(response.customers), response.next_page_token

    listed = cli.list(page, Paging(limit, page_token, every_page))
    emit_list("customers", COLUMNS, listed.items, row, listed.next_page_token)


CUSTOMER_ID = typer.Argument(..., metavar="CUSTOMER_ID", help="Id or customers/ID.")


@app.command("get")
def get(ctx: typer.Context, customer_id: str = CUSTOMER_ID) -> None:
    """Shows one customer, every field (its attributes too).

    Examples:
      engagectl customers get demo-c0001
      engagectl customers get demo-c0001 --json
    """
    cli = cli_context(ctx)
    emit_record("customer", cli.call(lambda s: s.ingest.GetCustomer(pb.GetCustomerRequest(
        name=_customer_name(customer_id)))))


# ---- show: one screen ----------------------------------------------------------------------------

@dataclass
class Picture:
    """Everything `show` found about one customer; a section the server refused (a user token cannot
    list deliveries, a bank_admin cannot read a user's subscriptions) is kept with the reason."""

    customer: pb.Customer
    sections: dict[str, list[Any]] = field(default_factory=dict)
    unavailable: dict[str, str] = field(default_factory=dict)
    more_accounts: bool = False


async def _section(picture: Picture, title: str, fetch: Awaitable[list[T]]) -> list[T]:
    try:
        found = await fetch
    except grpc.aio.AioRpcError as error:
        picture.unavailable[title] = f"{error.code().name}: {' '.join((error.details() or '').split())}"
        found = []
    picture.sections[title] = found
    return found


async def _recent_transactions(stubs: Stubs, accounts: Sequence[pb.Account], count: int) -> list[pb.Transaction]:
    """The newest `count` across the accounts: each account's newest `count`, merged."""
    pages = await asyncio.gather(*(stubs.ingest.ListTransactions(pb.ListTransactionsRequest(
        parent=f"accounts/{a.account_id}", page_size=count)) for a in accounts))
    merged = [t for page in pages for t in page.transactions]
    merged.sort(key=lambda t: (t.post_time.seconds, t.post_time.nanos, t.transaction_id), reverse=True)
    return merged[:count]


async def _user_subscriptions(stubs: Stubs, customer_id: str) -> list[subscriptions_pb.InsightSubscription]:
    response = await stubs.subscriptions.GetUserSubscriptions(
        subscriptions_pb.GetUserSubscriptionsRequest(customer_id=customer_id))
    return list(response.user_subscription)


async def _picture(stubs: Stubs, customer_id: str, count: int) -> Picture:
    picture = Picture(await stubs.ingest.GetCustomer(pb.GetCustomerRequest(name=_customer_name(customer_id))))
    customer_id = picture.customer.customer_id

    async def listed(call: Callable[[], Awaitable[Any]], items: str) -> list[Any]:
        return list(getattr(await call(), items))

    async def accounts() -> list[pb.Account]:
        response = await stubs.ingest.ListAccounts(pb.ListAccountsRequest(customer_id=customer_id,
                                                                          page_size=SHOWN_ACCOUNTS))
        picture.more_accounts = bool(response.next_page_token)
        return list(response.accounts)

    # Named one by one: mypy cannot type a starred target of gather()'s tuple.
    found_accounts, _holdings, _feed, _subscriptions, _deliveries = await asyncio.gather(
        _section(picture, "accounts", accounts()),
        _section(picture, "holdings", listed(lambda: stubs.ingest.ListHoldings(pb.ListHoldingsRequest(
            customer_id=customer_id, page_size=count)), "holdings")),
        _section(picture, "feed", listed(lambda: stubs.insights.GetFeed(insights_pb.GetFeedRequest(
            customer_id=customer_id, page_size=count)), "feed")),
        _section(picture, "subscriptions", _user_subscriptions(stubs, customer_id)),
        _section(picture, "deliveries", listed(lambda: stubs.engagement.ListDeliveries(
            engagement_pb.ListDeliveriesRequest(customer_id=customer_id, page_size=count)), "deliveries")))
    await _section(picture, "recent_transactions", _recent_transactions(stubs, found_accounts, count))
    return picture


SUBSCRIPTION_COLUMNS: list[str | Column] = [Id("insight"), "subscribed", "set by", "duration", "thresholds"]


def subscription_row(s: subscriptions_pb.InsightSubscription) -> list[str]:
    """The configuration in force: the user's own where there is one, the bank's otherwise."""
    own = list(s.user_configuration)
    configuration = (own or list(s.customer_configuration) or [subscriptions_pb.Configuration()])[0]
    return [s.insight_name, "yes" if configuration.is_subscribed else "no", "user" if own else "bank",
            configuration.duration, ", ".join(f"{t.name}={t.value}" for t in configuration.threshold)]


def _transaction_row(t: pb.Transaction) -> list[str]:
    return [t.account_id, *transaction_view.row(t)]


# title, columns, row of each section, in the order shown.
SECTIONS: list[tuple[str, list[str | Column], Callable[[Any], Sequence[Any]]]] = [
    ("accounts", account_view.COLUMNS, account_view.row),
    ("holdings", holding_view.COLUMNS, holding_view.row),
    ("recent_transactions", [Id("account"), *transaction_view.COLUMNS], _transaction_row),
    ("feed", feed_view.FEED_COLUMNS, feed_view.feed_row),
    ("subscriptions", SUBSCRIPTION_COLUMNS, subscription_row),
    ("deliveries", delivery_view.COLUMNS, delivery_view.row),
]


@app.command("show")
def show(ctx: typer.Context, customer_id: str = CUSTOMER_ID,
         count: int = typer.Option(10, "--count", min=1, max=1000, metavar="N",
                                   help="At most this many transactions, feed items, holdings and deliveries "
                                        "(the newest).")) -> None:
    """Shows one customer on one screen: accounts, holdings, recent transactions, insight feed,
    subscriptions and deliveries. A section the token may not read says so and the rest is shown.

    Examples:
      engagectl customers show demo-c0001
      engagectl customers show demo-c0001 --count 25 --json
    """
    cli = cli_context(ctx)
    picture = cli.call(lambda stubs: _picture(stubs, customer_id, count))
    if cli.json_output:
        emit_json({"customer": as_dict(picture.customer),
                   **{title: [as_dict(item) for item in picture.sections[title]] for title, _, _ in SECTIONS},
                   "unavailable": picture.unavailable})
        return
    emit_record(f"customer {picture.customer.customer_id}", picture.customer)
    for title, columns, to_row in SECTIONS:
        heading = title.replace("_", " ")
        if console.is_terminal:
            console.print()
        else:
            print(f"\n# {heading}")
        if title in picture.unavailable:
            notice(f"{heading}: not shown: {picture.unavailable[title]}")
            continue
        items = picture.sections[title]
        if not items and console.is_terminal:
            console.print(f"[bold]{heading}[/bold]: none")
            continue
        emit_table(heading, columns, [to_row(item) for item in items])
    if picture.more_accounts:
        notice(f"more accounts than {SHOWN_ACCOUNTS}: engagectl accounts list --customer "
               f"{picture.customer.customer_id} --all")
