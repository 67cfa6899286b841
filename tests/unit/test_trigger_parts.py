"""server.domain.triggers.parts: the split of trigger_rules by customer."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from server.domain.triggers.parts import PARTS, part_of


def test_the_split_is_the_same_in_every_process_and_release():
    # Recorded progress names the parts: a customer moving to another part would have its postings of
    # an unfinished event evaluated twice (or never), so these values must never change.
    assert PARTS == 4
    assert [part_of(c) for c in ("c1", "erin", "customer-000001", "ana", "b")] == [1, 2, 3, 2, 1]


@given(st.text(min_size=1, max_size=64))
def test_every_customer_has_exactly_one_part(customer_id: str):
    assert 0 <= part_of(customer_id) < PARTS


def test_customers_spread_over_every_part():
    counts = [0] * PARTS
    for number in range(10_000):
        counts[part_of(f"customer-{number:06d}")] += 1
    assert min(counts) > 2_000  # about 2,500 each
