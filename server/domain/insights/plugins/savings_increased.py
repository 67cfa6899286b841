"""SAVINGS_INCREASED_COMPARED_TO_YOUR_AVERAGE: the user's savings (BANK and INVESTMENT balances) are
above their average month-end total over the chosen duration by more than the CHANGE threshold.

Each account listed carries its link (the bank's template, server.domain.insights.links), and the item
the reference's suggested action, "move any excess into an account that earns higher returns", as
MOVE_EXCESS_TO_SAVINGS: the excess (the change amount, at most what the account holds) from the user's
current account holding the most, to their savings or investment account holding the most; with no
such account the destination is empty, for the bank's app to offer one (the reference's cross-sell)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from typing import Any

from server.domain.ingest.model import AccountType, Container
from server.domain.insights.definition import (
    Duration,
    EffectiveSubscription,
    EntityType,
    Frequency,
    InsightDefinition,
    InsightType,
    ThresholdDefinition,
    ThresholdType,
    TriggerType,
)
from server.domain.insights.links import account_link
from server.domain.money import STORAGE_SCALE, from_scaled

NAME = "SAVINGS_INCREASED_COMPARED_TO_YOUR_AVERAGE"
CENT = Decimal("0.01")
MOVE_EXCESS_TO_SAVINGS = "MOVE_EXCESS_TO_SAVINGS"
# Where the excess is suggested to go: accounts that earn more than a current account.
_SAVINGS_TYPES = frozenset({AccountType.SAVINGS.value, AccountType.INVESTMENT.value})

DEFINITION = InsightDefinition(
    name=NAME,
    title="Savings increased compared to historical average",
    description="Generates an insight when the overall savings of the user has increased by a defined threshold "
                "percentage compared to their historic average savings.",
    insight_type=InsightType.AGGREGATE,
    trigger_type=TriggerType.SCHEDULE,
    containers=(Container.BANK, Container.INVESTMENT),
    applicable_entity=(EntityType.ACCOUNT,),
    frequency=Frequency.MONTHLY,
    durations=(Duration.LAST_THREE_MONTHS, Duration.LAST_SIX_MONTHS, Duration.LAST_TWELVE_MONTHS),
    default_duration=Duration.LAST_THREE_MONTHS,
    thresholds=(ThresholdDefinition("CHANGE", ThresholdType.PERCENT, Decimal("0.00"), Decimal("500.00"),
                                    Decimal("10.00")),),
)


def round_money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(slots=True)
class SavingsAccount:
    """One eligible account of a user. Balances are whole ten-thousandths (server.domain.money's
    storage scale), as stored: a monthly batch reads hundreds of thousands of them, and integer sums
    are exact and cheap; the figures compared and shown are Decimal (savings_figures)."""

    account_id: str
    provider_name: str
    account_name: str
    account_type: str
    container: str
    currency: str
    # The balance at the start of the as-of day (the latest end-of-day balance before it).
    balance: int
    # End-of-day balance on each month end, oldest first; 0 before the account had any balance.
    month_end_balances: tuple[int, ...]


@dataclass(frozen=True)
class SavingsFigures:
    total: Decimal
    average: Decimal
    change_amount: Decimal
    change_percent: Decimal


def savings_figures(total: Decimal, month_end_totals: list[Decimal]) -> SavingsFigures | None:
    """total vs the average month-end total. None when there is no positive average to compare with.
    The average is money, rounded half-up to cents; the percent is rounded half-up to 2 places."""
    if not month_end_totals:
        return None
    average = round_money(sum(month_end_totals, Decimal(0)) / len(month_end_totals))
    if average <= 0:
        return None
    change = total - average
    percent = (change / average * 100).quantize(CENT, rounding=ROUND_HALF_UP)
    return SavingsFigures(total, average, change, percent)


def evaluate(accounts: list[SavingsAccount], subscription: EffectiveSubscription) -> dict[str, Any] | None:
    """The feed item's content when the user's savings rose above the threshold, else None."""
    if not accounts or subscription.duration is None:
        return None
    months = subscription.duration.months
    currency = _main_currency(accounts)
    eligible = [a for a in accounts if a.currency == currency]
    total = sum(a.balance for a in eligible)
    month_totals = [sum(a.month_end_balances[-months + i] for a in eligible) for i in range(months)]
    if not _may_have_grown(total, sum(month_totals), months):
        return None
    figures = savings_figures(from_scaled(total), [from_scaled(m) for m in month_totals])
    threshold = subscription.thresholds["CHANGE"]
    if figures is None or figures.change_amount <= 0 or figures.change_percent <= threshold:
        return None
    return {
        "accounts": [{"accountId": a.account_id, "providerName": a.provider_name, "accountName": a.account_name,
                      "accountType": a.account_type, "container": a.container,
                      "link": account_link(subscription.account_link_template, a.account_id)} for a in eligible],
        "accountDerived": {
            "totalAvailableBalance": {"amount": str(round_money(figures.total)), "currency": currency},
            "averageAvailableBalance": {"amount": str(figures.average), "currency": currency},
        },
        "changeValue": [{"changeType": "SAVINGS_AMOUNT",
                         "changeAmount": {"amount": str(round_money(figures.change_amount)), "currency": currency},
                         "changePercent": str(figures.change_percent)}],
        "suggestedActions": move_excess_actions(eligible, figures.change_amount, currency),
    }


def move_excess_actions(accounts: list[SavingsAccount], excess: Decimal, currency: str) -> list[dict[str, Any]]:
    """The suggested move of the excess: none when no current account holds money to move. Largest
    balance first, then the smallest account id, so that the choice does not depend on the order read."""
    def largest(candidates: list[SavingsAccount]) -> SavingsAccount | None:
        return min(candidates, key=lambda a: (-a.balance, a.account_id), default=None)

    source = largest([a for a in accounts if a.account_type == AccountType.CHECKING.value and a.balance > 0])
    if source is None:
        return []
    destination = largest([a for a in accounts if a.account_type in _SAVINGS_TYPES
                           or a.container == Container.INVESTMENT.value])
    amount = min(round_money(excess), from_scaled(source.balance).quantize(CENT, rounding=ROUND_DOWN))
    if amount <= 0:
        return []
    return [{"actionType": MOVE_EXCESS_TO_SAVINGS, "amount": {"amount": str(amount), "currency": currency},
             "fromAccountId": source.account_id, "toAccountId": destination.account_id if destination else ""}]


def _may_have_grown(total: int, month_totals_sum: int, months: int) -> bool:
    """False when savings_figures would find no positive average or no increase, decided in whole
    ten-thousandths: most users of a monthly batch stop here, before any Decimal arithmetic. The
    average is rounded half-up to cents (100 units) as savings_figures does."""
    if month_totals_sum <= 0:
        return False
    cent: int = 10 ** (STORAGE_SCALE - 2)
    average_cents = (2 * month_totals_sum + months * cent) // (2 * months * cent)
    return average_cents > 0 and total > average_cents * cent


def _main_currency(accounts: list[SavingsAccount]) -> str:
    """Balances in different currencies are not added up: the currency most accounts use counts
    (ties: alphabetical), which is every account for nearly every customer."""
    first = accounts[0].currency
    if all(a.currency == first for a in accounts):
        return first
    counts: dict[str, int] = {}
    for account in accounts:
        counts[account.currency] = counts.get(account.currency, 0) + 1
    return min(counts, key=lambda c: (-counts[c], c))
