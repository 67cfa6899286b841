"""engagectl campaigns: an event to an audience, offers approved by another bank admin."""

from __future__ import annotations

import datetime as dt

import typer
from google.protobuf import timestamp_pb2

from clients.engagectl.context import cli_context
from clients.engagectl.engagement_common import name, pairs, short, show, show_one, time_of
from engage.engagement.v1 import engagement_service_pb2 as pb

app = typer.Typer(no_args_is_help=True, help="Campaigns: create, list, get, approve, reject, cancel.")
COLUMNS = ["campaign id", "name", "event", "offer", "state", "creator", "approver", "send at", "targeted",
           "deliveries"]


def _row(c: pb.Campaign) -> list[str]:
    return [short(c.name), c.display_name, short(c.event), "yes" if c.is_offer else "", pb.Campaign.State.Name(c.state),
            c.creator, c.approver, time_of(c.send_time), str(c.customers_targeted), str(c.deliveries_created)]


@app.command("create")
def create(ctx: typer.Context, name_: str = typer.Option(..., "--name"), event: str = typer.Option(...),
           all_customers: bool = typer.Option(False, "--all-customers"),
           customer: list[str] = typer.Option([], help="An explicit audience; repeat."),
           attribute: list[str] = typer.Option([], help="KEY=VALUE the customers' attributes must equal."),
           send_at: str | None = typer.Option(None, help="ISO 8601 time; default: as soon as allowed."),
           offer: bool = typer.Option(False, help="An offer: waits for another bank admin's approval.")) -> None:
    cli = cli_context(ctx)
    if all_customers:
        audience = pb.Audience(all_customers=True)
    elif customer:
        audience = pb.Audience(customer_list=pb.CustomerList(customer_ids=customer))
    elif attribute:
        audience = pb.Audience(attribute_filter=pb.AttributeFilter(equals=pairs(attribute, "--attribute")))
    else:
        raise typer.BadParameter("give --all-customers, --customer or --attribute", param_hint="audience")
    campaign = pb.Campaign(display_name=name_, event=name("events", event), audience=audience, is_offer=offer)
    if send_at:
        try:
            when = dt.datetime.fromisoformat(send_at)
        except ValueError as exc:
            raise typer.BadParameter(f"{send_at!r} is not an ISO 8601 time", param_hint="--send-at") from exc
        stamp = timestamp_pb2.Timestamp()
        stamp.FromDatetime(when if when.tzinfo else when.replace(tzinfo=dt.UTC))
        campaign.send_time.CopyFrom(stamp)
    show_one(cli, "campaign", cli.call(lambda s: s.engagement.CreateCampaign(pb.CreateCampaignRequest(
        campaign=campaign))), COLUMNS, _row)


@app.command("list")
def list_campaigns(ctx: typer.Context) -> None:
    cli = cli_context(ctx)
    show(cli, "campaigns", COLUMNS, list(cli.call(lambda s: s.engagement.ListCampaigns(
        pb.ListCampaignsRequest(page_size=1000))).campaigns), _row)


@app.command("get")
def get(ctx: typer.Context, campaign_id: str) -> None:
    cli = cli_context(ctx)
    show_one(cli, "campaign", cli.call(lambda s: s.engagement.GetCampaign(pb.GetCampaignRequest(
        name=name("campaigns", campaign_id)))), COLUMNS, _row)


@app.command("approve")
def approve(ctx: typer.Context, campaign_id: str) -> None:
    cli = cli_context(ctx)
    show_one(cli, "campaign", cli.call(lambda s: s.engagement.ApproveCampaign(pb.ApproveCampaignRequest(
        name=name("campaigns", campaign_id)))), COLUMNS, _row)


@app.command("reject")
def reject(ctx: typer.Context, campaign_id: str, reason: str = typer.Option(...)) -> None:
    cli = cli_context(ctx)
    show_one(cli, "campaign", cli.call(lambda s: s.engagement.RejectCampaign(pb.RejectCampaignRequest(
        name=name("campaigns", campaign_id), reason=reason))), COLUMNS, _row)


@app.command("cancel")
def cancel(ctx: typer.Context, campaign_id: str) -> None:
    cli = cli_context(ctx)
    show_one(cli, "campaign", cli.call(lambda s: s.engagement.CancelCampaign(pb.CancelCampaignRequest(
        name=name("campaigns", campaign_id)))), COLUMNS, _row)
