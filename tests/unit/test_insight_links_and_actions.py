"""Feed items' account links (the bank's template with {accountId}) and the savings insight's suggested
move of the excess: properties of the pure rules, and the subscription bodies that set the template."""

from decimal import ROUND_DOWN, Decimal
from urllib.parse import unquote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.domain.insights.catalogue import default_catalogue
from server.domain.insights.definition import SubscriptionSettings, effective_subscription
from server.domain.insights.links import (
    DEFAULT_ACCOUNT_LINK_TEMPLATE,
    MAX_LINK_TEMPLATE_LENGTH,
    account_link,
    link_template_problem,
)
from server.domain.insights.plugins import savings_increased as savings
from server.domain.insights.plugins.savings_increased import SavingsAccount, move_excess_actions
from server.domain.insights.settings_json import merge_settings, settings_from_json, settings_to_json
from server.domain.money import from_scaled, to_scaled
from server.domain.subscriptions.validation import (
    SubscriptionValidationError,
    validate_bank_update,
    validate_user_update,
)

NAME = savings.NAME
account_ids = st.text(min_size=1, max_size=40)
url_text = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_./?=&%", max_size=60)
amounts = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("10000000"), places=2)
account_types = st.sampled_from(["CHECKING", "SAVINGS", "INVESTMENT", "OTHER"])


@given(account_ids)
def test_the_default_link_is_the_references_with_the_id_encoded(account_id: str) -> None:
    link = account_link(DEFAULT_ACCOUNT_LINK_TEMPLATE, account_id)
    assert link["entityName"] == "account"
    assert link["url"].startswith("/accounts?accountId=")
    assert unquote(link["url"].removeprefix("/accounts?accountId=")) == account_id
    assert not any(c in link["url"].removeprefix("/accounts?accountId=") for c in " /?&#{}")


@given(url_text, url_text, st.booleans())
def test_a_path_or_https_url_with_the_token_is_a_template(before: str, after: str, https: bool) -> None:
    template = ("https://app.example/" if https else "/app/") + before + "{accountId}" + after
    assert (link_template_problem(template) is None) == (len(template) <= MAX_LINK_TEMPLATE_LENGTH)
    assert account_link(template, "a b")["url"] == template.replace("{accountId}", "a%20b")


@pytest.mark.parametrize("template", ["", "/accounts", "accounts/{accountId}", "//evil.example/{accountId}",
                                      "http://bank.example/{accountId}", "/a/{accountId}/{customerId}",
                                      "/a/{accountId}}", "/a b/{accountId}", "/a/{accountId}\n", 42, None,
                                      "/" + "x" * MAX_LINK_TEMPLATE_LENGTH + "{accountId}"])
def test_other_templates_are_refused(template: object) -> None:
    assert link_template_problem(template) is not None


def savings_account(account_id: str, kind: str, balance: Decimal, container: str = "BANK") -> SavingsAccount:
    return SavingsAccount(account_id, "Bank", account_id, kind, container, "USD", to_scaled(balance), (0, 0, 0))


@given(st.lists(st.tuples(account_types, amounts, st.sampled_from(["BANK", "INVESTMENT"])), max_size=6), amounts)
def test_the_move_takes_at_most_the_excess_from_the_fullest_current_account(
        accounts: list[tuple[str, Decimal, str]], excess: Decimal) -> None:
    held = [savings_account(f"a{n}", kind, balance, container)
            for n, (kind, balance, container) in enumerate(accounts)]
    current = [a for a in held if a.account_type == "CHECKING"]
    found = move_excess_actions(held, excess, "USD")
    if not current:
        assert found == []
        return
    [action] = found
    source = next(a for a in held if a.account_id == action["fromAccountId"])
    assert source.account_type == "CHECKING" and source.balance == max(a.balance for a in current)
    amount = Decimal(action["amount"]["amount"])
    assert amount == min(excess, from_scaled(source.balance).quantize(Decimal("0.01"), rounding=ROUND_DOWN))
    # An investment account by its type or by its container (the reference's INVESTMENT container).
    destinations = [a for a in held if a.account_type in ("SAVINGS", "INVESTMENT") or a.container == "INVESTMENT"]
    if destinations:
        target = next(a for a in held if a.account_id == action["toAccountId"])
        assert target.balance == max(a.balance for a in destinations)
    else:
        assert action["toAccountId"] == ""


def test_the_reference_sample_moves_its_excess_from_the_current_account_to_savings() -> None:
    held = [savings_account("sav", "SAVINGS", Decimal("120000.00")),
            savings_account("oth", "OTHER", Decimal("70054.99")),
            savings_account("chk", "CHECKING", Decimal("60000.00")),
            savings_account("fund", "OTHER", Decimal("100.00"), container="INVESTMENT")]
    assert move_excess_actions(held, Decimal("26555.01"), "USD") == [{
        "actionType": "MOVE_EXCESS_TO_SAVINGS", "amount": {"amount": "26555.01", "currency": "USD"},
        "fromAccountId": "chk", "toAccountId": "sav"}]


def test_the_template_is_set_at_bank_level_alone_kept_and_merged() -> None:
    [patch] = validate_bank_update({"customerSubscription": [
        {"insightName": NAME, "accountLinkTemplate": "https://bank.example/a/{accountId}"}]}, default_catalogue())
    assert patch.settings.account_link_template == "https://bank.example/a/{accountId}"
    stored = settings_from_json(settings_to_json(patch.settings))
    assert stored == patch.settings
    title_only = SubscriptionSettings(insight_title="Savings up")
    assert merge_settings(stored, title_only).account_link_template == "https://bank.example/a/{accountId}"
    effective = effective_subscription(savings.DEFINITION, stored, SubscriptionSettings())
    assert effective.account_link_template == "https://bank.example/a/{accountId}"
    assert effective_subscription(savings.DEFINITION, None, None).account_link_template == \
        DEFAULT_ACCOUNT_LINK_TEMPLATE


def test_a_bad_template_or_one_from_a_user_is_refused() -> None:
    with pytest.raises(SubscriptionValidationError) as bank:
        validate_bank_update({"customerSubscription": [{"insightName": NAME, "accountLinkTemplate": "/accounts"}]},
                             default_catalogue())
    assert (bank.value.code, bank.value.message) == ("Y800", "Invalid value for accountLinkTemplate")
    with pytest.raises(SubscriptionValidationError) as user:
        validate_user_update({"userSubscription": [{"insightName": NAME, "accountLinkTemplate": "/a/{accountId}",
                                                    "userConfiguration": [{"entityType": "ACCOUNT",
                                                                           "isSubscribed": True}]}]},
                             default_catalogue())
    assert (user.value.code, user.value.message) == ("Y800", f"Invalid value for input param in {NAME} insight")
