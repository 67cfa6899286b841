"""engagectl reports html: the programme's report as one HTML file that opens offline in any browser."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import sys
import tempfile
from pathlib import Path

import typer

from clients.engagectl.context import cli_context
from clients.engagectl.output import emit_json, json_wanted, notice
from clients.engagectl.report_data import ReportRequest, read_report
from clients.html_report.period import parse_period
from clients.stubs import Stubs


def _period(text: str) -> tuple[dt.date, dt.date]:
    try:
        return parse_period(text)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--period") from exc


def _write(path: Path, text: str) -> int:
    """Written beside and renamed into place: an interrupted build leaves no half a report."""
    data = text.encode("utf-8")
    folder = path.resolve().parent
    with tempfile.NamedTemporaryFile("wb", dir=folder, prefix=f".{path.name}.", delete=False) as out:
        out.write(data)
    os.replace(out.name, path)
    return len(data)


def html(ctx: typer.Context,
         period: str = typer.Option(..., metavar="START..END",
                                    help="Months (2026-01..2026-06) or days (2026-01-15..2026-02-14), both "
                                         "included, in the bank's time zone."),
         destination: Path = typer.Option(..., "-o", "--output", metavar="FILE", dir_okay=False,
                                          help="The HTML file to write (replaced if it exists)."),
         rule: str | None = typer.Option(None, metavar="RULE",
                                         help="The trigger rule (its id or triggerRules/ID) whose backtest is "
                                              "drawn beside its live firings; default: the one that fired most."),
         backtest: bool = typer.Option(True, "--backtest/--no-backtest",
                                       help="Replay the rule over the period (minutes on a large bank) or not."),
         ) -> None:
    """Writes the programme's report as one self-contained HTML file (scripts inlined, opens offline):
    the engagement funnel per insight, deliveries by channel and state over time, click-through by
    persona, goal progress and milestones, trigger firings per rule, a rule's backtest beside its live
    firings, and a table of what went wrong. Needs a bank_admin token (a service token gets every chart
    but the backtest). Charts and columns: docs/html-report.md.

    Examples:
      engagectl reports html --period 2026-01..2026-06 -o report.html
      engagectl reports html --period 2026-03-01..2026-03-31 --rule low-balance -o march.html
    """
    cli = cli_context(ctx)
    start, end = _period(period)
    request = ReportRequest(start=start, end=end, rule=rule, token=cli.token, backtest=backtest)

    # Vega-Altair takes a quarter of a second to import: only this command pays for it.
    from clients.html_report.page import report_html
    from clients.html_report.vega_script import is_cached

    async def run(stubs: Stubs) -> None:
        # A first run bundles the Vega script (seconds, holding the interpreter): in a process of its own
        # while the server reads, into the cache report_html then reads it from.
        bundling = None if is_cached() else await asyncio.create_subprocess_exec(
            sys.executable, "-m", "clients.html_report.vega_script", stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL)
        try:
            data = await read_report(stubs, request)
        except BaseException:
            if bundling is not None and bundling.returncode is None:
                bundling.kill()  # no report to draw
            raise
        finally:
            if bundling is not None:
                await bundling.wait()  # failed or not: report_html bundles itself when the cache lacks it
        size = _write(destination, report_html(data))
        if json_wanted():
            emit_json({"file": str(destination), "bytes": size, "tenant": data.tenant,
                       "period_start": start.isoformat(), "period_end": end.isoformat(),
                       "remarks": list(data.remarks)})
            return
        for remark in data.remarks:
            notice(remark)
        print(f"wrote {destination} ({size:,} bytes) for {data.tenant}, {start} to {end}")

    cli.call(run)
