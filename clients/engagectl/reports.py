"""engagectl reports: the reporting views, exported as CSV or JSON Lines (streamed page by page)."""

from __future__ import annotations

import typer

app = typer.Typer(no_args_is_help=True, help="Reporting views and their exports.")
