"""engagectl reports: the reporting views' streamed exports (report_export.py), metrics and the HTML report."""

from __future__ import annotations

import typer

from clients.engagectl import report_export, report_html, report_metrics

app = typer.Typer(no_args_is_help=True, help="Reporting views and their exports.")
app.command("export")(report_export.export)
app.command("html")(report_html.html)
app.command("metrics")(report_metrics.metrics)
app.command("goals-summary")(report_metrics.goals_summary)
