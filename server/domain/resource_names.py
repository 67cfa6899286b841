"""Resource names (AIP-122): one parser for every servicer.

A pattern such as `customers/{customer}/feedItems/{feed_item}` alternates literal collection ids with
resource ids. A resource id is 1 to `max_id_length` characters with no `/` and no control character
(PostgreSQL cannot store NUL, and a name is never meant to carry one). A name that does not fit is
RESOURCE_NAME_INVALID, an empty one RESOURCE_NAME_REQUIRED; both name the request field at fault in
the BadRequest violation, so a batch client can tell which of its requests was wrong.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from server.domain.errors import FieldViolation, InvalidArgument
from server.domain.reasons import Reason

_VARIABLE = re.compile(r"\{([a-z][a-z0-9_]*)\}")
_COLLECTION = re.compile(r"[a-z][a-zA-Z0-9]*")
_ID_CHARACTER = r"[^/\x00-\x1f\x7f]"


@dataclass(frozen=True)
class ResourcePattern:
    """One AIP-122 pattern, e.g. `customers/{customer}/accounts/{account}`."""

    template: str
    max_id_length: int = 64
    # A bare `{id}` for a one-variable pattern (engagement accepted `abc` for `apps/abc` from its start).
    bare_id_ok: bool = False
    variables: tuple[str, ...] = field(init=False)
    _regex: re.Pattern[str] = field(init=False, repr=False)
    _bare: re.Pattern[str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        segments = self.template.split("/")
        # An odd count ends in a literal: a singleton resource (AIP-156), e.g. `customers/{customer}/goalsEnrolment`.
        if len(segments) < 2 or not all(_COLLECTION.fullmatch(s) for s in segments[::2]) \
                or not all(_VARIABLE.fullmatch(s) for s in segments[1::2]):
            raise ValueError(f"not an AIP-122 pattern: {self.template!r}")
        identifier = f"({_ID_CHARACTER}{{1,{self.max_id_length}}})"
        object.__setattr__(self, "variables", tuple(s[1:-1] for s in segments[1::2]))
        object.__setattr__(self, "_regex", re.compile(
            "/".join(re.escape(s) if i % 2 == 0 else identifier for i, s in enumerate(segments))))
        object.__setattr__(self, "_bare", re.compile(identifier))

    def format(self, *ids: str) -> str:
        if len(ids) != len(self.variables):
            raise ValueError(f"{self.template} takes {len(self.variables)} ids, not {len(ids)}")
        segments = self.template.split("/")
        return "/".join(ids[i // 2] if i % 2 else s for i, s in enumerate(segments))

    def parse(self, name: str, field_path: str) -> tuple[str, ...]:
        """The resource ids of `name`, in the pattern's order; InvalidArgument naming `field_path`."""
        if not name:
            raise InvalidArgument(Reason.RESOURCE_NAME_REQUIRED, f"{field_path} is required",
                                  violations=[FieldViolation(field_path, f"is required ({self.template})")])
        match = self._regex.fullmatch(name)
        if match is None and self.bare_id_ok and len(self.variables) == 1:
            match = self._bare.fullmatch(name)
        if match is None:
            raise InvalidArgument(Reason.RESOURCE_NAME_INVALID, f"{field_path} must be {self.template}",
                                  violations=[FieldViolation(field_path, f"must be {self.template}")],
                                  metadata={"field": field_path, "pattern": self.template})
        return match.groups()

    def id(self, name: str, field_path: str) -> str:
        """The one resource id of a one-variable pattern (`apps/abc` -> `abc`)."""
        (identifier,) = self.parse(name, field_path)
        return identifier


# Ingest and insights: resource ids are the bank's own (up to 64 characters, as the store keeps them).
CUSTOMER = ResourcePattern("customers/{customer}")
ACCOUNT = ResourcePattern("accounts/{account}")
FEED_ITEM = ResourcePattern("customers/{customer}/feedItems/{feed_item}")
INSIGHT_BATCH = ResourcePattern("insightBatches/{insight_batch}")

# Engagement: ids Engage or the bank chose, up to 40 characters; a bare id is accepted too.
ENGAGEMENT: dict[str, ResourcePattern] = {
    collection: ResourcePattern(f"{collection}/{{{variable}}}", max_id_length=40, bare_id_ok=True)
    for collection, variable in [
        ("apps", "app"), ("channelConfigs", "channel_config"), ("templates", "template"), ("events", "event"),
        ("eventTypes", "event_type"), ("transactionAlerts", "transaction_alert"),
        ("insightNotifications", "insight_notification"), ("campaigns", "campaign"), ("otps", "otp"),
        ("deliveries", "delivery"), ("paymentAlerts", "payment_alert"),
    ]
}

# Goals: the customer's id is the bank's; goal ids are Engage's.
GOALS_ENROLMENT = ResourcePattern("customers/{customer}/goalsEnrolment")
GOAL = ResourcePattern("customers/{customer}/goals/{goal}")
HISTORY_ENTRY = ResourcePattern("customers/{customer}/historyEntries/{history_entry}")
FUNDING_PROGRAMME = ResourcePattern("customers/{customer}/goals/{goal}/fundingProgrammes/{funding_programme}")
TRANSFER = ResourcePattern(
    "customers/{customer}/goals/{goal}/fundingProgrammes/{funding_programme}/transfers/{transfer}")

# Personas: an attribute definition's id is the attribute's name; persona ids are the bank's.
ATTRIBUTE_DEFINITION = ResourcePattern("attributeDefinitions/{attribute_definition}")
CUSTOMER_ATTRIBUTES = ResourcePattern("customers/{customer}/attributes")
PERSONA = ResourcePattern("personas/{persona}", max_id_length=40)

# Journeys: journey ids are the bank's; instance ids are Engage's.
JOURNEY = ResourcePattern("journeys/{journey}", max_id_length=40)
JOURNEY_INSTANCE = ResourcePattern("customers/{customer}/journeyInstances/{journey_instance}")
AUDIENCE = ResourcePattern("audiences/{audience}", max_id_length=40)

# Products: the bank's product ids; versions are numbered by Engage (1, 2, ...).
PRODUCT = ResourcePattern("products/{product}", max_id_length=40)
PRODUCT_VERSION = ResourcePattern("products/{product}/versions/{version}", max_id_length=40)

# Recommended offers: recommendation ids are the bank's; suggestion ids are Engage's.
OFFER_RECOMMENDATION = ResourcePattern("offerRecommendations/{offer_recommendation}", max_id_length=40)
SUGGESTED_OFFER = ResourcePattern("suggestedOffers/{suggested_offer}")

# Real-time triggers: rule ids are the bank's; firing and banner ids are Engage's.
TRIGGER_RULE = ResourcePattern("triggerRules/{trigger_rule}", max_id_length=40)
FIRING = ResourcePattern("triggerRules/{trigger_rule}/firings/{firing}", max_id_length=40)
BANNER = ResourcePattern("customers/{customer}/banners/{banner}")
