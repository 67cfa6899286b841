"""engagectl reports metrics and reports goals-summary: QueryMetrics and SummarizeGoals as tables or JSON."""

from __future__ import annotations

import typer

from clients.engagectl.context import cli_context
from clients.engagectl.dates import date_text
from clients.engagectl.money import show_money
from clients.engagectl.output import (
    Column,
    Id,
    Wide,
    as_dict,
    emit_json,
    emit_list,
    emit_table,
    json_wanted,
)
from clients.engagectl.paging import Paging, all_option, limit_option, page_token_option
from clients.engagectl.report_options import metrics_request, period_range
from clients.stubs import Stubs
from engage.reporting.v1 import goals_summary_pb2, metrics_pb2

METRICS_COLUMNS: list[str | Column] = [
    Id("value"), "period", "generated", "delivered", "viewed", "clicked", "dismissed", "converted", "firings",
    "delivery rate", "viewed rate", "click-through", "dismissal rate", "conversion rate", "cost", Wide("outcomes")]


def _cost(row: metrics_pb2.MetricsRow) -> str:
    # Unit costs run to fractions of a cent: four places, as stored.
    return ", ".join(show_money(m, places=4) for m in row.cost)


def metrics_row(row: metrics_pb2.MetricsRow) -> list[str]:
    return [row.value, date_text(row.period_start), str(row.generated), str(row.delivered), str(row.viewed),
            str(row.clicked), str(row.dismissed), str(row.converted),
            str(row.firings) if row.dimension == metrics_pb2.METRIC_DIMENSION_RULE else "",
            row.delivery_rate, row.viewed_rate, row.click_through_rate, row.dismissal_rate, row.conversion_rate,
            _cost(row), ", ".join(f"{o.state}{'/' + o.reason if o.reason else ''}={o.deliveries}"
                                  for o in row.delivery_outcomes)]


def metrics(ctx: typer.Context,
            dimension: str = typer.Option(..., metavar="DIMENSION",
                                          help="insight, campaign, rule, persona or channel."),
            period: str = typer.Option(..., metavar="START..END",
                                       help="Months (2026-01..2026-06) or days (2026-01-15..2026-02-14), both "
                                            "included, in the bank's time zone."),
            granularity: str = typer.Option("total", metavar="GRANULARITY",
                                            help="day, week (ISO, from Monday), month or total (one period)."),
            value: list[str] = typer.Option([], "--value", metavar="VALUE",
                                            help="Only this insight, campaign, rule, persona or channel; repeat."),
            conversion_days: int = typer.Option(0, min=0, max=365, metavar="DAYS",
                                                help="Days after a banner's first impression in which a holding of "
                                                     "its product, or a transaction its conversion match accepts, "
                                                     "converts it (0: the server's 30)."),
            limit: int = limit_option(100, "rows"), page_token: str = page_token_option(),
            every_page: bool = all_option()) -> None:
    """Engagement metrics: generated, delivered, viewed, clicked, dismissed and converted units, their rates,
    cost and the deliveries' outcomes, per dimension value and period, by value then period. Needs a
    bank_admin or service token. What each dimension counts: docs/reporting-metrics.md.

    Examples:
      engagectl reports metrics --dimension insight --granularity month --period 2026-01..2026-06
      engagectl reports metrics --dimension channel --period 2026-03 -o json
      engagectl reports metrics --dimension rule --value low-balance --granularity week --period 2026-01..2026-03
    """
    cli = cli_context(ctx)
    request = metrics_request(dimension, period, granularity, value, conversion_days, 0)

    async def page(stubs: Stubs, size: int, token: str) -> tuple[list[metrics_pb2.MetricsRow], str]:
        request.page_size, request.page_token = size, token
        response = await stubs.reporting.QueryMetrics(request)
        return list(response.rows), response.next_page_token

    listed = cli.list(page, Paging(limit, page_token, every_page))
    emit_list("metrics", METRICS_COLUMNS, listed.items, metrics_row, listed.next_page_token)


def goals_summary(ctx: typer.Context,
                  period: str = typer.Option("", metavar="START..END",
                                             help="Count the milestones reached in these months or days (the "
                                                  "bank's time zone); default: all of them.")) -> None:
    """The bank's goals not archived by progress band (0-10% ... 90-100%, and 100% for the goals that reached
    their target), and the milestones reached per month and milestone. Needs a bank_admin or service token.

    Examples:
      engagectl reports goals-summary
      engagectl reports goals-summary --period 2026-01..2026-06 -o json
    """
    cli = cli_context(ctx)
    request = goals_summary_pb2.SummarizeGoalsRequest()
    if period:
        request.date_range.CopyFrom(period_range(period, "--period"))

    async def run(stubs: Stubs) -> None:
        summary = await stubs.reporting.SummarizeGoals(request)
        if json_wanted():
            emit_json(as_dict(summary))
            return
        print(f"goals (not archived): {summary.goals}")
        emit_table("progress", ["band", "goals"],
                   [[f"{b.lower_percent}%" if b.lower_percent == b.upper_percent
                     else f"{b.lower_percent}-{b.upper_percent}%", str(b.goals)] for b in summary.progress])
        emit_table("milestones", ["month", "milestone", "reached"],
                   [[date_text(m.period_start)[:7], m.milestone, str(m.reached)] for m in summary.milestones])

    cli.call(run)
