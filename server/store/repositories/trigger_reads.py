"""Everything TriggerEvent reads before it fans out, in one statement. A trigger is the engagement
service's hottest call, and each separate read was a round trip to the database of its own (six
of them: event, app, customer, contact, channel routes, bank name)."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, and_, bindparam, select

from server.domain.engagement.entities import App, Channel, ChannelRoute, Contact, Event
from server.domain.ingest.model import Customer
from server.store.engagement_models import AppRow, ChannelConfigRow, ContactRow, EventRow
from server.store.models import CustomerRow, TenantRow
from server.store.repositories.base import TenantRepository
from server.store.repositories.contacts import contact_from_row
from server.store.repositories.customers import customer_from_row
from server.store.repositories.engagement_setup import app_from_row, event_from_row


@dataclass(frozen=True)
class TriggerReads:
    event: Event | None
    app: App | None  # the event's app, when it names one that exists
    customer: Customer | None
    contact: Contact | None
    routes: list[ChannelRoute]
    bank_name: str


@functools.cache
def _read_statement() -> Select[Any]:
    # Built once, with the ids as bound parameters: building it per call cost as much as running it.
    # Anchored on the tenant's own row (which exists for every authenticated caller); the other tables
    # are left-joined, so a missing event or customer comes back as NULLs. Each channel configuration
    # adds a row: a tenant has a handful, and the one-to-one parts repeat on each.
    tenant = TenantRow.tenant_id
    event_id, customer_id = bindparam("event_id"), bindparam("customer_id")
    return (
        select(TenantRow.display_name, EventRow, AppRow, CustomerRow, ContactRow, ChannelConfigRow.config_id,
               ChannelConfigRow.channel, ChannelConfigRow.provider, ChannelConfigRow.updated_at)
        .select_from(TenantRow)
        .outerjoin(EventRow, and_(EventRow.tenant_id == tenant, EventRow.event_id == event_id))
        .outerjoin(AppRow, and_(AppRow.tenant_id == tenant, AppRow.app_id == EventRow.app_id))
        .outerjoin(CustomerRow, and_(CustomerRow.tenant_id == tenant, CustomerRow.customer_id == customer_id))
        .outerjoin(ContactRow, and_(ContactRow.tenant_id == tenant, ContactRow.customer_id == customer_id))
        .outerjoin(ChannelConfigRow, ChannelConfigRow.tenant_id == tenant)
        .where(tenant == bindparam("tenant_id")))


class TriggerReadsRepository(TenantRepository):
    async def read(self, event_id: str, customer_id: str) -> TriggerReads:
        rows = (await self.session.execute(_read_statement(), {
            "tenant_id": self.tenant_id, "event_id": event_id, "customer_id": customer_id})).all()
        if not rows:
            return TriggerReads(None, None, None, None, [], "")
        bank_name, event, app, customer, contact = rows[0][:5]
        routes = [ChannelRoute(config_id, Channel(channel), provider, updated_at)
                  for *_, config_id, channel, provider, updated_at in rows if config_id is not None]
        return TriggerReads(event_from_row(event) if event else None, app_from_row(app) if app else None,
                            customer_from_row(customer) if customer else None,
                            contact_from_row(contact) if contact else None, routes, bank_name)
