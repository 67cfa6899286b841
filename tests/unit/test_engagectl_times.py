"""Durations and times as engagectl reads them from the command line, and durations shown back."""

from __future__ import annotations

import pytest
import typer
from hypothesis import given
from hypothesis import strategies as st

from clients.engagectl.times import duration_text, duration_value, timestamp_value


@pytest.mark.parametrize(("text", "seconds"), [("0", 0), ("7d", 604_800), ("12h", 43_200), ("90m", 5_400),
                                               ("1d12h", 129_600), ("45s", 45), (" 3D ", 259_200)])
def test_durations_read(text: str, seconds: int) -> None:
    assert duration_value(text, "--cooldown").seconds == seconds


@pytest.mark.parametrize("text", ["", "7", "d", "7 d", "-1d", "1.5d", "7w", "1d-2h", "P7D"])
def test_what_is_no_duration_is_a_usage_error_naming_the_option(text: str) -> None:
    with pytest.raises(typer.BadParameter) as refused:
        duration_value(text, "--cooldown")
    assert refused.value.param_hint == "--cooldown"


@given(st.integers(min_value=0, max_value=10 * 366 * 86_400))
def test_a_duration_shown_reads_back_the_same(seconds: int) -> None:
    shown = duration_value("0", "x")
    shown.seconds = seconds
    assert duration_value(duration_text(shown), "--cooldown").seconds == seconds


def test_times_without_a_zone_are_utc() -> None:
    assert timestamp_value("2026-01-01", "--active-from").seconds == 1_767_225_600
    assert timestamp_value("2026-01-01T01:00:00+01:00", "--active-from").seconds == 1_767_225_600
    with pytest.raises(typer.BadParameter):
        timestamp_value("tomorrow", "--active-from")
