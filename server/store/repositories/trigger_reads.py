"""Everything TriggerEvent reads before it fans out, in one statement. A trigger is the engagement
service's hottest call, and each separate read was a round trip to the database of its own (six
of them: event, app, customer, contact, channel routes, bank name)."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from sqlalchemy import BindParameter, Select, Table, and_, bindparam, select

from server.domain.engagement.entities import App, Channel, ChannelRoute, Contact, Event, FallbackPolicy
from server.domain.ingest.model import Customer
from server.store import driver
from server.store.engagement_models import AppRow, ChannelConfigRow, ContactRow, EventRow, EventTypeRow
from server.store.models import CustomerRow, TenantRow
from server.store.repositories.base import TenantRepository
from server.store.repositories.contacts import contact_from_row
from server.store.repositories.customers import customer_from_row
from server.store.repositories.engagement_setup import app_from_row, event_from_row, fallback_from_json


@dataclass(frozen=True)
class TriggerReads:
    event: Event | None
    app: App | None  # the event's app, when it names one that exists
    customer: Customer | None
    contact: Contact | None
    routes: list[ChannelRoute]
    bank_name: str
    fallback: FallbackPolicy = field(default_factory=FallbackPolicy)  # the event type's


# The tables whose whole row is read, in the statement's column order. Read as plain columns: loading
# them as ORM objects (identity map, instance state) cost more than the rest of the read.
_WHOLE_ROWS: tuple[Table, ...] = (EventRow.__table__, AppRow.__table__, CustomerRow.__table__,
                                  ContactRow.__table__)


@functools.cache
def _read_statement() -> Select[Any]:
    # Built once, with the ids as bound parameters: building it per call cost as much as running it.
    # Anchored on the tenant's own row (which exists for every authenticated caller); the other tables
    # are left-joined, so a missing event or customer comes back as NULLs. Each channel configuration
    # adds a row: a tenant has a handful, and the one-to-one parts repeat on each.
    # Table columns only (no ORM attributes): an ORM-enabled select runs the ORM's row loading.
    tenants, events, apps, customers, contacts, configs, event_types = (
        TenantRow.__table__.c, EventRow.__table__.c, AppRow.__table__.c, CustomerRow.__table__.c,
        ContactRow.__table__.c, ChannelConfigRow.__table__.c, EventTypeRow.__table__.c)
    tenant = tenants.tenant_id
    event_id: BindParameter[str] = bindparam("event_id")
    customer_id: BindParameter[str] = bindparam("customer_id")
    return (
        select(tenants.display_name, *(column for table in _WHOLE_ROWS for column in table.c),
               event_types.fallback, configs.config_id, configs.channel, configs.provider, configs.updated_at,
               configs.app_id)
        .select_from(TenantRow.__table__)
        .outerjoin(EventRow.__table__, and_(events.tenant_id == tenant, events.event_id == event_id))
        .outerjoin(AppRow.__table__, and_(apps.tenant_id == tenant, apps.app_id == events.app_id))
        .outerjoin(EventTypeRow.__table__, and_(event_types.tenant_id == tenant,
                                                event_types.event_type_id == events.event_type_id))
        .outerjoin(CustomerRow.__table__, and_(customers.tenant_id == tenant, customers.customer_id == customer_id))
        .outerjoin(ContactRow.__table__, and_(contacts.tenant_id == tenant, contacts.customer_id == customer_id))
        .outerjoin(ChannelConfigRow.__table__, configs.tenant_id == tenant)
        .where(tenant == bindparam("tenant_id")))


def _whole_rows(row: Any) -> list[SimpleNamespace | None]:
    """Each table's part of a result row, by column name; None where the outer join found no row
    (its primary key is NULL)."""
    parts: list[SimpleNamespace | None] = []
    offset = 1
    for table in _WHOLE_ROWS:
        values = row[offset:offset + len(table.c)]
        offset += len(table.c)
        parts.append(None if values[0] is None else SimpleNamespace(**dict(zip(table.c.keys(), values, strict=True))))
    return parts


class TriggerReadsRepository(TenantRepository):
    async def read(self, event_id: str, customer_id: str) -> TriggerReads:
        rows = await driver.fetch_all(self.session, _read_statement(), {
            "tenant_id": self.tenant_id, "event_id": event_id, "customer_id": customer_id})
        if not rows:
            return TriggerReads(None, None, None, None, [], "")
        event, app, customer, contact = _whole_rows(rows[0])
        routes = [ChannelRoute(config_id, Channel(channel), provider, updated_at, app_id or "")
                  for *_, config_id, channel, provider, updated_at, app_id in rows if config_id is not None]
        fallback = fallback_from_json(rows[0][-6]) if event else FallbackPolicy()
        return TriggerReads(event_from_row(event) if event else None,  # type: ignore[arg-type]
                            app_from_row(app) if app else None,  # type: ignore[arg-type]
                            customer_from_row(customer) if customer else None,  # type: ignore[arg-type]
                            contact_from_row(contact) if contact else None, routes,  # type: ignore[arg-type]
                            rows[0][0], fallback)
