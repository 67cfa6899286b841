"""Customers' addresses, devices and channel preferences."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from server.domain.engagement.entities import (
    Channel,
    Contact,
    Device,
    Platform,
    Preferences,
    QuietHoursSetting,
    WalletPass,
)
from server.store.engagement_models import ContactRow
from server.store.repositories.base import TenantRepository


class ContactsRepository(TenantRepository):
    async def get(self, customer_id: str) -> Contact | None:
        row = await self.session.get(ContactRow, (self.tenant_id, customer_id))
        return contact_from_row(row) if row else None

    async def get_many(self, customer_ids: list[str]) -> dict[str, Contact]:
        if not customer_ids:
            return {}
        rows = await self.session.scalars(select(ContactRow).where(
            ContactRow.tenant_id == self.tenant_id, ContactRow.customer_id.in_(customer_ids)))
        return {r.customer_id: contact_from_row(r) for r in rows}

    async def save(self, contact: Contact) -> None:
        preferences = contact.preferences
        quiet = preferences.quiet_hours
        await self.session.merge(ContactRow(
            tenant_id=self.tenant_id, customer_id=contact.customer_id, email=contact.email, phone=contact.phone,
            devices=[{"app_id": d.app_id, "platform": str(d.platform), "push_token": d.push_token}
                     for d in contact.devices],
            passes=[{"pass_type_identifier": p.pass_type_identifier, "serial_number": p.serial_number,
                     "push_token": p.push_token} for p in contact.passes],
            preferences={"opted_out_channels": [str(c) for c in preferences.opted_out_channels],
                         "opted_out_event_types": list(preferences.opted_out_event_types),
                         "quiet_hours": None if quiet is None else
                         {"start": quiet.start, "end": quiet.end, "time_zone": quiet.time_zone}},
            updated_at=contact.updated_at))


def contact_from_row(row: ContactRow) -> Contact:
    raw: dict[str, Any] = dict(row.preferences or {})
    quiet = raw.get("quiet_hours")
    preferences = Preferences(
        opted_out_channels=[Channel(c) for c in raw.get("opted_out_channels", [])],
        opted_out_event_types=list(raw.get("opted_out_event_types", [])),
        quiet_hours=QuietHoursSetting(quiet["start"], quiet["end"], quiet["time_zone"]) if quiet else None)
    return Contact(
        customer_id=row.customer_id, email=row.email, phone=row.phone,
        devices=[Device(d["app_id"], Platform(d["platform"]), d["push_token"]) for d in row.devices],
        passes=[WalletPass(p["pass_type_identifier"], p["serial_number"], p["push_token"]) for p in row.passes],
        preferences=preferences, updated_at=row.updated_at)
