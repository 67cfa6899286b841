"""engagectl products: the Product Factory. Products, their versions (DRAFT -> APPROVED -> RETIRED,
terms written as JSON files, docs/products.md), the coverage analysis shown before approval, and quotes."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import typer
from google.protobuf.field_mask_pb2 import FieldMask

from clients.engagectl.context import cli_context
from clients.engagectl.engagement_common import label, name, short, time_of
from clients.engagectl.money import money, show_money
from clients.engagectl.output import (
    Column,
    CommandFailed,
    Id,
    as_dict,
    emit_json,
    emit_list,
    emit_record,
    emit_table,
    json_wanted,
    notice,
)
from clients.engagectl.paging import Paging, all_option, limit_option, page_token_option
from clients.stubs import Stubs
from engage.products.v1 import products_service_pb2 as pb

app = typer.Typer(no_args_is_help=True, help="Products: versions, coverage analysis, approval, quotes.")
versions_app = typer.Typer(no_args_is_help=True, help="A product's versions: create, list, show, update, analyze.")
app.add_typer(versions_app, name="versions")

PRODUCT_COLUMNS: list[str | Column] = [Id("product"), "name", "live version", "latest", "description"]
VERSION_COLUMNS: list[str | Column] = [Id("version"), "state", "based on", "authors", "approver", "approved"]


def _product_argument() -> Any:
    return typer.Argument(..., metavar="PRODUCT_ID", help="Id or products/ID.")


def _version_argument() -> Any:
    return typer.Argument(..., metavar="VERSION", help="Its number, or products/ID/versions/N.")


def _version_name(product: str, version: str) -> str:
    return version if version.startswith("products/") else f"{name('products', product)}/versions/{version}"


def _terms(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise typer.BadParameter(f"cannot read {path}: {exc.strerror}", param_hint="--terms") from exc


def _product_row(p: pb.Product) -> list[str]:
    return [short(p.name), p.display_name, short(p.live_version), str(p.latest_version_number), p.description]


def _version_row(v: pb.ProductVersion) -> list[str]:
    return [short(v.name), label(pb.ProductVersion.State, v.state), short(v.based_on), ", ".join(v.authors),
            v.approver, time_of(v.approve_time)]


def _version_record(version: pb.ProductVersion, with_terms: bool = False) -> dict[str, Any]:
    record = {key: value for key, value in as_dict(version).items() if key != "terms_json"}
    if with_terms:
        record["terms_json"] = version.terms_json
    return record


def _show_coverage(report: pb.CoverageReport) -> None:
    """The analysis as the approver reads it: gaps, then overlaps with the list that applies there."""
    if report.nothing_eligible:
        notice("no request is eligible: the limits and availability rules exclude everyone")
    emit_table("gaps: eligible requests no interest list prices", ["region"],
               [[g.text] for g in report.gaps] or [["none"]])
    emit_table("overlaps: lists matching with different prices", ["region", "lists (precedence order)", "applied"],
               [[o.region.text, ", ".join(f"{n} ({r}%)" for n, r in zip(o.interest_lists, o.annual_rates,
                                                                         strict=True)), o.interest_lists[0]]
                for o in report.overlaps] or [["none", "", ""]])


# -- products -------------------------------------------------------------------------------------

MATCH_DIRECTIONS = ("CREDIT", "DEBIT")


def _match_category_option() -> Any:
    return typer.Option(None, "--match-category", metavar="CATEGORY",
                        help="Conversion match: a booked transaction of this category (case-blind) shows the "
                             "customer took the product up (docs/products.md, \"Conversion match\").")


def _match_description_option() -> Any:
    return typer.Option(None, "--match-description", metavar="TEXT",
                        help="Conversion match: the transaction's description contains this (case-blind).")


def _match_direction_option() -> Any:
    return typer.Option(None, "--match-direction", metavar="CREDIT|DEBIT",
                        help="Conversion match: only transactions of this direction (default: either).")


def _conversion_match(category: str | None, description: str | None, direction: str | None
                      ) -> pb.ConversionMatch | None:
    """The match the options give, None when they give none."""
    if category is None and description is None and direction is None:
        return None
    if direction is not None and direction.upper() not in MATCH_DIRECTIONS:
        raise typer.BadParameter("CREDIT or DEBIT", param_hint="--match-direction")
    wire_direction = f"DIRECTION_{(direction or 'UNSPECIFIED').upper()}"
    return pb.ConversionMatch(category=category or "", description_contains=description or "",
                              direction=pb.ConversionMatch.Direction.Value(wire_direction))


@app.command("create")
def create(ctx: typer.Context, product: str = _product_argument(),
           display_name: str = typer.Option(..., "--name", metavar="NAME"),
           description: str = typer.Option("", "--description", metavar="TEXT"),
           match_category: str | None = _match_category_option(),
           match_description: str | None = _match_description_option(),
           match_direction: str | None = _match_direction_option()) -> None:
    """Creates a product, without versions yet (`products versions create` adds the first).

    Examples:
      engagectl products create personal-loan --name "Personal loan" --description "for globetrotters"
      engagectl products create gold-card --name "Gold card" --match-category CARD_FEE --match-direction DEBIT
    """
    cli = cli_context(ctx)
    body = pb.Product(display_name=display_name, description=description,
                      conversion_match=_conversion_match(match_category, match_description, match_direction))
    emit_record("product", cli.call(lambda s: s.products.CreateProduct(pb.CreateProductRequest(
        product_id=product, product=body))))


@app.command("update")
def update(ctx: typer.Context, product: str = _product_argument(),
           display_name: str | None = typer.Option(None, "--name", metavar="NAME"),
           description: str | None = typer.Option(None, "--description", metavar="TEXT"),
           match_category: str | None = _match_category_option(),
           match_description: str | None = _match_description_option(),
           match_direction: str | None = _match_direction_option(),
           no_match: bool = typer.Option(False, "--no-conversion-match",
                                         help="Removes the conversion match: only holdings convert offers.")
           ) -> None:
    """Changes what is given of a product. The --match-* options replace the whole conversion match: give
    every part it should have.

    Examples:
      engagectl products update gold-card --match-category CARD_FEE --match-direction DEBIT
      engagectl products update savings-plus --match-description "savings plan"
      engagectl products update gold-card --no-conversion-match
    """
    match = _conversion_match(match_category, match_description, match_direction)
    if no_match and match is not None:
        raise typer.BadParameter("either this or --match-* options", param_hint="--no-conversion-match")
    paths = [p for p, given in (("display_name", display_name is not None), ("description", description is not None),
                                ("conversion_match", no_match or match is not None)) if given]
    request = pb.UpdateProductRequest(product=pb.Product(
        name=name("products", product), display_name=display_name or "", description=description or "",
        conversion_match=match))
    request.update_mask.paths.extend(paths)
    cli = cli_context(ctx)
    emit_record("product", cli.call(lambda s: s.products.UpdateProduct(request)))


@app.command("list")
def list_products(ctx: typer.Context, limit: int = limit_option(100, "products"),
                  page_token: str = page_token_option(), every_page: bool = all_option()) -> None:
    """Lists the bank's products with their live versions.

    Examples:
      engagectl products list
      engagectl products list --json
    """
    cli = cli_context(ctx)

    async def page(stubs: Stubs, size: int, token: str) -> tuple[list[pb.Product], str]:
        response = await stubs.products.ListProducts(pb.ListProductsRequest(page_size=size, page_token=token))
        return list(response.products), response.next_page_token

    listed = cli.list(page, Paging(limit, page_token, every_page))
    emit_list("products", PRODUCT_COLUMNS, listed.items, _product_row, listed.next_page_token)


@app.command("show")
def show(ctx: typer.Context, product: str = _product_argument()) -> None:
    """Shows a product and which of its versions is live.

    Examples:
      engagectl products show personal-loan
    """
    cli = cli_context(ctx)
    emit_record("product", cli.call(lambda s: s.products.GetProduct(pb.GetProductRequest(
        name=name("products", product)))))


@app.command("approve")
def approve(ctx: typer.Context, product: str = _product_argument(), version: str = _version_argument(),
            yes: bool = typer.Option(False, "--yes", help="Approves although the analysis finds gaps or overlaps "
                                                          "(after reading them).")) -> None:
    """Approves a draft (a bank admin who did not write it): shows the coverage analysis first; with gaps
    or overlaps, approves only with --yes. The version approved before is retired.

    Examples:
      engagectl products approve personal-loan 2
      engagectl products approve personal-loan 2 --yes
    """
    resource = _version_name(product, version)
    cli = cli_context(ctx)
    report = cli.call(lambda s: s.products.AnalyzeProductVersion(pb.AnalyzeProductVersionRequest(name=resource)))
    if not report.clean and not yes:
        if json_wanted():
            emit_json(as_dict(report))
        else:
            _show_coverage(report)
        raise CommandFailed(f"{resource} has {len(report.gaps)} gap(s) and {len(report.overlaps)} overlap(s): "
                            "add --yes to approve it as it is")
    approval = cli.call(lambda s: s.products.ApproveProductVersion(pb.ApproveProductVersionRequest(name=resource)))
    if json_wanted():
        emit_json(as_dict(approval))
        return
    emit_record("approved", _version_record(approval.product_version))
    if approval.HasField("retired_version"):
        notice(f"retired {approval.retired_version.name}")
    _show_coverage(approval.coverage)


@app.command("retire")
def retire(ctx: typer.Context, product: str = _product_argument(), version: str = _version_argument()) -> None:
    """Retires the approved version: the product is quoted by none until another is approved.

    Examples:
      engagectl products retire personal-loan 1
    """
    resource = _version_name(product, version)
    cli = cli_context(ctx)
    emit_record("product version", _version_record(cli.call(lambda s: s.products.RetireProductVersion(
        pb.RetireProductVersionRequest(name=resource)))))


@app.command("quote")
def quote(ctx: typer.Context, product: str = _product_argument(),
          customer: str = typer.Argument(..., metavar="CUSTOMER_ID", help="The customer (a user token: its own)."),
          amount: str = typer.Option(..., "--amount", metavar="AMOUNT", help="e.g. 15000.00"),
          currency: str = typer.Option("EUR", "--currency", metavar="CURRENCY"),
          term: int = typer.Option(..., "--term", metavar="MONTHS", help="Whole months."),
          version: str = typer.Option("", "--version", metavar="VERSION",
                                      help="Quote this version (a draft too) instead of the live one.")) -> None:
    """Quotes a product for a customer: eligibility, the list applied, rate, charges, the monthly instalment,
    and why.

    Examples:
      engagectl products quote personal-loan demo-c0001 --amount 15000 --term 36
      engagectl products quote personal-loan demo-c0001 --amount 7000 --term 36 --version 2 --json
    """
    try:
        asked = money(Decimal(amount), currency)
    except (InvalidOperation, ValueError) as exc:
        raise typer.BadParameter(f"{amount!r} is not an amount", param_hint="--amount") from exc
    request = pb.QuoteProductRequest(product=name("products", product), customer=name("customers", customer),
                                     amount=asked, term_months=term,
                                     version=_version_name(product, version) if version else "")
    cli = cli_context(ctx)
    result = cli.call(lambda s: s.products.QuoteProduct(request))
    if json_wanted():
        emit_json(as_dict(result))
        return
    summary: dict[str, Any] = {"version": result.product_version, "customer": short(result.customer),
                               "amount": show_money(result.amount), "term": f"{result.term_months} months",
                               "eligible": result.eligible}
    if not result.eligible:
        summary["failing rule"] = result.failing_rule
    else:
        p = result.pricing
        summary |= {"interest list": p.interest_list, "rate": f"{p.annual_rate}% a year (list: {p.list_rate}%)",
                    "monthly instalment": show_money(p.monthly_instalment),
                    "monthly payment": show_money(p.monthly_payment), "upfront": show_money(p.upfront),
                    "total payable": show_money(p.total_payable), "discounts": ", ".join(p.discounts)}
        emit_record("quote", summary)
        emit_table("charges", ["kind", "name", "amount", "when"],
                   [["commission", c.name, show_money(c.amount), label(pb.ChargeFrequency, c.frequency)]
                    for c in p.commissions] +
                   [["insurance", i.name, show_money(i.amount), label(pb.ChargeFrequency, i.frequency)]
                    for i in p.insurances])
        emit_table("explanation", ["why"], [[line] for line in result.explanation])
        return
    emit_record("quote", summary)
    emit_table("explanation", ["why"], [[line] for line in result.explanation])


# -- versions -------------------------------------------------------------------------------------

@versions_app.command("create")
def create_version(ctx: typer.Context, product: str = _product_argument(),
                   terms: Path | None = typer.Option(None, "--terms", metavar="FILE",
                                                     help="The terms as JSON (docs/products.md)."),
                   source: str = typer.Option("", "--from", metavar="VERSION",
                                              help="Copy this approved version instead.")) -> None:
    """Creates a draft: from a terms file, or as a copy of an approved version to edit.

    Examples:
      engagectl products versions create personal-loan --terms loan.json
      engagectl products versions create personal-loan --from 1
    """
    if (terms is None) == (not source):
        raise typer.BadParameter("give either --terms or --from", param_hint="--terms/--from")
    request = pb.CreateProductVersionRequest(
        parent=name("products", product), source_version=_version_name(product, source) if source else "",
        product_version=pb.ProductVersion(terms_json=_terms(terms) if terms is not None else ""))
    cli = cli_context(ctx)
    emit_record("product version", _version_record(cli.call(lambda s: s.products.CreateProductVersion(request))))


@versions_app.command("list")
def list_versions(ctx: typer.Context, product: str = _product_argument(),
                  limit: int = limit_option(100, "versions"), page_token: str = page_token_option(),
                  every_page: bool = all_option()) -> None:
    """Lists a product's versions by number.

    Examples:
      engagectl products versions list personal-loan
    """
    parent = name("products", product)
    cli = cli_context(ctx)

    async def page(stubs: Stubs, size: int, token: str) -> tuple[list[pb.ProductVersion], str]:
        response = await stubs.products.ListProductVersions(pb.ListProductVersionsRequest(
            parent=parent, page_size=size, page_token=token))
        return list(response.product_versions), response.next_page_token

    listed = cli.list(page, Paging(limit, page_token, every_page))
    emit_list("product versions", VERSION_COLUMNS, listed.items, _version_row, listed.next_page_token)


@versions_app.command("show")
def show_version(ctx: typer.Context, product: str = _product_argument(), version: str = _version_argument(),
                 terms_only: bool = typer.Option(False, "--terms", help="Print only the terms JSON (to edit).")
                 ) -> None:
    """Shows a version; --terms prints its terms alone, ready to edit and send back with `update`.

    Examples:
      engagectl products versions show personal-loan 1
      engagectl products versions show personal-loan 1 --terms > loan.json
    """
    resource = _version_name(product, version)
    cli = cli_context(ctx)
    found = cli.call(lambda s: s.products.GetProductVersion(pb.GetProductVersionRequest(name=resource)))
    if terms_only:
        print(found.terms_json)
        return
    emit_record("product version", _version_record(found, with_terms=True))


@versions_app.command("update")
def update_version(ctx: typer.Context, product: str = _product_argument(), version: str = _version_argument(),
                   terms: Path = typer.Option(..., "--terms", metavar="FILE", help="The new terms as JSON.")) -> None:
    """Replaces a draft's terms (an approved version never changes: create a new version from it).

    Examples:
      engagectl products versions update personal-loan 2 --terms loan.json
    """
    request = pb.UpdateProductVersionRequest(
        product_version=pb.ProductVersion(name=_version_name(product, version), terms_json=_terms(terms)),
        update_mask=FieldMask(paths=["terms_json"]))
    cli = cli_context(ctx)
    emit_record("product version", _version_record(cli.call(lambda s: s.products.UpdateProductVersion(request))))


@versions_app.command("analyze")
def analyze(ctx: typer.Context, product: str = _product_argument(), version: str = _version_argument()) -> None:
    """The coverage and overlap analysis of a version's pricing grid: gaps no list prices, and overlaps.

    Examples:
      engagectl products versions analyze personal-loan 2
    """
    resource = _version_name(product, version)
    cli = cli_context(ctx)
    report = cli.call(lambda s: s.products.AnalyzeProductVersion(pb.AnalyzeProductVersionRequest(name=resource)))
    if json_wanted():
        emit_json(as_dict(report))
        return
    _show_coverage(report)
