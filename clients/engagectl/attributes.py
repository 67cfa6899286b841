"""engagectl attributes: the bank's typed custom attributes of customers, and customers' values."""

from __future__ import annotations

from typing import Any

import typer

from clients.engagectl.attribute_values import type_label, value_from_text, value_text
from clients.engagectl.context import cli_context
from clients.engagectl.engagement_common import name, pairs, short
from clients.engagectl.output import Column, Id, emit_json, emit_list, emit_record, emit_table, json_wanted
from clients.engagectl.paging import Paging, all_option, limit_option, page_token_option
from clients.stubs import Stubs
from engage.personas.v1 import personas_service_pb2 as pb

app = typer.Typer(no_args_is_help=True, help="Custom attributes: definitions, and customers' values.")
COLUMNS: list[str | Column] = [Id("attribute"), "type", "default", "built in", "description"]
TYPES = ("BOOL", "INT", "DECIMAL", "STRING", "ENUM", "DATE")


def _row(definition: pb.AttributeDefinition) -> list[str]:
    values = f" ({', '.join(definition.enum_values)})" if definition.enum_values else ""
    return [short(definition.name), type_label(definition.type) + values, value_text(definition.default_value),
            "yes" if definition.built_in else "", definition.description]


def _attribute_argument() -> Any:
    return typer.Argument(..., metavar="ATTRIBUTE", help="Its name (as expressions use it).")


def _value(definition: pb.AttributeDefinition, text: str, option: str) -> pb.AttributeValue:
    try:
        return value_from_text(definition, text)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint=option) from exc


@app.command("create")
def create(ctx: typer.Context, attribute: str = _attribute_argument(),
           type_: str = typer.Option(..., "--type", metavar="|".join(TYPES), help="Fixed once created."),
           values: list[str] = typer.Option([], "--value", metavar="VALUE", help="An ENUM's values (repeat)."),
           default: str | None = typer.Option(None, "--default", metavar="VALUE",
                                              help="The value of a customer without one of their own."),
           description: str = typer.Option("", "--description", metavar="TEXT")) -> None:
    """Defines a custom attribute of customers.

    Examples:
      engagectl attributes create IsGlobetrotter --type BOOL --default false --description "Travels abroad"
      engagectl attributes create risk_profile --type ENUM --value LOW --value MEDIUM --value HIGH
    """
    if type_.upper() not in TYPES:
        raise typer.BadParameter(f"{type_!r} is none of {', '.join(TYPES)}", param_hint="--type")
    definition = pb.AttributeDefinition(type=pb.AttributeType.Value(f"ATTRIBUTE_TYPE_{type_.upper()}"),
                                        enum_values=values, description=description)
    if default is not None:
        definition.default_value.CopyFrom(_value(definition, default, "--default"))
    cli = cli_context(ctx)
    emit_record("attribute", cli.call(lambda s: s.personas.CreateAttributeDefinition(
        pb.CreateAttributeDefinitionRequest(attribute_definition=definition, attribute_definition_id=attribute))))


@app.command("list")
def list_attributes(ctx: typer.Context, limit: int = limit_option(100, "attributes, by name"),
                    page_token: str = page_token_option(), every_page: bool = all_option()) -> None:
    """Lists the bank's own attributes (`show` reads a built-in one too: age, months_as_customer, ...).

    Examples:
      engagectl attributes list --all
    """
    cli = cli_context(ctx)

    async def page(stubs: Stubs, size: int, token: str) -> tuple[list[pb.AttributeDefinition], str]:
        response = await stubs.personas.ListAttributeDefinitions(pb.ListAttributeDefinitionsRequest(
            page_size=size, page_token=token))
        return list(response.attribute_definitions), response.next_page_token

    listed = cli.list(page, Paging(limit, page_token, every_page))
    emit_list("attributes", COLUMNS, listed.items, _row, listed.next_page_token)


@app.command("show")
def show(ctx: typer.Context, attribute: str = _attribute_argument()) -> None:
    """Shows one attribute definition.

    Examples:
      engagectl attributes show IsGlobetrotter
    """
    cli = cli_context(ctx)
    emit_record("attribute", cli.call(lambda s: s.personas.GetAttributeDefinition(
        pb.GetAttributeDefinitionRequest(name=name("attributeDefinitions", attribute)))))


@app.command("update")
def update(ctx: typer.Context, attribute: str = _attribute_argument(),
           description: str | None = typer.Option(None, "--description", metavar="TEXT"),
           default: str | None = typer.Option(None, "--default", metavar="VALUE", help="A new default."),
           no_default: bool = typer.Option(False, "--no-default", help="Removes the default."),
           add_values: list[str] = typer.Option([], "--add-value", metavar="VALUE",
                                                help="Adds an ENUM value (repeat); values are never removed.")) -> None:
    """Changes an attribute's description, default or ENUM values (its type never changes).

    Examples:
      engagectl attributes update IsGlobetrotter --description "Spends abroad every quarter"
      engagectl attributes update risk_profile --add-value VERY_HIGH
    """
    if default is not None and no_default:
        raise typer.BadParameter("give --default or --no-default, not both", param_hint="--no-default")
    cli = cli_context(ctx)
    resource = name("attributeDefinitions", attribute)

    async def change(stubs: Stubs) -> pb.AttributeDefinition:
        current = await stubs.personas.GetAttributeDefinition(pb.GetAttributeDefinitionRequest(name=resource))
        wanted = pb.AttributeDefinition(name=resource, type=current.type)
        paths: list[str] = []
        if description is not None:
            wanted.description, paths = description, [*paths, "description"]
        if default is not None or no_default:
            paths.append("default_value")
            if default is not None:
                wanted.default_value.CopyFrom(_value(current, default, "--default"))
        if add_values:
            wanted.enum_values.extend([*current.enum_values, *add_values])
            paths.append("enum_values")
        if not paths:
            raise typer.BadParameter("nothing to change", param_hint="--description/--default/--add-value")
        request = pb.UpdateAttributeDefinitionRequest(attribute_definition=wanted)
        request.update_mask.paths.extend(paths)
        return await stubs.personas.UpdateAttributeDefinition(request)

    emit_record("attribute", cli.call(change))


@app.command("delete")
def delete(ctx: typer.Context, attribute: str = _attribute_argument()) -> None:
    """Deletes a custom attribute no persona names (its values go with it).

    Examples:
      engagectl attributes delete risk_profile
    """
    cli = cli_context(ctx)
    resource = name("attributeDefinitions", attribute)
    cli.call(lambda s: s.personas.DeleteAttributeDefinition(pb.DeleteAttributeDefinitionRequest(name=resource)))
    emit_record("deleted", {"name": resource})


def _customer_values(values: Any) -> None:
    rows = sorted((key, value_text(value)) for key, value in values.items())
    if json_wanted():
        emit_json(dict(rows))
    else:
        emit_table("attribute values", ["attribute", "value"], rows)


@app.command("get")
def get(ctx: typer.Context, customer: str = typer.Argument(..., metavar="CUSTOMER_ID")) -> None:
    """Shows a customer's own values of custom attributes (defaults are not listed).

    Examples:
      engagectl attributes get demo-c0001
    """
    cli = cli_context(ctx)
    found = cli.call(lambda s: s.personas.GetCustomerAttributes(pb.GetCustomerAttributesRequest(
        name=f"customers/{customer}/attributes")))
    _customer_values(found.values)


@app.command("set")
def set_values(ctx: typer.Context, customer: str = typer.Argument(..., metavar="CUSTOMER_ID"),
               values: list[str] = typer.Argument(None, metavar="ATTRIBUTE=VALUE...",
                                                  help="The values to set; the others keep theirs."),
               clear: list[str] = typer.Option([], "--clear", metavar="ATTRIBUTE",
                                               help="Clears a value (the default applies again); repeat.")) -> None:
    """Sets (and clears) only the named attributes of a customer; persona memberships follow.

    Examples:
      engagectl attributes set demo-c0001 IsGlobetrotter=true risk_profile=LOW
      engagectl attributes set demo-c0001 --clear risk_profile
    """
    named = pairs(values or [], "ATTRIBUTE=VALUE")
    if not named and not clear:
        raise typer.BadParameter("name at least one ATTRIBUTE=VALUE or --clear", param_hint="ATTRIBUTE=VALUE")
    cli = cli_context(ctx)

    async def write(stubs: Stubs) -> pb.CustomerAttributes:
        request = pb.UpdateCustomerAttributesRequest(name=f"customers/{customer}/attributes", clear=clear)
        for attribute, text in named.items():
            definition = await stubs.personas.GetAttributeDefinition(pb.GetAttributeDefinitionRequest(
                name=name("attributeDefinitions", attribute)))
            request.values[attribute].CopyFrom(_value(definition, text, attribute))
        return await stubs.personas.UpdateCustomerAttributes(request)

    _customer_values(cli.call(write).values)

