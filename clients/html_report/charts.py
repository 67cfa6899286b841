"""The report's charts as Vega-Lite specifications (built with Vega-Altair), one function a chart.
Data goes inline in each spec; an empty data set still makes a chart (axes, no marks) and a note."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

import altair as alt

from clients.html_report.model import ReportData

FUNNEL_STAGES = ("generated", "delivered", "viewed", "clicked", "converted")
# Bad ends first, so that they sit at the bottom of each stack where they are easiest to compare.
DELIVERY_STATES = ("FAILED", "DEAD_LETTER", "SKIPPED", "HELD", "QUEUED", "SENDING", "SENT", "DELIVERED")
# Failures in reds, waiting in greys and yellows, sent and delivered in greens: read without the legend.
STATE_COLOURS = {"FAILED": "#d62728", "DEAD_LETTER": "#8c1c13", "SKIPPED": "#9e9e9e", "HELD": "#cfcfcf",
                 "QUEUED": "#f2c12e", "SENDING": "#f28e2b", "SENT": "#a1d99b", "DELIVERED": "#31a354"}
_WIDTH = 640
_MOST_POINTED_DAYS = 62


@dataclass(frozen=True)
class Chart:
    # The HTML element id the chart is drawn into (also what the browser test looks it up by).
    chart_id: str
    title: str
    spec: dict[str, Any]
    # Said under the title when there is nothing to draw.
    empty_note: str = ""


def _day(value: dt.date) -> str:
    return value.isoformat()


def _spec(chart: alt.TopLevelMixin) -> dict[str, Any]:
    # The values are ours and few per mark: skipping the JSON-schema check of every data row keeps a
    # large period's report quick; the chart's shape is checked by the tests.
    return chart.to_dict(validate=False)


def _time_unit(granularity: str) -> Literal["yearmonthdate", "yearmonth"]:
    return "yearmonth" if granularity == "month" else "yearmonthdate"


def funnel_chart(data: ReportData) -> Chart:
    values = [{"insight": f.insight, "stage": stage, "count": getattr(f, stage)}
              for f in data.funnels for stage in FUNNEL_STAGES]
    chart = alt.Chart(alt.Data(values=values)).mark_bar().encode(
        y=alt.Y("insight:N", title=None),
        yOffset=alt.YOffset("stage:N", sort=list(FUNNEL_STAGES)),
        x=alt.X("count:Q", title="customers"),
        color=alt.Color("stage:N", sort=list(FUNNEL_STAGES), scale=alt.Scale(domain=list(FUNNEL_STAGES))),
        tooltip=["insight:N", "stage:N", "count:Q"],
    ).properties(width=_WIDTH)
    return Chart("chart-funnel", "Engagement funnel per insight", _spec(chart),
                 "" if values else "No insight was generated in this period.")


def deliveries_chart(data: ReportData) -> Chart:
    totals: dict[tuple[str, str, str], int] = {}
    for row in data.delivery_outcomes:
        key = (_day(row.period_start), row.channel, row.state)
        totals[key] = totals.get(key, 0) + row.deliveries
    values = [{"period": period, "channel": channel, "state": state, "deliveries": count}
              for (period, channel, state), count in sorted(totals.items())]
    states = [s for s in DELIVERY_STATES if any(v["state"] == s for v in values)] or list(DELIVERY_STATES)
    states += sorted({str(v["state"]) for v in values} - set(states))
    base = alt.Chart(alt.Data(values=values)).mark_bar().encode(
        x=alt.X("period:O", timeUnit=_time_unit(data.granularity), title=f"{data.granularity} starting"),
        y=alt.Y("sum(deliveries):Q", title="deliveries"),
        color=alt.Color("state:N", sort=states,
                        scale=alt.Scale(domain=states, range=[STATE_COLOURS.get(s, "#6b6ecf") for s in states])),
        order=alt.Order("state_rank:Q"),
        tooltip=["channel:N", "state:N", alt.Tooltip("period:T", title="from"), "sum(deliveries):Q"],
    ).transform_calculate(
        state_rank=f"indexof({states!r}, datum.state)",
    ).properties(width=_WIDTH, height=140)
    chart = base.facet(row=alt.Row("channel:N", title=None)) if values else base
    return Chart("chart-deliveries", "Deliveries by channel and state", _spec(chart),
                 "" if values else "No delivery was made in this period.")


def persona_chart(data: ReportData) -> Chart:
    values = [{"persona": p.persona, "click_through_rate": float(p.click_through_rate),
               "clicked": p.clicked, "delivered": p.delivered}
              for p in data.personas if p.click_through_rate is not None]
    chart = alt.Chart(alt.Data(values=values)).mark_bar().encode(
        y=alt.Y("persona:N", sort="-x", title=None),
        x=alt.X("click_through_rate:Q", title="click-through rate", axis=alt.Axis(format="%")),
        tooltip=["persona:N", alt.Tooltip("click_through_rate:Q", format=".2%"), "clicked:Q", "delivered:Q"],
    ).properties(width=_WIDTH)
    return Chart("chart-personas", "Click-through by persona", _spec(chart),
                 "" if values else "Nothing was delivered to a persona's members in this period.")


def _band(lower: int, upper: int) -> str:
    return f"{lower}%" if lower == upper else f"{lower}-{upper}%"


def progress_chart(data: ReportData) -> Chart:
    values = [{"band": _band(b.lower_percent, b.upper_percent), "order": b.lower_percent * 1000 + b.upper_percent,
               "goals": b.goals} for b in data.progress]
    chart = alt.Chart(alt.Data(values=values)).mark_bar().encode(
        x=alt.X("band:N", sort=alt.EncodingSortField("order"), title="progress towards the target"),
        y=alt.Y("goals:Q", title="goals"),
        tooltip=["band:N", "goals:Q"],
    ).properties(width=_WIDTH)
    has_goals = any(b.goals for b in data.progress)
    return Chart("chart-goal-progress", f"Goal progress ({data.goals} goals not archived)", _spec(chart),
                 "" if has_goals else "No goal is open.")


def _milestone_order(key: str) -> tuple[str, int, str]:
    """`percent:25` before `percent:100`: the kind, then the number, then the rest."""
    kind, _, rest = key.partition(":")
    return (kind, int(rest), "") if rest.isdigit() else (kind, -1, rest)


def milestones_chart(data: ReportData) -> Chart:
    values = [{"month": _day(m.period_start), "milestone": m.milestone, "reached": m.reached}
              for m in data.milestones]
    milestones = sorted({m.milestone for m in data.milestones}, key=_milestone_order)
    chart = alt.Chart(alt.Data(values=values)).mark_bar().encode(
        x=alt.X("month:O", timeUnit="yearmonth", title="month"),
        y=alt.Y("sum(reached):Q", title="milestones reached"),
        color=alt.Color("milestone:N", sort=milestones, scale=alt.Scale(domain=milestones)),
        tooltip=["milestone:N", alt.Tooltip("month:T", format="%Y-%m"), "sum(reached):Q"],
    ).properties(width=_WIDTH)
    return Chart("chart-milestones", "Goal milestones reached over time", _spec(chart),
                 "" if values else "No milestone was reached in this period.")


def rule_firings_chart(data: ReportData) -> Chart:
    values = [{"period": _day(r.period_start), "rule": r.rule, "firings": r.firings} for r in data.rule_firings]
    # Bars side by side: a rule that fired in one period only still shows, where a line would be a dot.
    chart = alt.Chart(alt.Data(values=values)).mark_bar().encode(
        x=alt.X("period:O", timeUnit=_time_unit(data.granularity), title=f"{data.granularity} starting"),
        xOffset=alt.XOffset("rule:N"),
        y=alt.Y("firings:Q", title="firings"),
        color=alt.Color("rule:N"),
        tooltip=["rule:N", alt.Tooltip("period:T", title="from"), "firings:Q"],
    ).properties(width=_WIDTH)
    return Chart("chart-rule-firings", "Trigger firings per rule", _spec(chart),
                 "" if values else "No trigger rule fired in this period.")


def _series(name: str, days: Iterable[tuple[dt.date, int]]) -> list[dict[str, Any]]:
    return [{"day": _day(day), "series": name, "firings": count} for day, count in days]


def backtest_chart(data: ReportData) -> Chart:
    compared = data.backtest
    values = _series("backtest", compared.backtest) + _series("live", compared.live) if compared else []
    # A point a day reads well for a month or two; over a year the points bury the lines.
    chart = alt.Chart(alt.Data(values=values)).mark_line(point=len(values) <= 2 * _MOST_POINTED_DAYS).encode(
        x=alt.X("day:T", timeUnit="yearmonthdate", title="day"),
        y=alt.Y("firings:Q", title="firings"),
        color=alt.Color("series:N", scale=alt.Scale(domain=["backtest", "live"])),
        strokeDash=alt.StrokeDash("series:N", scale=alt.Scale(domain=["backtest", "live"])),
        tooltip=["series:N", alt.Tooltip("day:T"), "firings:Q"],
    ).properties(width=_WIDTH)
    title = (f"Backtest of {compared.rule} (version {compared.rule_version}) beside its live firings"
             if compared else "Backtest of a rule beside its live firings")
    return Chart("chart-backtest", title, _spec(chart),
                 "" if values else "No rule replayed: none fired in this period, or --no-backtest.")


def report_charts(data: ReportData) -> tuple[Chart, ...]:
    return (funnel_chart(data), deliveries_chart(data), persona_chart(data), progress_chart(data),
            milestones_chart(data), rule_firings_chart(data), backtest_chart(data))
