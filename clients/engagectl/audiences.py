"""engagectl audiences: personas and other audiences combined by union, intersection and exclusion,
and their members."""

from __future__ import annotations

from typing import Any

import typer

from clients.engagectl.context import cli_context
from clients.engagectl.engagement_common import name, short
from clients.engagectl.memberships import emit_members, set_given
from clients.engagectl.output import (
    Column,
    Id,
    emit_list,
    emit_record,
)
from clients.engagectl.paging import Paging, all_option, limit_option, page_token_option
from clients.stubs import Stubs
from engage.personas.v1 import personas_service_pb2 as pb

app = typer.Typer(no_args_is_help=True, help="Audiences: personas combined, and their members.")
COLUMNS: list[str | Column] = [Id("audience"), "name", "mode", "include", "exclude"]
MODES = {"ALL": pb.AUDIENCE_MODE_ALL, "ANY": pb.AUDIENCE_MODE_ANY}


def _row(audience: pb.Audience) -> list[str]:
    definition = audience.definition
    return [short(audience.name), audience.display_name, pb.AudienceMode.Name(definition.mode).removeprefix(
        "AUDIENCE_MODE_"), ", ".join(definition.include), ", ".join(definition.exclude)]


def _audience_argument() -> Any:
    return typer.Argument(..., metavar="AUDIENCE_ID", help="Id or audiences/ID.")


def _definition(include: list[str], mode: str, exclude: list[str]) -> pb.AudienceDefinition:
    if mode.upper() not in MODES:
        raise typer.BadParameter("ALL or ANY", param_hint="--mode")
    return pb.AudienceDefinition(include=include, mode=MODES[mode.upper()], exclude=exclude)


_INCLUDE_HELP = "personas/ID or audiences/ID (repeat)."


@app.command("create")
def create(ctx: typer.Context, audience: str = _audience_argument(),
           display_name: str = typer.Option(..., "--name", metavar="NAME"),
           include: list[str] = typer.Option(..., "--include", metavar="NAME", help=_INCLUDE_HELP),
           mode: str = typer.Option("ANY", "--mode", metavar="ALL|ANY",
                                    help="ALL: in every included one; ANY: in at least one."),
           exclude: list[str] = typer.Option([], "--exclude", metavar="NAME", help=_INCLUDE_HELP),
           description: str = typer.Option("", "--description", metavar="TEXT")) -> None:
    """Creates an audience; unknown personas or audiences, and cycles, are refused.

    Examples:
      engagectl audiences create travelling_savers --name "Travelling savers" --mode ALL \\
        --include personas/globetrotter --include personas/saver --exclude personas/student
    """
    cli = cli_context(ctx)
    definition = _definition(include, mode, exclude)
    emit_record("audience", cli.call(lambda s: s.personas.CreateAudience(pb.CreateAudienceRequest(
        audience_id=audience, audience=pb.Audience(display_name=display_name, description=description,
                                                   definition=definition)))))


@app.command("list")
def list_audiences(ctx: typer.Context, limit: int = limit_option(100, "audiences"),
                   page_token: str = page_token_option(), every_page: bool = all_option()) -> None:
    """Lists the bank's audiences.

    Examples:
      engagectl audiences list
    """
    cli = cli_context(ctx)

    async def page(stubs: Stubs, size: int, token: str) -> tuple[list[pb.Audience], str]:
        response = await stubs.personas.ListAudiences(pb.ListAudiencesRequest(page_size=size, page_token=token))
        return list(response.audiences), response.next_page_token

    listed = cli.list(page, Paging(limit, page_token, every_page))
    emit_list("audiences", COLUMNS, listed.items, _row, listed.next_page_token)


@app.command("show")
def show(ctx: typer.Context, audience: str = _audience_argument()) -> None:
    """Shows one audience and its definition.

    Examples:
      engagectl audiences show travelling_savers
    """
    cli = cli_context(ctx)
    emit_record("audience", cli.call(lambda s: s.personas.GetAudience(pb.GetAudienceRequest(
        name=name("audiences", audience)))))


@app.command("update")
def update(ctx: typer.Context, audience: str = _audience_argument(),
           display_name: str | None = typer.Option(None, "--name", metavar="NAME"),
           include: list[str] = typer.Option([], "--include", metavar="NAME",
                                             help="Replaces the definition: " + _INCLUDE_HELP),
           mode: str = typer.Option("ANY", "--mode", metavar="ALL|ANY"),
           exclude: list[str] = typer.Option([], "--exclude", metavar="NAME", help=_INCLUDE_HELP),
           description: str | None = typer.Option(None, "--description", metavar="TEXT")) -> None:
    """Changes an audience's name, description or (with --include) its whole definition.

    Examples:
      engagectl audiences update travelling_savers --include personas/globetrotter --mode ANY
    """
    changed = pb.Audience(name=name("audiences", audience))
    paths = set_given(changed, (("display_name", display_name), ("description", description)))
    if include:
        changed.definition.CopyFrom(_definition(include, mode, exclude))
        paths.append("definition")
    if not paths:
        raise typer.BadParameter("nothing to change", param_hint="--name/--description/--include")
    request = pb.UpdateAudienceRequest(audience=changed)
    request.update_mask.paths.extend(paths)
    cli = cli_context(ctx)
    emit_record("audience", cli.call(lambda s: s.personas.UpdateAudience(request)))


@app.command("delete")
def delete(ctx: typer.Context, audience: str = _audience_argument()) -> None:
    """Deletes an audience (refused while another audience names it).

    Examples:
      engagectl audiences delete travelling_savers
    """
    resource = name("audiences", audience)
    cli = cli_context(ctx)
    cli.call(lambda s: s.personas.DeleteAudience(pb.DeleteAudienceRequest(name=resource)))
    emit_record("deleted", {"name": resource})


@app.command("members")
def members(ctx: typer.Context, audience: str = _audience_argument(),
            limit: int = limit_option(100, "members, by customer id"), page_token: str = page_token_option(),
            every_page: bool = all_option()) -> None:
    """Lists an audience's members (from the kept persona memberships).

    Examples:
      engagectl audiences members travelling_savers --all
    """
    resource = name("audiences", audience)
    cli = cli_context(ctx)

    async def page(stubs: Stubs, size: int, token: str) -> tuple[list[str], str]:
        response = await stubs.personas.ListAudienceMembers(pb.ListAudienceMembersRequest(
            audience=resource, page_size=size, page_token=token))
        return list(response.customers), response.next_page_token

    emit_members(resource, cli.list(page, Paging(limit, page_token, every_page)))


@app.command("is-member")
def is_member(ctx: typer.Context, audience: str = _audience_argument(),
              customer: str = typer.Argument(..., metavar="CUSTOMER_ID")) -> None:
    """Says whether a customer is a member now.

    Examples:
      engagectl audiences is-member travelling_savers demo-c0001
    """
    cli = cli_context(ctx)
    answer = cli.call(lambda s: s.personas.IsAudienceMember(pb.IsAudienceMemberRequest(
        audience=name("audiences", audience), customer=f"customers/{customer}")))
    emit_record("membership", {"audience": short(audience), "customer": customer, "member": answer.member})
