"""Monthly insight batches: a tenant's customers evaluated in chunks of id ranges, each chunk done once."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class Batch:
    batch_id: str
    tenant_id: str
    as_of: dt.date
    total_chunks: int
    done_chunks: int
    users_evaluated: int
    items_generated: int
    created_at: dt.datetime
    finished_at: dt.datetime | None


@dataclass(frozen=True)
class Chunk:
    batch_id: str
    chunk_number: int
    first_customer_id: str
    last_customer_id: str
    done: bool
