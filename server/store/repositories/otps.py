"""One-time passwords: only their hashes are stored."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from server.domain.engagement.otp import StoredOtp
from server.store.engagement_models import OtpRow
from server.store.repositories.base import TenantRepository


class OtpsRepository(TenantRepository):
    async def add(self, otp: StoredOtp, now: dt.datetime) -> None:
        self.session.add(OtpRow(tenant_id=self.tenant_id, otp_id=otp.otp_id, customer_id=otp.customer_id,
                                purpose=otp.purpose, code_hash=otp.code_hash, expires_at=otp.expires_at,
                                attempts=otp.attempts, max_attempts=otp.max_attempts, consumed_at=otp.consumed_at,
                                created_at=now))

    async def sent_since(self, customer_id: str, since: dt.datetime) -> list[dt.datetime]:
        """When codes were sent to the customer after `since`."""
        rows = await self.session.scalars(select(OtpRow.created_at).where(
            OtpRow.tenant_id == self.tenant_id, OtpRow.customer_id == customer_id, OtpRow.created_at > since))
        return list(rows)

    async def get_for_update(self, otp_id: str) -> StoredOtp | None:
        """The code, held until the transaction ends: two verifications of one code at the same moment
        cannot both succeed, nor guesses at the same moment pass the attempt limit."""
        if not await self.hold_row(OtpRow.otp_id, otp_id):
            return None
        row = await self.session.get(OtpRow, (self.tenant_id, otp_id))
        if row is None:
            return None
        return StoredOtp(row.otp_id, row.customer_id, row.purpose, row.code_hash, row.expires_at, row.attempts,
                         row.max_attempts, row.consumed_at)

    async def save_attempt(self, otp_id: str, attempts: int, consumed_at: dt.datetime | None) -> None:
        row = await self.session.get(OtpRow, (self.tenant_id, otp_id))
        if row is not None:
            row.attempts = attempts
            row.consumed_at = consumed_at
