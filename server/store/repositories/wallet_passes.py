"""The passes Engage issued and the devices registered for their updates, of one tenant."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection

from sqlalchemy import bindparam, delete, select, update

from server.domain.engagement.wallet_passes import IssuedPass
from server.store.driver import rowcount
from server.store.repositories.base import TenantRepository
from server.store.wallet_models import WalletPassRow, WalletRegistrationRow


class WalletPassesRepository(TenantRepository):
    async def get(self, pass_type_identifier: str, serial_number: str) -> IssuedPass | None:
        row = await self.session.get(WalletPassRow, (self.tenant_id, pass_type_identifier, serial_number))
        return _issued(row) if row else None

    async def of_customers(self, customer_ids: Collection[str], pass_types: Collection[str]) -> list[IssuedPass]:
        """The passes of these types the customers hold, in one query."""
        if not customer_ids or not pass_types:
            return []
        rows = await self.session.scalars(select(WalletPassRow).where(
            WalletPassRow.tenant_id == self.tenant_id, self.one_of(WalletPassRow.customer_id, customer_ids),
            self.one_of(WalletPassRow.pass_type_identifier, pass_types)).order_by(WalletPassRow.serial_number))
        return [_issued(r) for r in rows]

    async def page(self, customer_id: str, after: str | None, limit: int) -> list[IssuedPass]:
        """The tenant's passes (one customer's, when given) in serial number order, after `after`."""
        query = select(WalletPassRow).where(WalletPassRow.tenant_id == self.tenant_id)
        if customer_id:
            query = query.where(WalletPassRow.customer_id == customer_id)
        if after is not None:
            query = query.where(WalletPassRow.serial_number > after)
        rows = await self.session.scalars(query.order_by(WalletPassRow.serial_number).limit(limit))
        return [_issued(r) for r in rows]

    async def by_download(self, token_hash: str) -> IssuedPass | None:
        row = await self.session.scalar(select(WalletPassRow).where(
            WalletPassRow.tenant_id == self.tenant_id, WalletPassRow.download_token_hash == token_hash))
        return _issued(row) if row else None

    async def add(self, *passes: IssuedPass) -> None:
        """Records new passes, in one flush."""
        if not passes:
            return
        self.session.add_all([WalletPassRow(
            tenant_id=self.tenant_id, pass_type_identifier=issued.pass_type_identifier,
            serial_number=issued.serial_number, customer_id=issued.customer_id, sealed_token=issued.sealed_token,
            parts=dict(issued.parts), download_token_hash=issued.download_token_hash,
            download_expires_at=issued.download_expires_at, created_at=issued.created_at,
            updated_at=issued.updated_at) for issued in passes])
        await self.session.flush()

    async def update_parts(self, *passes: IssuedPass) -> None:
        """Each pass's new content and lastUpdated, in one statement (executed for each, in order)."""
        if not passes:
            return
        table = WalletPassRow.__table__
        stmt = update(table).where(
            table.c.tenant_id == self.tenant_id, table.c.pass_type_identifier == bindparam("b_pass_type"),
            table.c.serial_number == bindparam("b_serial")).values(
            parts=bindparam("b_parts"), updated_at=bindparam("b_updated_at"))
        await self.session.execute(stmt, [
            {"b_pass_type": p.pass_type_identifier, "b_serial": p.serial_number, "b_parts": dict(p.parts),
             "b_updated_at": p.updated_at} for p in passes], execution_options={"synchronize_session": False})


class WalletRegistrationsRepository(TenantRepository):
    async def register(self, device: str, pass_type_identifier: str, serial_number: str, push_token: str,
                       now: dt.datetime) -> bool:
        """Registers the device for the pass's updates; True when it was not yet. The push token given
        replaces the device's earlier one for every pass it holds (Apple gives a device one)."""
        await self.session.execute(update(WalletRegistrationRow).where(
            WalletRegistrationRow.tenant_id == self.tenant_id,
            WalletRegistrationRow.device_library_identifier == device,
            WalletRegistrationRow.push_token != push_token).values(push_token=push_token))
        key = (self.tenant_id, device, pass_type_identifier, serial_number)
        if await self.session.get(WalletRegistrationRow, key) is not None:
            return False
        self.session.add(WalletRegistrationRow(
            tenant_id=self.tenant_id, device_library_identifier=device, pass_type_identifier=pass_type_identifier,
            serial_number=serial_number, push_token=push_token, created_at=now))
        await self.session.flush()
        return True

    async def unregister(self, device: str, pass_type_identifier: str, serial_number: str) -> bool:
        result = await self.session.execute(delete(WalletRegistrationRow).where(
            WalletRegistrationRow.tenant_id == self.tenant_id,
            WalletRegistrationRow.device_library_identifier == device,
            WalletRegistrationRow.pass_type_identifier == pass_type_identifier,
            WalletRegistrationRow.serial_number == serial_number))
        return bool(rowcount(result))

    async def updated_since(self, device: str, pass_type_identifier: str, since: dt.datetime | None
                            ) -> list[tuple[str, dt.datetime]]:
        """(serial number, lastUpdated) of the passes of this type the device is registered for,
        changed after `since` (all of them for None)."""
        query = select(WalletPassRow.serial_number, WalletPassRow.updated_at).join(
            WalletRegistrationRow, (WalletRegistrationRow.tenant_id == WalletPassRow.tenant_id)
            & (WalletRegistrationRow.pass_type_identifier == WalletPassRow.pass_type_identifier)
            & (WalletRegistrationRow.serial_number == WalletPassRow.serial_number)).where(
            WalletRegistrationRow.tenant_id == self.tenant_id,
            WalletRegistrationRow.device_library_identifier == device,
            WalletRegistrationRow.pass_type_identifier == pass_type_identifier)
        if since is not None:
            query = query.where(WalletPassRow.updated_at > since)
        return [(serial, updated) for serial, updated in await self.session.execute(
            query.order_by(WalletPassRow.serial_number))]

    async def counts(self, passes: Collection[tuple[str, str]]) -> dict[tuple[str, str], int]:
        """(pass type, serial) -> how many devices are registered for the pass."""
        return {key: len(tokens) for key, tokens in (await self.push_tokens(passes)).items()}

    async def push_tokens(self, passes: Collection[tuple[str, str]]) -> dict[tuple[str, str], list[str]]:
        """(pass type, serial) -> the push tokens of the devices registered for the pass."""
        if not passes:
            return {}
        # Both key columns narrowed, so that ix_wallet_registrations_pass (tenant, type, serial) serves it.
        rows = await self.session.execute(select(
            WalletRegistrationRow.pass_type_identifier, WalletRegistrationRow.serial_number,
            WalletRegistrationRow.push_token).where(
            WalletRegistrationRow.tenant_id == self.tenant_id,
            self.one_of(WalletRegistrationRow.pass_type_identifier, {pass_type for pass_type, _ in passes}),
            self.one_of(WalletRegistrationRow.serial_number, {serial for _, serial in passes}))
            .order_by(WalletRegistrationRow.device_library_identifier))
        wanted = set(passes)
        found: dict[tuple[str, str], list[str]] = {}
        for pass_type, serial, token in rows:
            if (pass_type, serial) in wanted:
                found.setdefault((pass_type, serial), []).append(token)
        return found


def _issued(row: WalletPassRow) -> IssuedPass:
    return IssuedPass(row.pass_type_identifier, row.serial_number, row.customer_id, row.sealed_token, dict(row.parts),
                      row.created_at, row.updated_at, row.download_token_hash, row.download_expires_at)
