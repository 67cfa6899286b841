"""The reference's personal loan (../shared/seeds/001_0691d5b3ec98158c.txt, "Define differentiated,
personalized products"), written in the product model:

- available to Globetrotters with a low risk profile, aged 30 to 45;
- Globetrotter, income > 5,000 EUR, amount > 10,000: 5.3%, zero commissions;
- Globetrotter, income < 5,000, amount 5,000 - 10,000: 4.5%;
- life insurance for Globetrotters borrowing more than 10,000.

What the reference does not say is ours, and marked so: the amount limits (5,000 to 50,000; "5,000 -
10,000" is read as closed), the term limits, the 4.5% list's commission and the insurance premium."""

from decimal import Decimal

from server.domain.events import Money
from server.domain.products.conditions import AmountIn, InPersona, NumberIn, QuoteContext, Rule, ValueIn
from server.domain.products.intervals import Interval
from server.domain.products.pricing import Charge, ChargeBasis, ChargeFrequency, InsuranceItem, InterestList
from server.domain.products.terms import ProductTerms
from server.domain.products.versions import ProductVersion, new_draft

GLOBETROTTER = "globetrotter"
INCOME = "monthly_income"

GLOBETROTTER_HIGH_INCOME = InterestList(
    "Globetrotter, income above 5,000", Decimal("5.3"),
    conditions=(InPersona(GLOBETROTTER), NumberIn(INCOME, Interval.above(5000)), AmountIn(Interval.above(10000))))
GLOBETROTTER_LOW_INCOME = InterestList(
    "Globetrotter, income below 5,000", Decimal("4.5"),
    commissions=(Charge("origination", ChargeBasis.PERCENT_OF_AMOUNT, Decimal("1")),),  # ours
    conditions=(InPersona(GLOBETROTTER), NumberIn(INCOME, Interval.below(5000)),
                AmountIn(Interval.closed(5000, 10000))))
LIFE_INSURANCE = InsuranceItem(
    "life insurance", Charge("life insurance", ChargeBasis.PERCENT_OF_AMOUNT, Decimal("0.05"),  # ours
                             ChargeFrequency.MONTHLY),
    conditions=(InPersona(GLOBETROTTER), AmountIn(Interval.above(10000))))

TERMS = ProductTerms(
    currency="EUR",
    amount_limits=Interval.closed(5000, 50000),
    term_limits=Interval.closed(6, 84),
    availability=(Rule("Globetrotters", (InPersona(GLOBETROTTER),)),
                  Rule("low risk, aged 30-45", (ValueIn("risk_profile", frozenset({"LOW"})),
                                                NumberIn("age", Interval.closed(30, 45))))),
    interest_lists=(GLOBETROTTER_HIGH_INCOME, GLOBETROTTER_LOW_INCOME),
    insurances=(LIFE_INSURANCE,),
)


def loan(terms: ProductTerms = TERMS) -> ProductVersion:
    return new_draft("personal-loan", 1, "alice", terms)


def customer(amount: str, income: str | None = "6000", *, globetrotter: bool = True, term: int = 36,
             age: int = 35, risk: str = "LOW") -> QuoteContext:
    attributes: dict[str, Decimal | int | str] = {"age": age, "risk_profile": risk}
    if income is not None:
        attributes[INCOME] = Decimal(income)
    return QuoteContext(Money(Decimal(amount), "EUR"), term,
                        frozenset({GLOBETROTTER} if globetrotter else set()), attributes)
