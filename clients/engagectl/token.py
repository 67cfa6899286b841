from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import typer

from clients.engagectl.local import with_services
from clients.engagectl.output import CommandFailed, emit_json, json_wanted, notice
from server.domain.auth import Role

if TYPE_CHECKING:
    from server.config import Settings

app = typer.Typer(no_args_is_help=True, help="Tokens for operators and development.")


@app.command("mint")
def mint(tenant: str = typer.Option(..., metavar="TENANT_ID", help="The tenant (bank)."),
         role: Role = typer.Option(..., help="bank_admin, service or user."),
         sub: str = typer.Option(..., metavar="SUBJECT", help="The user's customer id, or a service name."),
         ttl_minutes: int = typer.Option(60, min=1, max=60 * 24 * 30, metavar="MINUTES", help="Lifetime."),
         algorithm: str = typer.Option("HS256", metavar="ALGORITHM",
                                       help="HS256 (ENGAGE_JWT_SECRET) or RS256 (ENGAGE_JWT_PRIVATE_KEY).")
         ) -> None:
    """Prints a signed JWT with the server's issuer and audience, for a tenant of the store
    (DATABASE_URL, or var/ under ENGAGE_HOME): signed here with the server's secret, so run it where the
    server's environment is. A disabled tenant's token is made, with a warning: the server refuses it
    (TENANT_DISABLED) until the tenant is enabled.

    Examples:
      export ENGAGE_TOKEN=$(engagectl token mint --tenant yes-bank --role bank_admin --sub ops)
      engagectl token mint --tenant yes-bank --role user --sub demo-c0001 --ttl-minutes 15
    """
    # The settings, the signing and the store are slow to import: only for this command, not every one.
    from server.config import Settings
    from server.security.tokens import mint_token

    settings = Settings()
    _check_tenant(settings, tenant)
    minted = mint_token(settings, tenant=tenant, role=role, subject=sub, ttl=dt.timedelta(minutes=ttl_minutes),
                        algorithm=algorithm)
    if json_wanted():
        emit_json({"token": minted})
    else:
        print(minted)


def _check_tenant(settings: Settings, tenant_id: str) -> None:
    """A token for a tenant the store does not have would only be refused (UNKNOWN_TENANT) at its
    first call: refused here instead, naming the store, since a different ENGAGE_HOME or DATABASE_URL
    is the usual cause."""
    tenants = {t.tenant_id: t for t in with_services(lambda services: services.tenants.list())}
    found = tenants.get(tenant_id)
    if found is None:
        from sqlalchemy.engine import make_url

        store = make_url(settings.effective_database_url()).render_as_string(hide_password=True)
        raise CommandFailed(f"no tenant '{tenant_id}' in the store at {store}: "
                            f"create it with engagectl tenants create {tenant_id}")
    if found.disabled:
        notice(f"warning: tenant '{tenant_id}' is disabled: the server refuses its tokens (TENANT_DISABLED) "
               f"until engagectl tenants enable {tenant_id}")
