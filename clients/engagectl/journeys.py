"""engagectl journeys: versioned journeys with flow-control rules (saved from a JSON file), and the
instances customers run through them: start, answer a step, state, the routes taken."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from google.protobuf import json_format

from clients.engagectl.attribute_values import value_from_text, value_text
from clients.engagectl.context import cli_context
from clients.engagectl.engagement_common import label, name, pairs, short
from clients.engagectl.output import Column, Id, emit_list, emit_record
from clients.engagectl.paging import Paging, all_option, limit_option, page_token_option
from clients.stubs import Stubs
from engage.journeys.v1 import journeys_service_pb2 as pb
from engage.personas.v1 import personas_service_pb2 as personas_pb

app = typer.Typer(no_args_is_help=True, help="Journeys: steps, flow-control rules, instances and their routes.")
COLUMNS: list[str | Column] = [Id("journey"), "version", "name", "steps"]
ROUTE_COLUMNS: list[str | Column] = ["#", "from step", "rule", "expression", "to"]


def _journey_argument() -> Any:
    return typer.Argument(..., metavar="JOURNEY_ID", help="Id or journeys/ID.")


def _instance_argument() -> Any:
    return typer.Argument(..., metavar="INSTANCE",
                          help="customers/CUSTOMER/journeyInstances/ID, as start prints it.")


def _definition(path: Path) -> pb.Journey:
    try:
        return json_format.Parse(path.read_text(), pb.Journey())
    except (OSError, json_format.ParseError) as exc:
        raise typer.BadParameter(f"{path}: {exc}", param_hint="--file") from exc


def _row(journey: pb.Journey) -> list[str]:
    return [short(journey.name), str(journey.version), journey.display_name, str(len(journey.steps))]


def _file_option() -> Any:
    return typer.Option(..., "--file", "-f", metavar="JOURNEY.json", exists=True, dir_okay=False,
                        help="The journey as JSON (docs/journeys.md): displayName, fields, steps.")


@app.command("create")
def create(ctx: typer.Context, journey: str = _journey_argument(), file: Path = _file_option()) -> None:
    """Saves version 1 of a journey; a definition that could not end is refused naming the steps.

    Examples:
      engagectl journeys create loan_origination --file loan_origination.json
    """
    cli = cli_context(ctx)
    body = _definition(file)
    emit_record("journey", cli.call(lambda s: s.journeys.CreateJourney(pb.CreateJourneyRequest(
        journey=body, journey_id=journey))))


@app.command("update")
def update(ctx: typer.Context, journey: str = _journey_argument(), file: Path = _file_option()) -> None:
    """Saves a new version from the file (its name, fields and steps); running instances keep theirs.

    Examples:
      engagectl journeys update loan_origination --file loan_origination.json
    """
    cli = cli_context(ctx)
    body = _definition(file)
    body.name = name("journeys", journey)
    request = pb.UpdateJourneyRequest(journey=body)
    request.update_mask.paths.extend(["display_name", "fields", "steps"])
    emit_record("journey", cli.call(lambda s: s.journeys.UpdateJourney(request)))


@app.command("list")
def list_journeys(ctx: typer.Context, limit: int = limit_option(100, "journeys"),
                  page_token: str = page_token_option(), every_page: bool = all_option()) -> None:
    """Lists the bank's journeys, each at its latest version.

    Examples:
      engagectl journeys list
    """
    cli = cli_context(ctx)

    async def page(stubs: Stubs, size: int, token: str) -> tuple[list[pb.Journey], str]:
        response = await stubs.journeys.ListJourneys(pb.ListJourneysRequest(page_size=size, page_token=token))
        return list(response.journeys), response.next_page_token

    listed = cli.list(page, Paging(limit, page_token, every_page))
    emit_list("journeys", COLUMNS, listed.items, _row, listed.next_page_token)


@app.command("show")
def show(ctx: typer.Context, journey: str = _journey_argument(),
         version: int = typer.Option(0, "--version", min=0, help="A saved version (0: the latest).")) -> None:
    """Shows a journey's steps and rules (expressions in canonical form).

    Examples:
      engagectl journeys show loan_origination
      engagectl journeys show loan_origination --version 1
    """
    cli = cli_context(ctx)
    emit_record("journey", cli.call(lambda s: s.journeys.GetJourney(pb.GetJourneyRequest(
        name=name("journeys", journey), version=version))))


def _state(instance: pb.JourneyInstance) -> dict[str, Any]:
    return {"name": instance.name, "journey": short(instance.journey), "version": instance.version,
            "state": label(pb.JourneyState, instance.state), "current_step": instance.current_step,
            "asks": ", ".join(instance.captures),
            "captured": ", ".join(f"{k}={value_text(v)}" for k, v in sorted(instance.captured.items())),
            "handed_to": instance.handed_to}


@app.command("start")
def start(ctx: typer.Context, journey: str = _journey_argument(),
          customer: str = typer.Argument(..., metavar="CUSTOMER_ID")) -> None:
    """Starts a journey's latest version for a customer, at its first step.

    Examples:
      engagectl journeys start loan_origination demo-c0001
    """
    cli = cli_context(ctx)
    emit_record("journey instance", _state(cli.call(lambda s: s.journeys.StartJourney(pb.StartJourneyRequest(
        parent=f"customers/{customer}", journey=name("journeys", journey))))))


async def _typed(stubs: Stubs, instance: str, texts: dict[str, str]) -> dict[str, personas_pb.AttributeValue]:
    """Each value in the field of its type: the journey version's fields, else the bank's attributes."""
    state = await stubs.journeys.GetJourneyState(pb.GetJourneyStateRequest(name=instance))
    journey = await stubs.journeys.GetJourney(pb.GetJourneyRequest(name=state.journey, version=state.version))
    fields = {f.name: personas_pb.AttributeDefinition(type=f.type, enum_values=f.enum_values) for f in journey.fields}
    typed = {}
    for field, text in texts.items():
        definition = fields.get(field) or await stubs.personas.GetAttributeDefinition(
            personas_pb.GetAttributeDefinitionRequest(name=f"attributeDefinitions/{field}"))
        try:
            typed[field] = value_from_text(definition, text)
        except ValueError as exc:
            raise typer.BadParameter(f"{field}: {exc}", param_hint="--value") from exc
    return typed


@app.command("submit")
def submit(ctx: typer.Context, instance: str = _instance_argument(),
           step: str = typer.Option(..., "--step", metavar="STEP", help="The step answered (the current one)."),
           values: list[str] = typer.Option([], "--value", metavar="NAME=VALUE",
                                            help="One per value the step captures; typed as its field or attribute.")
           ) -> None:
    """Answers the instance's current step; its rules then choose the next step or journey.

    Examples:
      engagectl journeys submit customers/demo-c0001/journeyInstances/ID --step applicant --value IsGlobetrotter=true
    """
    texts = pairs(values, "--value")
    cli = cli_context(ctx)

    async def work(stubs: Stubs) -> pb.JourneyInstance:
        typed = await _typed(stubs, instance, texts)
        return await stubs.journeys.SubmitStep(pb.SubmitStepRequest(name=instance, step=step, values=typed))

    emit_record("journey instance", _state(cli.call(work)))


@app.command("state")
def state(ctx: typer.Context, instance: str = _instance_argument()) -> None:
    """Shows where an instance is, what its step asks and what it captured.

    Examples:
      engagectl journeys state customers/demo-c0001/journeyInstances/ID
    """
    cli = cli_context(ctx)
    emit_record("journey instance", _state(cli.call(lambda s: s.journeys.GetJourneyState(
        pb.GetJourneyStateRequest(name=instance)))))


def _route_row(route: pb.JourneyRoute) -> list[str]:
    rule = str(route.rule_index) if route.HasField("rule_index") else "default"
    to = f"step {route.route.step}" if route.route.step else f"journey {short(route.route.journey)}"
    return [str(route.sequence), route.from_step, rule, route.rule_expression, to]


@app.command("routes")
def routes(ctx: typer.Context, instance: str = _instance_argument(),
           limit: int = limit_option(100, "routes"), page_token: str = page_token_option(),
           every_page: bool = all_option()) -> None:
    """Lists the routes an instance took, with the rule that chose each.

    Examples:
      engagectl journeys routes customers/demo-c0001/journeyInstances/ID --all
    """
    cli = cli_context(ctx)

    async def page(stubs: Stubs, size: int, token: str) -> tuple[list[pb.JourneyRoute], str]:
        response = await stubs.journeys.ListJourneyRoutes(pb.ListJourneyRoutesRequest(
            parent=instance, page_size=size, page_token=token))
        return list(response.routes), response.next_page_token

    listed = cli.list(page, Paging(limit, page_token, every_page))
    emit_list("routes", ROUTE_COLUMNS, listed.items, _route_row, listed.next_page_token)
