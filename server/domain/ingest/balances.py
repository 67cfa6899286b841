"""Account balances moved by ingested transactions stay within what the store holds: ±MAX_ABS_AMOUNT
in whole ten-thousandths (server.domain.money), as every stored amount. A transaction that would take
a balance past it is rejected alone; the rest of its batch moves the balances."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from server.domain.ingest.model import IncomingTransaction, Rejection
from server.domain.money import MAX_ABS_AMOUNT, fits_storage

BALANCE_OUT_OF_RANGE = "BALANCE_OUT_OF_RANGE"


def balance_fits(balance: int, delta: int) -> bool:
    """Whether the balance moved by delta (both whole ten-thousandths) can be stored."""
    return fits_storage(balance + delta)


@dataclass
class BalanceMoves:
    deltas: dict[str, int] = field(default_factory=dict)  # account id -> the accepted rows' sum
    rejected: list[Rejection] = field(default_factory=list)
    # transaction id -> its account's current balance right after it (whole ten-thousandths)
    current_after: dict[str, int] = field(default_factory=dict)


def move_balances(balances: Mapping[str, tuple[int, int]],
                  transactions: Iterable[tuple[int, IncomingTransaction]]) -> BalanceMoves:
    """Applies each (index, transaction), in the order given, to its account's (current, available)
    balance. One that would take either balance out of range moves nothing and is rejected
    (BALANCE_OUT_OF_RANGE); the ones after it go on from the balance without it. Every account of
    `transactions` must be in `balances`."""
    moves = BalanceMoves()
    current = dict(balances)
    for index, txn in transactions:
        delta = txn.signed_amount
        now_current, now_available = current[txn.account_id]
        if balance_fits(now_current, delta) and balance_fits(now_available, delta):
            current[txn.account_id] = (now_current + delta, now_available + delta)
            moves.current_after[txn.transaction_id] = now_current + delta
            moves.deltas[txn.account_id] = moves.deltas.get(txn.account_id, 0) + delta
        else:
            moves.rejected.append(Rejection(
                index, txn.transaction_id, BALANCE_OUT_OF_RANGE,
                f"the balance of account '{txn.account_id}' would pass ±{MAX_ABS_AMOUNT:,}, the largest "
                "amount stored"))
    return moves
