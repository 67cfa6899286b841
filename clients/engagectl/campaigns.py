"""engagectl campaigns: an event to an audience, offers approved by another bank admin."""

from __future__ import annotations

import typer

from clients.engagectl.context import cli_context
from clients.engagectl.engagement_common import label, name, pairs, short, time_of
from clients.engagectl.output import Column, Id, Wide, emit_list, emit_record
from clients.engagectl.paging import Paging, all_option, limit_option, page_token_option
from clients.engagectl.times import timestamp_value
from clients.stubs import Stubs
from engage.engagement.v1 import engagement_service_pb2 as pb

app = typer.Typer(no_args_is_help=True, help="Campaigns: create, list, get, approve, reject, cancel.")
COLUMNS: list[str | Column] = [
    Id("campaign id"), "name", Id("event"), "state", "offer", "send at", "targeted", "deliveries", Wide("creator"),
    Wide("approver")]


def _row(c: pb.Campaign) -> list[str]:
    return [short(c.name), c.display_name, short(c.event), label(pb.Campaign.State, c.state),
            "yes" if c.is_offer else "", time_of(c.send_time), str(c.customers_targeted), str(c.deliveries_created),
            c.creator, c.approver]


@app.command("create")
def create(ctx: typer.Context, name_: str = typer.Option(..., "--name", metavar="NAME", help="The campaign's name."),
           event: str = typer.Option(..., metavar="EVENT_ID", help="The event to send."),
           all_customers: bool = typer.Option(False, "--all-customers", help="Every customer is the audience."),
           customer: list[str] = typer.Option([], metavar="CUSTOMER_ID", help="An explicit audience; repeat."),
           attribute: list[str] = typer.Option([], metavar="KEY=VALUE",
                                               help="An attribute the customers must have; repeat."),
           persona: str = typer.Option("", metavar="PERSONA_ID", help="The members of a persona."),
           audience_id: str = typer.Option("", "--audience", metavar="AUDIENCE_ID",
                                           help="The members of an audience of personas."),
           send_at: str | None = typer.Option(None, metavar="TIME", help="ISO 8601 time; default: as soon as allowed."),
           offer: bool = typer.Option(False, help="An offer: waits for another bank admin's approval.")) -> None:
    """Creates a campaign: an event sent to an audience (give --all-customers, --customer, --attribute,
    --persona or --audience).

    Examples:
      engagectl campaigns create --name "Savings week" --event 5d1e --all-customers --send-at 2026-12-07T09:00
      engagectl campaigns create --name "Offer" --event 5d1e --attribute segment=retail --offer
      engagectl campaigns create --name "Travel" --event 5d1e --audience travelling_savers
    """
    cli = cli_context(ctx)
    if all_customers:
        audience = pb.Audience(all_customers=True)
    elif customer:
        audience = pb.Audience(customer_list=pb.CustomerList(customer_ids=customer))
    elif attribute:
        audience = pb.Audience(attribute_filter=pb.AttributeFilter(equals=pairs(attribute, "--attribute")))
    elif persona:
        audience = pb.Audience(persona=name("personas", persona))
    elif audience_id:
        audience = pb.Audience(named_audience=name("audiences", audience_id))
    else:
        raise typer.BadParameter("give --all-customers, --customer, --attribute, --persona or --audience",
                                 param_hint="audience")
    campaign = pb.Campaign(display_name=name_, event=name("events", event), audience=audience, is_offer=offer)
    if send_at:
        campaign.send_time.CopyFrom(timestamp_value(send_at, "--send-at"))
    emit_record("campaign", cli.call(lambda s: s.engagement.CreateCampaign(pb.CreateCampaignRequest(
        campaign=campaign))))


@app.command("list")
def list_campaigns(ctx: typer.Context, limit: int = limit_option(100, "campaigns"),
                   page_token: str = page_token_option(), every_page: bool = all_option()) -> None:
    """Lists campaigns.

    Examples:
      engagectl campaigns list
      engagectl campaigns list -o wide
    """
    cli = cli_context(ctx)

    async def page(stubs: Stubs, size: int, token: str) -> tuple[list[pb.Campaign], str]:
        response = await stubs.engagement.ListCampaigns(pb.ListCampaignsRequest(page_size=size, page_token=token))
        return list(response.campaigns), response.next_page_token

    listed = cli.list(page, Paging(limit, page_token, every_page))
    emit_list("campaigns", COLUMNS, listed.items, _row, listed.next_page_token)


CAMPAIGN_ID = typer.Argument(..., metavar="CAMPAIGN_ID", help="Id or campaigns/ID.")


@app.command("get")
def get(ctx: typer.Context, campaign_id: str = CAMPAIGN_ID) -> None:
    """Shows one campaign, every field.

    Examples:
      engagectl campaigns get 9b2e
    """
    cli = cli_context(ctx)
    emit_record("campaign", cli.call(lambda s: s.engagement.GetCampaign(pb.GetCampaignRequest(
        name=name("campaigns", campaign_id)))))


@app.command("approve")
def approve(ctx: typer.Context, campaign_id: str = CAMPAIGN_ID) -> None:
    """Approves an offer another bank admin created.

    Examples:
      engagectl campaigns approve 9b2e
    """
    cli = cli_context(ctx)
    emit_record("campaign", cli.call(lambda s: s.engagement.ApproveCampaign(pb.ApproveCampaignRequest(
        name=name("campaigns", campaign_id)))))


@app.command("reject")
def reject(ctx: typer.Context, campaign_id: str = CAMPAIGN_ID,
           reason: str = typer.Option(..., metavar="TEXT", help="Why: shown to the campaign's creator.")) -> None:
    """Rejects an offer waiting for approval.

    Examples:
      engagectl campaigns reject 9b2e --reason "wrong rate"
    """
    cli = cli_context(ctx)
    emit_record("campaign", cli.call(lambda s: s.engagement.RejectCampaign(pb.RejectCampaignRequest(
        name=name("campaigns", campaign_id), reason=reason))))


@app.command("cancel")
def cancel(ctx: typer.Context, campaign_id: str = CAMPAIGN_ID) -> None:
    """Cancels a campaign that has not been sent.

    Examples:
      engagectl campaigns cancel 9b2e
    """
    cli = cli_context(ctx)
    emit_record("campaign", cli.call(lambda s: s.engagement.CancelCampaign(pb.CancelCampaignRequest(
        name=name("campaigns", campaign_id)))))
