"""engagectl goals: a customer's enrolment in the goals programme, goals, tracker and history; the
funding programmes and transfers are its sub-groups (clients.engagectl.goal_funding)."""

from __future__ import annotations

import typer

from clients.engagectl import goal_funding

app = typer.Typer(no_args_is_help=True, help="Goals-based savings: enrolment, goals, tracker, history, funding.")
app.add_typer(goal_funding.programmes_app, name="programmes")
app.add_typer(goal_funding.transfers_app, name="transfers")
