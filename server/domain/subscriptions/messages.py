"""The reference's error codes and texts for PATCH customer (bank) and user subscriptions, verbatim.

The two tables differ in a few places (capitalisation of "Invalid input", spacing around "Min =" and
"are -", a final full stop); `bank` selects the table. Nothing here uses str.format, because some
texts contain literal braces.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple


class Reason(NamedTuple):
    code: str
    message: str


EMPTY_BODY = Reason("Y825", "Update not allowed without a valid request body")
INVALID_JSON = Reason("Y800", "Invalid value for input json")
INVALID_INSIGHT_NAME = Reason("Y800", "Invalid value for insightName")
MISSING_INSIGHT_NAME = Reason("Y812", "Required field/value - insightName missing in the request")
TITLE_SPECIAL_CHARACTERS = Reason(
    "Y800", "Invalid value for insightTitle; special characters ><\\\"\"'%{}|^~[] are not supported.")
TITLE_LENGTH = Reason(
    "Y801", "Invalid length for insightTitle; min 3 and max 100 characters including spaces are allowed.")
TITLE_NOT_MODIFIABLE = Reason("Y802", "Modifying insightTitle using this API is not allowed")
INSIGHT_TYPE_NOT_MODIFIABLE = Reason("Y802", "Modifying InsightType attribute is not allowed")
TITLE_OR_CONFIGURATION = Reason(
    "Y803", "Invalid request; Either a valid insightTitle or customerConfiguration is required.")
ENTITY_TYPE_REQUIRED = Reason("Y813", "entityType should be provided")
ENTITY_TYPE_ONLY = Reason("Y803", "At least one additional attribute is required in addition to entityType.")
IS_SUBSCRIBED = Reason("Y800", "Invalid value for isSubscribed; Supported values are true, false")
THRESHOLD_INCOMPLETE = Reason("Y813", "Invalid request. The entire object within threshold should be provided")
# Engage's own attribute (the feed items' account links), worded as the reference words its Y800 rows.
LINK_TEMPLATE = Reason("Y800", "Invalid value for accountLinkTemplate")


def invalid_input(*, bank: bool) -> Reason:
    return Reason("Y806", "Invalid Input" if bank else "Invalid input")


def not_modifiable(insight: str, attribute: str) -> Reason:
    return Reason("Y802", f"For insight {insight}, modifying {attribute} is not allowed")


def entity_id_not_allowed(insight: str) -> Reason:
    return Reason("Y802", f"For insight {insight}, configurations at an entityId level are not allowed")


def invalid_configuration(key: str, *, bank: bool) -> Reason:
    end = "." if bank else ""
    return Reason("Y800", f"Invalid value for {key}; {key} is either missing, duplicated, or has insufficient/ "
                          f"incorrect attributes{end}")


def invalid_duration(supported: Sequence[str]) -> Reason:
    return Reason("Y800", f"Invalid value for duration; Supported values are {','.join(supported)}")


def invalid_entity_type(insight: str, supported: Sequence[str], *, bank: bool) -> Reason:
    gap = " " if bank else ""
    return Reason("Y800", f"Invalid value for entityType. Supported entityType for {insight} insight are -{gap}"
                          f"[{', '.join(supported)}]")


def threshold_out_of_range(name: str, insight: str, minimum: str, maximum: str, *, bank: bool) -> Reason:
    gap = " " if bank else ""
    return Reason("Y800", f"Invalid value for {name} in {insight} insight Min ={gap}{minimum} and Max = {maximum}")


def threshold_repeated_or_not_allowed(insight: str, shown: str) -> Reason:
    return Reason("Y802", f"For {insight} insight, {shown} inside the threshold is either repeated or not allowed")


def threshold_not_allowed(insight: str, shown: str) -> Reason:
    return Reason("Y802", f"For {insight} insight, {shown} inside the threshold is not allowed")


def invalid_threshold_data(insight: str) -> Reason:
    return Reason("Y800", f"Invalid value for threshold data in {insight} insight")


def invalid_input_param(insight: str) -> Reason:
    return Reason("Y800", f"Invalid value for input param in {insight} insight")
