"""The reference's figures (globetrotter.py): which list, rate, commissions and insurance a quote gives,
for customers on both sides of every boundary of the grid and of the availability rules."""

from decimal import Decimal

import pytest

from server.domain.errors import FailedPrecondition, InvalidArgument
from server.domain.events import Money
from server.domain.products.quote import AMOUNT_LIMITS, TERM_LIMITS, quote
from tests.unit.products.globetrotter import GLOBETROTTER_HIGH_INCOME, GLOBETROTTER_LOW_INCOME, customer, loan

HIGH, LOW = GLOBETROTTER_HIGH_INCOME.name, GLOBETROTTER_LOW_INCOME.name


def test_globetrotter_income_above_5000_amount_above_10000_pays_5_3_percent_and_no_commission():
    pricing = quote(loan(), customer("15000", "6000")).pricing
    assert pricing is not None
    assert (pricing.interest_list, pricing.rate, pricing.commissions) == (HIGH, Decimal("5.3"), ())
    assert pricing.upfront == Money(Decimal("0.00"), "EUR")
    # 15,000 over 36 months at 5.3%: 451.5876... rounded up.
    assert pricing.monthly_instalment == Money(Decimal("451.59"), "EUR")


def test_globetrotter_income_below_5000_amount_5000_to_10000_pays_4_5_percent():
    pricing = quote(loan(), customer("7000", "4000")).pricing
    assert pricing is not None
    assert (pricing.interest_list, pricing.rate) == (LOW, Decimal("4.5"))
    assert [(c.name, c.amount) for c in pricing.commissions] == [("origination", Money(Decimal("70.00"), "EUR"))]


@pytest.mark.parametrize(("amount", "income", "expected"), [
    # the amount's boundary at 10,000 for incomes above 5,000: strictly above
    ("10000.01", "6000", HIGH), ("10000", "6000", None), ("9999.99", "6000", None),
    # the income's boundary at 5,000: strictly above / strictly below, neither at 5,000 itself
    ("15000", "5000.01", HIGH), ("15000", "5000", None), ("7000", "5000", None), ("7000", "4999.99", LOW),
    # the 4.5% list's amounts 5,000 - 10,000, read as closed
    ("5000", "4000", LOW), ("10000", "4000", LOW), ("10000.01", "4000", None), ("4999.99", "4000", "not eligible"),
])
def test_both_sides_of_every_pricing_boundary(amount, income, expected):
    if expected == "not eligible":  # below the amount limits: refused before pricing
        assert quote(loan(), customer(amount, income)).eligibility.failing.rule.name == AMOUNT_LIMITS
        return
    if expected is None:
        with pytest.raises(FailedPrecondition) as caught:
            quote(loan(), customer(amount, income))
        assert caught.value.code == "PRODUCT_NOT_PRICED"
        return
    pricing = quote(loan(), customer(amount, income)).pricing
    assert pricing is not None and pricing.interest_list == expected


@pytest.mark.parametrize(("amount", "income", "insured"), [
    ("10000.01", "6000", True), ("50000", "6000", True), ("10000", "4000", False), ("9000", "4000", False),
])
def test_life_insurance_for_globetrotters_above_10000(amount, income, insured):
    pricing = quote(loan(), customer(amount, income)).pricing
    assert pricing is not None
    assert [i.name for i in pricing.insurances] == (["life insurance"] if insured else [])
    if insured:  # 0.05% of the amount a month (our premium), rounded half-up
        premium = (Decimal(amount) * Decimal("0.0005")).quantize(Decimal("0.01"))
        assert pricing.insurances[0].amount == Money(premium, "EUR")
        assert pricing.monthly_payment.amount == pricing.monthly_instalment.amount + premium


@pytest.mark.parametrize(("changes", "failing"), [
    ({"globetrotter": False}, "Globetrotters"),
    ({"age": 29}, "low risk, aged 30-45"), ({"age": 46}, "low risk, aged 30-45"),
    ({"risk": "MEDIUM"}, "low risk, aged 30-45"),
    ({"term": 5}, TERM_LIMITS), ({"term": 85}, TERM_LIMITS),
])
def test_an_ineligible_customer_gets_the_failing_rule_and_no_price(changes, failing):
    result = quote(loan(), customer("15000", **changes))
    assert not result.eligibility.eligible and result.pricing is None
    assert result.eligibility.failing is not None and result.eligibility.failing.rule.name == failing
    assert result.explanation[-1] == f"not eligible: the rule '{failing}' fails"


@pytest.mark.parametrize(("age", "term", "amount"), [(30, 6, "50000"), (45, 84, "10000.01")])
def test_the_edges_of_availability_are_eligible(age, term, amount):
    assert quote(loan(), customer(amount, age=age, term=term)).eligibility.eligible


def test_the_failing_rule_names_the_condition_and_the_value_seen():
    failing = quote(loan(), customer("15000", age=50)).eligibility.failing
    assert failing is not None
    assert [str(c) for c in failing.failed] == ["age in [30, 45]: no (age = 50)"]


def test_a_missing_attribute_fails_its_conditions():
    with pytest.raises(FailedPrecondition) as caught:
        quote(loan(), customer("15000", income=None))
    assert "monthly_income missing" in caught.value.message


def test_the_explanation_covers_every_choice():
    lines = quote(loan(), customer("15000", "6000")).explanation
    assert any(line.startswith(f"interest list {HIGH}: holds") and line.endswith("applied") for line in lines)
    assert any(line.startswith(f"interest list {LOW}: fails on monthly_income < 5000") for line in lines)
    assert f"no commission: the list '{HIGH}' has none" in lines
    assert any(line.startswith("insurance life insurance: holds") for line in lines)
    assert lines[-1].startswith("rate 5.3% a year") and "451.59 EUR over 36 months" in lines[-1]


@pytest.mark.parametrize(("amount", "term", "currency"), [("0", 36, "EUR"), ("-1", 36, "EUR"), ("15000", 0, "EUR"),
                                                          ("15000", 36, "USD")])
def test_a_malformed_request_is_quote_invalid(amount, term, currency):
    context = customer("1", term=term)
    context = type(context)(Money(Decimal(amount), currency), term, context.persona_ids, context.attributes)
    with pytest.raises(InvalidArgument) as caught:
        quote(loan(), context)
    assert caught.value.code == "QUOTE_INVALID"
