"""Attribute definitions, customers' typed attribute values and personas (server.store.personas_models),
and a persona's members selected in SQL by its compiled expression."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Mapping
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, exists, literal, or_, select, text, true, union, update

from server.domain.personas.model import Persona, StoredDefinition, canonical
from server.domain.segments.attributes import (
    BUILT_IN_ATTRIBUTES,
    AttributeDefinition,
    AttributeType,
    AttributeValue,
    value_from_text,
    value_to_text,
)
from server.domain.segments.evaluate import CustomerFacts
from server.domain.segments.expression import Expression
from server.store.array_literals import text_array
from server.store.driver import dialect_of, fetch_sql, rowcount
from server.store.keyset import keyset_page
from server.store.models import AccountRow, CustomerRow, HoldingRow
from server.store.personas_models import (
    AttributeDefinitionRow,
    CustomerAttributeValueRow,
    PersonaMemberRow,
    PersonaRow,
)
from server.store.repositories.base import TenantRepository
from server.store.segments_sql import compile_segment

# The column of customer_attribute_values that holds each type's values.
VALUE_COLUMN = {AttributeType.BOOL: "bool_value", AttributeType.INT: "int_value",
                AttributeType.DECIMAL: "decimal_value", AttributeType.STRING: "text_value",
                AttributeType.ENUM: "text_value", AttributeType.DATE: "date_value"}
_VALUE_COLUMNS = ("bool_value", "int_value", "decimal_value", "text_value", "date_value")
# Derived values are stored under these names (server.services.derived_attributes) and read as any other.
_BUILT_IN = {d.name: d for d in BUILT_IN_ATTRIBUTES}
# PostgreSQL (facts_of, by_customer): the holdings of customers $2 of tenant $1, probed customer by customer:
# each customer's own (ix_holdings_tenant_customer), and those on each of its accounts
# (ix_accounts_tenant_customer, then ix_holdings_tenant_account). A (customer, kind) may come twice.
_POSTGRES_HOLDINGS_BY_CUSTOMER = """
SELECT c.customer_id, h.kind
FROM unnest($2::text::text[]) AS c(customer_id)
CROSS JOIN LATERAL (
  SELECT o.kind FROM holdings AS o WHERE o.tenant_id = $1 AND o.customer_id = c.customer_id
  UNION ALL
  SELECT t.kind FROM accounts AS a JOIN holdings AS t ON t.tenant_id = $1 AND t.account_id = a.account_id
  WHERE a.tenant_id = $1 AND a.customer_id = c.customer_id
) AS h
"""


def _definition(row: AttributeDefinitionRow) -> AttributeDefinition:
    type_ = AttributeType(row.type)
    values = tuple(row.enum_values or ())
    plain = AttributeDefinition(row.name, type_, values, None, row.description)
    default = None if row.default_value is None else value_from_text(plain, row.default_value)
    return AttributeDefinition(row.name, type_, values, default, row.description)


def _stored(row: AttributeDefinitionRow) -> StoredDefinition:
    return StoredDefinition(_definition(row), row.created_at, row.updated_at)


class AttributeDefinitionsRepository(TenantRepository):
    async def add(self, definition: AttributeDefinition, now: dt.datetime) -> bool:
        """False when the tenant has an attribute of that name already."""
        stmt = self.upsert(AttributeDefinitionRow).values(**self._fields(definition), created_at=now, updated_at=now)
        result = await self.session.execute(stmt.on_conflict_do_nothing(index_elements=["tenant_id", "name"]))
        return rowcount(result) == 1

    def _fields(self, definition: AttributeDefinition) -> dict[str, Any]:
        return {"tenant_id": self.tenant_id, "name": definition.name, "type": definition.type.value,
                "enum_values": list(definition.values), "description": definition.description,
                "default_value": None if definition.default is None else value_to_text(definition.default)}

    async def get(self, name: str) -> StoredDefinition | None:
        row = await self.session.get(AttributeDefinitionRow, (self.tenant_id, name))
        return None if row is None else _stored(row)

    async def all(self) -> list[AttributeDefinition]:
        rows = await self.session.scalars(select(AttributeDefinitionRow).where(
            AttributeDefinitionRow.tenant_id == self.tenant_id).order_by(AttributeDefinitionRow.name))
        return [_definition(r) for r in rows]

    async def list_after(self, after: str | None, limit: int) -> list[StoredDefinition]:
        query = select(AttributeDefinitionRow).where(AttributeDefinitionRow.tenant_id == self.tenant_id)
        rows = await self.session.scalars(keyset_page(query, [AttributeDefinitionRow.name],
                                                      None if after is None else (after,), limit))
        return [_stored(r) for r in rows]

    async def replace(self, definition: AttributeDefinition, now: dt.datetime) -> None:
        fields = self._fields(definition)
        await self.session.execute(update(AttributeDefinitionRow).where(
            AttributeDefinitionRow.tenant_id == self.tenant_id, AttributeDefinitionRow.name == definition.name
        ).values(enum_values=fields["enum_values"], description=fields["description"],
                 default_value=fields["default_value"], updated_at=now))

    async def delete(self, name: str) -> None:
        """The definition and every customer's value of it."""
        await self.session.execute(delete(CustomerAttributeValueRow).where(
            CustomerAttributeValueRow.tenant_id == self.tenant_id, CustomerAttributeValueRow.name == name))
        await self.session.execute(delete(AttributeDefinitionRow).where(
            AttributeDefinitionRow.tenant_id == self.tenant_id, AttributeDefinitionRow.name == name))


class CustomerAttributeValuesRepository(TenantRepository):
    async def of_customer(self, customer_id: str, definitions: Mapping[str, AttributeDefinition]
                          ) -> dict[str, AttributeValue]:
        """The customer's own values of these attributes."""
        return (await self.of_customers({customer_id}, definitions))[customer_id]

    async def of_customers(self, customer_ids: Collection[str], definitions: Mapping[str, AttributeDefinition]
                           ) -> dict[str, dict[str, AttributeValue]]:
        """customer id -> its own values of these attributes and of the built-in derived ones (every asked
        customer present), one statement."""
        found: dict[str, dict[str, AttributeValue]] = {customer_id: {} for customer_id in customer_ids}
        if not found:
            return found
        rows = await self.session.scalars(select(CustomerAttributeValueRow).where(
            CustomerAttributeValueRow.tenant_id == self.tenant_id,
            self.one_of(CustomerAttributeValueRow.customer_id, sorted(found))))
        for row in rows:
            definition = definitions.get(row.name) or _BUILT_IN.get(row.name)
            if definition is not None:
                value = getattr(row, VALUE_COLUMN[definition.type])
                if value is not None:
                    found[row.customer_id][row.name] = canonical(value)  # a DECIMAL reads back with 4 places
        return found

    async def set_many(self, customer_id: str, values: Mapping[str, tuple[AttributeDefinition, AttributeValue]],
                       now: dt.datetime) -> None:
        if not values:
            return
        stmt = self.upsert(CustomerAttributeValueRow)
        stmt = stmt.on_conflict_do_update(index_elements=["tenant_id", "customer_id", "name"],
                                          set_={c: stmt.excluded[c] for c in (*_VALUE_COLUMNS, "updated_at")})
        await self.session.execute(stmt, [
            {"tenant_id": self.tenant_id, "customer_id": customer_id, "name": name, "updated_at": now,
             **{c: None for c in _VALUE_COLUMNS}, VALUE_COLUMN[definition.type]: value}
            for name, (definition, value) in values.items()])

    async def clear(self, customer_id: str, names: Iterable[str]) -> None:
        names = list(names)
        if names:
            await self.session.execute(delete(CustomerAttributeValueRow).where(
                CustomerAttributeValueRow.tenant_id == self.tenant_id,
                CustomerAttributeValueRow.customer_id == customer_id,
                self.one_of(CustomerAttributeValueRow.name, names)))


def _persona(row: PersonaRow) -> Persona:
    return Persona(row.persona_id, row.display_name, row.description, row.expression, row.created_at,
                   row.updated_at, dict(row.tokens or {}), members_current=row.members_revision >= row.revision)


class PersonasRepository(TenantRepository):
    async def add(self, persona: Persona) -> bool:
        """False when the tenant has a persona of that id already."""
        stmt = self.upsert(PersonaRow).values(
            tenant_id=self.tenant_id, persona_id=persona.persona_id, display_name=persona.display_name,
            description=persona.description, expression=persona.expression, created_at=persona.created_at,
            updated_at=persona.updated_at, tokens=dict(persona.tokens))
        result = await self.session.execute(stmt.on_conflict_do_nothing(index_elements=["tenant_id", "persona_id"]))
        return rowcount(result) == 1

    async def tokens(self) -> dict[str, dict[str, str]]:
        """persona id -> its token values, for every persona of the tenant (templates read them)."""
        rows = await self.session.execute(select(PersonaRow.persona_id, PersonaRow.tokens).where(
            PersonaRow.tenant_id == self.tenant_id))
        return {row.persona_id: dict(row.tokens or {}) for row in rows}

    async def get(self, persona_id: str) -> Persona | None:
        row = await self.session.get(PersonaRow, (self.tenant_id, persona_id))
        return None if row is None else _persona(row)

    async def all(self) -> list[Persona]:
        rows = await self.session.scalars(select(PersonaRow).where(PersonaRow.tenant_id == self.tenant_id)
                                          .order_by(PersonaRow.persona_id))
        return [_persona(r) for r in rows]

    async def list_after(self, after: str | None, limit: int) -> list[Persona]:
        query = select(PersonaRow).where(PersonaRow.tenant_id == self.tenant_id)
        rows = await self.session.scalars(keyset_page(query, [PersonaRow.persona_id],
                                                      None if after is None else (after,), limit))
        return [_persona(r) for r in rows]

    async def replace(self, persona: Persona) -> None:
        await self.session.execute(update(PersonaRow).where(
            PersonaRow.tenant_id == self.tenant_id, PersonaRow.persona_id == persona.persona_id
        ).values(display_name=persona.display_name, description=persona.description,
                 expression=persona.expression, updated_at=persona.updated_at, tokens=dict(persona.tokens)))

    async def delete(self, persona_id: str) -> bool:
        result = await self.session.execute(delete(PersonaRow).where(
            PersonaRow.tenant_id == self.tenant_id, PersonaRow.persona_id == persona_id))
        return rowcount(result) == 1

    async def raise_revision(self, persona_id: str) -> int:
        """The persona's next revision, its row held until the transaction ends."""
        revision = await self.session.scalar(update(PersonaRow).where(
            PersonaRow.tenant_id == self.tenant_id, PersonaRow.persona_id == persona_id
        ).values(revision=PersonaRow.revision + 1).returning(PersonaRow.revision))
        assert revision is not None, persona_id
        return int(revision)

    async def hold_revisions(self, persona_id: str) -> tuple[int, int] | None:
        """(revision, members_revision), the row held until the transaction ends (a save waits for a
        whole evaluation to commit, and one evaluation of a persona runs at a time); None: no persona."""
        if not await self.hold_row(PersonaRow.persona_id, persona_id):
            return None
        row = (await self.session.execute(select(PersonaRow.revision, PersonaRow.members_revision).where(
            PersonaRow.tenant_id == self.tenant_id, PersonaRow.persona_id == persona_id))).one()
        return int(row.revision), int(row.members_revision)

    async def record_members_revision(self, persona_id: str, revision: int) -> None:
        await self.session.execute(update(PersonaRow).where(
            PersonaRow.tenant_id == self.tenant_id, PersonaRow.persona_id == persona_id
        ).values(members_revision=revision))


class SegmentReadsRepository(TenantRepository):
    """What a segment expression reads of customers: one customer's facts, or the members of an
    expression selected in SQL. Holdings are a customer's own and those on their accounts."""

    def _holds(self, kind: str, customer_id: Any) -> ColumnElement[bool]:
        """Two EXISTS, each answered by an index of its own: the customer's own holdings
        (ix_holdings_tenant_customer), and holdings on an account of theirs (ix_holdings_tenant_account).
        One EXISTS over their OR left PostgreSQL scanning the tenant's holdings per customer."""
        own = exists().where(HoldingRow.tenant_id == self.tenant_id, HoldingRow.customer_id == customer_id,
                             HoldingRow.kind == kind)
        if dialect_of(self.session).name == "sqlite":
            # SQLite, without statistics, joined the EXISTS below holdings first: a scan of the tenant's
            # holdings per customer (two minutes for 50,000 customers). IN over the customer's accounts
            # (ix_accounts_tenant_customer) probes ix_holdings_tenant_account per account instead.
            theirs = select(AccountRow.account_id).where(AccountRow.tenant_id == self.tenant_id,
                                                         AccountRow.customer_id == customer_id
                                                         ).correlate_except(AccountRow)
            return or_(own, exists().where(HoldingRow.tenant_id == self.tenant_id, HoldingRow.kind == kind,
                                           HoldingRow.account_id.in_(theirs)))
        on_accounts = exists().where(AccountRow.tenant_id == self.tenant_id, AccountRow.customer_id == customer_id,
                                     HoldingRow.tenant_id == self.tenant_id,
                                     HoldingRow.account_id == AccountRow.account_id, HoldingRow.kind == kind)
        return or_(own, on_accounts)

    async def facts(self, customer_id: str, definitions: Mapping[str, AttributeDefinition]) -> CustomerFacts:
        return (await self.facts_of({customer_id}, definitions))[customer_id]

    async def facts_of(self, customer_ids: Collection[str], definitions: Mapping[str, AttributeDefinition], *,
                       values: bool = True, holdings: bool = True, by_customer: bool = False
                       ) -> dict[str, CustomerFacts]:
        """customer id -> its facts (every asked customer present), in two statements whatever their number:
        the values, and the holdings (the customers' own and those on their accounts). `values`, `holdings`:
        False leaves that part empty, unread (a caller whose conditions name no attribute, or no holding).

        `by_customer`: on PostgreSQL the holdings are read customer by customer through the indexes
        (_POSTGRES_HOLDINGS_BY_CUSTOMER), for a few thousand customers of a large tenant (a trigger batch's):
        given all of them in `= ANY`, the planner scans the tenant's accounts and holdings whole, as it should
        for a large share of its customers (a persona's evaluation, a backtest). 1,400 of 100,000 customers:
        10-11 ms against 23-24 (the bench's seed, analyzed)."""
        ids = sorted(set(customer_ids))
        if not ids:
            return {}
        found = (await CustomerAttributeValuesRepository(self.session, self.tenant_id).of_customers(ids, definitions)
                 if values else {customer_id: {} for customer_id in ids})
        kinds: dict[str, set[str]] = {customer_id: set() for customer_id in ids}
        if holdings and by_customer and dialect_of(self.session).name == "postgresql":
            for customer_id, kind in await fetch_sql(self.session, _POSTGRES_HOLDINGS_BY_CUSTOMER, self.tenant_id,
                                                     text_array(ids)):
                kinds[customer_id].add(kind)
        elif holdings:
            own = select(HoldingRow.customer_id, HoldingRow.kind).where(
                HoldingRow.tenant_id == self.tenant_id, self.one_of(HoldingRow.customer_id, ids))
            on_accounts = select(AccountRow.customer_id, HoldingRow.kind).join(
                AccountRow, and_(AccountRow.tenant_id == HoldingRow.tenant_id,
                                 AccountRow.account_id == HoldingRow.account_id)).where(
                HoldingRow.tenant_id == self.tenant_id, self.one_of(AccountRow.customer_id, ids))
            rows: Any = await self.session.execute(union(own, on_accounts))
            for customer_id, kind in rows:
                kinds[customer_id].add(kind)
        return {customer_id: CustomerFacts(found[customer_id], frozenset(kinds[customer_id])) for customer_id in ids}

    def selects(self, expression: Expression) -> ColumnElement[bool]:
        """The expression as a WHERE clause over CustomerRow (correlated with the query's customers)."""
        def attribute(definition: AttributeDefinition) -> ColumnElement[Any]:
            column = getattr(CustomerAttributeValueRow, VALUE_COLUMN[definition.type])
            return select(column).where(
                CustomerAttributeValueRow.tenant_id == self.tenant_id,
                CustomerAttributeValueRow.customer_id == CustomerRow.customer_id,
                CustomerAttributeValueRow.name == definition.name).scalar_subquery()

        def holds(kind: str) -> ColumnElement[bool]:
            return self._holds(kind, CustomerRow.customer_id)

        return compile_segment(expression, attribute, holds)

    async def members_after(self, expression: Expression, after: str | None, limit: int | None) -> list[str]:
        """The members after `after` by id, `limit` of them (None: all)."""
        query = select(CustomerRow.customer_id).where(CustomerRow.tenant_id == self.tenant_id,
                                                      self.selects(expression))
        if limit is not None:
            query = keyset_page(query, [CustomerRow.customer_id], None if after is None else (after,), limit)
        return list(await self.session.scalars(query))


class PersonaMembersRepository(TenantRepository):
    """The stored memberships: (persona id, customer id) pairs."""

    async def of_customers(self, customer_ids: set[str]) -> set[tuple[str, str]]:
        if not customer_ids:
            return set()
        rows = await self.session.execute(select(PersonaMemberRow.persona_id, PersonaMemberRow.customer_id).where(
            PersonaMemberRow.tenant_id == self.tenant_id, self.one_of(PersonaMemberRow.customer_id, customer_ids)))
        return {(row.persona_id, row.customer_id) for row in rows}

    async def of_persona(self, persona_id: str) -> set[str]:
        return set(await self.session.scalars(select(PersonaMemberRow.customer_id).where(
            PersonaMemberRow.tenant_id == self.tenant_id, PersonaMemberRow.persona_id == persona_id)))

    async def add(self, pairs: Iterable[tuple[str, str]]) -> None:
        rows = [{"tenant_id": self.tenant_id, "persona_id": p, "customer_id": c} for p, c in pairs]
        if rows:  # a handler and a persona's save may both add a row: the second changes nothing
            await self.session.execute(self.upsert(PersonaMemberRow).on_conflict_do_nothing(), rows)

    async def remove(self, pairs: Iterable[tuple[str, str]]) -> None:
        by_persona: dict[str, set[str]] = {}
        for persona_id, customer_id in pairs:
            by_persona.setdefault(persona_id, set()).add(customer_id)
        for persona_id, customer_ids in by_persona.items():
            await self.session.execute(delete(PersonaMemberRow).where(
                PersonaMemberRow.tenant_id == self.tenant_id, PersonaMemberRow.persona_id == persona_id,
                self.one_of(PersonaMemberRow.customer_id, customer_ids)))

    async def any_of(self, persona_id: str) -> bool:
        return bool(await self.session.scalar(select(exists().where(
            PersonaMemberRow.tenant_id == self.tenant_id, PersonaMemberRow.persona_id == persona_id))))

    async def without_jit(self) -> None:
        """For the rest of the transaction, on PostgreSQL: no JIT compilation. A whole evaluation's
        statements are costed high enough to be compiled, which took 1.4 s of a 1.6 s chunk."""
        if dialect_of(self.session).name == "postgresql":
            await self.session.execute(text("SET LOCAL jit = off"))

    async def chunk_end(self, after: str | None, size: int) -> str | None:
        """The id of the `size`th customer after `after` (None: from the first), the last of a chunk;
        None when fewer are left (the chunk runs to the end)."""
        query = select(CustomerRow.customer_id).where(CustomerRow.tenant_id == self.tenant_id)
        if after is not None:
            query = query.where(CustomerRow.customer_id > after)
        return await self.session.scalar(query.order_by(CustomerRow.customer_id).offset(size - 1).limit(1))

    @staticmethod
    def _in_range(column: Any, after: str | None, last: str | None) -> list[ColumnElement[bool]]:
        return [*([] if after is None else [column > after]), *([] if last is None else [column <= last])]

    def _selected(self, expression: Expression, after: str | None, last: str | None) -> Any:
        return select(CustomerRow.customer_id).where(
            CustomerRow.tenant_id == self.tenant_id, *self._in_range(CustomerRow.customer_id, after, last),
            SegmentReadsRepository(self.session, self.tenant_id).selects(expression))

    async def join_selected(self, persona_id: str, expression: Expression, after: str | None,
                            last: str | None) -> list[str]:
        """Adds the customers with ids in (after, last] that the expression selects, in one INSERT ...
        SELECT; returns those that were not members. The conflicts find the members by the primary key:
        an anti-join instead was planned as a scan of the tenant's rows per customer while persona_members
        had no statistics."""
        selected = self._selected(expression, after, last).subquery()
        # WHERE true: SQLite reads an INSERT ... SELECT's ON CONFLICT as a join's ON without it.
        rows = select(literal(self.tenant_id), literal(persona_id), selected.c.customer_id).where(true())
        stmt = self.upsert(PersonaMemberRow).from_select(["tenant_id", "persona_id", "customer_id"], rows)
        return list(await self.session.scalars(
            stmt.on_conflict_do_nothing().returning(PersonaMemberRow.customer_id)))

    async def leave_unselected(self, persona_id: str, expression: Expression, after: str | None,
                               last: str | None) -> list[str]:
        """Removes the members with ids in (after, last] that the expression no longer selects, in one
        DELETE; returns them. NOT IN: the selection is computed once and probed as a hash (a correlated
        NOT EXISTS was planned as a scan of the customers per member while statistics were missing)."""
        stmt = delete(PersonaMemberRow).where(
            PersonaMemberRow.tenant_id == self.tenant_id, PersonaMemberRow.persona_id == persona_id,
            *self._in_range(PersonaMemberRow.customer_id, after, last),
            PersonaMemberRow.customer_id.not_in(self._selected(expression, after, last)))
        return list(await self.session.scalars(stmt.returning(PersonaMemberRow.customer_id)))

    async def remove_persona(self, persona_id: str) -> None:
        await self.session.execute(delete(PersonaMemberRow).where(
            PersonaMemberRow.tenant_id == self.tenant_id, PersonaMemberRow.persona_id == persona_id))
