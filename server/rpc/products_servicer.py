"""engage.products.v1.ProductsService: proto <-> domain translation only."""

from __future__ import annotations

import grpc

from engage.products.v1 import products_service_pb2 as pb
from engage.products.v1 import products_service_pb2_grpc
from server.domain import resource_names
from server.domain.errors import FieldViolation, InvalidArgument
from server.domain.events import Money
from server.domain.money import AmountError
from server.domain.pagination import page_request
from server.domain.products.catalog import ConversionMatch, Product, StoredVersion
from server.domain.products.coverage import CoverageReport, Region
from server.domain.products.quote import ChargeLine, Quote
from server.domain.reasons import Reason
from server.rpc.context import current_caller
from server.rpc.convert import money_from_proto, money_to_proto, timestamp_to_proto, update_mask_paths
from server.services.products import (
    PRODUCTS_LIST,
    VERSIONS_LIST,
    ProductsService,
    parse_terms,
    terms_text,
    version_key,
    version_number,
)

Context = grpc.aio.ServicerContext

_VERSION_PATHS = {"terms_json"}
_PRODUCT_PATHS = {"display_name", "description", "conversion_match"}
_DIRECTIONS = set(pb.ConversionMatch.Direction.values())


def _version_ids(name: str, field: str) -> tuple[str, int]:
    product_id, number = resource_names.PRODUCT_VERSION.parse(name, field)
    return product_id, version_number(number, field)


def _version_name(product_id: str, number: int) -> str:
    return resource_names.PRODUCT_VERSION.format(product_id, str(number))


def product_to_proto(product: Product, live: StoredVersion | None) -> pb.Product:
    match = product.conversion_match
    direction = f"DIRECTION_{match.direction or 'UNSPECIFIED'}" if match is not None else ""
    return pb.Product(name=resource_names.PRODUCT.format(product.product_id), display_name=product.display_name,
                      description=product.description,
                      live_version="" if live is None else _version_name(product.product_id, live.version.number),
                      latest_version_number=product.latest_version,
                      create_time=timestamp_to_proto(product.created_at),
                      update_time=timestamp_to_proto(product.updated_at),
                      conversion_match=None if match is None else pb.ConversionMatch(
                          category=match.category, description_contains=match.description_contains,
                          direction=pb.ConversionMatch.Direction.Value(direction)))


def conversion_match_from_proto(product: pb.Product) -> ConversionMatch | None:
    """The product's match, None when unset; a direction number the proto does not know is refused."""
    if not product.HasField("conversion_match"):
        return None
    match = product.conversion_match
    direction = pb.ConversionMatch.Direction.Name(match.direction) if match.direction in _DIRECTIONS else "?"
    return ConversionMatch(match.category, match.description_contains,
                           "" if match.direction == 0 else direction.removeprefix("DIRECTION_"))


def version_to_proto(stored: StoredVersion) -> pb.ProductVersion:
    version = stored.version
    return pb.ProductVersion(
        name=_version_name(version.product_id, version.number), state=pb.ProductVersion.State.Value(version.status),
        terms_json=terms_text(version.terms),
        based_on="" if version.based_on is None else _version_name(version.product_id, version.based_on),
        authors=sorted(version.authors), approver=version.approver or "",
        create_time=timestamp_to_proto(stored.created_at), update_time=timestamp_to_proto(stored.updated_at),
        approve_time=timestamp_to_proto(version.approved_at), retire_time=timestamp_to_proto(version.retired_at))


def _region(region: Region) -> pb.Region:
    return pb.Region(text=str(region), spans=[str(s) for s in region.spans])


def coverage_to_proto(report: CoverageReport) -> pb.CoverageReport:
    return pb.CoverageReport(
        gaps=[_region(g) for g in report.gaps],
        overlaps=[pb.Overlap(region=_region(o.region), interest_lists=list(o.lists),
                             annual_rates=[format(r, "f") for r in o.rates]) for o in report.overlaps],
        cells=report.cells, nothing_eligible=report.nothing_eligible, clean=report.clean)


def _charges(lines: tuple[ChargeLine, ...]) -> list[pb.ChargeLine]:
    return [pb.ChargeLine(name=line.name, amount=money_to_proto(line.amount.amount, line.amount.currency),
                          frequency=pb.ChargeFrequency.Value(line.frequency.value)) for line in lines]


def quote_to_proto(result: Quote, customer_id: str) -> pb.Quote:
    failing = result.eligibility.failing
    message = pb.Quote(
        product_version=_version_name(result.product_id, result.version),
        customer=resource_names.CUSTOMER.format(customer_id),
        amount=money_to_proto(result.amount.amount, result.amount.currency), term_months=result.term_months,
        eligible=result.eligibility.eligible,
        rules=[pb.RuleOutcome(rule=o.rule.name, held=o.held, failed_conditions=[str(c) for c in o.failed])
               for o in result.eligibility.outcomes],
        failing_rule="" if failing is None else failing.rule.name, explanation=list(result.explanation))
    pricing = result.pricing
    if pricing is not None:
        message.pricing.CopyFrom(pb.Pricing(
            interest_list=pricing.interest_list, list_rate=format(pricing.list_rate, "f"),
            annual_rate=format(pricing.rate, "f"), commissions=_charges(pricing.commissions),
            insurances=_charges(pricing.insurances), discounts=list(pricing.discounts),
            monthly_instalment=money_to_proto(pricing.monthly_instalment.amount, pricing.monthly_instalment.currency),
            monthly_payment=money_to_proto(pricing.monthly_payment.amount, pricing.monthly_payment.currency),
            upfront=money_to_proto(pricing.upfront.amount, pricing.upfront.currency),
            total_payable=money_to_proto(pricing.total_payable.amount, pricing.total_payable.currency)))
    return message


def _amount(request: pb.QuoteProductRequest) -> Money:
    if not request.HasField("amount"):
        raise InvalidArgument(Reason.QUOTE_INVALID, "amount is required",
                              violations=[FieldViolation("amount", "is required")])
    try:
        amount, currency = money_from_proto(request.amount)
    except AmountError as exc:
        raise InvalidArgument(Reason.QUOTE_INVALID, f"amount: {exc}",
                              violations=[FieldViolation("amount", str(exc))]) from None
    return Money(amount, currency)


class ProductsServicer(products_service_pb2_grpc.ProductsServiceServicer):
    def __init__(self, products: ProductsService) -> None:
        self.products = products

    # -- products ------------------------------------------------------------------------------------

    async def CreateProduct(self, request: pb.CreateProductRequest, context: Context) -> pb.Product:
        body = request.product
        product = await self.products.create_product(current_caller(), request.product_id, body.display_name,
                                                     body.description, conversion_match_from_proto(body))
        return product_to_proto(product, None)

    async def UpdateProduct(self, request: pb.UpdateProductRequest, context: Context) -> pb.Product:
        body = request.product
        product_id = resource_names.PRODUCT.id(body.name, "product.name")
        paths = update_mask_paths(request.update_mask, _PRODUCT_PATHS)
        return product_to_proto(*await self.products.update_product(
            current_caller(), product_id, paths, body.display_name, body.description,
            conversion_match_from_proto(body)))

    async def GetProduct(self, request: pb.GetProductRequest, context: Context) -> pb.Product:
        product_id = resource_names.PRODUCT.id(request.name, "name")
        return product_to_proto(*await self.products.get_product(current_caller(), product_id))

    async def ListProducts(self, request: pb.ListProductsRequest, context: Context) -> pb.ListProductsResponse:
        page = await self.products.list_products(
            current_caller(), page_request(request.page_size, request.page_token, PRODUCTS_LIST))
        return pb.ListProductsResponse(products=[product_to_proto(*pair) for pair in page.items],
                                       next_page_token=page.next_page_token)

    # -- versions ------------------------------------------------------------------------------------

    async def CreateProductVersion(self, request: pb.CreateProductVersionRequest, context: Context
                                   ) -> pb.ProductVersion:
        product_id = resource_names.PRODUCT.id(request.parent, "parent")
        source = None
        if request.source_version:
            source_product, source = _version_ids(request.source_version, "source_version")
            if source_product != product_id:
                raise InvalidArgument(Reason.RESOURCE_NAME_INVALID, "source_version is a version of another product",
                                      violations=[FieldViolation("source_version", "a version of `parent`")])
        terms_json = request.product_version.terms_json
        terms = parse_terms(terms_json) if source is None and terms_json else None
        return version_to_proto(await self.products.create_version(current_caller(), product_id, source, terms))

    async def GetProductVersion(self, request: pb.GetProductVersionRequest, context: Context) -> pb.ProductVersion:
        return version_to_proto(await self.products.get_version(current_caller(), *_version_ids(request.name, "name")))

    async def ListProductVersions(self, request: pb.ListProductVersionsRequest, context: Context
                                  ) -> pb.ListProductVersionsResponse:
        product_id = resource_names.PRODUCT.id(request.parent, "parent")
        page = await self.products.list_versions(
            current_caller(), product_id,
            page_request(request.page_size, request.page_token, VERSIONS_LIST, version_key))
        return pb.ListProductVersionsResponse(product_versions=[version_to_proto(v) for v in page.items],
                                              next_page_token=page.next_page_token)

    async def UpdateProductVersion(self, request: pb.UpdateProductVersionRequest, context: Context
                                   ) -> pb.ProductVersion:
        body = request.product_version
        ids = _version_ids(body.name, "product_version.name")
        update_mask_paths(request.update_mask, _VERSION_PATHS)
        terms = parse_terms(body.terms_json)
        return version_to_proto(await self.products.update_version(current_caller(), *ids, terms))

    async def AnalyzeProductVersion(self, request: pb.AnalyzeProductVersionRequest, context: Context
                                    ) -> pb.CoverageReport:
        return coverage_to_proto(await self.products.analyse_version(current_caller(),
                                                                     *_version_ids(request.name, "name")))

    async def ApproveProductVersion(self, request: pb.ApproveProductVersionRequest, context: Context
                                    ) -> pb.ApproveProductVersionResponse:
        approved, retired, report = await self.products.approve_version(current_caller(),
                                                                         *_version_ids(request.name, "name"))
        return pb.ApproveProductVersionResponse(product_version=version_to_proto(approved),
                                                retired_version=None if retired is None else version_to_proto(retired),
                                                coverage=coverage_to_proto(report))

    async def RetireProductVersion(self, request: pb.RetireProductVersionRequest, context: Context
                                   ) -> pb.ProductVersion:
        return version_to_proto(await self.products.retire_version(current_caller(),
                                                                   *_version_ids(request.name, "name")))

    # -- quotes --------------------------------------------------------------------------------------

    async def QuoteProduct(self, request: pb.QuoteProductRequest, context: Context) -> pb.Quote:
        product_id = resource_names.PRODUCT.id(request.product, "product")
        customer_id = resource_names.CUSTOMER.id(request.customer, "customer")
        number = None
        if request.version:
            version_product, number = _version_ids(request.version, "version")
            if version_product != product_id:
                raise InvalidArgument(Reason.RESOURCE_NAME_INVALID, "version is a version of another product",
                                      violations=[FieldViolation("version", "a version of `product`")])
        result = await self.products.quote(current_caller(), product_id, customer_id, _amount(request),
                                           request.term_months, number)
        try:
            return quote_to_proto(result, customer_id)
        except ValueError:  # a total past Money's int64 units: an amount and term no loan has
            raise InvalidArgument(Reason.QUOTE_INVALID, "the quote's amounts do not fit a Money",
                                  violations=[FieldViolation("amount", "too large for this term")]) from None
