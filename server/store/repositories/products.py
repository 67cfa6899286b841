"""Products and their versions (server.store.products_models); a version's terms are kept as the JSON
of server.domain.products.codec and read back through it."""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any

from sqlalchemy import BindParameter, Select, and_, bindparam, select, update

from server.domain.personas.model import canonical
from server.domain.products.catalog import ConversionMatch, Product, StoredVersion
from server.domain.products.codec import terms_from_json, terms_to_json
from server.domain.products.versions import ProductVersion, VersionStatus
from server.domain.segments.attributes import AttributeDefinition, AttributeType, AttributeValue, value_from_text
from server.store import driver
from server.store.driver import rowcount
from server.store.keyset import keyset_page
from server.store.models import CustomerRow
from server.store.personas_models import AttributeDefinitionRow, CustomerAttributeValueRow, PersonaRow
from server.store.products_models import ProductRow, ProductVersionRow
from server.store.repositories.base import TenantRepository


def _product(row: ProductRow) -> Product:
    match = None
    if row.conversion_category is not None or row.conversion_description is not None:
        match = ConversionMatch(row.conversion_category or "", row.conversion_description or "",
                                row.conversion_direction or "")
    return Product(row.product_id, row.display_name, row.description, row.latest_version, row.created_at,
                   row.updated_at, match)


def _match_columns(match: ConversionMatch | None) -> dict[str, str | None]:
    """NULL for each part that accepts anything, as the metrics query reads them."""
    if match is None:
        return {"conversion_category": None, "conversion_description": None, "conversion_direction": None}
    return {"conversion_category": match.category or None,
            "conversion_description": match.description_contains or None,
            "conversion_direction": match.direction or None}


def _version(row: ProductVersionRow) -> StoredVersion:
    version = ProductVersion(row.product_id, row.number, VersionStatus(row.status), terms_from_json(row.terms),
                             frozenset(row.authors), row.based_on, row.approver, row.approved_at, row.retired_at)
    return StoredVersion(version, row.created_at, row.updated_at)


class ProductsRepository(TenantRepository):
    async def add(self, product: Product) -> bool:
        """False when the tenant has a product of that id already."""
        stmt = self.upsert(ProductRow).values(
            tenant_id=self.tenant_id, product_id=product.product_id, display_name=product.display_name,
            description=product.description, latest_version=product.latest_version,
            created_at=product.created_at, updated_at=product.updated_at,
            **_match_columns(product.conversion_match))
        result = await self.session.execute(stmt.on_conflict_do_nothing(index_elements=["tenant_id", "product_id"]))
        return rowcount(result) == 1

    async def get(self, product_id: str) -> Product | None:
        row = await self.session.get(ProductRow, (self.tenant_id, product_id))
        return None if row is None else _product(row)

    async def save(self, product: Product) -> None:
        """Its display name, description and conversion match as given (the caller holds it)."""
        await self.session.execute(update(ProductRow).where(
            ProductRow.tenant_id == self.tenant_id, ProductRow.product_id == product.product_id
        ).values(display_name=product.display_name, description=product.description,
                 updated_at=product.updated_at, **_match_columns(product.conversion_match)))

    async def hold(self, product_id: str) -> bool:
        """Holds the product until the transaction ends: one version change of a product at a time
        (numbering, approval retiring the live one)."""
        return await self.hold_row(ProductRow.product_id, product_id)

    async def list_after(self, after: str | None, limit: int) -> list[Product]:
        query = select(ProductRow).where(ProductRow.tenant_id == self.tenant_id)
        rows = await self.session.scalars(keyset_page(query, [ProductRow.product_id],
                                                      None if after is None else (after,), limit))
        return [_product(r) for r in rows]

    async def next_version_number(self, product_id: str, now: dt.datetime) -> int:
        """Takes the next number (the product is held by the caller)."""
        await self.session.execute(update(ProductRow).where(
            ProductRow.tenant_id == self.tenant_id, ProductRow.product_id == product_id
        ).values(latest_version=ProductRow.latest_version + 1, updated_at=now))
        number = await self.session.scalar(select(ProductRow.latest_version).where(
            ProductRow.tenant_id == self.tenant_id, ProductRow.product_id == product_id))
        assert number is not None
        return number


class ProductVersionsRepository(TenantRepository):
    async def add(self, version: ProductVersion, now: dt.datetime) -> None:
        self.session.add(ProductVersionRow(tenant_id=self.tenant_id, product_id=version.product_id,
                                           number=version.number, created_at=now, **self._fields(version, now)))
        await self.session.flush()

    @staticmethod
    def _fields(version: ProductVersion, now: dt.datetime) -> dict[str, Any]:
        return {"status": version.status.value, "terms": terms_to_json(version.terms),
                "authors": sorted(version.authors), "based_on": version.based_on, "approver": version.approver,
                "approved_at": version.approved_at, "retired_at": version.retired_at, "updated_at": now}

    async def get(self, product_id: str, number: int) -> StoredVersion | None:
        row = await self.session.get(ProductVersionRow, (self.tenant_id, product_id, number))
        return None if row is None else _version(row)

    async def live(self, product_id: str) -> StoredVersion | None:
        row = await self.session.scalar(select(ProductVersionRow).where(
            ProductVersionRow.tenant_id == self.tenant_id, ProductVersionRow.product_id == product_id,
            ProductVersionRow.status == VersionStatus.APPROVED.value))
        return None if row is None else _version(row)

    async def list_after(self, product_id: str, after: int | None, limit: int) -> list[StoredVersion]:
        query = select(ProductVersionRow).where(ProductVersionRow.tenant_id == self.tenant_id,
                                                ProductVersionRow.product_id == product_id)
        rows = await self.session.scalars(keyset_page(query, [ProductVersionRow.number],
                                                      None if after is None else (after,), limit))
        return [_version(r) for r in rows]

    async def save_draft(self, version: ProductVersion, now: dt.datetime) -> bool:
        """Rewrites a version that is still a DRAFT in the store; False if it is not (any more): an
        approved or retired row is never rewritten here, whatever the caller holds."""
        result = await self.session.execute(update(ProductVersionRow).where(
            ProductVersionRow.tenant_id == self.tenant_id, ProductVersionRow.product_id == version.product_id,
            ProductVersionRow.number == version.number,
            ProductVersionRow.status == VersionStatus.DRAFT.value).values(**self._fields(version, now)))
        return rowcount(result) == 1

    async def set_status(self, version: ProductVersion, expected: VersionStatus, now: dt.datetime) -> bool:
        """A transition: only status, approver and their times change; the terms stay as they are."""
        result = await self.session.execute(update(ProductVersionRow).where(
            ProductVersionRow.tenant_id == self.tenant_id, ProductVersionRow.product_id == version.product_id,
            ProductVersionRow.number == version.number, ProductVersionRow.status == expected.value
        ).values(status=version.status.value, approver=version.approver, approved_at=version.approved_at,
                 retired_at=version.retired_at, updated_at=now))
        return rowcount(result) == 1


@functools.cache
def _live_and_values_statement() -> Select[Any]:
    # Built once, with the ids as bound parameters, and run on the driver's connection (driver.py):
    # building and running it through the session cost more than the quote itself. Anchored on the
    # customer, whose values are left-joined: no customer, no row.
    versions, customers, values = (ProductVersionRow.__table__.c, CustomerRow.__table__.c,
                                   CustomerAttributeValueRow.__table__.c)
    tenant_id: BindParameter[str] = bindparam("tenant_id")
    live = select(versions.number).where(
        versions.tenant_id == tenant_id, versions.product_id == bindparam("product_id"),
        versions.status == VersionStatus.APPROVED.value).scalar_subquery()
    return (
        select(live, values.name, values.bool_value, values.int_value, values.decimal_value, values.text_value,
               values.date_value)
        .select_from(CustomerRow.__table__)
        .outerjoin(CustomerAttributeValueRow.__table__, and_(values.tenant_id == customers.tenant_id,
                                                             values.customer_id == customers.customer_id))
        .where(customers.tenant_id == tenant_id, customers.customer_id == bindparam("customer_id")))


@functools.cache
def _definitions_statement() -> Select[Any]:
    definitions = AttributeDefinitionRow.__table__.c
    return select(definitions.name, definitions.type, definitions.enum_values, definitions.default_value,
                  definitions.description).where(definitions.tenant_id == bindparam("tenant_id")
                                                 ).order_by(definitions.name)


@functools.cache
def _expressions_statement() -> Select[Any]:
    personas = PersonaRow.__table__.c
    return select(personas.persona_id, personas.expression).where(personas.tenant_id == bindparam("tenant_id"))


class QuoteReadsRepository(TenantRepository):
    """What a quote reads of the personas' tables, in few statements built once and run on the driver
    (driver.fetch_all: no ORM objects, and on PostgreSQL no BEGIN and ROLLBACK around a read that is
    one statement): QuoteProduct runs hundreds of times a second. The same values PersonasRepository
    and SegmentReadsRepository read, in the same forms."""

    async def live_and_values(self, product_id: str, customer_id: str
                              ) -> tuple[int | None, dict[str, AttributeValue]] | None:
        """In one statement: the product's live version number (None: none) and the customer's own values
        by attribute name (derived built-ins too); None when there is no such customer."""
        rows = await driver.fetch_all(self.session, _live_and_values_statement(), {
            "tenant_id": self.tenant_id, "product_id": product_id, "customer_id": customer_id})
        found: tuple[int | None, dict[str, AttributeValue]] | None = None
        for number, name, *typed in rows:
            found = (number, {}) if found is None else found
            value = next((v for v in typed if v is not None), None)
            if name is not None and value is not None:
                found[1][name] = canonical(value)
        return found

    async def definitions(self) -> tuple[AttributeDefinition, ...]:
        rows = await driver.fetch_all(self.session, _definitions_statement(), {"tenant_id": self.tenant_id})
        found = []
        for name, type_text, enum_values, default_text, description in rows:
            plain = AttributeDefinition(name, AttributeType(type_text), tuple(enum_values or ()), None, description)
            default = None if default_text is None else value_from_text(plain, default_text)
            found.append(AttributeDefinition(name, plain.type, plain.values, default, description))
        return tuple(found)

    async def expressions(self) -> dict[str, str]:
        """Every persona's expression by persona id."""
        rows = await driver.fetch_all(self.session, _expressions_statement(), {"tenant_id": self.tenant_id})
        return {persona_id: expression for persona_id, expression in rows}
