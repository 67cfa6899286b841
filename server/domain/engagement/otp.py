"""One-time passwords: random codes, kept only as a keyed hash, single use, limited attempts."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from enum import Enum


class VerifyOutcome(Enum):
    VERIFIED = "VERIFIED"
    WRONG_CODE = "WRONG_CODE"
    EXPIRED = "EXPIRED"
    ALREADY_USED = "ALREADY_USED"
    TOO_MANY_ATTEMPTS = "TOO_MANY_ATTEMPTS"


@dataclass(frozen=True)
class OtpRecord:
    otp_id: str
    code_hash: str
    expires_at: dt.datetime
    attempts: int
    max_attempts: int
    consumed_at: dt.datetime | None


@dataclass(frozen=True)
class StoredOtp:
    """A code as kept (its hash only), with the customer it was sent to and what for."""

    otp_id: str
    customer_id: str
    purpose: str
    code_hash: str
    expires_at: dt.datetime
    attempts: int
    max_attempts: int
    consumed_at: dt.datetime | None

    def record(self) -> OtpRecord:
        """What verifying a code against it needs."""
        return OtpRecord(self.otp_id, self.code_hash, self.expires_at, self.attempts, self.max_attempts,
                         self.consumed_at)


def generate_code(digits: int = 6) -> str:
    return "".join(secrets.choice("0123456789") for _ in range(digits))


def hash_code(key: bytes, otp_id: str, code: str) -> str:
    return hmac.new(key, f"{otp_id}:{code}".encode(), hashlib.sha256).hexdigest()


def verify(record: OtpRecord, key: bytes, code: str, now: dt.datetime) -> tuple[VerifyOutcome, OtpRecord]:
    if record.consumed_at is not None:
        return VerifyOutcome.ALREADY_USED, record
    if record.attempts >= record.max_attempts:
        return VerifyOutcome.TOO_MANY_ATTEMPTS, record
    if now >= record.expires_at:
        return VerifyOutcome.EXPIRED, record
    if hmac.compare_digest(hash_code(key, record.otp_id, code), record.code_hash):
        return VerifyOutcome.VERIFIED, dataclasses.replace(record, attempts=record.attempts + 1, consumed_at=now)
    return VerifyOutcome.WRONG_CODE, dataclasses.replace(record, attempts=record.attempts + 1)


# The window of the limit on codes sent to one customer.
SEND_WINDOW = dt.timedelta(hours=1)


def wait_before_next_send(sent_at: list[dt.datetime], now: dt.datetime, limit: int) -> dt.timedelta | None:
    """None when another code may be sent to a customer who was sent codes at `sent_at`; else how long
    until one may. Each code is an SMS the bank pays for and a message the customer did not ask for
    when someone else is asking: at most `limit` in any SEND_WINDOW."""
    # A send stamped after `now` counts too: a request that waited for another's lock holds an older now.
    recent = sorted(t for t in sent_at if now - SEND_WINDOW < t)
    if len(recent) < limit:
        return None
    # The window must first pass the oldest sends that keep it full.
    return recent[len(recent) - limit] + SEND_WINDOW - now
