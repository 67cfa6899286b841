from __future__ import annotations

from collections.abc import Awaitable
from typing import TYPE_CHECKING

import typer

from clients.engagectl.context import cli_context
from clients.engagectl.local import with_services
from clients.engagectl.output import Id, emit_json, emit_table, error_line

if TYPE_CHECKING:
    from server.bootstrap import Services
    from server.domain.tenants import Tenant

app = typer.Typer(no_args_is_help=True, help="Banks served by this deployment (acts on DATABASE_URL).")


@app.command("create")
def create(ctx: typer.Context, name: str = typer.Argument(..., metavar="TENANT_ID", help="e.g. 'yes-bank'."),
           display_name: str | None = typer.Option(None, metavar="NAME", help="Human name; defaults to the id."),
           time_zone: str = typer.Option("UTC", metavar="ZONE", help="IANA time zone for the tenant's schedules.")
           ) -> None:
    """Creates a tenant.

    Examples:
      engagectl tenants create yes-bank --display-name "Yes Bank" --time-zone Europe/Prague
    """
    tenant = with_services(lambda s: s.tenants.create(name, display_name, time_zone))
    if cli_context(ctx).json_output:
        emit_json({"tenant_id": tenant.tenant_id, "display_name": tenant.display_name, "time_zone": tenant.time_zone})
    else:
        print(f"created tenant {tenant.tenant_id}")


@app.command("list")
def list_tenants(ctx: typer.Context) -> None:
    """Lists tenants, enabled or disabled.

    Examples:
      engagectl tenants list
      engagectl tenants list --json
    """
    tenants = with_services(lambda s: s.tenants.list())
    if cli_context(ctx).json_output:
        emit_json([{"tenant_id": t.tenant_id, "display_name": t.display_name, "time_zone": t.time_zone,
                    "state": _state(t), "disabled_at": t.disabled_at.isoformat() if t.disabled_at else None}
                   for t in tenants])
    else:
        emit_table("tenants", [Id("id"), "name", "time zone", "created", "state"],
                   [[t.tenant_id, t.display_name, t.time_zone, t.created_at.isoformat(),
                     f"disabled since {t.disabled_at.isoformat()}" if t.disabled_at else "enabled"]
                    for t in tenants])


@app.command("disable")
def disable(ctx: typer.Context, name: str = typer.Argument(..., metavar="TENANT_ID")) -> None:
    """Disables a tenant: its tokens are refused (TENANT_DISABLED) and its sends, campaigns and insight batches wait, within ENGAGE_TENANT_CACHE_SECONDS on every server and worker; its data is kept.

    Examples:
      engagectl tenants disable yes-bank
    """  # noqa: E501  (one paragraph: help joins no lines)
    tenant, lifetime = with_services(lambda s: _changed(s, s.tenants.disable(name)))
    _report(ctx, tenant, f"disabled tenant {tenant.tenant_id}: refused everywhere within {lifetime:g} s")


@app.command("enable")
def enable(ctx: typer.Context, name: str = typer.Argument(..., metavar="TENANT_ID")) -> None:
    """Enables a disabled tenant again: its tokens work and what waited goes on.

    Examples:
      engagectl tenants enable yes-bank
    """
    tenant, lifetime = with_services(lambda s: _changed(s, s.tenants.enable(name)))
    _report(ctx, tenant, f"enabled tenant {tenant.tenant_id}: accepted everywhere within {lifetime:g} s")


@app.command("delete")
def delete(ctx: typer.Context, name: str = typer.Argument(..., metavar="TENANT_ID"),
           yes: bool = typer.Option(False, "--yes", help="Confirms that every row of the tenant goes.")) -> None:
    """Deletes a disabled tenant and all its data (every table, one transaction). It must have been disabled for ENGAGE_TENANT_CACHE_SECONDS at least; there is no undo.

    Examples:
      engagectl tenants delete yes-bank --yes
    """  # noqa: E501  (one paragraph: help joins no lines)
    if not yes:
        error_line(f"error: deleting tenant '{name}' removes all of its data for good: add --yes to go ahead")
        raise typer.Exit(2)
    deleted = with_services(lambda s: s.tenants.delete(name))
    if cli_context(ctx).json_output:
        emit_json({"tenant_id": name, "deleted_rows": deleted})
    else:
        print(f"deleted tenant {name}: {sum(deleted.values())} rows "
              f"({', '.join(f'{table} {count}' for table, count in sorted(deleted.items()) if count)})")


async def _changed(services: Services, change: Awaitable[Tenant]) -> tuple[Tenant, float]:
    return await change, services.tenants.cache_lifetime.total_seconds()


def _state(tenant: Tenant) -> str:
    return "disabled" if tenant.disabled else "enabled"


def _report(ctx: typer.Context, tenant: Tenant, line: str) -> None:
    if cli_context(ctx).json_output:
        emit_json({"tenant_id": tenant.tenant_id, "state": _state(tenant),
                   "disabled_at": tenant.disabled_at.isoformat() if tenant.disabled_at else None})
    else:
        print(line)
