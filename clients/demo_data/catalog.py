"""The fixed vocabulary of the demo data: segments, cities, merchants, categories, descriptions.

Amounts here are in "price units" of a euro-like currency; spec.price_level scales them for
currencies with smaller units (CZK, PLN, ...)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

BANK_NAME = "Engage Demo Bank"


@dataclass(frozen=True)
class Segment:
    name: str
    weight: int
    ages: tuple[int, int]
    # Net monthly income range.
    income: tuple[int, int]
    occupations: tuple[str, ...]
    household: tuple[int, int]
    # Share of customers of the segment who own their home (mortgage) rather than rent.
    homeowners: float
    # Share whose spending outruns their income: they go into overdraft before payday.
    stretched: float
    pension: bool = False


SEGMENTS = (
    Segment("STUDENT", 12, (19, 25), (650, 1200), ("student", "barista", "tutor"), (1, 3), 0.0, 0.45),
    Segment("YOUNG_PROFESSIONAL", 22, (24, 34), (1800, 3200),
            ("software developer", "nurse", "sales associate", "designer", "accountant"), (1, 2), 0.15, 0.25),
    Segment("FAMILY", 24, (30, 50), (2600, 4800), ("teacher", "engineer", "electrician", "pharmacist", "manager"),
            (3, 5), 0.55, 0.3),
    Segment("MASS_MARKET", 22, (25, 60), (1500, 2600), ("driver", "cashier", "warehouse worker", "clerk", "cook"),
            (1, 4), 0.25, 0.35),
    Segment("AFFLUENT", 8, (35, 65), (5500, 9500), ("doctor", "lawyer", "director", "business owner"), (1, 4),
            0.8, 0.0),
    Segment("SENIOR", 12, (66, 88), (1100, 2300), ("retired",), (1, 2), 0.6, 0.1, pension=True),
)

CITIES = ("Berlin", "Vienna", "Amsterdam", "Madrid", "Lisbon", "Dublin", "Milan", "Paris", "Brussels", "Helsinki",
          "Munich", "Barcelona", "Rotterdam", "Graz", "Porto", "Lyon")
EMPLOYERS = ("Northwind GmbH", "Contoso BV", "Fabrikam SA", "Globex AG", "Initech SRL", "Umbrella Health",
             "City Council", "Blue Harbor Logistics", "Acme Retail", "Sunrise Hotels")
LANDLORDS = ("Urban Homes", "Parkside Residences", "Mr. and Mrs. Keller", "City Housing Co-op", "Lindner Immobilien")
CHANNELS = ("MOBILE", "MOBILE", "MOBILE", "WEB", "WEB", "BRANCH")


@dataclass(frozen=True)
class SpendCategory:
    name: str
    weight: int
    # Range of one purchase, before the customer's spending scale.
    low: Decimal
    high: Decimal
    merchants: tuple[str, ...]
    # Cash is taken from the checking account, never put on a credit card.
    cash: bool = False


SPENDING = (
    SpendCategory("GROCERIES", 34, Decimal("6.00"), Decimal("95.00"),
                  ("Lidl", "Aldi", "Carrefour", "REWE", "Spar", "Albert Heijn", "Billa", "Local bakery")),
    SpendCategory("RESTAURANTS", 18, Decimal("5.00"), Decimal("70.00"),
                  ("Cafe Central", "Pizzeria Roma", "Sushi Go", "Burger House", "Bistro du Coin", "Wok Street")),
    SpendCategory("TRANSPORT", 14, Decimal("2.50"), Decimal("65.00"),
                  ("City Transit", "Shell", "Aral", "Uber", "Bolt", "Rail ticket office")),
    SpendCategory("SHOPPING", 14, Decimal("9.00"), Decimal("160.00"),
                  ("Amazon", "Zalando", "IKEA", "H&M", "MediaMarkt", "Decathlon", "Douglas")),
    SpendCategory("ENTERTAINMENT", 6, Decimal("8.00"), Decimal("60.00"),
                  ("Cinema City", "Ticketmaster", "Bowling Arena", "Steam", "Museum shop")),
    SpendCategory("HEALTH", 4, Decimal("4.00"), Decimal("75.00"), ("Pharmacy", "Optician", "Dental clinic")),
    SpendCategory("CASH", 6, Decimal("20.00"), Decimal("150.00"), ("ATM withdrawal",), cash=True),
    SpendCategory("TRAVEL", 2, Decimal("40.00"), Decimal("420.00"), ("Ryanair", "Booking.com", "Airbnb", "Flixbus")),
)

SUBSCRIPTIONS = (("Netflix", Decimal("13.99")), ("Spotify", Decimal("10.99")), ("Gym membership", Decimal("29.90")),
                 ("Disney+", Decimal("8.99")), ("Cloud storage", Decimal("2.99")))

# (description, category) of occasional large money in and out of the checking account.
LARGE_DEPOSITS = (("Tax refund", "DEPOSIT"), ("Gift from family", "DEPOSIT"), ("Annual bonus", "BONUS"),
                  ("Sale of used car", "DEPOSIT"), ("Insurance payout", "DEPOSIT"))
LARGE_WITHDRAWALS = (("Car repair", "TRANSPORT"), ("Holiday booking", "TRAVEL"), ("New furniture", "SHOPPING"),
                     ("Laptop purchase", "SHOPPING"), ("Transfer to external account", "TRANSFER"))
