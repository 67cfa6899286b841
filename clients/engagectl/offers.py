"""engagectl offers: recommended offers (docs/triggers.md, "Recommended offers"). A recommendation
names a product and the customers a segment expression selects; its runs suggest the offer, and a bank
admin approves each suggestion (the customer's banner is made then) or rejects it."""

from __future__ import annotations

from typing import Any

import typer

from clients.engagectl.banner_options import (
    BannerOptions,
    body_option,
    cta_label_option,
    cta_url_option,
    lifetime_option,
    title_option,
)
from clients.engagectl.context import cli_context
from clients.engagectl.engagement_common import label, name, short, time_of
from clients.engagectl.output import (
    Column,
    Id,
    Wide,
    as_dict,
    emit_json,
    emit_list,
    emit_record,
    emit_table,
    enum_number,
    json_wanted,
    notice,
)
from clients.engagectl.paging import Paging, all_option, limit_option, page_token_option
from clients.stubs import Stubs
from engage.triggers.v1 import offers_service_pb2 as pb

app = typer.Typer(no_args_is_help=True, help="Recommended offers: recommendations, suggestions, approval.")
recommendations_app = typer.Typer(no_args_is_help=True,
                                  help="Recommendations: a product for the customers a segment expression selects.")
app.add_typer(recommendations_app, name="recommendations")

RECOMMENDATION_COLUMNS: list[str | Column] = [Id("recommendation"), "name", "product", "criteria", "audience",
                                              "last run", Wide("banner title"), Wide("created by")]
SUGGESTION_COLUMNS: list[str | Column] = [Id("suggestion"), Id("customer"), "recommendation", "product", "status",
                                          "indicators", "created", Wide("decided by"), Wide("banner"),
                                          Wide("rejection reason")]


def _recommendation_argument() -> Any:
    return typer.Argument(..., metavar="RECOMMENDATION_ID", help="Id or offerRecommendations/ID.")


def _suggestion_argument() -> Any:
    return typer.Argument(..., metavar="SUGGESTION_ID", help="Id or suggestedOffers/ID.")


def _recommendation_row(r: pb.OfferRecommendation) -> list[str]:
    return [short(r.name), r.display_name, short(r.product), r.criteria, r.audience, time_of(r.last_run_time),
            r.banner.title, r.created_by]


def _suggestion_row(s: pb.SuggestedOffer) -> list[str]:
    return [short(s.name), short(s.customer), short(s.offer_recommendation), short(s.product),
            label(pb.SuggestedOfferStatus, s.status),
            "; ".join(f"{k} = {v}" for k, v in sorted(s.indicator_values.items())), time_of(s.create_time),
            s.decided_by, s.banner, s.rejection_reason]


# -- recommendations ------------------------------------------------------------------------------

@recommendations_app.command("create")
def create(ctx: typer.Context, recommendation: str = _recommendation_argument(),
           display_name: str = typer.Option(..., "--name", metavar="NAME"),
           product: str = typer.Option(..., "--product", metavar="PRODUCT_ID", help="Id or products/ID."),
           criteria: str = typer.Option(..., "--criteria", metavar="EXPRESSION",
                                        help="A segment expression over key indicators (docs/segments.md)."),
           audience: str = typer.Option("", "--audience", metavar="AUDIENCE",
                                        help="personas/ID or audiences/ID: only their members (default: anyone)."),
           banner_title: str = title_option(required=True), banner_body: str = body_option(required=True),
           banner_cta_label: str = cta_label_option(required=True),
           banner_cta_url: str = cta_url_option(required=True),
           banner_lifetime: str | None = lifetime_option("default 30d")) -> None:
    """Creates a recommendation; criteria the server cannot read are refused with the position and reason.

    Examples:
      engagectl offers recommendations create rich_savers --name "Savers without a loan" \\
        --product premium-savings --criteria "avg_collected_balance >= 2500 AND NOT holds('LOAN')" \\
        --banner-title "Earn more on your savings" --banner-body "Premium savings pays 3% a year." \\
        --banner-cta-label "Open now" --banner-cta-url https://bank.example/premium --banner-lifetime 14d
    """
    banner = pb.OfferBanner()
    BannerOptions(banner_title, banner_body, banner_cta_label, banner_cta_url, banner_lifetime).fill(banner)
    body = pb.OfferRecommendation(display_name=display_name, product=name("products", product), criteria=criteria,
                                  audience=audience, banner=banner)
    cli = cli_context(ctx)
    emit_record("offer recommendation", cli.call(lambda s: s.offers.CreateOfferRecommendation(
        pb.CreateOfferRecommendationRequest(offer_recommendation=body,
                                            offer_recommendation_id=short(recommendation)))))


@recommendations_app.command("list")
def list_recommendations(ctx: typer.Context, limit: int = limit_option(100, "recommendations"),
                         page_token: str = page_token_option(), every_page: bool = all_option()) -> None:
    """Lists the bank's recommendations by id.

    Examples:
      engagectl offers recommendations list
    """
    cli = cli_context(ctx)

    async def page(stubs: Stubs, size: int, token: str) -> tuple[list[pb.OfferRecommendation], str]:
        response = await stubs.offers.ListOfferRecommendations(pb.ListOfferRecommendationsRequest(
            page_size=size, page_token=token))
        return list(response.offer_recommendations), response.next_page_token

    listed = cli.list(page, Paging(limit, page_token, every_page))
    emit_list("offer recommendations", RECOMMENDATION_COLUMNS, listed.items, _recommendation_row,
              listed.next_page_token)


@recommendations_app.command("show")
def show(ctx: typer.Context, recommendation: str = _recommendation_argument()) -> None:
    """Shows one recommendation, its criteria in canonical form and its banner.

    Examples:
      engagectl offers recommendations show rich_savers
    """
    cli = cli_context(ctx)
    emit_record("offer recommendation", cli.call(lambda s: s.offers.GetOfferRecommendation(
        pb.GetOfferRecommendationRequest(name=name("offerRecommendations", recommendation)))))


@recommendations_app.command("delete")
def delete(ctx: typer.Context, recommendation: str = _recommendation_argument()) -> None:
    """Deletes a recommendation and its pending suggestions (decided ones and banners stay).

    Examples:
      engagectl offers recommendations delete rich_savers
    """
    resource = name("offerRecommendations", recommendation)
    cli = cli_context(ctx)
    cli.call(lambda s: s.offers.DeleteOfferRecommendation(pb.DeleteOfferRecommendationRequest(name=resource)))
    emit_record("deleted", {"name": resource})


# -- runs and suggestions -------------------------------------------------------------------------

@app.command("run")
def run(ctx: typer.Context,
        recommendation: str = typer.Option("", "--recommendation", metavar="RECOMMENDATION_ID",
                                           help="Only this one (default: every recommendation).")) -> None:
    """Does now what the daily run does: suggests each recommendation to the customers it selects.

    Examples:
      engagectl offers run
      engagectl offers run --recommendation rich_savers
    """
    request = pb.RunOfferRecommendationsRequest(
        offer_recommendation=name("offerRecommendations", recommendation) if recommendation else "")
    cli = cli_context(ctx)
    result = cli.call(lambda s: s.offers.RunOfferRecommendations(request))
    if json_wanted():
        emit_json(as_dict(result))
        return
    emit_table("offer recommendation runs", [Id("recommendation"), "new suggestions"],
               [[short(r.offer_recommendation), str(r.suggestions_created)] for r in result.runs])
    notice(f"{result.recommendations_run} recommendation(s) run, {result.suggestions_created} suggestion(s) made")


@app.command("suggested")
def suggested(ctx: typer.Context,
              recommendation: str = typer.Option("", "--recommendation", metavar="RECOMMENDATION_ID",
                                                 help="Only this recommendation's."),
              status: str | None = typer.Option(None, "--status", metavar="STATUS",
                                                help="PENDING, APPROVED or REJECTED (default: all)."),
              limit: int = limit_option(100, "suggestions"), page_token: str = page_token_option(),
              every_page: bool = all_option()) -> None:
    """Lists the suggested offers, oldest first, with the indicator values that selected each customer.

    Examples:
      engagectl offers suggested --status PENDING
      engagectl offers suggested --recommendation rich_savers -o wide
    """
    try:
        wanted = enum_number(pb.SuggestedOfferStatus, status) if status else pb.SUGGESTED_OFFER_STATUS_UNSPECIFIED
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--status") from exc
    only = name("offerRecommendations", recommendation) if recommendation else ""
    cli = cli_context(ctx)

    async def page(stubs: Stubs, size: int, token: str) -> tuple[list[pb.SuggestedOffer], str]:
        response = await stubs.offers.ListSuggestedOffers(pb.ListSuggestedOffersRequest(
            offer_recommendation=only, status=wanted, page_size=size, page_token=token))
        return list(response.suggested_offers), response.next_page_token

    listed = cli.list(page, Paging(limit, page_token, every_page))
    emit_list("suggested offers", SUGGESTION_COLUMNS, listed.items, _suggestion_row, listed.next_page_token)


@app.command("approve")
def approve(ctx: typer.Context, suggestion: str = _suggestion_argument()) -> None:
    """Approves a pending suggestion: the customer's banner is made now.

    Examples:
      engagectl offers approve 0190a1b2c3d4
    """
    cli = cli_context(ctx)
    emit_record("suggested offer", cli.call(lambda s: s.offers.ApproveSuggestedOffer(
        pb.ApproveSuggestedOfferRequest(name=name("suggestedOffers", suggestion)))))


@app.command("reject")
def reject(ctx: typer.Context, suggestion: str = _suggestion_argument(),
           reason: str = typer.Option("", "--reason", metavar="TEXT", help="Why (up to 500 characters).")) -> None:
    """Rejects a pending suggestion: no banner, and the customer is not suggested it again for 90 days.

    Examples:
      engagectl offers reject 0190a1b2c3d4 --reason "balance only just at the line"
    """
    cli = cli_context(ctx)
    emit_record("suggested offer", cli.call(lambda s: s.offers.RejectSuggestedOffer(
        pb.RejectSuggestedOfferRequest(name=name("suggestedOffers", suggestion), reason=reason))))
