"""engagectl goals programmes|transfers: funding programmes that move money into a goal, and the
transfer instructions they request from the bank's payment system."""

from __future__ import annotations

import typer

programmes_app = typer.Typer(no_args_is_help=True, help="Funding programmes of a goal.")
transfers_app = typer.Typer(no_args_is_help=True, help="Transfer instructions of funding programmes.")
