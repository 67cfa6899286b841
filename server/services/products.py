"""Products and their versions, the coverage analysis and quotes (docs/products.md).

The rules are the domain's (server.domain.products); this layer loads and saves, checks roles, and
holds a product while one of its versions changes, so that numbers are given once and one version is
live. Approved versions are immutable twice over: versions.edit refuses them, and the repository
rewrites only rows still DRAFT in the store.

A quote reads what a persona's membership reads (IsMember): the customer's own attribute values, the
defaults of those without one, and their holdings, and evaluates the expression of every persona the
version's terms name, in memory. So a quote agrees with IsMember at the moment it is asked, without
waiting for the bus to update the kept memberships."""

from __future__ import annotations

import json
import time
from collections.abc import Collection
from dataclasses import replace
from decimal import Decimal

from server.domain.auth import Caller, Role
from server.domain.bounded_json import loads_bounded
from server.domain.errors import AlreadyExists, FailedPrecondition, FieldViolation, InvalidArgument, not_found
from server.domain.events import Money
from server.domain.pagination import Page, PageRequest, paginate
from server.domain.products import versions
from server.domain.products.catalog import (
    ConversionMatch,
    Product,
    StoredVersion,
    check_conversion_match,
    check_product,
)
from server.domain.products.codec import terms_from_json, terms_to_json
from server.domain.products.conditions import AttributeValue as ConditionValue
from server.domain.products.conditions import InPersona, NumberIn, QuoteContext, ValueIn
from server.domain.products.coverage import CoverageReport, analyse
from server.domain.products.quote import Quote, quote
from server.domain.products.terms import ProductTerms
from server.domain.products.versions import ProductVersion, VersionStatus
from server.domain.reasons import Reason
from server.domain.references import terms_names
from server.domain.segments.attributes import AttributeCatalogue, AttributeDefinition, AttributeType
from server.domain.segments.attributes import AttributeValue as SegmentValue
from server.domain.segments.evaluate import CustomerFacts, evaluate
from server.domain.segments.expression import Expression, reads_holdings
from server.domain.segments.parser import parse_expression
from server.services.clock import Clock, utc_now
from server.services.references import hold_named
from server.store.db import Database
from server.store.repositories.products import QuoteReadsRepository
from server.store.uow import UnitOfWork

ADMINS = (Role.BANK_ADMIN,)
READERS = (Role.BANK_ADMIN, Role.SERVICE)
EVERYONE = (Role.BANK_ADMIN, Role.SERVICE, Role.USER)
PRODUCTS_LIST = "products"
VERSIONS_LIST = "product-versions"
MAX_TERMS_JSON = 200_000  # characters
DEFINITIONS_SECONDS = 2.0  # how long a quote may read a tenant's definitions and personas as they were
_CACHED = 1024  # approved versions and parsed expressions kept in memory (emptied when full)
_NUMERIC = {AttributeType.INT, AttributeType.DECIMAL}
_CHOICE = {AttributeType.BOOL, AttributeType.STRING, AttributeType.ENUM}


def parse_terms(text: str, field: str = "product_version.terms_json") -> ProductTerms:
    """The terms of a version from their JSON text (codec.py), PRODUCT_INVALID when malformed."""
    if len(text) > MAX_TERMS_JSON:
        raise InvalidArgument(Reason.PRODUCT_INVALID, f"{field} is over {MAX_TERMS_JSON} characters",
                              violations=[FieldViolation(field, f"at most {MAX_TERMS_JSON} characters")])
    try:
        value = loads_bounded(text)
    except ValueError as exc:
        raise InvalidArgument(Reason.PRODUCT_INVALID, f"{field} is not JSON: {str(exc)[:200]}",
                              violations=[FieldViolation(field, "not JSON")]) from None
    return terms_from_json(value)


def terms_text(terms: ProductTerms) -> str:
    return json.dumps(terms_to_json(terms), indent=2)


class ProductsService:
    def __init__(self, database: Database, clock: Clock = utc_now) -> None:
        self._database = database
        self._clock = clock
        self._approved_versions: dict[tuple[str, str, int], ProductVersion] = {}
        self._parsed: dict[tuple[str, tuple[AttributeDefinition, ...]], Expression] = {}
        self._tenant_facts_kept: dict[str, tuple[float, tuple[AttributeDefinition, ...], dict[str, Expression]]] = {}

    # -- products ------------------------------------------------------------------------------------

    async def create_product(self, caller: Caller, product_id: str, display_name: str, description: str,
                             conversion_match: ConversionMatch | None = None) -> Product:
        caller.require_role(*ADMINS)
        check_product(product_id, display_name, description)
        if conversion_match is not None:
            conversion_match = check_conversion_match(conversion_match)
        now = self._clock()
        product = Product(product_id, display_name, description, 0, now, now, conversion_match)
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            if not await uow.products.add(product):
                raise AlreadyExists(Reason.PRODUCT_EXISTS, f"product {product_id} exists already",
                                    metadata={"product": product_id})
            await uow.commit()
        return product

    async def get_product(self, caller: Caller, product_id: str) -> tuple[Product, StoredVersion | None]:
        """The product and its live version, if any."""
        caller.require_role(*READERS)
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            product = await self._product(uow, product_id)
            return product, await uow.product_versions.live(product_id)

    async def update_product(self, caller: Caller, product_id: str, paths: Collection[str], display_name: str,
                             description: str, conversion_match: ConversionMatch | None
                             ) -> tuple[Product, StoredVersion | None]:
        """Changes the fields `paths` names (display_name, description, conversion_match) to the values
        given; the product and its live version, if any."""
        caller.require_role(*ADMINS)
        if "conversion_match" in paths and conversion_match is not None:
            conversion_match = check_conversion_match(conversion_match)
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            if not await uow.products.hold(product_id):
                raise not_found("product", product_id)
            product = await self._product(uow, product_id)
            changed = replace(
                product, updated_at=self._clock(),
                display_name=display_name if "display_name" in paths else product.display_name,
                description=description if "description" in paths else product.description,
                conversion_match=conversion_match if "conversion_match" in paths else product.conversion_match)
            check_product(product_id, changed.display_name, changed.description)
            await uow.products.save(changed)
            live = await uow.product_versions.live(product_id)
            await uow.commit()
        return changed, live

    async def list_products(self, caller: Caller, page: PageRequest
                            ) -> Page[tuple[Product, StoredVersion | None]]:
        caller.require_role(*READERS)
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            rows = await uow.products.list_after(page.after, page.size + 1)
            found = [(p, await uow.product_versions.live(p.product_id)) for p in rows[:page.size]] + \
                [(p, None) for p in rows[page.size:]]
        return paginate(found, page, PRODUCTS_LIST, lambda pair: pair[0].product_id)

    @staticmethod
    async def _product(uow: UnitOfWork, product_id: str) -> Product:
        product = await uow.products.get(product_id)
        if product is None:
            raise not_found("product", product_id)
        return product

    # -- versions ------------------------------------------------------------------------------------

    async def create_version(self, caller: Caller, product_id: str, source: int | None,
                             terms: ProductTerms | None) -> StoredVersion:
        """A draft copied from an approved version (`source`) or holding `terms`."""
        caller.require_role(*ADMINS)
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            if not await uow.products.hold(product_id):
                raise not_found("product", product_id)
            if source is not None:
                original = await self._version(uow, product_id, source)
                number = await uow.products.next_version_number(product_id, now := self._clock())
                draft = versions.new_version(original.version, number, caller.subject)
            else:
                if terms is None:
                    raise InvalidArgument(Reason.PRODUCT_INVALID, "a new version needs terms or a source version",
                                          violations=[FieldViolation("product_version.terms_json",
                                                                     "required without source_version")])
                await self._check_names(uow, terms)
                number = await uow.products.next_version_number(product_id, now := self._clock())
                draft = versions.new_draft(product_id, number, caller.subject, terms)
            await uow.product_versions.add(draft, now)
            await uow.commit()
        return StoredVersion(draft, now, now)

    async def get_version(self, caller: Caller, product_id: str, number: int) -> StoredVersion:
        caller.require_role(*READERS)
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            return await self._version(uow, product_id, number)

    async def list_versions(self, caller: Caller, product_id: str, page: PageRequest) -> Page[StoredVersion]:
        caller.require_role(*READERS)
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            await self._product(uow, product_id)
            rows = await uow.product_versions.list_after(product_id, page.after, page.size + 1)
        return paginate(rows, page, VERSIONS_LIST, lambda v: v.version.number)

    async def update_version(self, caller: Caller, product_id: str, number: int, terms: ProductTerms
                             ) -> StoredVersion:
        caller.require_role(*ADMINS)
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            if not await uow.products.hold(product_id):
                raise not_found("product", product_id)
            stored = await self._version(uow, product_id, number)
            edited = versions.edit(stored.version, caller.subject, terms)  # PRODUCT_VERSION_IMMUTABLE
            await self._check_names(uow, terms)
            now = self._clock()
            if not await uow.product_versions.save_draft(edited, now):
                raise AssertionError("a held draft is a draft")
            await uow.commit()
        return StoredVersion(edited, stored.created_at, now)

    async def analyse_version(self, caller: Caller, product_id: str, number: int) -> CoverageReport:
        caller.require_role(*READERS)
        return analyse((await self.get_version(caller, product_id, number)).version.terms)

    async def approve_version(self, caller: Caller, product_id: str, number: int
                              ) -> tuple[StoredVersion, StoredVersion | None, CoverageReport]:
        """Four eyes (versions.approve); the version live until now is retired. The analysis is returned
        for the approver and does not block."""
        caller.require_role(*ADMINS)
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            if not await uow.products.hold(product_id):
                raise not_found("product", product_id)
            stored = await self._version(uow, product_id, number)
            current = await uow.product_versions.live(product_id)
            now = self._clock()
            approval = versions.approve(stored.version, caller.subject, now,
                                        None if current is None else current.version)
            report = analyse(approval.approved.terms)
            retired = None
            if approval.retired is not None and current is not None:
                await uow.product_versions.set_status(approval.retired, VersionStatus.APPROVED, now)
                retired = StoredVersion(approval.retired, current.created_at, now)
            await uow.product_versions.set_status(approval.approved, VersionStatus.DRAFT, now)
            await uow.commit()
        return StoredVersion(approval.approved, stored.created_at, now), retired, report

    async def retire_version(self, caller: Caller, product_id: str, number: int) -> StoredVersion:
        caller.require_role(*ADMINS)
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            if not await uow.products.hold(product_id):
                raise not_found("product", product_id)
            stored = await self._version(uow, product_id, number)
            now = self._clock()
            retired = versions.retire(stored.version, now)
            await uow.product_versions.set_status(retired, VersionStatus.APPROVED, now)
            await uow.commit()
        return StoredVersion(retired, stored.created_at, now)

    @staticmethod
    async def _version(uow: UnitOfWork, product_id: str, number: int) -> StoredVersion:
        stored = await uow.product_versions.get(product_id, number)
        if stored is None:
            if await uow.products.get(product_id) is None:
                raise not_found("product", product_id)
            raise not_found("product_version", f"{product_id}/versions/{number}")
        return stored

    @staticmethod
    async def _check_names(uow: UnitOfWork, terms: ProductTerms) -> None:
        """Every persona the terms name exists, and every attribute, of a type its conditions can test:
        a misspelt name would otherwise fail every quote's condition without a word."""
        custom = await uow.attribute_definitions.all()
        catalogue = AttributeCatalogue.of(custom)
        personas = {p.persona_id for p in await uow.personas.all()}
        problems: list[FieldViolation] = []
        for condition in terms.all_conditions():
            if isinstance(condition, InPersona):
                if condition.persona_id not in personas:
                    problems.append(FieldViolation("conditions", f"no persona '{condition.persona_id}'"))
            elif isinstance(condition, (NumberIn, ValueIn)):
                definition = catalogue.get(condition.attribute)
                wanted = _NUMERIC if isinstance(condition, NumberIn) else _CHOICE
                if definition is None:
                    problems.append(FieldViolation("conditions", f"no attribute '{condition.attribute}'"))
                elif definition.type not in wanted:
                    problems.append(FieldViolation("conditions", f"the attribute '{condition.attribute}' is "
                                                                 f"{definition.type.value}: not tested so"))
        unique = list(dict.fromkeys(problems))
        if unique:
            raise InvalidArgument(Reason.PRODUCT_INVALID, f"{unique[0].field}: {unique[0].description}",
                                  violations=unique)
        # Held until the save commits: a delete of what the terms name waits, then sees this version.
        named_personas, named_attributes = terms_names(terms)
        await hold_named(uow, personas=named_personas, attributes=named_attributes & {d.name for d in custom})

    # -- quotes --------------------------------------------------------------------------------------

    async def quote(self, caller: Caller, product_id: str, customer_id: str, amount: Money, term_months: int,
                    version_number: int | None = None) -> Quote:
        """One statement in the steady state: the live version's number with the customer's values. An
        approved version never changes, so its parsed terms are kept in memory by number; the tenant's
        attribute definitions and persona expressions (parsed) are kept for DEFINITIONS_SECONDS, so a
        persona's new expression reaches quotes that much later; a fifth statement reads holdings only
        when an expression the terms name reads them."""
        caller.require_role(*EVERYONE)
        caller.require_customer_access(customer_id)
        if version_number is not None:
            caller.require_role(*READERS)  # a draft is tried by the bank, never offered to a user
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            reads = QuoteReadsRepository(uow.session, caller.tenant_id)
            found = await reads.live_and_values(product_id, customer_id)
            live = None if found is None else found[0]
            if version_number is None and live is None:
                await self._product(uow, product_id)
                raise FailedPrecondition(Reason.PRODUCT_NOT_LIVE, f"product '{product_id}' has no approved "
                                         "version to quote", metadata={"product": product_id})
            if version_number is not None:
                version = (await self._version(uow, product_id, version_number)).version
            else:
                assert live is not None
                version = await self._approved(uow, product_id, live)
            if found is None:
                raise not_found("customer", customer_id)
            context = await self._context(uow, reads, version, customer_id, found[1], amount, term_months)
        return quote(version, context)

    async def _tenant_facts(self, reads: QuoteReadsRepository
                            ) -> tuple[tuple[AttributeDefinition, ...], dict[str, Expression]]:
        now = time.monotonic()
        kept = self._tenant_facts_kept.get(reads.tenant_id)
        if kept is not None and kept[0] > now:
            return kept[1], kept[2]
        definitions = await reads.definitions()
        parsed = {persona_id: self._parse(text, definitions)
                  for persona_id, text in (await reads.expressions()).items()}
        if len(self._tenant_facts_kept) >= _CACHED:
            self._tenant_facts_kept.clear()
        self._tenant_facts_kept[reads.tenant_id] = (now + DEFINITIONS_SECONDS, definitions, parsed)
        return definitions, parsed

    async def _approved(self, uow: UnitOfWork, product_id: str, number: int) -> ProductVersion:
        key = (uow.tenant_id, product_id, number)
        version = self._approved_versions.get(key)
        if version is None:
            version = (await self._version(uow, product_id, number)).version
            if len(self._approved_versions) >= _CACHED:
                self._approved_versions.clear()
            self._approved_versions[key] = version
        return version

    def _parse(self, expression: str, definitions: tuple[AttributeDefinition, ...]) -> Expression:
        key = (expression, definitions)
        parsed = self._parsed.get(key)
        if parsed is None:
            parsed = parse_expression(expression, AttributeCatalogue.of(definitions))
            if len(self._parsed) >= _CACHED:
                self._parsed.clear()
            self._parsed[key] = parsed
        return parsed

    async def _context(self, uow: UnitOfWork, reads: QuoteReadsRepository, version: ProductVersion,
                       customer_id: str, values: dict[str, SegmentValue], amount: Money,
                       term_months: int) -> QuoteContext:
        definitions, expressions = await self._tenant_facts(reads)
        # The own values (built-in derived ones too), else the defaults: what an expression reads. Dates
        # are left out: no product condition tests one.
        attributes: dict[str, ConditionValue] = {
            n: v for n, v in values.items() if isinstance(v, (bool, int, Decimal, str))}
        for definition in definitions:
            if definition.name not in attributes and isinstance(definition.default, (bool, int, Decimal, str)):
                attributes[definition.name] = definition.default
        named = {c.persona_id for c in version.terms.all_conditions() if isinstance(c, InPersona)}
        member: set[str] = set()
        parsed = {persona_id: expressions[persona_id] for persona_id in named if persona_id in expressions}
        if parsed:
            holdings: frozenset[str] = frozenset()
            if any(reads_holdings(expression) for expression in parsed.values()):
                holdings = (await uow.segment_reads.facts(customer_id, {d.name: d for d in definitions})).holdings
            facts = CustomerFacts(values, holdings)
            member = {persona_id for persona_id, expression in parsed.items() if evaluate(expression, facts)}
        return QuoteContext(amount, term_months, frozenset(member), attributes)


def version_number(text: str, field: str) -> int:
    """A version id of a resource name: a number from 1."""
    if not text.isdigit() or not 1 <= int(text) < 2**31 or text != str(int(text)):
        raise InvalidArgument(Reason.RESOURCE_NAME_INVALID, f"{field}: a version is a number from 1",
                              violations=[FieldViolation(field, "a version is a number from 1")],
                              metadata={"field": field})
    return int(text)


def version_key(after: object) -> int:
    """The key of a page token of versions: a version number (the column is a 32-bit integer)."""
    if isinstance(after, bool) or not isinstance(after, int) or not 0 < after < 2**31:
        raise TypeError("not a version number")
    return after
