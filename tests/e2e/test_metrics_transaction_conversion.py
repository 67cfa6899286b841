"""QueryMetrics counts an offer banner converted by a booked transaction its customer made that the
offered product's conversion match accepts, on the day of the first impression or within
`conversion_days` after it (docs/reporting-metrics.md, "Conversion"): through gRPC, on both databases.

Every banner below has a rule of its own, so each rule's row shows whether that one banner converted.
Banners are made on 2 February 2026 and first seen on 3 February at 08:00 UTC: the 30-day window runs
from 3 February to 5 March inclusive.
"""

import datetime as dt
import json
import uuid

import grpc
import pytest

from engage.ingest.v1 import ingest_service_pb2 as ingest_pb2
from engage.products.v1 import products_service_pb2 as products_pb2
from engage.reporting.v1 import metrics_pb2 as pb
from engage.type.v1 import date_pb2
from server.domain.auth import Role
from server.store.models import HoldingRow
from server.store.triggers_models import BannerRow
from server.store.uow import UnitOfWork
from tests.support.builders import failure, seed_accounts, stream, transaction
from tests.support.metrics_seed import at

pytestmark = pytest.mark.sqlite_too  # the conversion SQL has a SQLite form of its own

FEBRUARY = date_pb2.DateRange(start_date=date_pb2.Date(year=2026, month=2, day=1),
                              end_date=date_pb2.Date(year=2026, month=2, day=28))
CARD_FEE = products_pb2.ConversionMatch(category="Card Fee",
                                        direction=products_pb2.ConversionMatch.DIRECTION_DEBIT)
SAVINGS_PLAN = products_pb2.ConversionMatch(description_contains="savings PLAN")


def _banner(rule: str, customer: str, product: str, first_seen: str = "2026-02-03T08:00:00") -> BannerRow:
    return BannerRow(banner_id=f"b-{rule}", customer_id=customer, rule_id=rule, version=1, firing_id=f"f-{rule}",
                     title="t", body="b", cta_label="c", cta_url="https://bank.example/x", product_id=product,
                     created_at=at("2026-02-02T09:00:00"), expires_at=at("2026-03-30T00:00:00"), impressions=1,
                     clicks=0, first_seen_at=at(first_seen))


async def _create_product(server, tenant: str, product_id: str, match: products_pb2.ConversionMatch | None = None
                          ) -> products_pb2.Product:
    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "ana")) as admin:
        return await admin.products.CreateProduct(products_pb2.CreateProductRequest(
            product_id=product_id, product=products_pb2.Product(display_name=product_id, conversion_match=match)))


async def _store(services, tenant: str, *rows: object) -> None:
    async with UnitOfWork(services.database, tenant) as uow:
        for row in rows:
            row.tenant_id = tenant  # type: ignore[attr-defined]
            uow.session.add(row)
        await uow.commit()


def _posted(when: str, account: str, transaction_id: str, *, category: str = "", description: str = "",
            direction: str = "DEBIT") -> ingest_pb2.Transaction:
    message = transaction(transaction_id, account, "12.50", direction, category=category, description=description)
    message.post_time.FromDatetime(at(when))
    return message


async def _ingest(stubs, *transactions: ingest_pb2.Transaction) -> None:
    response = await stubs.ingest.IngestTransactions(stream(transactions))
    assert not response.rejected, response.rejected


async def _converted(server, tenant: str, **fields) -> dict[str, int]:
    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "lisa")) as admin:
        response = await admin.reporting.QueryMetrics(pb.QueryMetricsRequest(
            dimension=pb.METRIC_DIMENSION_RULE, date_range=FEBRUARY, **fields))
    assert not response.next_page_token
    return {row.value: row.converted for row in response.rows}


@pytest.fixture
async def bank(server, services, tenant):
    await _create_product(server, tenant, "gold-card", CARD_FEE)
    await _create_product(server, tenant, "savings-plus", SAVINGS_PLAN)
    await _create_product(server, tenant, "plain")
    async with server.stubs(server.token(tenant, Role.SERVICE, "loader")) as stubs:
        for number in range(1, 14):
            await seed_accounts(stubs, f"c{number}", f"c{number}-chk", f"c{number}-sav")
        yield stubs


async def test_a_matching_transaction_in_the_window_converts_the_banner(server, services, tenant, bank):
    await _store(services, tenant,
                 _banner("inside", "c1", "gold-card"), _banner("first-day", "c2", "gold-card"),
                 _banner("last-day", "c3", "gold-card"), _banner("after", "c4", "gold-card"),
                 _banner("before", "c5", "gold-card"), _banner("savings", "c6", "savings-plus"),
                 _banner("unseen", "c7", "gold-card", first_seen="2026-02-03T08:00:00"))
    async with UnitOfWork(services.database, tenant) as uow:  # c7's banner was never seen
        banner = await uow.session.get(BannerRow, (tenant, "b-unseen"))
        assert banner is not None
        banner.first_seen_at, banner.impressions = None, 0
        await uow.commit()
    await _ingest(bank,
                  # Category and description compare case-blind; on the savings account as well.
                  _posted("2026-02-10T12:00:00", "c1-sav", "t1", category="CARD FEE"),
                  # Before the first impression, on its day.
                  _posted("2026-02-03T00:30:00", "c2-chk", "t2", category="card fee"),
                  _posted("2026-03-05T23:59:00", "c3-chk", "t3", category="Card Fee"),
                  _posted("2026-03-06T00:00:00", "c4-chk", "t4", category="Card Fee"),
                  _posted("2026-02-02T23:59:59", "c5-chk", "t5", category="Card Fee"),
                  _posted("2026-02-04T09:00:00", "c6-chk", "t6", description="Monthly SAVINGS plan top-up",
                          direction="CREDIT"),
                  _posted("2026-02-04T09:00:00", "c7-chk", "t7", category="Card Fee"))
    assert await _converted(server, tenant) == {
        "inside": 1, "first-day": 1, "last-day": 1, "after": 0, "before": 0, "savings": 1, "unseen": 0}
    # A window of 31 days reaches c4's fee on 6 March.
    assert (await _converted(server, tenant, conversion_days=31))["after"] == 1


async def test_other_customers_other_banks_and_other_transactions_do_not_convert(server, services, tenant, bank):
    await _store(services, tenant,
                 _banner("other-customer", "c1", "gold-card"), _banner("other-category", "c2", "gold-card"),
                 _banner("other-direction", "c3", "gold-card"), _banner("other-description", "c4", "savings-plus"),
                 _banner("other-bank", "c5", "gold-card"))
    await _ingest(bank,
                  _posted("2026-02-10T12:00:00", "c9-chk", "t1", category="Card Fee"),  # c9's, not c1's
                  _posted("2026-02-10T12:00:00", "c2-chk", "t2", category="Card Fees"),
                  _posted("2026-02-10T12:00:00", "c3-chk", "t3", category="Card Fee", direction="CREDIT"),
                  _posted("2026-02-10T12:00:00", "c4-chk", "t4", description="savings"))
    # Another bank with the same ids: c5's matching fee there is not this bank's c5's.
    other = (await services.tenants.create(f"other-{uuid.uuid4().hex[:8]}")).tenant_id
    await _create_product(server, other, "gold-card", CARD_FEE)
    async with server.stubs(server.token(other, Role.SERVICE, "loader")) as stubs:
        await seed_accounts(stubs, "c5", "c5-chk")
        await _ingest(stubs, _posted("2026-02-10T12:00:00", "c5-chk", "t5", category="Card Fee"))
    assert await _converted(server, tenant) == {
        "other-customer": 0, "other-category": 0, "other-direction": 0, "other-description": 0, "other-bank": 0}


async def test_a_banner_converted_both_ways_counts_once(server, services, tenant, bank):
    await _store(services, tenant, _banner("both", "c1", "gold-card"),
                 HoldingRow(holding_id="h1", kind="CARD", customer_id="c1", attributes={"product_id": "gold-card"},
                            start_date=dt.date(2026, 2, 5), updated_at=at("2026-02-05T00:00:00")))
    await _ingest(bank, _posted("2026-02-06T12:00:00", "c1-chk", "t1", category="Card Fee"),
                  _posted("2026-02-07T12:00:00", "c1-sav", "t2", category="Card Fee"))
    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "lisa")) as admin:
        [both] = (await admin.reporting.QueryMetrics(pb.QueryMetricsRequest(
            dimension=pb.METRIC_DIMENSION_RULE, date_range=FEBRUARY, values=["both"]))).rows
    assert (both.generated, both.converted, both.conversion_rate) == (1, 1, "1.0000")


async def test_a_product_without_a_match_converts_by_holdings_only(server, services, tenant, bank):
    await _store(services, tenant, _banner("plain-held", "c1", "plain"), _banner("plain-paid", "c2", "plain"),
                 HoldingRow(holding_id="h1", kind="CARD", customer_id="c1", attributes={"product_id": "plain"},
                            start_date=dt.date(2026, 2, 10), updated_at=at("2026-02-10T00:00:00")))
    await _ingest(bank, _posted("2026-02-10T12:00:00", "c2-chk", "t1", category="plain", description="plain"),
                  _posted("2026-02-10T12:00:00", "c2-sav", "t2"))
    assert await _converted(server, tenant) == {"plain-held": 1, "plain-paid": 0}


async def test_the_match_is_set_read_changed_and_removed_through_the_api(server, services, tenant, bank):
    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "ana")) as admin:
        got = await admin.products.GetProduct(products_pb2.GetProductRequest(name="products/gold-card"))
        assert (got.conversion_match.category, got.conversion_match.description_contains,
                got.conversion_match.direction) == ("Card Fee", "", products_pb2.ConversionMatch.DIRECTION_DEBIT)
        assert not (await admin.products.GetProduct(products_pb2.GetProductRequest(
            name="products/plain"))).HasField("conversion_match")

        def update(match: products_pb2.ConversionMatch | None, *paths: str):
            return admin.products.UpdateProduct(products_pb2.UpdateProductRequest(
                product=products_pb2.Product(name="products/plain", display_name="Plain account",
                                             conversion_match=match), update_mask={"paths": list(paths)}))

        # Blanks around the texts go; the display name stays unless the mask names it.
        changed = await update(products_pb2.ConversionMatch(description_contains="  plain fee "), "conversion_match")
        assert (changed.display_name, changed.conversion_match.description_contains) == ("plain", "plain fee")
        await _store(services, tenant, _banner("plain-paid", "c2", "plain"))
        await _ingest(bank, _posted("2026-02-10T12:00:00", "c2-chk", "t1", description="PLAIN FEE February"))
        assert await _converted(server, tenant) == {"plain-paid": 1}

        removed = await update(None, "conversion_match", "display_name")
        assert (removed.display_name, removed.HasField("conversion_match")) == ("Plain account", False)
        assert await _converted(server, tenant) == {"plain-paid": 0}


async def test_a_match_that_would_accept_any_payment_is_refused(server, tenant):
    invalid = grpc.StatusCode.INVALID_ARGUMENT, "PRODUCT_CONVERSION_MATCH_INVALID"
    match = products_pb2.ConversionMatch
    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "ana")) as admin:
        async def refused(conversion_match: products_pb2.ConversionMatch) -> tuple[object, ...]:
            return await failure(admin.products.CreateProduct(products_pb2.CreateProductRequest(
                product_id="gold-card", product=products_pb2.Product(display_name="Gold",
                                                                      conversion_match=conversion_match))))

        assert await refused(match()) == (*invalid, ["product.conversion_match"])
        assert await refused(match(category="   ", direction=match.DIRECTION_DEBIT)) == (
            *invalid, ["product.conversion_match"])
        assert await refused(match(category="x" * 129, description_contains="y" * 201)) == (
            *invalid, ["product.conversion_match.category", "product.conversion_match.description_contains"])
        assert await refused(match(category="fee", direction=7)) == (*invalid, ["product.conversion_match.direction"])
        assert await refused(match(category="fee\x00")) == (*invalid, ["product.conversion_match.category"])
        # Nothing was created by the refusals; on update the same rule holds.
        created = await admin.products.CreateProduct(products_pb2.CreateProductRequest(
            product_id="gold-card", product=products_pb2.Product(display_name="Gold")))
        assert not created.HasField("conversion_match")
        assert await failure(admin.products.UpdateProduct(products_pb2.UpdateProductRequest(
            product=products_pb2.Product(name="products/gold-card", conversion_match=match(
                direction=match.DIRECTION_CREDIT)), update_mask={"paths": ["conversion_match"]}))) == (
            *invalid, ["product.conversion_match"])
        assert (await failure(admin.products.UpdateProduct(products_pb2.UpdateProductRequest(
            product=products_pb2.Product(name="products/gold-card"), update_mask={"paths": ["latest_version_number"]}
        ))))[:2] == (grpc.StatusCode.INVALID_ARGUMENT, "UPDATE_MASK_INVALID")
    async with server.stubs(server.token(tenant, Role.SERVICE, "loader")) as service:
        assert (await failure(service.products.UpdateProduct(products_pb2.UpdateProductRequest(
            product=products_pb2.Product(name="products/gold-card", display_name="Mine"),
            update_mask={"paths": ["display_name"]}))))[:2] == (grpc.StatusCode.PERMISSION_DENIED, "ROLE_NOT_ALLOWED")


async def test_engagectl_sets_and_removes_the_match(server, tenant, engagectl):
    token = server.token(tenant, Role.BANK_ADMIN, "ana")
    created = await engagectl("products", "create", "gold-card", "--name", "Gold card", "--match-category",
                              "CARD_FEE", "--match-direction", "debit", "--json", token=token)
    assert created.exit_code == 0, created.stderr
    assert json.loads(created.stdout)["conversion_match"] == {
        "category": "CARD_FEE", "description_contains": "", "direction": "DEBIT"}
    changed = await engagectl("products", "update", "gold-card", "--match-description", "gold card", "--json",
                              token=token)
    assert changed.exit_code == 0, changed.stderr
    assert json.loads(changed.stdout)["conversion_match"] == {
        "category": "", "description_contains": "gold card", "direction": "UNSPECIFIED"}
    removed = await engagectl("products", "update", "gold-card", "--no-conversion-match", "--json", token=token)
    assert removed.exit_code == 0, removed.stderr
    assert "conversion_match" not in json.loads(removed.stdout)
    wrong = await engagectl("products", "update", "gold-card", "--match-direction", "sideways", token=token)
    assert wrong.exit_code == 2


async def test_the_window_is_the_tenants_days(server, services, database_url):
    if database_url.startswith("sqlite"):
        pytest.skip("SQLite knows no time zones: its days are UTC's (docs/reporting-metrics.md)")
    new_york = (await services.tenants.create(f"ny-{uuid.uuid4().hex[:8]}", None, "America/New_York")).tenant_id
    await _create_product(server, new_york, "gold-card", CARD_FEE)
    # First seen at 22:00 on 2 February in New York: the window is 2 February to 4 March there.
    await _store(services, new_york, *(_banner(rule, customer, "gold-card", first_seen="2026-02-03T03:00:00")
                                       for rule, customer in (("morning", "c1"), ("last-evening", "c2"),
                                                              ("next-midnight", "c3"))))
    async with server.stubs(server.token(new_york, Role.SERVICE, "loader")) as stubs:
        for customer in ("c1", "c2", "c3"):
            await seed_accounts(stubs, customer, f"{customer}-chk")
        await _ingest(stubs,
                      _posted("2026-02-02T12:00:00", "c1-chk", "t1", category="Card Fee"),  # 07:00, 2 February
                      _posted("2026-03-05T04:59:00", "c2-chk", "t2", category="Card Fee"),  # 23:59, 4 March
                      _posted("2026-03-05T05:00:00", "c3-chk", "t3", category="Card Fee"))  # midnight, 5 March
    assert await _converted(server, new_york) == {"morning": 1, "last-evening": 1, "next-midnight": 0}
