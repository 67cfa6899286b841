from __future__ import annotations

import datetime as dt

import typer

from clients.engagectl.output import emit_json, json_wanted
from server.config import Settings
from server.domain.auth import Role
from server.security.tokens import mint_token

app = typer.Typer(no_args_is_help=True, help="Tokens for operators and development.")


@app.command("mint")
def mint(tenant: str = typer.Option(..., metavar="TENANT_ID", help="The tenant (bank)."),
         role: Role = typer.Option(..., help="bank_admin, service or user."),
         sub: str = typer.Option(..., metavar="SUBJECT", help="The user's customer id, or a service name."),
         ttl_minutes: int = typer.Option(60, min=1, max=60 * 24 * 30, metavar="MINUTES", help="Lifetime."),
         algorithm: str = typer.Option("HS256", metavar="ALGORITHM",
                                       help="HS256 (ENGAGE_JWT_SECRET) or RS256 (ENGAGE_JWT_PRIVATE_KEY).")
         ) -> None:
    """Prints a signed JWT with the server's issuer and audience.

    Examples:
      export ENGAGE_TOKEN=$(engagectl token mint --tenant yes-bank --role bank_admin --sub ops)
      engagectl token mint --tenant yes-bank --role user --sub demo-c0001 --ttl-minutes 15
    """
    minted = mint_token(Settings(), tenant=tenant, role=role, subject=sub, ttl=dt.timedelta(minutes=ttl_minutes),
                        algorithm=algorithm)
    if json_wanted():
        emit_json({"token": minted})
    else:
        print(minted)
