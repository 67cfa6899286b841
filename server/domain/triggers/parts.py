"""The parts the evaluation of postings is split into (docs/triggers.md#when-rules-are-evaluated).

`trigger_rules` takes its accounts' locks for the whole of its transaction, and two batches of random
postings nearly always share an account: evaluated as one, the batches of a busy bus ran one after the
other whatever the cores. Split by customer into PARTS handlers, each in its own transaction, a batch's
part waits only for the same part of the batch before it, so jobs overlap part by part.

By customer, not by account: the cool-down counts per rule and customer across the customer's accounts,
so one customer's accounts are always evaluated together. The split is a stable hash, the same in every
process and release: PARTS is part of the handlers' recorded progress and never changes on its own."""

from __future__ import annotations

from zlib import crc32

PARTS = 4


def part_of(customer_id: str) -> int:
    return crc32(customer_id.encode()) % PARTS
