"""The Product Factory through gRPC, on both databases: the reference's figures quoted for customers on
both sides of every boundary, the approval showing the reference grid's three gaps, four eyes, and
approved versions that never change (a new version is made from one instead)."""

from __future__ import annotations

import json
from decimal import Decimal

import grpc
import pytest
from google.protobuf import field_mask_pb2
from sqlalchemy import select

from engage.products.v1 import products_service_pb2 as pb
from server.domain.auth import Role
from server.domain.products.codec import terms_from_json
from server.domain.products.versions import VersionStatus
from server.rpc.convert import money_from_proto
from server.store.products_models import ProductVersionRow
from server.store.uow import UnitOfWork
from tests.support.builders import failure
from tests.support.products import (
    REFERENCE_TERMS,
    add_customer,
    approved_reference_loan,
    define_reference_facts,
    quote_request,
    terms_json,
)
from tests.unit.products.globetrotter import GLOBETROTTER_HIGH_INCOME, GLOBETROTTER_LOW_INCOME

HIGH, LOW = GLOBETROTTER_HIGH_INCOME.name, GLOBETROTTER_LOW_INCOME.name
REFERENCE_GAPS = ["monthly_income < 5000, amount in (10000, 50000]", "monthly_income = 5000",
                  "monthly_income > 5000, amount in [5000, 10000]"]


def amount(money) -> Decimal:  # type: ignore[no-untyped-def]
    return money_from_proto(money)[0]


async def _reference(server, tenant, service_stubs):  # type: ignore[no-untyped-def]
    ana = server.stubs(server.token(tenant, Role.BANK_ADMIN, "ana"))
    ben = server.stubs(server.token(tenant, Role.BANK_ADMIN, "ben"))
    await define_reference_facts(ana)
    return ana, ben


async def test_the_reference_figures_and_the_three_gaps_shown_at_approval(server, tenant, service_stubs):
    ana, ben = await _reference(server, tenant, service_stubs)
    async with ana, ben:
        approval = await approved_reference_loan(ana, ben)
        assert approval.product_version.state == pb.ProductVersion.APPROVED
        assert approval.product_version.authors == ["ana"] and approval.product_version.approver == "ben"
        assert [g.text for g in approval.coverage.gaps] == REFERENCE_GAPS
        assert not approval.coverage.overlaps and not approval.coverage.clean
        assert not approval.HasField("retired_version")
        analysed = await ben.products.AnalyzeProductVersion(pb.AnalyzeProductVersionRequest(
            name=approval.product_version.name))
        assert analysed == approval.coverage

    rich = await add_customer(service_stubs, "rich", "6000")
    modest = await add_customer(service_stubs, "modest", "4000")
    # 15,000 at an income of 6,000: 5.3%, zero commissions, life insurance, 451.59 a month.
    first = await service_stubs.products.QuoteProduct(quote_request(rich, "15000"))
    assert first.eligible and first.product_version == "products/personal-loan/versions/1"
    assert (first.pricing.interest_list, first.pricing.annual_rate) == (HIGH, "5.3")
    assert list(first.pricing.commissions) == []
    assert [(i.name, amount(i.amount), i.frequency) for i in first.pricing.insurances] == \
        [("life insurance", Decimal("7.50"), pb.MONTHLY)]
    assert amount(first.pricing.monthly_instalment) == Decimal("451.59")
    assert amount(first.pricing.monthly_payment) == Decimal("459.09")
    assert any(line.startswith(f"interest list {HIGH}: holds") for line in first.explanation)
    # 7,000 at an income of 4,000: 4.5%, 1% origination, 208.23 a month, no insurance.
    second = await service_stubs.products.QuoteProduct(quote_request(modest, "7000"))
    assert (second.pricing.interest_list, second.pricing.annual_rate) == (LOW, "4.5")
    assert [(c.name, amount(c.amount)) for c in second.pricing.commissions] == [("origination", Decimal("70.00"))]
    assert amount(second.pricing.monthly_instalment) == Decimal("208.23") and not second.pricing.insurances


@pytest.mark.parametrize(("income", "amount_asked", "expected"), [
    ("6000", "10000.01", HIGH), ("6000", "10000", None),  # the amount's boundary at 10,000: strictly above
    ("5000.01", "15000", HIGH), ("5000", "15000", None), ("5000", "7000", None), ("4999.99", "7000", LOW),
    ("4000", "5000", LOW), ("4000", "10000", LOW), ("4000", "10000.01", None),  # 5,000 - 10,000, closed
    ("4000", "4999.99", "amount limits"), ("6000", "50000.01", "amount limits"),
])
async def test_both_sides_of_every_pricing_boundary(server, tenant, service_stubs, income, amount_asked, expected):
    ana, ben = await _reference(server, tenant, service_stubs)
    async with ana, ben:
        await approved_reference_loan(ana, ben)
    who = await add_customer(service_stubs, "c", income)
    call = service_stubs.products.QuoteProduct(quote_request(who, amount_asked))
    if expected is None:
        assert (await failure(call))[:2] == (grpc.StatusCode.FAILED_PRECONDITION, "PRODUCT_NOT_PRICED")
        return
    result = await call
    if expected == "amount limits":
        assert not result.eligible and result.failing_rule == "amount limits" and not result.HasField("pricing")
        return
    assert result.eligible and result.pricing.interest_list == expected


@pytest.mark.parametrize(("changes", "failing"), [
    ({"globetrotter": False}, "Globetrotters"), ({"age": 29}, "low risk, aged 30-45"),
    ({"age": 46}, "low risk, aged 30-45"), ({"risk": "MEDIUM"}, "low risk, aged 30-45"), ({}, None),
    ({"age": 30}, None), ({"age": 45}, None),
])
async def test_availability_names_the_failing_rule(server, tenant, service_stubs, changes, failing):
    ana, ben = await _reference(server, tenant, service_stubs)
    async with ana, ben:
        await approved_reference_loan(ana, ben)
    result = await service_stubs.products.QuoteProduct(quote_request(
        await add_customer(service_stubs, "c", "6000", **changes), "15000"))
    assert result.eligible == (failing is None)
    assert result.failing_rule == (failing or "")
    if failing is not None:
        assert result.explanation[-1] == f"not eligible: the rule '{failing}' fails"
        assert next(r.failed_conditions for r in result.rules if r.rule == failing)


async def test_approved_versions_never_change_and_four_eyes_hold(server, services, tenant, service_stubs):
    ana, ben = await _reference(server, tenant, service_stubs)
    async with ana, ben:
        await ana.products.CreateProduct(pb.CreateProductRequest(product_id="personal-loan", product=pb.Product(
            display_name="Personal loan")))
        draft = await ana.products.CreateProductVersion(pb.CreateProductVersionRequest(
            parent="products/personal-loan", product_version=pb.ProductVersion(terms_json=terms_json())))
        assert draft.state == pb.ProductVersion.DRAFT and draft.name == "products/personal-loan/versions/1"
        # Whoever wrote it cannot approve it, nor can an editor.
        approve = pb.ApproveProductVersionRequest(name=draft.name)
        assert (await failure(ana.products.ApproveProductVersion(approve)))[:2] == \
            (grpc.StatusCode.PERMISSION_DENIED, "PRODUCT_SELF_APPROVAL")
        cheaper = json.loads(draft.terms_json)
        cheaper["interest_lists"][0]["annual_rate"] = "5.1"
        # Only terms_json may change, and the mask must say so.
        for paths, reason in (([], "UPDATE_MASK_REQUIRED"), (["terms_json", "state"], "UPDATE_MASK_INVALID")):
            assert (await failure(ben.products.UpdateProductVersion(pb.UpdateProductVersionRequest(
                product_version=pb.ProductVersion(name=draft.name, terms_json=json.dumps(cheaper)),
                update_mask=field_mask_pb2.FieldMask(paths=paths)))))[:2] == (grpc.StatusCode.INVALID_ARGUMENT, reason)
        edited = await ben.products.UpdateProductVersion(pb.UpdateProductVersionRequest(
            product_version=pb.ProductVersion(name=draft.name, terms_json=json.dumps(cheaper)),
            update_mask=field_mask_pb2.FieldMask(paths=["terms_json"])))
        assert edited.authors == ["ana", "ben"]
        assert (await failure(ben.products.ApproveProductVersion(approve)))[:2] == \
            (grpc.StatusCode.PERMISSION_DENIED, "PRODUCT_SELF_APPROVAL")
        cleo = server.stubs(server.token(tenant, Role.BANK_ADMIN, "cleo"))
        async with cleo:
            approved = (await cleo.products.ApproveProductVersion(approve)).product_version
            assert approved.state == pb.ProductVersion.APPROVED and approved.approver == "cleo"

            # Approved: no edit, no second approval; the stored terms stay as approved.
            assert (await failure(ana.products.UpdateProductVersion(pb.UpdateProductVersionRequest(
                product_version=pb.ProductVersion(name=draft.name, terms_json=terms_json()),
                update_mask=field_mask_pb2.FieldMask(paths=["terms_json"])))))[:2] == \
                (grpc.StatusCode.FAILED_PRECONDITION, "PRODUCT_VERSION_IMMUTABLE")
            assert (await failure(cleo.products.ApproveProductVersion(approve)))[:2] == \
                (grpc.StatusCode.FAILED_PRECONDITION, "PRODUCT_VERSION_TRANSITION_NOT_ALLOWED")
            async with services.database.sessions() as session:
                row = await session.scalar(select(ProductVersionRow).where(ProductVersionRow.tenant_id == tenant))
            assert row is not None and row.terms["interest_lists"][0]["annual_rate"] == "5.1"
            # The repository rewrites only drafts, whatever a caller asks of it.
            async with UnitOfWork(services.database, tenant) as uow:
                stored = await uow.product_versions.get("personal-loan", 1)
                assert stored is not None and stored.version.status is VersionStatus.APPROVED
                assert not await uow.product_versions.save_draft(stored.version, stored.updated_at)

            # A new version from the approved one: a draft based on it, approved in turn, retiring it.
            second = await ana.products.CreateProductVersion(pb.CreateProductVersionRequest(
                parent="products/personal-loan", source_version=draft.name))
            assert (second.name, second.state, second.based_on) == \
                ("products/personal-loan/versions/2", pb.ProductVersion.DRAFT, draft.name)
            assert terms_from_json(json.loads(second.terms_json)) == terms_from_json(cheaper)
            assert (await failure(ana.products.CreateProductVersion(pb.CreateProductVersionRequest(
                parent="products/personal-loan", source_version=second.name))))[:2] == \
                (grpc.StatusCode.FAILED_PRECONDITION, "PRODUCT_VERSION_TRANSITION_NOT_ALLOWED")
            swap = await ben.products.ApproveProductVersion(pb.ApproveProductVersionRequest(name=second.name))
            assert swap.retired_version.name == draft.name
            assert swap.retired_version.state == pb.ProductVersion.RETIRED
            product = await ana.products.GetProduct(pb.GetProductRequest(name="products/personal-loan"))
            assert (product.live_version, product.latest_version_number) == (second.name, 2)
            listed = await ana.products.ListProductVersions(pb.ListProductVersionsRequest(
                parent="products/personal-loan", page_size=1))
            assert [v.name for v in listed.product_versions] == [draft.name] and listed.next_page_token

            who = await add_customer(service_stubs, "c", "6000")
            assert (await service_stubs.products.QuoteProduct(quote_request(who, "15000"))).pricing.annual_rate \
                == "5.1"
            await cleo.products.RetireProductVersion(pb.RetireProductVersionRequest(name=second.name))
            assert (await failure(service_stubs.products.QuoteProduct(quote_request(who, "15000"))))[:2] == \
                (grpc.StatusCode.FAILED_PRECONDITION, "PRODUCT_NOT_LIVE")


async def test_terms_naming_unknown_personas_or_attributes_are_refused(server, tenant, service_stubs):
    ana, ben = await _reference(server, tenant, service_stubs)
    async with ana, ben:
        await ana.products.CreateProduct(pb.CreateProductRequest(product_id="loan", product=pb.Product(
            display_name="Loan")))
        wrong = json.loads(terms_json(REFERENCE_TERMS))
        wrong["availability"][0]["conditions"][0]["persona"] = "globetroter"
        wrong["interest_lists"][0]["conditions"][1]["attribute"] = "risk_profile"  # an ENUM tested as a number
        code, reason, _ = await failure(ana.products.CreateProductVersion(pb.CreateProductVersionRequest(
            parent="products/loan", product_version=pb.ProductVersion(terms_json=json.dumps(wrong)))))
        assert (code, reason) == (grpc.StatusCode.INVALID_ARGUMENT, "PRODUCT_INVALID")
        assert (await failure(ana.products.CreateProductVersion(pb.CreateProductVersionRequest(
            parent="products/loan", product_version=pb.ProductVersion(terms_json="{not json")))))[:2] == \
            (grpc.StatusCode.INVALID_ARGUMENT, "PRODUCT_INVALID")
