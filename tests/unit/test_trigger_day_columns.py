"""The day rows PostgreSQL hands over as one row of arrays reach the evaluation in day order whatever order
the aggregate met them in (server.store.repositories.trigger_runtime._by_day)."""

from hypothesis import given
from hypothesis import strategies as st

from server.domain.triggers.scaled_series import ScaledColumns
from server.store.repositories.trigger_runtime import _by_day


def columns_of(days: list[int]) -> ScaledColumns:
    """Every column derived from its day, so that a row torn apart by the sort would show."""
    return ScaledColumns(days, [d * 10 for d in days], [None if d % 2 else d for d in days], [-d for d in days],
                         [d % 3 for d in days], [d * 7 for d in days], [d % 2 == 0 for d in days])


@given(st.lists(st.integers(1, 800_000), unique=True, max_size=40), st.randoms())
def test_day_columns_come_out_in_day_order_with_their_rows_whole(days, shuffler):
    shuffled = list(days)
    shuffler.shuffle(shuffled)
    assert _by_day(columns_of(shuffled)) == columns_of(sorted(days))


def test_day_columns_already_in_order_are_kept_as_they_are():
    columns = columns_of([3, 5, 9])
    assert _by_day(columns) is columns
