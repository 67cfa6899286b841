"""What a channel answered for one send, as the dispatch use case sees it (adapters translate theirs)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class SendOutcome(StrEnum):
    SENT = "SENT"
    TEMPORARY_FAILURE = "TEMPORARY_FAILURE"  # timeouts, 429, 5xx: retried with backoff
    PERMANENT_FAILURE = "PERMANENT_FAILURE"  # invalid number, other 4xx: never retried


@dataclass(frozen=True)
class SendReport:
    outcome: SendOutcome
    provider_message_id: str = ""
    error_code: str = ""
    error_message: str = ""
    retry_after_seconds: float | None = None


# A provider's host reached only addresses the workers may not connect to (the egress policy). Not a
# provider's passing trouble: a bank admin's channel configuration points inside the operator's network,
# or the operator has not allowed the bank's own relay. Someone must act, so it is logged as a warning.
EGRESS_DENIED = "EGRESS_DENIED"
