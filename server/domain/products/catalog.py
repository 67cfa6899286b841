"""A product as the bank lists it (id, display name, description) and a version as stored (with its
creation and update times), the records the ProductsService reads and writes around versions.py."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from server.domain.errors import FieldViolation, InvalidArgument
from server.domain.products.versions import ProductVersion, VersionStatus

PRODUCT_ID = re.compile(r"^[a-z][a-z0-9-]{0,39}$")
MAX_DISPLAY_NAME = 200
MAX_DESCRIPTION = 2000


@dataclass(frozen=True, slots=True)
class Product:
    product_id: str
    display_name: str
    description: str
    latest_version: int  # the highest version number given, 0 before the first
    created_at: dt.datetime
    updated_at: dt.datetime


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
