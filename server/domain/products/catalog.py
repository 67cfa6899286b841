"""A product as the bank lists it (id, display name, description, the transaction that shows a customer
took it up) and a version as stored (with its creation and update times), the records the
ProductsService reads and writes around versions.py."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from server.domain.errors import FieldViolation, InvalidArgument
from server.domain.products.versions import ProductVersion, VersionStatus
from server.domain.reasons import Reason

PRODUCT_ID = re.compile(r"^[a-z][a-z0-9-]{0,39}$")
MAX_DISPLAY_NAME = 200
MAX_DESCRIPTION = 2000
MAX_MATCH_CATEGORY = 128  # as long as a transaction's category may be
MAX_MATCH_DESCRIPTION = 200
DIRECTIONS = ("CREDIT", "DEBIT")
MATCH_FIELD = "product.conversion_match"


@dataclass(frozen=True, slots=True)
class ConversionMatch:
    """Which booked transaction shows that a customer took the product up, for the conversion of offer
    banners (docs/reporting-metrics.md, "Conversion"): one whose category equals `category` and whose
    description contains `description_contains`, both case-blind, of `direction` (CREDIT or DEBIT). An
    empty part accepts any transaction; category or description_contains is set (check_conversion_match),
    else every payment of the customer would count."""

    category: str = ""
    description_contains: str = ""
    direction: str = ""


@dataclass(frozen=True, slots=True)
class Product:
    product_id: str
    display_name: str
    description: str
    latest_version: int  # the highest version number given, 0 before the first
    created_at: dt.datetime
    updated_at: dt.datetime
    # None: only a holding of the product converts an offer of it.
    conversion_match: ConversionMatch | None = field(default=None)


@dataclass(frozen=True, slots=True)
class StoredVersion:
    version: ProductVersion
    created_at: dt.datetime
    updated_at: dt.datetime


def live(versions: list[StoredVersion]) -> StoredVersion | None:
    """The APPROVED version (one at most: approving retires the one before)."""
    return next((v for v in versions if v.version.status is VersionStatus.APPROVED), None)


def check_product(product_id: str, display_name: str, description: str) -> None:
    problems = []
    if not PRODUCT_ID.match(product_id):
        problems.append(FieldViolation("product_id", "a product id is a lower-case letter, then up to 39 "
                                                     "lower-case letters, digits or -"))
    if not (display_name.strip() and len(display_name) <= MAX_DISPLAY_NAME):
        problems.append(FieldViolation("product.display_name",
                                       f"a display name is required, at most {MAX_DISPLAY_NAME} characters"))
    if len(description) > MAX_DESCRIPTION:
        problems.append(FieldViolation("product.description", f"at most {MAX_DESCRIPTION} characters"))
    if problems:
        raise InvalidArgument("PRODUCT_INVALID", f"{problems[0].field}: {problems[0].description}",
                              violations=problems)


def check_conversion_match(match: ConversionMatch) -> ConversionMatch:
    """The match with the surrounding blanks of its texts removed (a category as the bank typed it has
    none), or PRODUCT_CONVERSION_MATCH_INVALID naming every part at fault."""
    category, contains = match.category.strip(), match.description_contains.strip()
    problems = []
    if not (category or contains):
        problems.append(FieldViolation(MATCH_FIELD, "give a category, a description_contains, or both"))
    for path, text, limit in (("category", category, MAX_MATCH_CATEGORY),
                              ("description_contains", contains, MAX_MATCH_DESCRIPTION)):
        if len(text) > limit:
            problems.append(FieldViolation(f"{MATCH_FIELD}.{path}", f"at most {limit} characters"))
        if "\x00" in text:
            problems.append(FieldViolation(f"{MATCH_FIELD}.{path}", "cannot contain the NUL character (U+0000)"))
    if match.direction not in ("", *DIRECTIONS):
        problems.append(FieldViolation(f"{MATCH_FIELD}.direction", "CREDIT, DEBIT, or unset for either"))
    if problems:
        first = problems[0]
        raise InvalidArgument(Reason.PRODUCT_CONVERSION_MATCH_INVALID, f"{first.field}: {first.description}",
                              violations=problems)
    return ConversionMatch(category, contains, match.direction)
