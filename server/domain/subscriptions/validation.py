"""Pure validation of PATCH customer (bank) and user subscription bodies, with the reference's codes and texts.

`validate_bank_update` / `validate_user_update` take the body as JSON text (str/bytes) or as an already
parsed object, and return one SubscriptionPatch per insight, or raise SubscriptionValidationError for the
first problem found. Nothing is returned for part of a body: one bad element rejects the whole update.

Order (deterministic; the first failing check wins):
 1. Body: empty text or None -> Y825; text that is not JSON -> Y800 input json; not an object, a repeated
    key, or any key besides customerSubscription / userSubscription -> Y806; that array missing, null or
    empty -> Y825; not an array -> Y806.
 2. Each insight element, in array order: not an object -> Y806; a repeated key -> the configuration row
    for the configuration key, else Y806; insightName missing/null/"" -> Y812; not a catalogue name ->
    Y800 insightName; an insight already named earlier in the body -> Y806. Then the element's other keys
    in the order they appear, then the element-level "required" checks (Y803 at bank level, the
    userConfiguration row at user level).
 3. Each configuration, in array order: its keys in the order they appear, then entityType required (Y813),
    then at least one of isSubscribed, duration, threshold (Y803).
 4. Each threshold object, in array order: a repeated key, an unknown key, a missing/null name, type or
    value (Y813), then name, type and value in that order.

Condition -> row, where the brief or the reference leaves a choice:
 - Y802 "{X} inside the threshold is either repeated or not allowed" (bank): X is a threshold name the
   insight does not define, a name already given in the same configuration, or a key repeated inside one
   threshold object in the JSON text.
 - Y802 "{X} inside the threshold is not allowed" (bank): X is an unknown key inside a threshold object
   (anything but name, type, value) or a type other than the definition's (e.g. AMOUNT for CHANGE).
 - Y800 "Invalid value for threshold data in ... insight" (user; the user table has no Y802 threshold rows):
   threshold not a non-empty array, a repeated or unknown key in a threshold object, an unknown or repeated
   name, a wrong type, or a value that is not a number.
 - Y800 "Invalid value for CHANGE ..." (both): a value outside min..max or with more decimal places than the
   definition's maximum is written with (2 for 0.00..500.00). At bank level also a value that is not a number
   (that table has no threshold-data row).
 - Y813 "The entire object within threshold should be provided" (both): name, type or value missing or null,
   or a threshold item that is not an object.
 - Y800 "Invalid value for input param in ... insight" (user): an unknown key in an insight element or in a
   configuration (customerConfiguration sent at user level is such a key), and entityId on an insight that
   does allow entity-level configuration: SubscriptionPatch cannot carry an entity id yet, so it is refused
   rather than silently widened to the whole user.
 - Y800 configuration row: the configuration key repeated in the JSON text, its value not a non-empty array,
   an item that is not an object, a key repeated inside an item, a second configuration for the same insight
   (SubscriptionPatch holds one set of settings per insight, and every catalogue insight has one entity
   type), at user level a missing userConfiguration, and at bank level an unknown key in a configuration
   (entityId included) or an empty threshold array / a threshold that is not an array.
 - Y806 (bank) for an unknown key in an insight element; the same insight twice in one body (both levels).
 - duration on an insight that defines no durations is an unknown configuration attribute (the rows above).
 - The read-only attributes (insightType, triggerType, containers/container, description, applicableEntity,
   frequency) are refused when present at all, whatever their value; frequency also at element level.
 - insightTitle (bank): not a string, or containing ><\\"'%{}|^~[] or a control/surrogate character -> Y800;
   then fewer than 3 or more than 100 characters, or only spaces -> Y801.
 - accountLinkTemplate (bank; Engage's own, not the reference's): the URL of each account's link in the
   insight's feed items, with the token {accountId}. Not a valid template (server.domain.insights.links)
   -> Y800 "Invalid value for accountLinkTemplate"; at user level it is an unknown key (Y800 input param).
   At bank level it is enough on its own, as insightTitle is (no Y803).
 - Threshold values: a JSON number, or a string of plain decimal digits with an optional minus sign and
   fraction ("11", "11.5", "-0.01"); numbers are read as Decimal, never through binary floating point (a
   float in an already parsed body is read from its shortest repr). NaN/Infinity are not numbers. A JSON
   text whose number cannot be represented at all (exponent beyond Decimal's range) is Y800 input json, as
   are invalid UTF-8, NaN/Infinity literals and nesting too deep to parse.
 - Values echoed into messages ({X}) are cut to 64 characters and made UTF-8 safe.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import TYPE_CHECKING, NoReturn

from server.domain.errors import FieldViolation, InvalidArgument
from server.domain.insights.definition import Duration, InsightDefinition, SubscriptionSettings, ThresholdDefinition
from server.domain.insights.links import link_template_problem
from server.domain.subscriptions.messages import (
    EMPTY_BODY,
    ENTITY_TYPE_ONLY,
    ENTITY_TYPE_REQUIRED,
    INSIGHT_TYPE_NOT_MODIFIABLE,
    INVALID_INSIGHT_NAME,
    INVALID_JSON,
    IS_SUBSCRIBED,
    LINK_TEMPLATE,
    MISSING_INSIGHT_NAME,
    THRESHOLD_INCOMPLETE,
    TITLE_LENGTH,
    TITLE_NOT_MODIFIABLE,
    TITLE_OR_CONFIGURATION,
    TITLE_SPECIAL_CHARACTERS,
    Reason,
    entity_id_not_allowed,
    invalid_configuration,
    invalid_duration,
    invalid_entity_type,
    invalid_input,
    invalid_input_param,
    invalid_threshold_data,
    not_modifiable,
    threshold_not_allowed,
    threshold_out_of_range,
    threshold_repeated_or_not_allowed,
)

if TYPE_CHECKING:
    # Only get(name) is used; importing the catalogue would pull in every plugin.
    from server.domain.insights.catalogue import Catalogue

TITLE_MIN_LENGTH = 3
TITLE_MAX_LENGTH = 100
_TITLE_FORBIDDEN = frozenset("><\\\"'%{}|^~[]")
_SETTING_KEYS = ("isSubscribed", "duration", "threshold")
_THRESHOLD_KEYS = ("name", "type", "value")
_READ_ONLY = {"triggerType": "triggerType", "containers": "container", "container": "container",
              "description": "description", "applicableEntity": "applicableEntity", "frequency": "frequency"}
_PLAIN_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
_SHOWN_LIMIT = 64


class SubscriptionValidationError(InvalidArgument):
    """code is the reference's Y8xx code, message its text after "Y8xx: "."""


@dataclass(frozen=True)
class SubscriptionPatch:
    insight_name: str
    settings: SubscriptionSettings  # only what the body sets; the rest None / absent from thresholds


@dataclass(frozen=True)
class _Level:
    bank: bool
    top_key: str
    config_key: str


_BANK = _Level(True, "customerSubscription", "customerConfiguration")
_USER = _Level(False, "userSubscription", "userConfiguration")


def validate_bank_update(body: object, catalogue: Catalogue) -> list[SubscriptionPatch]:
    return _validate(body, catalogue, _BANK)


def validate_user_update(body: object, catalogue: Catalogue) -> list[SubscriptionPatch]:
    return _validate(body, catalogue, _USER)


def _validate(body: object, catalogue: Catalogue, level: _Level) -> list[SubscriptionPatch]:
    items = _subscription_items(_document(body), level)
    seen: set[str] = set()
    return [_insight_patch(item, f"{level.top_key}[{index}]", catalogue, level, seen)
            for index, item in enumerate(items)]


def _fail(reason: Reason, field: str, description: str) -> NoReturn:
    raise SubscriptionValidationError(reason.code, reason.message, violations=[FieldViolation(field, description)])


# --- body ---------------------------------------------------------------------------------------------------

class _JsonObject(dict[str, object]):
    """A parsed JSON object that remembers the keys its text repeated (json keeps only the last value)."""

    repeated_keys: tuple[str, ...] = ()


def _object_from_pairs(pairs: list[tuple[str, object]]) -> _JsonObject:
    parsed = _JsonObject(pairs)
    if len(parsed) != len(pairs):
        keys = [key for key, _ in pairs]
        parsed.repeated_keys = tuple(key for index, key in enumerate(keys) if key in keys[:index])
    return parsed


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not JSON")


def _document(body: object) -> object:
    if not isinstance(body, str | bytes | bytearray):
        return body
    if not body.strip():
        _fail(EMPTY_BODY, "body", "a request body is required")
    try:
        return json.loads(body, parse_float=Decimal, parse_int=Decimal, parse_constant=_reject_constant,
                          object_pairs_hook=_object_from_pairs)
    except (ValueError, RecursionError, ArithmeticError):
        # ArithmeticError: a JSON number whose exponent Decimal cannot represent.
        _fail(INVALID_JSON, "body", "is not valid JSON")


def _repeated_keys(value: dict[str, object]) -> tuple[str, ...]:
    return getattr(value, "repeated_keys", ())


def _subscription_items(document: object, level: _Level) -> list[object]:
    invalid = invalid_input(bank=level.bank)
    if document is None:
        _fail(EMPTY_BODY, "body", "a request body is required")
    if not isinstance(document, dict):
        _fail(invalid, "body", "must be a JSON object")
    if _repeated_keys(document):
        _fail(invalid, _shown(_repeated_keys(document)[0]), "appears more than once")
    unknown = [key for key in document if key != level.top_key]
    if unknown:
        _fail(invalid, _shown(unknown[0]), f"only {level.top_key} is accepted")
    items = document.get(level.top_key)
    if items is None or (isinstance(items, list) and not items):
        _fail(EMPTY_BODY, level.top_key, "at least one insight is required")
    if not isinstance(items, list):
        _fail(invalid, level.top_key, "must be an array")
    return items


# --- insight element ----------------------------------------------------------------------------------------

def _insight_patch(item: object, path: str, catalogue: Catalogue, level: _Level, seen: set[str]) -> SubscriptionPatch:
    if not isinstance(item, dict):
        _fail(invalid_input(bank=level.bank), path, "must be an object")
    _reject_repeated_element_keys(item, path, level)
    definition = _definition(item, path, catalogue)
    if definition.name in seen:
        _fail(invalid_input(bank=level.bank), f"{path}.insightName", "each insight may appear once per request")
    seen.add(definition.name)
    title: str | None = None
    link_template: str | None = None
    settings = SubscriptionSettings()
    for key, value in item.items():
        where = _child(path, key)
        if key == "insightName":
            continue
        if key == "insightTitle":
            title = _title(value, where, level)
        elif key == "accountLinkTemplate" and level.bank:
            link_template = _link_template(value, where)
        elif key == level.config_key:
            settings = _configurations(value, where, definition, level)
        else:
            _reject_element_attribute(key, where, definition, level)
    if level.bank and not any(key in item for key in ("insightTitle", "accountLinkTemplate", level.config_key)):
        _fail(TITLE_OR_CONFIGURATION, path, "needs insightTitle, accountLinkTemplate or customerConfiguration")
    if not level.bank and level.config_key not in item:
        _fail(invalid_configuration(level.config_key, bank=False), f"{path}.{level.config_key}", "is required")
    return SubscriptionPatch(definition.name, replace(settings, insight_title=title,
                                                      account_link_template=link_template))


def _reject_repeated_element_keys(item: dict[str, object], path: str, level: _Level) -> None:
    repeated = _repeated_keys(item)
    if not repeated:
        return
    reason = (invalid_configuration(level.config_key, bank=level.bank) if repeated[0] == level.config_key
              else invalid_input(bank=level.bank))
    _fail(reason, _child(path, repeated[0]), "appears more than once")


def _definition(item: dict[str, object], path: str, catalogue: Catalogue) -> InsightDefinition:
    name = item.get("insightName")
    where = f"{path}.insightName"
    if name is None or name == "":
        _fail(MISSING_INSIGHT_NAME, where, "is required")
    definition = catalogue.get(name) if isinstance(name, str) else None
    if definition is None:
        _fail(INVALID_INSIGHT_NAME, where, "is not an insight of the catalogue")
    return definition


def _reject_element_attribute(key: object, where: str, definition: InsightDefinition, level: _Level) -> NoReturn:
    if key == "insightType":
        _fail(INSIGHT_TYPE_NOT_MODIFIABLE, where, "is read-only")
    if isinstance(key, str) and key in _READ_ONLY:
        _fail(not_modifiable(definition.name, _READ_ONLY[key]), where, "is read-only")
    reason = invalid_input(bank=True) if level.bank else invalid_input_param(definition.name)
    _fail(reason, where, "is not an attribute of a subscription")


def _title(value: object, where: str, level: _Level) -> str:
    if not level.bank:
        _fail(TITLE_NOT_MODIFIABLE, where, "only the bank may change an insight's title")
    if not isinstance(value, str) or any(_forbidden_in_title(char) for char in value):
        _fail(TITLE_SPECIAL_CHARACTERS, where, "must be text without ><\\\"'%{}|^~[] or control characters")
    if not TITLE_MIN_LENGTH <= len(value) <= TITLE_MAX_LENGTH or not value.strip():
        _fail(TITLE_LENGTH, where, f"must be {TITLE_MIN_LENGTH}-{TITLE_MAX_LENGTH} characters, not only spaces")
    return value


def _link_template(value: object, where: str) -> str:
    problem = link_template_problem(value)
    if problem is not None:
        _fail(LINK_TEMPLATE, where, problem)
    assert isinstance(value, str)
    return value


def _forbidden_in_title(char: str) -> bool:
    # Control characters and lone surrogates cannot be shown in a feed or stored as UTF-8.
    return char in _TITLE_FORBIDDEN or unicodedata.category(char) in ("Cc", "Cs")


# --- configurations -----------------------------------------------------------------------------------------

def _configurations(value: object, where: str, definition: InsightDefinition, level: _Level) -> SubscriptionSettings:
    invalid = invalid_configuration(level.config_key, bank=level.bank)
    if not isinstance(value, list) or not value:
        _fail(invalid, where, "must be a non-empty array of configurations")
    settings = SubscriptionSettings()
    for index, item in enumerate(value):
        settings = _configuration(item, f"{where}[{index}]", definition, level)
        if index > 0:
            _fail(invalid, f"{where}[{index}]", "only one configuration per insight")
    return settings


def _configuration(item: object, path: str, definition: InsightDefinition, level: _Level) -> SubscriptionSettings:
    invalid = invalid_configuration(level.config_key, bank=level.bank)
    if not isinstance(item, dict):
        _fail(invalid, path, "must be an object")
    if _repeated_keys(item):
        _fail(invalid, _child(path, _repeated_keys(item)[0]), "appears more than once")
    is_subscribed: bool | None = None
    duration: Duration | None = None
    thresholds: dict[str, Decimal] = {}
    for key, value in item.items():
        where = _child(path, key)
        if key == "entityType":
            _check_entity_type(value, where, definition, level)
        elif key == "isSubscribed":
            is_subscribed = _is_subscribed(value, where)
        elif key == "duration" and definition.durations:
            duration = _duration(value, where, definition)
        elif key == "threshold":
            thresholds = _thresholds(value, where, definition, level)
        elif key == "frequency":
            _fail(not_modifiable(definition.name, "frequency"), where, "is read-only")
        elif key == "entityId" and not level.bank:
            _reject_entity_id(where, definition)
        else:
            reason = invalid if level.bank else invalid_input_param(definition.name)
            _fail(reason, where, "is not an attribute of a configuration")
    if "entityType" not in item:
        _fail(ENTITY_TYPE_REQUIRED, f"{path}.entityType", "is required")
    if not any(key in item for key in _SETTING_KEYS):
        _fail(ENTITY_TYPE_ONLY, path, "needs isSubscribed, duration or threshold")
    return SubscriptionSettings(is_subscribed=is_subscribed, duration=duration, thresholds=thresholds)


def _check_entity_type(value: object, where: str, definition: InsightDefinition, level: _Level) -> None:
    if value is None:
        _fail(ENTITY_TYPE_REQUIRED, where, "is required")
    supported = [entity.value for entity in definition.applicable_entity]
    if not isinstance(value, str) or value not in supported:
        _fail(invalid_entity_type(definition.name, supported, bank=level.bank), where,
              f"must be one of {', '.join(supported)}")


def _is_subscribed(value: object, where: str) -> bool:
    if not isinstance(value, bool):
        _fail(IS_SUBSCRIBED, where, "must be true or false")
    return value


def _duration(value: object, where: str, definition: InsightDefinition) -> Duration:
    supported = [duration.value for duration in definition.durations]
    if not isinstance(value, str) or value not in supported:
        _fail(invalid_duration(supported), where, f"must be one of {', '.join(supported)}")
    return Duration(value)


def _reject_entity_id(where: str, definition: InsightDefinition) -> NoReturn:
    if not definition.entity_level_configuration:
        _fail(entity_id_not_allowed(definition.name), where, "this insight is configured for all of a user's entities")
    _fail(invalid_input_param(definition.name), where, "entity-level configuration is not supported yet")


# --- thresholds ---------------------------------------------------------------------------------------------

def _thresholds(value: object, where: str, definition: InsightDefinition, level: _Level) -> dict[str, Decimal]:
    if not isinstance(value, list) or not value:
        _threshold_fail(invalid_configuration(level.config_key, bank=True), definition, level, where,
                        "must be a non-empty array of thresholds")
    found: dict[str, Decimal] = {}
    for index, item in enumerate(value):
        name, number = _threshold(item, f"{where}[{index}]", definition, level, found)
        found[name] = number
    return found


def _threshold(item: object, path: str, definition: InsightDefinition, level: _Level,
               found: dict[str, Decimal]) -> tuple[str, Decimal]:
    if not isinstance(item, dict):
        _fail(THRESHOLD_INCOMPLETE, path, "must be an object with name, type and value")
    repeated = _repeated_keys(item)
    if repeated:
        _threshold_fail(threshold_repeated_or_not_allowed(definition.name, _shown(repeated[0])), definition, level,
                        _child(path, repeated[0]), "appears more than once")
    unknown = [key for key in item if key not in _THRESHOLD_KEYS]
    if unknown:
        _threshold_fail(threshold_not_allowed(definition.name, _shown(unknown[0])), definition, level,
                        _child(path, unknown[0]), "only name, type and value are accepted")
    missing = [key for key in _THRESHOLD_KEYS if item.get(key) is None]
    if missing:
        _fail(THRESHOLD_INCOMPLETE, f"{path}.{missing[0]}", "is required")
    spec = _threshold_definition(item["name"], f"{path}.name", definition, level, found)
    if item["type"] != spec.type.value:
        _threshold_fail(threshold_not_allowed(definition.name, _shown(item["type"])), definition, level,
                        f"{path}.type", f"must be {spec.type.value}")
    return spec.name, _threshold_value(item["value"], f"{path}.value", spec, definition, level)


def _threshold_fail(bank_reason: Reason, definition: InsightDefinition, level: _Level, field: str,
                    description: str) -> NoReturn:
    # The user table has one row for every threshold problem the bank table tells apart.
    _fail(bank_reason if level.bank else invalid_threshold_data(definition.name), field, description)


def _threshold_definition(name: object, where: str, definition: InsightDefinition, level: _Level,
                          found: dict[str, Decimal]) -> ThresholdDefinition:
    spec = definition.threshold(name) if isinstance(name, str) else None
    if spec is None or spec.name in found:
        names = ", ".join(threshold.name for threshold in definition.thresholds)
        _threshold_fail(threshold_repeated_or_not_allowed(definition.name, _shown(name)), definition, level, where,
                        f"must be one of {names}, each at most once")
    return spec


def _threshold_value(value: object, where: str, spec: ThresholdDefinition, definition: InsightDefinition,
                     level: _Level) -> Decimal:
    out_of_range = threshold_out_of_range(spec.name, definition.name, str(spec.minimum), str(spec.maximum),
                                          bank=level.bank)
    number = _as_decimal(value)
    if number is None:
        _fail(out_of_range if level.bank else invalid_threshold_data(definition.name), where, "must be a number")
    if not _within(number, spec):
        _fail(out_of_range, where, f"must be between {spec.minimum} and {spec.maximum}, "
                                   f"with at most {_places(spec)} decimal places")
    return number


def _as_decimal(value: object) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, float):
        number = Decimal(repr(value))  # the shortest text that reads back as this float, not its binary expansion
    elif isinstance(value, str) and _PLAIN_NUMBER.fullmatch(value):
        number = Decimal(value)
    else:
        return None
    return number if number.is_finite() else None


def _places(spec: ThresholdDefinition) -> int:
    return max(0, -int(spec.maximum.as_tuple().exponent))


def _within(number: Decimal, spec: ThresholdDefinition) -> bool:
    if not spec.minimum <= number <= spec.maximum:
        return False
    return number == number.quantize(Decimal(1).scaleb(-_places(spec)))


# --- helpers ------------------------------------------------------------------------------------------------

def _child(path: str, key: object) -> str:
    return f"{path}.{_shown(key)}"


def _shown(value: object) -> str:
    """How a client's value appears in a message or field path: bounded, and always encodable as UTF-8."""
    if isinstance(value, str):
        text = value
    elif value is None:
        text = "null"
    elif isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, int | float | Decimal):
        # Through Decimal because str() of a huge int is refused by Python.
        text = str(Decimal(value)) if isinstance(value, int) else str(value)
    elif isinstance(value, dict):
        text = "object"
    elif isinstance(value, list):
        text = "array"
    else:
        text = type(value).__name__
    if len(text) > _SHOWN_LIMIT:
        text = text[:_SHOWN_LIMIT] + "..."
    return text.encode("utf-8", "backslashreplace").decode("utf-8")
