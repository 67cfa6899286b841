"""Who a campaign goes to: every customer, the listed customers, the customers whose attributes have
all of the given values, or the members of a persona or of an audience of personas (selected in SQL
from the kept memberships)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from server.domain.errors import FieldViolation, InvalidArgument

MAX_LISTED_CUSTOMERS = 100_000


@dataclass(frozen=True)
class CampaignAudience:
    """Exactly one of the five is given (campaign_audience checks it)."""
    all_customers: bool = False
    customer_ids: tuple[str, ...] = ()  # sorted, without repeats
    attributes: tuple[tuple[str, str], ...] = ()  # (name, value), sorted by name
    persona_id: str = ""
    audience_id: str = ""

    @property
    def is_listed(self) -> bool:
        return bool(self.customer_ids)

    def includes(self, attributes: Mapping[str, str]) -> bool:
        """Whether a customer with these attributes is in the audience (a listed customer is in it)."""
        return all(attributes.get(name) == value for name, value in self.attributes)


def campaign_audience(*, all_customers: bool = False, customer_ids: Iterable[str] = (),
                      attributes: Mapping[str, str] | None = None, persona_id: str = "",
                      audience_id: str = "") -> CampaignAudience:
    """The audience from a request's values; raises InvalidArgument CAMPAIGN_INVALID unless exactly one
    kind is given, and a list within MAX_LISTED_CUSTOMERS."""
    audience = CampaignAudience(all_customers, tuple(sorted(set(customer_ids))),
                                tuple(sorted((attributes or {}).items())), persona_id, audience_id)
    given = [audience.all_customers, bool(audience.customer_ids), bool(audience.attributes), bool(persona_id),
             bool(audience_id)]
    if given.count(True) != 1:
        violation = FieldViolation("campaign.audience",
                                   "one of all_customers, customer_list, attribute_filter, persona, named_audience")
    elif len(audience.customer_ids) > MAX_LISTED_CUSTOMERS:
        violation = FieldViolation("campaign.audience.customer_list", f"at most {MAX_LISTED_CUSTOMERS}")
    else:
        return audience
    raise InvalidArgument("CAMPAIGN_INVALID", "the campaign is not valid", violations=[violation])
