"""Recommended offers (docs/triggers.md, "Recommended offers"): a bank admin's recommendation of a
product to the customers a segment expression selects, and the suggestions it makes, which wait for the
bank's approval before a banner shows. Pure: the checks a recommendation gets before it is stored, the
suggestion's statuses and the one decision each takes."""

from __future__ import annotations

import datetime as dt
import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from urllib.parse import urlsplit

from server.domain.errors import FailedPrecondition, FieldViolation, InvalidArgument
from server.domain.reasons import Reason

RECOMMENDATION_ID = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
MAX_DISPLAY_NAME = 100
MAX_TITLE = 100
MAX_BODY = 500
MAX_CTA_LABEL = 40
MAX_CTA_URL = 2000
MAX_REJECTION_REASON = 500
MIN_LIFETIME = dt.timedelta(hours=1)
MAX_LIFETIME = dt.timedelta(days=366)
DEFAULT_LIFETIME = dt.timedelta(days=30)
# A customer whose suggestion was rejected is not suggested the same recommendation again for this long.
REJECTION_QUIET_PERIOD = dt.timedelta(days=90)


class SuggestionStatus(enum.StrEnum):
    PENDING = "PENDING"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"


# At most one suggestion in these per (recommendation, customer): a unique index of the store keeps it so.
OPEN_STATUSES = (SuggestionStatus.PENDING, SuggestionStatus.APPROVED)


class TargetKind(enum.StrEnum):
    """Who a recommendation may reach besides what its criteria select."""

    ALL = "ALL"
    PERSONA = "PERSONA"
    AUDIENCE = "AUDIENCE"


@dataclass(frozen=True)
class OfferTarget:
    kind: TargetKind = TargetKind.ALL
    id: str = ""  # the persona's or audience's id; empty for ALL


@dataclass(frozen=True)
class OfferBanner:
    """What the customer is shown once a suggestion is approved."""

    title: str
    body: str
    call_to_action_label: str
    call_to_action_url: str
    lifetime: dt.timedelta = DEFAULT_LIFETIME


@dataclass(frozen=True)
class OfferRecommendation:
    recommendation_id: str
    display_name: str
    product_id: str
    criteria: str  # canonical text of the segment expression (render of the parsed one)
    target: OfferTarget
    banner: OfferBanner
    created_by: str
    created_at: dt.datetime
    last_run_at: dt.datetime | None = None


@dataclass(frozen=True)
class SuggestedOffer:
    suggestion_id: str
    recommendation_id: str
    customer_id: str
    product_id: str
    # The attributes the criteria names, with the customer's values when suggested (value_to_text; a
    # default is shown as the value it stood for, an unset attribute is left out).
    values: Mapping[str, str]
    status: SuggestionStatus
    created_at: dt.datetime
    decided_by: str = ""
    decided_at: dt.datetime | None = None
    rejection_reason: str = ""
    banner_id: str = ""


@dataclass(frozen=True)
class RunCount:
    """What one run of a recommendation did."""

    recommendation_id: str
    suggested: int


@dataclass(frozen=True)
class Decision:
    """Approval or rejection of a pending suggestion, by whom and when."""

    status: SuggestionStatus
    decided_by: str
    decided_at: dt.datetime
    rejection_reason: str = ""


def _invalid(path: str, message: str) -> InvalidArgument:
    return InvalidArgument(Reason.OFFER_RECOMMENDATION_INVALID, f"{path}: {message}",
                           violations=[FieldViolation(path, message)], metadata={"field": path})


def _text(path: str, value: str, limit: int, *, required: bool = True) -> None:
    if required and not value.strip():
        raise _invalid(path, "is required")
    if len(value) > limit:
        raise _invalid(path, f"at most {limit} characters")
    if "\x00" in value:
        raise _invalid(path, "must not contain NUL")


def check_recommendation(recommendation_id: str, display_name: str, banner: OfferBanner,
                         path: str = "offer_recommendation") -> None:
    """OFFER_RECOMMENDATION_INVALID naming the first field at fault. The criteria and the product are
    checked against the tenant's catalogue and products by the service."""
    if not RECOMMENDATION_ID.match(recommendation_id):
        raise _invalid("offer_recommendation_id", "a lower-case letter, then up to 39 lower-case letters, digits "
                                                  "or _")
    _text(f"{path}.display_name", display_name, MAX_DISPLAY_NAME)
    _text(f"{path}.banner.title", banner.title, MAX_TITLE)
    _text(f"{path}.banner.body", banner.body, MAX_BODY)
    _text(f"{path}.banner.call_to_action_label", banner.call_to_action_label, MAX_CTA_LABEL)
    url = banner.call_to_action_url
    _text(f"{path}.banner.call_to_action_url", url, MAX_CTA_URL)
    if not _https(url):
        raise _invalid(f"{path}.banner.call_to_action_url", "must be an https:// URL with a host")
    if not MIN_LIFETIME <= banner.lifetime <= MAX_LIFETIME:
        raise _invalid(f"{path}.banner.lifetime", "from 1 hour to 366 days")


def _https(url: str) -> bool:
    if any(c.isspace() or ord(c) < 32 for c in url):
        return False
    try:
        parts = urlsplit(url)
        return parts.scheme == "https" and bool(parts.hostname)
    except ValueError:
        return False


def check_rejection_reason(reason: str) -> None:
    if len(reason) > MAX_REJECTION_REASON or "\x00" in reason:
        raise InvalidArgument(Reason.OFFER_RECOMMENDATION_INVALID,
                              f"reason: at most {MAX_REJECTION_REASON} characters, no NUL",
                              violations=[FieldViolation("reason", f"at most {MAX_REJECTION_REASON} characters")])


def decide(suggestion: SuggestedOffer, decision: Decision) -> SuggestedOffer:
    """The suggestion approved or rejected; only a PENDING one is decided (SUGGESTED_OFFER_DECIDED)."""
    if suggestion.status is not SuggestionStatus.PENDING:
        raise FailedPrecondition(Reason.SUGGESTED_OFFER_DECIDED,
                                 f"suggestion {suggestion.suggestion_id} is {suggestion.status} already",
                                 metadata={"suggested_offer": suggestion.suggestion_id,
                                           "status": str(suggestion.status)})
    return replace(suggestion, status=decision.status, decided_by=decision.decided_by,
                   decided_at=decision.decided_at, rejection_reason=decision.rejection_reason)


def banner_expiry(banner: OfferBanner, approved_at: dt.datetime) -> dt.datetime:
    return approved_at + banner.lifetime


def rejected_before(now: dt.datetime) -> dt.datetime:
    """Rejections decided after this instant still keep the customer from being suggested again."""
    return now - REJECTION_QUIET_PERIOD
