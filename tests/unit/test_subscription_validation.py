from __future__ import annotations

import copy
import dataclasses
import json
import re
from dataclasses import dataclass
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.domain.errors import InvalidArgument
from server.domain.insights.catalogue import Catalogue, default_catalogue
from server.domain.insights.definition import (
    Duration,
    InsightDefinition,
    SubscriptionSettings,
    ThresholdDefinition,
    ThresholdType,
)
from server.domain.insights.plugins import low_balance, savings_increased
from server.domain.subscriptions.validation import (
    SubscriptionPatch,
    SubscriptionValidationError,
    validate_bank_update,
    validate_user_update,
)

CATALOGUE = default_catalogue()
NAME = savings_increased.NAME

# The reference's two tables, verbatim (the 401 rows belong to authentication, not to body validation).
BANK_ROWS = [
    "Y806: Invalid Input",
    "Y800: Invalid value for insightName",
    "Y800: Invalid value for insightTitle; special characters ><\\\"\"'%{}|^~[] are not supported.",
    "Y801: Invalid length for insightTitle; min 3 and max 100 characters including spaces are allowed.",
    "Y800: Invalid value for CHANGE in SAVINGS_INCREASED_COMPARED_TO_YOUR_AVERAGE insight Min = 0.00 and Max = 500.00",
    "Y813: Invalid request. The entire object within threshold should be provided",
    "Y802: For insight SAVINGS_INCREASED_COMPARED_TO_YOUR_AVERAGE, modifying applicableEntity is not allowed",
    "Y802: For insight SAVINGS_INCREASED_COMPARED_TO_YOUR_AVERAGE, modifying triggerType is not allowed",
    "Y802: For insight SAVINGS_INCREASED_COMPARED_TO_YOUR_AVERAGE, modifying container is not allowed",
    "Y802: For insight SAVINGS_INCREASED_COMPARED_TO_YOUR_AVERAGE, modifying description is not allowed",
    "Y800: Invalid value for isSubscribed; Supported values are true, false",
    "Y825: Update not allowed without a valid request body",
    "Y803: Invalid request; Either a valid insightTitle or customerConfiguration is required.",
    "Y802: For insight SAVINGS_INCREASED_COMPARED_TO_YOUR_AVERAGE, modifying frequency is not allowed",
    "Y800: Invalid value for duration; Supported values are LAST_THREE_MONTHS,LAST_SIX_MONTHS,LAST_TWELVE_MONTHS",
    "Y812: Required field/value - insightName missing in the request",
    "Y802: Modifying InsightType attribute is not allowed",
    "Y813: entityType should be provided",
    "Y803: At least one additional attribute is required in addition to entityType.",
    "Y800: Invalid value for customerConfiguration; customerConfiguration is either missing, duplicated, or has "
    "insufficient/ incorrect attributes.",
    "Y800: Invalid value for entityType. Supported entityType for SAVINGS_INCREASED_COMPARED_TO_YOUR_AVERAGE insight "
    "are - [ACCOUNT]",
    "Y802: For SAVINGS_INCREASED_COMPARED_TO_YOUR_AVERAGE insight, {Invalid String} inside the threshold is either "
    "repeated or not allowed",
    "Y802: For SAVINGS_INCREASED_COMPARED_TO_YOUR_AVERAGE insight, {Invalid String} inside the threshold is not "
    "allowed",
    "Y800: Invalid value for input json",
]
USER_ROWS = [
    "Y806: Invalid input",
    "Y800: Invalid value for insightName",
    "Y800: Invalid value for input param in SAVINGS_INCREASED_COMPARED_TO_YOUR_AVERAGE insight",
    "Y802: Modifying insightTitle using this API is not allowed",
    "Y813: Invalid request. The entire object within threshold should be provided",
    "Y800: Invalid value for threshold data in SAVINGS_INCREASED_COMPARED_TO_YOUR_AVERAGE insight",
    "Y800: Invalid value for CHANGE in SAVINGS_INCREASED_COMPARED_TO_YOUR_AVERAGE insight Min =0.00 and Max = 500.00",
    "Y802: For insight SAVINGS_INCREASED_COMPARED_TO_YOUR_AVERAGE, modifying applicableEntity is not allowed",
    "Y802: For insight SAVINGS_INCREASED_COMPARED_TO_YOUR_AVERAGE, modifying triggerType is not allowed",
    "Y802: For insight SAVINGS_INCREASED_COMPARED_TO_YOUR_AVERAGE, modifying container is not allowed",
    "Y802: For insight SAVINGS_INCREASED_COMPARED_TO_YOUR_AVERAGE, modifying description is not allowed",
    "Y802: For insight SAVINGS_INCREASED_COMPARED_TO_YOUR_AVERAGE, modifying frequency is not allowed",
    "Y800: Invalid value for duration; Supported values are LAST_THREE_MONTHS,LAST_SIX_MONTHS,LAST_TWELVE_MONTHS",
    "Y800: Invalid value for isSubscribed; Supported values are true, false",
    "Y825: Update not allowed without a valid request body",
    "Y812: Required field/value - insightName missing in the request",
    "Y802: Modifying InsightType attribute is not allowed",
    "Y813: entityType should be provided",
    "Y803: At least one additional attribute is required in addition to entityType.",
    "Y800: Invalid value for userConfiguration; userConfiguration is either missing, duplicated, or has "
    "insufficient/ incorrect attributes",
    "Y802: For insight SAVINGS_INCREASED_COMPARED_TO_YOUR_AVERAGE, configurations at an entityId level are not "
    "allowed",
    "Y800: Invalid value for entityType. Supported entityType for SAVINGS_INCREASED_COMPARED_TO_YOUR_AVERAGE insight "
    "are -[ACCOUNT]",
    "Y800: Invalid value for input json",
]

BANK_CHANGE_ROW = BANK_ROWS[4]
USER_CHANGE_ROW = USER_ROWS[6]
BANK_CONFIGURATION_ROW = BANK_ROWS[19]
USER_THRESHOLD_DATA_ROW = USER_ROWS[5]
USER_INPUT_PARAM_ROW = USER_ROWS[2]


def _row_pattern(row: str) -> re.Pattern[str]:
    return re.compile(re.escape(row).replace(re.escape("{Invalid String}"), ".*"), re.DOTALL)


BANK_PATTERNS = [_row_pattern(row) for row in BANK_ROWS]
USER_PATTERNS = [_row_pattern(row) for row in USER_ROWS]


def threshold(value: object = "11", **overrides: object) -> dict:
    return {"name": "CHANGE", "type": "PERCENT", "value": value, **overrides}


def configuration(**fields: object) -> dict:
    return {"entityType": "ACCOUNT", **fields}


def bank(*configurations: dict, **attributes: object) -> dict:
    element = {"insightName": NAME, **attributes}
    if configurations:
        element["customerConfiguration"] = list(configurations)
    return {"customerSubscription": [element]}


def user(*configurations: dict, **attributes: object) -> dict:
    element = {"insightName": NAME, **attributes}
    if configurations:
        element["userConfiguration"] = list(configurations)
    return {"userSubscription": [element]}


SETTINGS = configuration(isSubscribed=True)

# One body per row: (row, body, the exact text when the row has a {Invalid String} placeholder).
BANK_CASES = [
    (BANK_ROWS[0], [bank(SETTINGS)], None),
    (BANK_ROWS[1], {"customerSubscription": [{"insightName": "NOT_AN_INSIGHT", "customerConfiguration": [SETTINGS]}]},
     None),
    (BANK_ROWS[2], bank(insightTitle="Savings {up}"), None),
    (BANK_ROWS[3], bank(insightTitle="ab"), None),
    (BANK_ROWS[4], bank(configuration(threshold=[threshold("500.01")])), None),
    (BANK_ROWS[5], bank(configuration(threshold=[{"name": "CHANGE", "value": "11"}])), None),
    (BANK_ROWS[6], bank(SETTINGS, applicableEntity=["ACCOUNT"]), None),
    (BANK_ROWS[7], bank(SETTINGS, triggerType="SCHEDULE"), None),
    (BANK_ROWS[8], bank(SETTINGS, containers=["BANK"]), None),
    (BANK_ROWS[9], bank(SETTINGS, description="Generates an insight"), None),
    (BANK_ROWS[10], bank(configuration(isSubscribed="true")), None),
    (BANK_ROWS[11], {}, None),
    (BANK_ROWS[12], {"customerSubscription": [{"insightName": NAME}]}, None),
    (BANK_ROWS[13], bank(configuration(isSubscribed=True, frequency="MONTHLY")), None),
    (BANK_ROWS[14], bank(configuration(duration="LAST_TWO_MONTHS")), None),
    (BANK_ROWS[15], {"customerSubscription": [{"customerConfiguration": [SETTINGS]}]}, None),
    (BANK_ROWS[16], bank(SETTINGS, insightType="AGGREGATE"), None),
    (BANK_ROWS[17], bank({"isSubscribed": True}), None),
    (BANK_ROWS[18], bank({"entityType": "ACCOUNT"}), None),
    (BANK_ROWS[19], {"customerSubscription": [{"insightName": NAME, "customerConfiguration": []}]}, None),
    (BANK_ROWS[20], bank(configuration(entityType="GOAL", isSubscribed=True)), None),
    (BANK_ROWS[21], bank(configuration(threshold=[threshold(), threshold("12")])),
     f"Y802: For {NAME} insight, CHANGE inside the threshold is either repeated or not allowed"),
    (BANK_ROWS[22], bank(configuration(threshold=[threshold(type="AMOUNT")])),
     f"Y802: For {NAME} insight, AMOUNT inside the threshold is not allowed"),
    (BANK_ROWS[23], '{"customerSubscription": [', None),
]
USER_CASES = [
    (USER_ROWS[0], [user(SETTINGS)], None),
    (USER_ROWS[1], {"userSubscription": [{"insightName": "NOT_AN_INSIGHT", "userConfiguration": [SETTINGS]}]}, None),
    (USER_ROWS[2], user(configuration(isSubscribed=True, colour="blue")), None),
    (USER_ROWS[3], user(SETTINGS, insightTitle="My savings"), None),
    (USER_ROWS[4], user(configuration(threshold=[{"name": "CHANGE", "type": "PERCENT"}])), None),
    (USER_ROWS[5], user(configuration(threshold="CHANGE")), None),
    (USER_ROWS[6], user(configuration(threshold=[threshold("-0.01")])), None),
    (USER_ROWS[7], user(SETTINGS, applicableEntity=["ACCOUNT"]), None),
    (USER_ROWS[8], user(SETTINGS, triggerType="SCHEDULE"), None),
    (USER_ROWS[9], user(SETTINGS, containers=["BANK"]), None),
    (USER_ROWS[10], user(SETTINGS, description="Generates an insight"), None),
    (USER_ROWS[11], user(configuration(isSubscribed=True, frequency="MONTHLY")), None),
    (USER_ROWS[12], user(configuration(duration="LAST_TWO_MONTHS")), None),
    (USER_ROWS[13], user(configuration(isSubscribed="yes")), None),
    (USER_ROWS[14], {"userSubscription": []}, None),
    (USER_ROWS[15], {"userSubscription": [{"userConfiguration": [SETTINGS]}]}, None),
    (USER_ROWS[16], user(SETTINGS, insightType="AGGREGATE"), None),
    (USER_ROWS[17], user({"duration": "LAST_SIX_MONTHS"}), None),
    (USER_ROWS[18], user({"entityType": "ACCOUNT"}), None),
    (USER_ROWS[19], {"userSubscription": [{"insightName": NAME}]}, None),
    (USER_ROWS[20], user(configuration(entityId="10001", isSubscribed=True)), None),
    (USER_ROWS[21], user(configuration(entityType="GOAL", isSubscribed=True)), None),
    (USER_ROWS[22], b"{'userSubscription': []}", None),
]


@dataclass(frozen=True)
class OneInsight:
    """A catalogue of one made-up definition; validation asks a catalogue nothing but get(name)."""

    definition: InsightDefinition

    def get(self, name: str) -> InsightDefinition | None:
        return self.definition if name == self.definition.name else None


def bank_error(body: object, catalogue: Catalogue | OneInsight = CATALOGUE) -> SubscriptionValidationError:
    with pytest.raises(SubscriptionValidationError) as raised:
        validate_bank_update(body, catalogue)
    return raised.value


def user_error(body: object, catalogue: Catalogue | OneInsight = CATALOGUE) -> SubscriptionValidationError:
    with pytest.raises(SubscriptionValidationError) as raised:
        validate_user_update(body, catalogue)
    return raised.value


def text(error: SubscriptionValidationError) -> str:
    return f"{error.code}: {error.message}"


def test_every_row_of_both_tables_has_a_case() -> None:
    assert [row for row, _, _ in BANK_CASES] == BANK_ROWS
    assert [row for row, _, _ in USER_CASES] == USER_ROWS


@pytest.mark.parametrize(("row", "body", "exact"), BANK_CASES, ids=[row[:60] for row in BANK_ROWS])
def test_bank_table_row(row: str, body: object, exact: str | None) -> None:
    error = bank_error(body)
    assert text(error) == (exact or row)
    assert _row_pattern(row).fullmatch(text(error))
    assert isinstance(error, InvalidArgument)
    assert str(error) == text(error)
    assert error.violations and error.violations[0].field


@pytest.mark.parametrize(("row", "body", "exact"), USER_CASES, ids=[row[:60] for row in USER_ROWS])
def test_user_table_row(row: str, body: object, exact: str | None) -> None:
    error = user_error(body)
    assert text(error) == (exact or row)
    assert error.violations and error.violations[0].field


# --- valid bodies -------------------------------------------------------------------------------------------

BANK_SAMPLE = {"customerSubscription": [{
    "customerConfiguration": [{"duration": "LAST_THREE_MONTHS", "isSubscribed": True, "entityType": "ACCOUNT",
                               "threshold": [{"name": "CHANGE", "type": "PERCENT", "value": "11"}]}],
    "insightName": NAME,
}]}
USER_SAMPLE = {"userSubscription": [{
    "insightName": NAME,
    "userConfiguration": [{"duration": "LAST_THREE_MONTHS", "isSubscribed": True, "entityType": "ACCOUNT",
                           "threshold": [{"name": "CHANGE", "type": "PERCENT", "value": "11"}]}],
}]}
SAMPLE_PATCH = SubscriptionPatch(NAME, SubscriptionSettings(is_subscribed=True, duration=Duration.LAST_THREE_MONTHS,
                                                            thresholds={"CHANGE": Decimal("11")}))


@pytest.mark.parametrize("body", [BANK_SAMPLE, json.dumps(BANK_SAMPLE), json.dumps(BANK_SAMPLE).encode()])
def test_the_reference_bank_sample_is_accepted(body: object) -> None:
    assert validate_bank_update(body, CATALOGUE) == [SAMPLE_PATCH]


@pytest.mark.parametrize("body", [USER_SAMPLE, json.dumps(USER_SAMPLE), json.dumps(USER_SAMPLE).encode()])
def test_the_reference_user_sample_is_accepted(body: object) -> None:
    assert validate_user_update(body, CATALOGUE) == [SAMPLE_PATCH]


@pytest.mark.parametrize("validate", [validate_bank_update, validate_user_update])
def test_only_the_attributes_sent_are_set(validate) -> None:
    body = bank if validate is validate_bank_update else user
    six_months = body(configuration(duration="LAST_SIX_MONTHS", threshold=[threshold("11")]))
    assert validate(six_months, CATALOGUE) == [SubscriptionPatch(NAME, SubscriptionSettings(
        duration=Duration.LAST_SIX_MONTHS, thresholds={"CHANGE": Decimal("11")}))]
    unsubscribe = body(configuration(isSubscribed=False))
    assert validate(unsubscribe, CATALOGUE) == [SubscriptionPatch(NAME, SubscriptionSettings(is_subscribed=False))]


def test_the_bank_may_change_only_the_title() -> None:
    patches = validate_bank_update(bank(insightTitle="Your savings grew"), CATALOGUE)
    assert patches == [SubscriptionPatch(NAME, SubscriptionSettings(insight_title="Your savings grew"))]


def test_the_bank_may_change_title_and_configuration_together() -> None:
    patches = validate_bank_update(bank(configuration(isSubscribed=True), insightTitle="Saved more"), CATALOGUE)
    assert patches == [SubscriptionPatch(NAME, SubscriptionSettings(is_subscribed=True, insight_title="Saved more"))]


@pytest.mark.parametrize(("title", "accepted"), [("abc", True), ("a" * 100, True), ("Épargne en hausse", True),
                                                 ("ab", False), ("a" * 101, False), ("   ", False)])
def test_title_length(title: str, accepted: bool) -> None:
    if accepted:
        assert validate_bank_update(bank(insightTitle=title), CATALOGUE)[0].settings.insight_title == title
    else:
        assert text(bank_error(bank(insightTitle=title))) == BANK_ROWS[3]


@pytest.mark.parametrize("title", [f"Savings {char} up" for char in "><\\\"'%{}|^~[]"]
                         + ["Savings\nup", "Savings\x00up", "Savings \ud800 up", 42, None, ["Savings"]])
def test_title_special_characters_and_non_text(title: object) -> None:
    assert text(bank_error(bank(insightTitle=title))) == BANK_ROWS[2]


@pytest.mark.parametrize("value", ["0.00", "0", "500.00", "500", "11.5", "11.50", "-0", 0, 500, Decimal("500.00"),
                                   Decimal("0"), 11.5, 499.99])
@pytest.mark.parametrize("level", ["bank", "user"])
def test_threshold_values_in_range_are_accepted(level: str, value: object) -> None:
    validate, body = (validate_bank_update, bank) if level == "bank" else (validate_user_update, user)
    patches = validate(body(configuration(threshold=[threshold(value)])), CATALOGUE)
    assert patches[0].settings.thresholds == {"CHANGE": Decimal(str(value))}


@pytest.mark.parametrize("value", ["500.01", "-0.01", "11.555", "0.001", 500.01, -0.01, Decimal("1E+3"), 10**30])
def test_threshold_values_out_of_range_or_too_precise_are_rejected(value: object) -> None:
    assert text(bank_error(bank(configuration(threshold=[threshold(value)])))) == BANK_CHANGE_ROW
    assert text(user_error(user(configuration(threshold=[threshold(value)])))) == USER_CHANGE_ROW


@pytest.mark.parametrize("literal", ["500.01", "-0.01", "5.001e2", "1e999999"])
def test_json_numbers_are_read_without_float(literal: str) -> None:
    body = json.dumps(bank(configuration(threshold=[threshold("VALUE")]))).replace('"VALUE"', literal)
    assert text(bank_error(body)) == BANK_CHANGE_ROW


def test_json_number_keeps_its_exact_digits() -> None:
    body = json.dumps(bank(configuration(threshold=[threshold("VALUE")]))).replace('"VALUE"', "499.99")
    assert str(validate_bank_update(body, CATALOGUE)[0].settings.thresholds["CHANGE"]) == "499.99"


@pytest.mark.parametrize("value", ["abc", "", " 11", "11 ", "1e2", "+11", "11.", ".5", "1_1", "\u0661\u0661", "NaN",
                                   "Infinity", True, [11], {"amount": 11}, float("nan"), float("inf"), Decimal("NaN")])
def test_threshold_values_that_are_not_numbers(value: object) -> None:
    assert text(bank_error(bank(configuration(threshold=[threshold(value)])))) == BANK_CHANGE_ROW
    assert text(user_error(user(configuration(threshold=[threshold(value)])))) == USER_THRESHOLD_DATA_ROW


def test_the_violation_names_the_field() -> None:
    error = bank_error(bank(configuration(threshold=[threshold("500.01")])))
    assert error.violations[0].field == "customerSubscription[0].customerConfiguration[0].threshold[0].value"
    error = user_error(user(configuration(duration="SOMETIMES")))
    assert error.violations[0].field == "userSubscription[0].userConfiguration[0].duration"


# --- the conditions behind each row (see the module docstring) ----------------------------------------------

def _repeated_key_text(level_key: str, config_key: str, where: str) -> str:
    configuration_text = '{"entityType": "ACCOUNT", "isSubscribed": true}'
    threshold_text = '{"name": "CHANGE", "type": "PERCENT", "value": "11"}'
    if where == "top":
        return f'{{"{level_key}": [], "{level_key}": []}}'
    if where == "insightName":
        return f'{{"{level_key}": [{{"insightName": "{NAME}", "insightName": "{NAME}", ' \
               f'"{config_key}": [{configuration_text}]}}]}}'
    if where == "configuration key":
        return f'{{"{level_key}": [{{"insightName": "{NAME}", "{config_key}": [{configuration_text}], ' \
               f'"{config_key}": [{configuration_text}]}}]}}'
    if where == "inside configuration":
        return f'{{"{level_key}": [{{"insightName": "{NAME}", "{config_key}": [{{"entityType": "ACCOUNT", ' \
               f'"isSubscribed": true, "isSubscribed": false}}]}}]}}'
    return f'{{"{level_key}": [{{"insightName": "{NAME}", "{config_key}": [{{"entityType": "ACCOUNT", ' \
           f'"threshold": [{threshold_text[:-1]}, "value": "12"}}]}}]}}]}}'


BANK_CONDITIONS = [
    ("no body", None, BANK_ROWS[11]),
    ("empty text", "", BANK_ROWS[11]),
    ("blank bytes", b" \n", BANK_ROWS[11]),
    ("JSON null", "null", BANK_ROWS[11]),
    ("null array", {"customerSubscription": None}, BANK_ROWS[11]),
    ("not JSON", "{customerSubscription}", BANK_ROWS[23]),
    ("NaN literal", '{"customerSubscription": NaN}', BANK_ROWS[23]),
    ("invalid UTF-8", b"\xff\xfe{", BANK_ROWS[23]),
    ("too deep", "[" * 100_000 + "]" * 100_000, BANK_ROWS[23]),
    ("unrepresentable number", '{"customerSubscription": 1e99999999999999999999999}', BANK_ROWS[23]),
    ("JSON number body", "42", BANK_ROWS[0]),
    ("user body sent to bank", user(SETTINGS), BANK_ROWS[0]),
    ("unknown top-level key", {**bank(SETTINGS), "extra": 1}, BANK_ROWS[0]),
    ("array is an object", {"customerSubscription": {"insightName": NAME}}, BANK_ROWS[0]),
    ("element not an object", {"customerSubscription": [NAME]}, BANK_ROWS[0]),
    ("repeated top-level key", _repeated_key_text("customerSubscription", "customerConfiguration", "top"),
     BANK_ROWS[0]),
    ("repeated insightName key", _repeated_key_text("customerSubscription", "customerConfiguration", "insightName"),
     BANK_ROWS[0]),
    ("same insight twice", {"customerSubscription": bank(SETTINGS)["customerSubscription"] * 2}, BANK_ROWS[0]),
    ("unknown element key", bank(SETTINGS, colour="blue"), BANK_ROWS[0]),
    ("empty insightName", {"customerSubscription": [{"insightName": "", "insightTitle": "abc"}]}, BANK_ROWS[15]),
    ("null insightName", {"customerSubscription": [{"insightName": None, "insightTitle": "abc"}]}, BANK_ROWS[15]),
    ("insightName not text", {"customerSubscription": [{"insightName": 7, "insightTitle": "abc"}]}, BANK_ROWS[1]),
    ("insightName checked first", {"customerSubscription": [{"insightType": "X", "insightName": "NOPE"}]},
     BANK_ROWS[1]),
    ("container, API version 2", bank(SETTINGS, container=["BANK"]), BANK_ROWS[8]),
    ("frequency on the element", bank(SETTINGS, frequency="MONTHLY"), BANK_ROWS[13]),
    ("configuration not an array", {"customerSubscription": [{"insightName": NAME, "customerConfiguration": {}}]},
     BANK_ROWS[19]),
    ("configuration null", {"customerSubscription": [{"insightName": NAME, "customerConfiguration": None}]},
     BANK_ROWS[19]),
    ("configuration item not an object", bank("ACCOUNT"), BANK_ROWS[19]),
    ("two configurations", bank(SETTINGS, SETTINGS), BANK_ROWS[19]),
    ("repeated configuration key",
     _repeated_key_text("customerSubscription", "customerConfiguration", "configuration key"), BANK_ROWS[19]),
    ("key repeated inside a configuration",
     _repeated_key_text("customerSubscription", "customerConfiguration", "inside configuration"), BANK_ROWS[19]),
    ("unknown configuration key", bank(configuration(isSubscribed=True, colour="blue")), BANK_ROWS[19]),
    ("entityId at bank level", bank(configuration(isSubscribed=True, entityId="10001")), BANK_ROWS[19]),
    ("threshold not an array", bank(configuration(threshold=threshold())), BANK_ROWS[19]),
    ("threshold empty", bank(configuration(threshold=[])), BANK_ROWS[19]),
    ("entityType null", bank(configuration(entityType=None, isSubscribed=True)), BANK_ROWS[17]),
    ("entityType not text", bank(configuration(entityType=["ACCOUNT"], isSubscribed=True)), BANK_ROWS[20]),
    ("entityType lower case", bank(configuration(entityType="account", isSubscribed=True)), BANK_ROWS[20]),
    ("isSubscribed 1", bank(configuration(isSubscribed=1)), BANK_ROWS[10]),
    ("isSubscribed null", bank(configuration(isSubscribed=None)), BANK_ROWS[10]),
    ("duration null", bank(configuration(duration=None)), BANK_ROWS[14]),
    ("threshold item not an object", bank(configuration(threshold=["CHANGE"])), BANK_ROWS[5]),
    ("threshold item null", bank(configuration(threshold=[None])), BANK_ROWS[5]),
    ("threshold value null", bank(configuration(threshold=[threshold(None)])), BANK_ROWS[5]),
    ("threshold type missing", bank(configuration(threshold=[{"name": "CHANGE", "value": "1"}])), BANK_ROWS[5]),
]
REPEATED_OR_NOT_ALLOWED = "inside the threshold is either repeated or not allowed"
BANK_THRESHOLD_CONDITIONS = [
    ("unknown threshold name", [threshold(name="SPEND")], f"SPEND {REPEATED_OR_NOT_ALLOWED}"),
    ("threshold name not text", [threshold(name=5)], f"5 {REPEATED_OR_NOT_ALLOWED}"),
    ("repeated threshold", [threshold(), threshold()], f"CHANGE {REPEATED_OR_NOT_ALLOWED}"),
    ("unknown key in a threshold", [threshold(min="0")], "min inside the threshold is not allowed"),
    ("wrong threshold type", [threshold(type="COUNT")], "COUNT inside the threshold is not allowed"),
    ("threshold type null", [threshold(type=None)], None),
]


@pytest.mark.parametrize(("body", "row"), [(body, row) for _, body, row in BANK_CONDITIONS],
                         ids=[name for name, _, _ in BANK_CONDITIONS])
def test_bank_condition(body: object, row: str) -> None:
    assert text(bank_error(body)) == row


@pytest.mark.parametrize(("thresholds", "invalid"), [(t, i) for _, t, i in BANK_THRESHOLD_CONDITIONS],
                         ids=[name for name, _, _ in BANK_THRESHOLD_CONDITIONS])
def test_bank_threshold_condition(thresholds: list, invalid: str | None) -> None:
    error = bank_error(bank(configuration(threshold=thresholds)))
    if invalid is None:
        assert text(error) == BANK_ROWS[5]
    else:
        assert text(error) == f"Y802: For {NAME} insight, {invalid}"
    assert text(user_error(user(configuration(threshold=thresholds)))) == (
        USER_ROWS[4] if invalid is None else USER_THRESHOLD_DATA_ROW)


def test_a_key_repeated_inside_a_threshold_object() -> None:
    body = _repeated_key_text("customerSubscription", "customerConfiguration", "inside threshold")
    assert text(bank_error(body)) == f"Y802: For {NAME} insight, value inside the threshold is either repeated or " \
                                     f"not allowed"
    body = _repeated_key_text("userSubscription", "userConfiguration", "inside threshold")
    assert text(user_error(body)) == USER_THRESHOLD_DATA_ROW


USER_CONDITIONS = [
    ("JSON null", b"null", USER_ROWS[14]),
    ("null array", {"userSubscription": None}, USER_ROWS[14]),
    ("bank body sent to user", bank(SETTINGS), USER_ROWS[0]),
    ("element not an object", {"userSubscription": [[NAME]]}, USER_ROWS[0]),
    ("same insight twice", {"userSubscription": user(SETTINGS)["userSubscription"] * 2}, USER_ROWS[0]),
    ("repeated top-level key", _repeated_key_text("userSubscription", "userConfiguration", "top"), USER_ROWS[0]),
    ("unknown element key", user(SETTINGS, colour="blue"), USER_INPUT_PARAM_ROW),
    ("customerConfiguration at user level", user(SETTINGS, customerConfiguration=[SETTINGS]), USER_INPUT_PARAM_ROW),
    ("container, API version 2", user(SETTINGS, container=["BANK"]), USER_ROWS[9]),
    ("configuration empty", {"userSubscription": [{"insightName": NAME, "userConfiguration": []}]}, USER_ROWS[19]),
    ("two configurations", user(SETTINGS, configuration(isSubscribed=False)), USER_ROWS[19]),
    ("repeated configuration key",
     _repeated_key_text("userSubscription", "userConfiguration", "configuration key"), USER_ROWS[19]),
    ("key repeated inside a configuration",
     _repeated_key_text("userSubscription", "userConfiguration", "inside configuration"), USER_ROWS[19]),
    ("threshold empty", user(configuration(threshold=[])), USER_THRESHOLD_DATA_ROW),
    ("threshold null", user(configuration(threshold=None)), USER_THRESHOLD_DATA_ROW),
    ("entityId only", user({"entityType": "ACCOUNT", "entityId": "1"}), USER_ROWS[20]),
]


@pytest.mark.parametrize(("body", "row"), [(body, row) for _, body, row in USER_CONDITIONS],
                         ids=[name for name, _, _ in USER_CONDITIONS])
def test_user_condition(body: object, row: str) -> None:
    assert text(user_error(body)) == row


def test_a_get_response_sent_back_is_refused_at_its_first_read_only_attribute() -> None:
    element = {"insightName": NAME, "insightTitle": savings_increased.DEFINITION.title, "insightType": "AGGREGATE",
               "triggerType": "SCHEDULE", "containers": ["BANK"], "description": "...",
               "applicableEntity": ["ACCOUNT"]}
    configured = [configuration(isSubscribed=True, frequency="MONTHLY", duration="LAST_THREE_MONTHS",
                                threshold=[threshold("10")])]
    assert text(bank_error({"customerSubscription": [{**element, "customerConfiguration": configured}]})) \
        == BANK_ROWS[16]
    user_element = {**element, "userConfiguration": configured, "customerConfiguration": configured}
    assert text(user_error({"userSubscription": [user_element]})) == USER_ROWS[3]


def test_the_first_problem_in_document_order_wins() -> None:
    assert text(bank_error(bank({"entityType": "ACCOUNT", "isSubscribed": "yes", "duration": "SOON"}))) \
        == BANK_ROWS[10]
    assert text(bank_error(bank({"entityType": "ACCOUNT", "duration": "SOON", "isSubscribed": "yes"}))) \
        == BANK_ROWS[14]
    assert text(bank_error(bank({"isSubscribed": "yes"}))) == BANK_ROWS[10]
    assert text(bank_error(bank({"frequency": "MONTHLY"}))) == BANK_ROWS[13]


def test_one_bad_insight_rejects_the_whole_body() -> None:
    good = bank(SETTINGS)["customerSubscription"][0]
    bad = {"insightName": "NOT_AN_INSIGHT", "customerConfiguration": [SETTINGS]}
    assert text(bank_error({"customerSubscription": [good, bad]})) == BANK_ROWS[1]
    error = bank_error({"customerSubscription": [good, good]})
    assert error.violations[0].field == "customerSubscription[1].insightName"


def test_entity_level_insights_are_refused_until_a_patch_can_carry_the_entity() -> None:
    definition = dataclasses.replace(savings_increased.DEFINITION, entity_level_configuration=True)
    body = user(configuration(entityId="10001", isSubscribed=True))
    assert text(user_error(body, OneInsight(definition))) == USER_INPUT_PARAM_ROW


def test_messages_follow_the_definition() -> None:
    definition = dataclasses.replace(
        savings_increased.DEFINITION, name="SPEND_UP", durations=(Duration.LAST_SIX_MONTHS,),
        thresholds=(ThresholdDefinition("AMOUNT", ThresholdType.AMOUNT, Decimal("1.0"), Decimal("99.5"),
                                        Decimal("10.0")),))
    catalogue = OneInsight(definition)
    element = {"insightName": "SPEND_UP", "customerConfiguration": [
        configuration(threshold=[{"name": "AMOUNT", "type": "AMOUNT", "value": "0.9"}])]}
    assert text(bank_error({"customerSubscription": [element]}, catalogue)) \
        == "Y800: Invalid value for AMOUNT in SPEND_UP insight Min = 1.0 and Max = 99.5"
    element["customerConfiguration"][0]["threshold"][0]["value"] = "9.55"
    assert text(bank_error({"customerSubscription": [element]}, catalogue)).startswith("Y800: Invalid value for AMOUNT")
    element["customerConfiguration"][0]["threshold"][0]["value"] = "9.5"
    assert validate_bank_update({"customerSubscription": [element]}, catalogue)[0].settings.thresholds == {
        "AMOUNT": Decimal("9.5")}
    element["customerConfiguration"][0] = configuration(duration="LAST_THREE_MONTHS")
    assert text(bank_error({"customerSubscription": [element]}, catalogue)) \
        == "Y800: Invalid value for duration; Supported values are LAST_SIX_MONTHS"


def test_echoed_values_are_bounded_and_encodable() -> None:
    error = bank_error(bank(configuration(threshold=[threshold(name="\ud800" + "X" * 500)])))
    error.message.encode("utf-8")
    assert len(error.message) < 200


# --- properties ---------------------------------------------------------------------------------------------

in_range = st.decimals(min_value=0, max_value=500, places=2, allow_nan=False, allow_infinity=False)


@given(in_range)
def test_any_two_place_value_in_range_round_trips(value: Decimal) -> None:
    as_string = validate_bank_update(bank(configuration(threshold=[threshold(str(value))])), CATALOGUE)
    assert str(as_string[0].settings.thresholds["CHANGE"]) == str(value)
    as_number = validate_user_update(user(configuration(threshold=[threshold(value)])), CATALOGUE)
    assert as_number[0].settings.thresholds["CHANGE"] == value
    as_json = json.dumps(bank(configuration(threshold=[threshold("VALUE")]))).replace('"VALUE"', str(value))
    assert str(validate_bank_update(as_json, CATALOGUE)[0].settings.thresholds["CHANGE"]) == str(value)


outside = st.one_of(
    st.decimals(allow_nan=False, allow_infinity=False).filter(lambda d: not 0 <= d <= 500),
    st.decimals(min_value=0, max_value=500, places=6).filter(lambda d: d != d.quantize(Decimal("0.01"))),
)


@given(outside)
def test_any_value_outside_the_range_or_too_precise_is_rejected(value: Decimal) -> None:
    assert text(bank_error(bank(configuration(threshold=[threshold(value)])))) == BANK_CHANGE_ROW
    assert text(user_error(user(configuration(threshold=[threshold(value)])))) == USER_CHANGE_ROW


@given(st.decimals(min_value=-10**12, max_value=10**12, allow_nan=False, allow_infinity=False)
       .filter(lambda d: not 0 <= d <= 500 or d != d.quantize(Decimal("0.01"))))
def test_any_such_value_written_as_text_is_rejected(value: Decimal) -> None:
    assert text(bank_error(bank(configuration(threshold=[threshold(format(value, "f"))])))) == BANK_CHANGE_ROW
    assert text(user_error(user(configuration(threshold=[threshold(format(value, "f"))])))) == USER_CHANGE_ROW


KNOWN_KEYS = ["customerSubscription", "userSubscription", "insightName", "insightTitle", "insightType", "triggerType",
              "containers", "container", "description", "applicableEntity", "customerConfiguration",
              "userConfiguration", "entityType", "entityId", "isSubscribed", "frequency", "duration", "threshold",
              "name", "type", "value"]
KNOWN_TEXT = [NAME, "ACCOUNT", "GOAL", "CHANGE", "PERCENT", "AMOUNT", "MONTHLY", "LAST_SIX_MONTHS", "11", "500.01",
              "Savings up", "", "<>"]
scalars = (st.none() | st.booleans() | st.integers() | st.floats() | st.decimals()
           | st.sampled_from(KNOWN_TEXT) | st.text(max_size=6))
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.sampled_from(KNOWN_KEYS) | st.text(max_size=4), children, max_size=4),
    max_leaves=16,
)


def _assert_only_table_errors(validate, patterns: list[re.Pattern[str]], body: object) -> None:
    try:
        patches = validate(body, CATALOGUE)
    except SubscriptionValidationError as error:
        assert any(pattern.fullmatch(text(error)) for pattern in patterns), text(error)
        assert error.violations and isinstance(error.violations[0].field, str)
        text(error).encode("utf-8")
    else:
        assert all(isinstance(patch, SubscriptionPatch) for patch in patches)


@settings(max_examples=300)
@given(json_values)
def test_arbitrary_json_only_ever_gives_a_table_error(body: object) -> None:
    _assert_only_table_errors(validate_bank_update, BANK_PATTERNS, body)
    _assert_only_table_errors(validate_user_update, USER_PATTERNS, body)


@given(st.text() | st.binary() | json_values.map(lambda value: json.dumps(value, default=str)))
def test_arbitrary_text_only_ever_gives_a_table_error(body: str | bytes) -> None:
    _assert_only_table_errors(validate_bank_update, BANK_PATTERNS, body)
    _assert_only_table_errors(validate_user_update, USER_PATTERNS, body)


def _paths(value: object, prefix: tuple = ()) -> list[tuple]:
    found = [prefix]
    if isinstance(value, dict):
        for key, child in value.items():
            found += _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += _paths(child, (*prefix, index))
    return found


def _replaced(document: object, path: tuple, new: object) -> object:
    if not path:
        return new
    document = copy.deepcopy(document)
    parent = document
    for step in path[:-1]:
        parent = parent[step]
    parent[path[-1]] = new
    return document


@settings(max_examples=300)
@given(st.data())
def test_a_valid_body_with_one_part_replaced_only_ever_gives_a_table_error(data: st.DataObject) -> None:
    for validate, sample, patterns in ((validate_bank_update, BANK_SAMPLE, BANK_PATTERNS),
                                       (validate_user_update, USER_SAMPLE, USER_PATTERNS)):
        path = data.draw(st.sampled_from(_paths(sample)))
        body = _replaced(sample, path, data.draw(json_values))
        _assert_only_table_errors(validate, patterns, body)


def test_other_catalogue_insights_use_their_own_definition() -> None:
    element = {"insightName": low_balance.NAME, "customerConfiguration": [
        configuration(threshold=[{"name": "BALANCE", "type": "AMOUNT", "value": "250.00"}])]}
    patches = validate_bank_update({"customerSubscription": [element]}, CATALOGUE)
    expected = SubscriptionSettings(thresholds={"BALANCE": Decimal("250.00")})
    assert patches == [SubscriptionPatch(low_balance.NAME, expected)]
    element["customerConfiguration"][0]["threshold"][0]["type"] = "PERCENT"
    assert text(bank_error({"customerSubscription": [element]})) \
        == f"Y802: For {low_balance.NAME} insight, PERCENT inside the threshold is not allowed"
    # This insight has no durations, so duration is no attribute of its configurations.
    element["customerConfiguration"][0] = configuration(duration="LAST_THREE_MONTHS")
    assert text(bank_error({"customerSubscription": [element]})) == BANK_CONFIGURATION_ROW
