"""The HTML report built from plain values, no server: its period, the "what went wrong" table, the
text around the charts (escaped), the charts' data, and one inlined script with no address to fetch."""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal

import pytest

from clients.html_report.charts import milestones_chart, report_charts
from clients.html_report.model import (
    BacktestComparison,
    DeliveryOutcomeCount,
    InsightFunnel,
    MilestonesReached,
    PersonaClickThrough,
    ReportData,
)
from clients.html_report.page import report_html
from clients.html_report.period import granularity_for, parse_period
from clients.html_report.problems import Problem, delivery_problems

D = dt.date
BUILT = dt.datetime(2026, 7, 1, 8, 30, tzinfo=dt.UTC)


def test_periods_of_months_and_days():
    assert parse_period("2026-01..2026-06") == (D(2026, 1, 1), D(2026, 6, 30))
    assert parse_period("2024-02") == (D(2024, 2, 1), D(2024, 2, 29))
    assert parse_period("2026-03-15..2026-04-02") == (D(2026, 3, 15), D(2026, 4, 2))
    assert parse_period("2026-03-15..2026-04") == (D(2026, 3, 15), D(2026, 4, 30))
    for wrong in ("2026-06..2026-01", "2026-13", "last month", "2026-01..", ""):
        with pytest.raises(ValueError):
            parse_period(wrong)


def test_the_time_axis_step_grows_with_the_period():
    assert granularity_for(D(2026, 1, 1), D(2026, 3, 3)) == "day"  # 62 days
    assert granularity_for(D(2026, 1, 1), D(2026, 3, 4)) == "week"
    assert granularity_for(D(2026, 1, 1), D(2026, 12, 31)) == "week"
    assert granularity_for(D(2025, 1, 1), D(2026, 6, 30)) == "month"


def test_what_went_wrong_adds_up_failures_by_channel_state_and_reason_the_most_first():
    outcomes = [DeliveryOutcomeCount(D(2026, 1, 5), "SMS", "FAILED", "INVALID_NUMBER", 2),
                DeliveryOutcomeCount(D(2026, 1, 12), "SMS", "FAILED", "INVALID_NUMBER", 3),
                DeliveryOutcomeCount(D(2026, 1, 12), "EMAIL", "DEAD_LETTER", "SMTP_TIMEOUT", 4),
                DeliveryOutcomeCount(D(2026, 1, 12), "EMAIL", "DELIVERED", "", 40),
                DeliveryOutcomeCount(D(2026, 1, 12), "PUSH", "SKIPPED", "NO_ADDRESS", 9),
                DeliveryOutcomeCount(D(2026, 1, 12), "PUSH", "FAILED", "", 1)]
    assert delivery_problems(outcomes) == (
        Problem("SMS", "FAILED", "INVALID_NUMBER", 5), Problem("EMAIL", "DEAD_LETTER", "SMTP_TIMEOUT", 4),
        Problem("PUSH", "FAILED", "", 1))


def _data(**fields):
    return ReportData(tenant="bank <&> co", period_start=D(2026, 1, 1), period_end=D(2026, 6, 30), built_at=BUILT,
                      granularity="week", **fields)


def _specs(page: str) -> dict:
    found = re.search(r"const charts = (\[.*?\]);\n", page, re.DOTALL)
    assert found is not None
    return {chart["id"]: chart["spec"] for chart in json.loads(found.group(1))}


def test_the_page_says_whose_report_it_is_escaped_and_inlines_one_script():
    page = report_html(_data(delivery_outcomes=(
        DeliveryOutcomeCount(D(2026, 1, 5), "SMS", "DEAD_LETTER", "<b>TIMEOUT</b>", 2),)))
    assert '<dd id="tenant">bank &lt;&amp;&gt; co</dd>' in page
    assert "2026-01-01 to 2026-06-30" in page and "2026-07-01 08:30:00 UTC" in page
    assert "<td>SMS</td><td>DEAD_LETTER</td><td>&lt;b&gt;TIMEOUT&lt;/b&gt;</td>" in page
    assert page.count("<script") == 2 and page.count("window.vegaEmbed=") == 1
    outside_scripts = re.sub(r"<script>.*?</script>", "", page, flags=re.DOTALL)
    assert not re.search(r"(src|href)=", outside_scripts)
    assert list(_specs(page)) == ["chart-funnel", "chart-deliveries", "chart-personas", "chart-goal-progress",
                                  "chart-milestones", "chart-rule-firings", "chart-backtest"]


def test_empty_data_makes_every_chart_with_a_note():
    page = report_html(_data())
    assert all(chart.empty_note for chart in report_charts(_data()))
    assert "No delivery failed or was given up in this period." in page
    assert "No insight was generated in this period." in page
    assert all(spec["data"]["values"] == [] for spec in _specs(page).values())


def test_the_charts_carry_the_values_they_are_given():
    charts = {c.chart_id: c for c in report_charts(_data(
        funnels=(InsightFunnel("insights/low-balance", 10, 8, 5, 2, 1),),
        personas=(PersonaClickThrough("personas/young", 8, 2, Decimal("0.25")),
                  PersonaClickThrough("personas/idle", 0, 0, None)),
        backtest=BacktestComparison("triggerRules/low", 3, ((D(2026, 1, 5), 4),), ((D(2026, 1, 5), 1),))))}
    assert [(v["stage"], v["count"]) for v in charts["chart-funnel"].spec["data"]["values"]] == [
        ("generated", 10), ("delivered", 8), ("viewed", 5), ("clicked", 2), ("converted", 1)]
    assert charts["chart-personas"].spec["data"]["values"] == [
        {"persona": "personas/young", "click_through_rate": 0.25, "clicked": 2, "delivered": 8}]
    assert charts["chart-backtest"].spec["data"]["values"] == [
        {"day": "2026-01-05", "series": "backtest", "firings": 4},
        {"day": "2026-01-05", "series": "live", "firings": 1}]
    assert charts["chart-backtest"].title == "Backtest of triggerRules/low (version 3) beside its live firings"
    assert not charts["chart-funnel"].empty_note and charts["chart-deliveries"].empty_note


def test_milestones_are_coloured_in_their_numbers_order():
    reached = tuple(MilestonesReached(D(2025, 1, 1), key, 1) for key in ("percent:100", "percent:25", "first_deposit"))
    chart = milestones_chart(_data(milestones=reached))
    assert chart.spec["encoding"]["color"]["scale"]["domain"] == ["first_deposit", "percent:25", "percent:100"]
