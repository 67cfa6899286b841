"""Which interest list applies when several match, and how discounts and commissions add up."""

from decimal import Decimal

import pytest

from server.domain.products.conditions import AmountIn, InPersona, NumberIn, ValueIn
from server.domain.products.intervals import Interval
from server.domain.products.pricing import Charge, ChargeBasis, ChargeFrequency, Discount, InterestList
from server.domain.products.quote import quote
from server.domain.products.terms import ProductTerms
from server.domain.products.versions import new_draft
from tests.unit.products.globetrotter import customer

GENERAL = InterestList("general", Decimal("7"), conditions=(AmountIn(Interval.at_least(1000)),))
GLOBETROTTERS = InterestList("globetrotters", Decimal("5"),
                             conditions=(InPersona("globetrotter"), AmountIn(Interval.at_least(1000))))


def version(*lists, discounts=()):
    terms = ProductTerms("EUR", Interval.closed(1000, 100000), Interval.closed(1, 120), interest_lists=lists,
                         discounts=discounts)
    return new_draft("loan", 1, "alice", terms)


def applied(*lists, globetrotter=True, discounts=()):
    pricing = quote(version(*lists, discounts=discounts), customer("20000", globetrotter=globetrotter)).pricing
    assert pricing is not None
    return pricing


@pytest.mark.parametrize("order", [(GENERAL, GLOBETROTTERS), (GLOBETROTTERS, GENERAL)])
def test_the_most_specific_list_applies_whatever_the_order(order):
    assert applied(*order).interest_list == "globetrotters"
    assert applied(*order, globetrotter=False).interest_list == "general"


def test_priority_settles_lists_equally_specific_and_does_not_beat_specificity():
    rival = InterestList("rival", Decimal("6"), conditions=(NumberIn("age", Interval.at_least(18)),
                                                            AmountIn(Interval.at_least(1000))), priority=5)
    assert applied(GLOBETROTTERS, rival).interest_list == "rival"
    general = InterestList("general", Decimal("7"), conditions=GENERAL.conditions, priority=9)
    assert applied(general, GLOBETROTTERS).interest_list == "globetrotters"


def test_list_order_settles_the_rest():
    twin = InterestList("twin", Decimal("6"), conditions=(ValueIn("risk_profile", frozenset({"LOW"})),
                                                          AmountIn(Interval.at_least(1000))))
    assert applied(GLOBETROTTERS, twin).interest_list == "globetrotters"
    assert applied(twin, GLOBETROTTERS).interest_list == "twin"


def test_two_conditions_on_one_dimension_count_once():
    narrow = InterestList("narrow", Decimal("6"), conditions=(AmountIn(Interval.at_least(1000)),
                                                              AmountIn(Interval.at_most(50000))))
    assert narrow.specificity == 1
    assert applied(narrow, GENERAL).interest_list == "narrow"  # equal specificity: list order


def test_the_explanation_says_why_a_matching_list_is_not_applied():
    lines = quote(version(GENERAL, GLOBETROTTERS), customer("20000")).explanation
    assert ("interest list 'general' matches too, not applied: 'globetrotters' is more specific "
            "(2 dimensions against 1)") in lines


def test_discounts_add_up_and_the_rate_stays_at_least_zero():
    fee = Charge("origination", ChargeBasis.PERCENT_OF_AMOUNT, Decimal("1"))
    admin = Charge("administration", ChargeBasis.FIXED, Decimal("5"), ChargeFrequency.MONTHLY)
    priced = InterestList("priced", Decimal("5"), (fee, admin), GLOBETROTTERS.conditions)
    segment = Discount("globetrotter offer", (InPersona("globetrotter"),), Decimal("0.5"), Decimal("50"))
    loyal = Discount("loyal", (ValueIn("risk_profile", frozenset({"LOW"})),), Decimal("1"), Decimal("25"))
    pricing = applied(priced, discounts=(segment, loyal))
    assert (pricing.list_rate, pricing.rate, pricing.discounts) == (Decimal(5), Decimal("3.5"),
                                                                    ("globetrotter offer", "loyal"))
    # 75% off every commission: 1% of 20,000 = 200 -> 50.00; 5.00 a month -> 1.25
    assert [c.amount.amount for c in pricing.commissions] == [Decimal("50.00"), Decimal("1.25")]
    assert pricing.upfront.amount == Decimal("50.00")
    assert pricing.monthly_payment.amount == pricing.monthly_instalment.amount + Decimal("1.25")
    assert pricing.total_payable.amount == pricing.monthly_payment.amount * 36 + Decimal("50.00")
    free = Discount("free", (), Decimal("9"), Decimal("90"))
    pricing = applied(priced, discounts=(free, loyal))
    assert pricing.rate == 0 and [c.amount.amount for c in pricing.commissions] == [Decimal("0.00")] * 2
    assert pricing.monthly_instalment.amount == (Decimal(20000) / 36).quantize(Decimal("0.01"),
                                                                                rounding="ROUND_CEILING")


def test_a_discount_for_another_segment_does_not_apply():
    segment = Discount("globetrotter offer", (InPersona("globetrotter"),), Decimal("0.5"))
    assert applied(GENERAL, discounts=(segment,), globetrotter=False).rate == Decimal(7)
