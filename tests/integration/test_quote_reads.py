"""What a quote reads (QuoteReadsRepository), on each database: on PostgreSQL its statements run on the
driver's connection, so each value must come back in the same Python form the session gives."""

import datetime as dt
import uuid
from decimal import Decimal

import pytest

from server.domain.products.versions import VersionStatus
from server.domain.segments.attributes import AttributeType
from server.store.models import CustomerRow
from server.store.personas_models import AttributeDefinitionRow, CustomerAttributeValueRow, PersonaRow
from server.store.products_models import ProductRow, ProductVersionRow
from server.store.repositories.products import QuoteReadsRepository
from server.store.uow import UnitOfWork

NOW = dt.datetime(2026, 12, 3, 12, 0, tzinfo=dt.UTC)


def _version(tenant: str, number: int, status: VersionStatus) -> ProductVersionRow:
    return ProductVersionRow(tenant_id=tenant, product_id="loan", number=number, status=status.value, terms={},
                             authors=["ana"], created_at=NOW, updated_at=NOW)


def _value(tenant: str, customer: str, name: str, **typed: object) -> CustomerAttributeValueRow:
    return CustomerAttributeValueRow(tenant_id=tenant, customer_id=customer, name=name, updated_at=NOW, **typed)


@pytest.fixture
async def bank(services):
    tenant = (await services.tenants.create(f"bank-{uuid.uuid4().hex[:12]}")).tenant_id
    other = (await services.tenants.create(f"other-{uuid.uuid4().hex[:12]}")).tenant_id
    async with services.database.sessions() as session:
        session.add_all([
            CustomerRow(tenant_id=tenant, customer_id="rich", created_at=NOW, updated_at=NOW),
            CustomerRow(tenant_id=tenant, customer_id="bare", created_at=NOW, updated_at=NOW),
            CustomerRow(tenant_id=other, customer_id="elsewhere", created_at=NOW, updated_at=NOW),
            ProductRow(tenant_id=tenant, product_id="loan", display_name="Loan", latest_version=3, created_at=NOW,
                       updated_at=NOW),
            ProductRow(tenant_id=tenant, product_id="draft-only", display_name="Draft", latest_version=1,
                       created_at=NOW, updated_at=NOW),
            _version(tenant, 1, VersionStatus.RETIRED), _version(tenant, 2, VersionStatus.APPROVED),
            _version(tenant, 3, VersionStatus.DRAFT),
            ProductVersionRow(tenant_id=tenant, product_id="draft-only", number=1, status="DRAFT", terms={},
                              authors=["ana"], created_at=NOW, updated_at=NOW),
            _version(other, 7, VersionStatus.APPROVED),
            _value(tenant, "rich", "monthly_income", decimal_value=Decimal("6000.50")),
            _value(tenant, "rich", "applicant_age", int_value=35),
            _value(tenant, "rich", "is_globetrotter", bool_value=False),
            _value(tenant, "rich", "risk_profile", text_value="LOW"),
            _value(tenant, "rich", "since", date_value=dt.date(2020, 2, 29)),
            _value(other, "rich", "monthly_income", decimal_value=Decimal("1")),
            AttributeDefinitionRow(tenant_id=tenant, name="risk_profile", type=AttributeType.ENUM.value,
                                   enum_values=["LOW", "HIGH"], default_value="HIGH", description="risk",
                                   created_at=NOW, updated_at=NOW),
            PersonaRow(tenant_id=tenant, persona_id="savers", display_name="Savers", expression="applicant_age > 30",
                       created_at=NOW, updated_at=NOW),
        ])
        await session.commit()
    return tenant


async def test_the_live_number_and_the_customers_own_values_in_their_forms(services, bank):
    async with UnitOfWork(services.database, bank) as uow:
        reads = QuoteReadsRepository(uow.session, bank)
        assert await reads.live_and_values("loan", "rich") == (2, {
            "monthly_income": Decimal("6000.50"), "applicant_age": 35, "is_globetrotter": False,
            "risk_profile": "LOW", "since": dt.date(2020, 2, 29)})
        assert await reads.live_and_values("loan", "bare") == (2, {})
        assert (await reads.live_and_values("draft-only", "bare")) == (None, {})
        assert (await reads.live_and_values("nothing", "bare")) == (None, {})
        assert await reads.live_and_values("loan", "nobody") is None
        assert await reads.live_and_values("loan", "elsewhere") is None  # another tenant's customer
        (definition,) = await reads.definitions()
        assert (definition.name, definition.type, definition.values, definition.default) == \
            ("risk_profile", AttributeType.ENUM, ("LOW", "HIGH"), "HIGH")
        assert await reads.expressions() == {"savers": "applicant_age > 30"}
