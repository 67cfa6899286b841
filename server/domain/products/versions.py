"""A product's versions and their life: DRAFT → APPROVED → RETIRED.

- A draft is created empty-handed or copied from an APPROVED version (`new_version`), and edited
  freely; each save is validated (validation.py), so a draft never holds terms that cannot be quoted.
- An approved version is immutable: an edit, or a second approval, is FAILED_PRECONDITION
  (PRODUCT_VERSION_IMMUTABLE for edits, PRODUCT_VERSION_TRANSITION_NOT_ALLOWED for transitions). To
  change it, create a new version from it.
- Four eyes, as campaigns: a version is approved by a bank admin who neither created nor edited it
  (PRODUCT_SELF_APPROVAL, PERMISSION_DENIED). Every editor counts, not only the creator: whoever
  wrote a price must not be the one who lets it go live. The role check itself is the service's.
- One version of a product is live: approving a draft retires the version approved before it.
- Only an APPROVED version is retired; RETIRED is final.

The service runs the coverage analysis (coverage.py) at approval and shows it to the approver: gaps
and overlaps inform, they do not block.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from server.domain.errors import FailedPrecondition, InvalidArgument, PermissionDenied
from server.domain.products.terms import ProductTerms
from server.domain.products.validation import validate


class VersionStatus(StrEnum):
    DRAFT = "DRAFT"
    APPROVED = "APPROVED"
    RETIRED = "RETIRED"


@dataclass(frozen=True, slots=True)
class ProductVersion:
    product_id: str
    number: int  # 1, 2, ... within the product
    status: VersionStatus
    terms: ProductTerms
    authors: frozenset[str]  # who created or edited it: none of them may approve it
    based_on: int | None = None  # the version it was copied from
    approver: str | None = None
    approved_at: dt.datetime | None = None
    retired_at: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class Approval:
    approved: ProductVersion
    retired: ProductVersion | None  # the version live until now, if any


def _transition_error(version: ProductVersion, action: str) -> FailedPrecondition:
    return FailedPrecondition("PRODUCT_VERSION_TRANSITION_NOT_ALLOWED",
                              f"version {version.number} of product '{version.product_id}' is {version.status}: "
                              f"cannot {action}",
                              metadata={"status": version.status.value})


def new_draft(product_id: str, number: int, author: str, terms: ProductTerms) -> ProductVersion:
    if number < 1:
        raise InvalidArgument("PRODUCT_INVALID", "a version number starts at 1")
    validate(terms)
    return ProductVersion(product_id, number, VersionStatus.DRAFT, terms, frozenset({author}))


def new_version(source: ProductVersion, number: int, author: str) -> ProductVersion:
    """A draft copy of an approved version, to be edited and approved in turn."""
    if source.status is not VersionStatus.APPROVED:
        raise _transition_error(source, "be copied into a new version (only an approved one is)")
    return dataclasses.replace(new_draft(source.product_id, number, author, source.terms), based_on=source.number)


def edit(version: ProductVersion, editor: str, terms: ProductTerms) -> ProductVersion:
    if version.status is not VersionStatus.DRAFT:
        raise FailedPrecondition("PRODUCT_VERSION_IMMUTABLE",
                                 f"version {version.number} of product '{version.product_id}' is {version.status} "
                                 "and cannot change: create a new version from it",
                                 metadata={"status": version.status.value})
    validate(terms)
    return dataclasses.replace(version, terms=terms, authors=version.authors | {editor})


def approve(version: ProductVersion, approver: str, at: dt.datetime,
            current: ProductVersion | None = None) -> Approval:
    """Approves a draft; `current` is the product's approved version until now, which it retires."""
    if version.status is not VersionStatus.DRAFT:
        raise _transition_error(version, "be approved (only a draft is)")
    if approver in version.authors:
        raise PermissionDenied("PRODUCT_SELF_APPROVAL",
                               "a product version is approved by another bank admin than those who wrote it")
    validate(version.terms)
    approved = dataclasses.replace(version, status=VersionStatus.APPROVED, approver=approver, approved_at=at)
    if current is None:
        return Approval(approved, None)
    if current.product_id != version.product_id or current.number == version.number:
        raise ValueError("current must be another version of the same product")
    return Approval(approved, retire(current, at))


def retire(version: ProductVersion, at: dt.datetime) -> ProductVersion:
    if version.status is not VersionStatus.APPROVED:
        raise _transition_error(version, "be retired (only an approved one is)")
    return dataclasses.replace(version, status=VersionStatus.RETIRED, retired_at=at)
