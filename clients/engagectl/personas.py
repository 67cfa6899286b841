"""engagectl personas: named segment expressions over customers' attributes and holdings, their
members, and why a customer is one or not."""

from __future__ import annotations

from typing import Any

import typer

from clients.engagectl.attribute_values import value_text
from clients.engagectl.context import cli_context
from clients.engagectl.engagement_common import label, name, pairs, short
from clients.engagectl.memberships import emit_members, set_given
from clients.engagectl.output import (
    Column,
    Id,
    as_dict,
    emit_json,
    emit_list,
    emit_record,
    emit_table,
    json_wanted,
)
from clients.engagectl.paging import Paging, all_option, limit_option, page_token_option
from clients.stubs import Stubs
from engage.personas.v1 import personas_service_pb2 as pb

app = typer.Typer(no_args_is_help=True, help="Personas: segment expressions, members, explanations.")
COLUMNS: list[str | Column] = [Id("persona"), "name", "expression", "members", "description"]


def _row(persona: pb.Persona) -> list[str]:
    # members: CURRENT, or PENDING while the whole evaluation after a change runs
    return [short(persona.name), persona.display_name, persona.expression,
            label(pb.MembersState, persona.members_state), persona.description]


def _persona_argument() -> Any:
    return typer.Argument(..., metavar="PERSONA_ID", help="Id or personas/ID.")


def _tokens_option(help_text: str) -> Any:
    # Named after Persona.tokens; the root's --token (the JWT) goes before the command group.
    return typer.Option([], "--token", metavar="NAME=VALUE", help=help_text)


@app.command("create")
def create(ctx: typer.Context, persona: str = _persona_argument(),
           display_name: str = typer.Option(..., "--name", metavar="NAME"),
           expression: str = typer.Option(..., "--expression", metavar="EXPRESSION",
                                          help="A segment expression (docs/segments.md)."),
           description: str = typer.Option("", "--description", metavar="TEXT"),
           token: list[str] = _tokens_option("A value templates read as {{ persona.PERSONA_ID.NAME }} "
                                             "for the persona's members; repeat.")) -> None:
    """Creates a persona; an invalid expression is refused with the position and the reason.

    Examples:
      engagectl personas create globetrotter --name Globetrotter --expression "IsGlobetrotter = true"
      engagectl personas create affluent --name Affluent --expression "avg_monthly_salary > 5000 AND NOT holds('LOAN')"
      engagectl personas create globetrotter --name Globetrotter --expression IsGlobetrotter --token offer_rate=4.5%
    """
    tokens = pairs(token, "--token")
    cli = cli_context(ctx)
    emit_record("persona", cli.call(lambda s: s.personas.CreatePersona(pb.CreatePersonaRequest(
        persona=pb.Persona(display_name=display_name, expression=expression, description=description,
                           tokens=tokens),
        persona_id=persona))))


@app.command("list")
def list_personas(ctx: typer.Context, limit: int = limit_option(100, "personas"),
                  page_token: str = page_token_option(), every_page: bool = all_option()) -> None:
    """Lists the bank's personas.

    Examples:
      engagectl personas list
    """
    cli = cli_context(ctx)

    async def page(stubs: Stubs, size: int, token: str) -> tuple[list[pb.Persona], str]:
        response = await stubs.personas.ListPersonas(pb.ListPersonasRequest(page_size=size, page_token=token))
        return list(response.personas), response.next_page_token

    listed = cli.list(page, Paging(limit, page_token, every_page))
    emit_list("personas", COLUMNS, listed.items, _row, listed.next_page_token)


@app.command("show")
def show(ctx: typer.Context, persona: str = _persona_argument()) -> None:
    """Shows one persona, its expression in canonical form.

    Examples:
      engagectl personas show globetrotter
    """
    cli = cli_context(ctx)
    emit_record("persona", cli.call(lambda s: s.personas.GetPersona(pb.GetPersonaRequest(
        name=name("personas", persona)))))


@app.command("update")
def update(ctx: typer.Context, persona: str = _persona_argument(),
           display_name: str | None = typer.Option(None, "--name", metavar="NAME"),
           expression: str | None = typer.Option(None, "--expression", metavar="EXPRESSION"),
           description: str | None = typer.Option(None, "--description", metavar="TEXT"),
           token: list[str] = _tokens_option("Replaces all the persona's tokens; repeat."),
           clear_tokens: bool = typer.Option(False, "--clear-tokens", help="Removes the persona's tokens.")
           ) -> None:
    """Changes a persona; a new expression makes its members be worked out again.

    Examples:
      engagectl personas update globetrotter --expression "IsGlobetrotter = true AND age BETWEEN 25 AND 60"
      engagectl personas update globetrotter --token offer_rate=4.2% --token offer_name="Travel loan"
      engagectl personas update globetrotter --clear-tokens
    """
    if token and clear_tokens:
        raise typer.BadParameter("give --token or --clear-tokens, not both", param_hint="--clear-tokens")
    changed = pb.Persona(name=name("personas", persona), tokens=pairs(token, "--token"))
    paths = set_given(changed, (("display_name", display_name), ("expression", expression),
                                ("description", description)))
    if token or clear_tokens:
        paths.append("tokens")
    if not paths:
        raise typer.BadParameter("nothing to change",
                                 param_hint="--name/--expression/--description/--token/--clear-tokens")
    request = pb.UpdatePersonaRequest(persona=changed)
    request.update_mask.paths.extend(paths)
    cli = cli_context(ctx)
    emit_record("persona", cli.call(lambda s: s.personas.UpdatePersona(request)))


@app.command("delete")
def delete(ctx: typer.Context, persona: str = _persona_argument()) -> None:
    """Deletes a persona.

    Examples:
      engagectl personas delete globetrotter
    """
    resource = name("personas", persona)
    cli = cli_context(ctx)
    cli.call(lambda s: s.personas.DeletePersona(pb.DeletePersonaRequest(name=resource)))
    emit_record("deleted", {"name": resource})


@app.command("members")
def members(ctx: typer.Context, persona: str = _persona_argument(),
            limit: int = limit_option(100, "members, by customer id"), page_token: str = page_token_option(),
            every_page: bool = all_option()) -> None:
    """Lists a persona's members.

    Examples:
      engagectl personas members globetrotter --all
    """
    resource = name("personas", persona)
    cli = cli_context(ctx)

    async def page(stubs: Stubs, size: int, token: str) -> tuple[list[str], str]:
        response = await stubs.personas.ListMembers(pb.ListMembersRequest(
            persona=resource, page_size=size, page_token=token))
        return list(response.customers), response.next_page_token

    emit_members(resource, cli.list(page, Paging(limit, page_token, every_page)))


@app.command("is-member")
def is_member(ctx: typer.Context, persona: str = _persona_argument(),
              customer: str = typer.Argument(..., metavar="CUSTOMER_ID")) -> None:
    """Says whether a customer is a member now.

    Examples:
      engagectl personas is-member globetrotter demo-c0001
    """
    cli = cli_context(ctx)
    answer = cli.call(lambda s: s.personas.IsMember(pb.IsMemberRequest(
        persona=name("personas", persona), customer=f"customers/{customer}")))
    emit_record("membership", {"persona": short(persona), "customer": customer, "member": answer.member})


def _clause_rows(clause: pb.Clause, depth: int = 0) -> list[list[str]]:
    read = ""
    if clause.attribute:
        source = label(pb.ValueSource, clause.source)
        read = f"{clause.attribute} = {value_text(clause.value) or '(unset)'} [{source}]"
    rows = [["  " * depth + clause.text, "held" if clause.held else "failed", read]]
    for child in clause.children:
        rows.extend(_clause_rows(child, depth + 1))
    return rows


@app.command("explain")
def explain(ctx: typer.Context, persona: str = _persona_argument(),
            customer: str = typer.Argument(..., metavar="CUSTOMER_ID")) -> None:
    """Shows which clause of the expression held or failed for a customer, with the values it read.

    Examples:
      engagectl personas explain globetrotter demo-c0001
    """
    cli = cli_context(ctx)
    found = cli.call(lambda s: s.personas.ExplainMembership(pb.ExplainMembershipRequest(
        persona=name("personas", persona), customer=f"customers/{customer}")))
    if json_wanted():
        emit_json(as_dict(found))
        return
    emit_record("membership", {"persona": short(persona), "customer": customer, "member": found.member})
    emit_table("clauses", [Id("clause"), "result", "value read"], _clause_rows(found.clause))  # shown whole
