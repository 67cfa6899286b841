from __future__ import annotations

import typer

from clients.engagectl.context import cli_context
from clients.engagectl.local import with_services
from clients.engagectl.output import emit_json, emit_table

app = typer.Typer(no_args_is_help=True, help="Banks served by this deployment (acts on DATABASE_URL).")


@app.command("create")
def create(ctx: typer.Context, name: str = typer.Argument(..., help="Tenant id, e.g. 'yes-bank'."),
           display_name: str | None = typer.Option(None, help="Human name; defaults to the id."),
           time_zone: str = typer.Option("UTC", help="IANA time zone for the tenant's schedules.")) -> None:
    """Creates a tenant."""
    tenant = with_services(lambda s: s.tenants.create(name, display_name, time_zone))
    if cli_context(ctx).json_output:
        emit_json({"tenant_id": tenant.tenant_id, "display_name": tenant.display_name, "time_zone": tenant.time_zone})
    else:
        print(f"created tenant {tenant.tenant_id}")


@app.command("list")
def list_tenants(ctx: typer.Context) -> None:
    """Lists tenants."""
    tenants = with_services(lambda s: s.tenants.list())
    if cli_context(ctx).json_output:
        emit_json([{"tenant_id": t.tenant_id, "display_name": t.display_name, "time_zone": t.time_zone}
                   for t in tenants])
    else:
        emit_table("tenants", ["id", "name", "time zone", "created"],
                   [[t.tenant_id, t.display_name, t.time_zone, t.created_at.isoformat()] for t in tenants])
