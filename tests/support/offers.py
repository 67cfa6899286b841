"""A bank with customers whose key indicators differ, a product, and an offer recommendation, for the
recommended-offers tests (tests/e2e/test_offers.py and the suites that call every RPC)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from google.protobuf import duration_pb2

from clients.berka.records import date_message
from clients.engagectl.money import money
from engage.ingest.v1 import ingest_service_pb2 as ipb
from engage.products.v1 import products_service_pb2 as ppb
from engage.triggers.v1 import offers_service_pb2 as pb
from server.services.derived_attributes import DerivedAttributesService
from tests.support.builders import account, customer

PRODUCT = "products/premium-savings"
CRITERIA = "avg_collected_balance >= 2500 AND NOT holds('LOAN')"
# customer -> the end-of-day balance fed ten days ago (held through today, so it is their average).
BALANCES = {"rich": "3000.00", "rich_borrower": "4000.00", "modest": "900.00", "edge": "2500.00"}


async def add_customers(service_stubs: Any, balances: dict[str, str] = BALANCES) -> None:
    """Customers with a deposit account and a fed balance; `rich_borrower` holds a loan."""
    day = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=10)
    ingest = service_stubs.ingest
    await ingest.BatchUpsertCustomers(ipb.BatchUpsertCustomersRequest(customers=[customer(c) for c in balances]))
    await ingest.BatchUpsertAccounts(ipb.BatchUpsertAccountsRequest(accounts=[
        account(f"{c}-chk", c, open_date=date_message(day - dt.timedelta(days=400))) for c in balances]))
    await ingest.RecordBalances(ipb.RecordBalancesRequest(balances=[
        ipb.DailyBalance(account_id=f"{c}-chk", date=date_message(day), balance=money(b, "EUR"))
        for c, b in balances.items()]))
    if "rich_borrower" in balances:
        await ingest.BatchUpsertHoldings(ipb.BatchUpsertHoldingsRequest(holdings=[ipb.Holding(
            holding_id="loan-1", kind=ipb.HOLDING_KIND_LOAN, customer_id="rich_borrower")]))


async def derive_attributes(services: Any, tenant: str) -> None:
    """What the hourly refresh does for the tenant: avg_collected_balance and the others, as of today."""
    await DerivedAttributesService(services.database, services.publisher).refresh_tenant(tenant)


async def add_product(admin: Any, product: str = PRODUCT) -> None:
    await admin.products.CreateProduct(ppb.CreateProductRequest(
        product_id=product.removeprefix("products/"), product=ppb.Product(display_name="Premium savings")))


def recommendation(criteria: str = CRITERIA, product: str = PRODUCT, audience: str = "",
                   hours: int = 24 * 14) -> pb.OfferRecommendation:
    return pb.OfferRecommendation(
        display_name="Savers without a loan", product=product, criteria=criteria, audience=audience,
        banner=pb.OfferBanner(title="Earn more on your savings", body="Premium savings pays 3% a year.",
                              call_to_action_label="Open now", call_to_action_url="https://bank.example/premium",
                              lifetime=duration_pb2.Duration(seconds=hours * 3600)))


async def create_recommendation(admin: Any, recommendation_id: str = "rich_savers", **fields: Any
                                ) -> pb.OfferRecommendation:
    return await admin.offers.CreateOfferRecommendation(pb.CreateOfferRecommendationRequest(
        offer_recommendation_id=recommendation_id, offer_recommendation=recommendation(**fields)))
