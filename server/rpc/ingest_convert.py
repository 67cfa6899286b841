"""engage.ingest.v1 messages <-> ingestion domain objects."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from engage.ingest.v1 import ingest_service_pb2 as pb
from server.domain.errors import FieldViolation, InvalidArgument
from server.domain.ingest.model import (
    Account,
    AccountType,
    Container,
    Customer,
    DailyBalance,
    Direction,
    Holding,
    HoldingKind,
    IncomingTransaction,
    Rejection,
    Transaction,
    TransactionStatus,
)
from server.domain.money import AmountError, check_units_nanos, units_nanos_to_scaled
from server.rpc.convert import (
    date_field,
    date_from_proto,
    date_to_proto,
    enum_from_proto,
    enum_to_proto,
    money_field,
    money_from_proto,
    money_to_proto,
    timestamp_from_proto,
    timestamp_to_proto,
)

_ACCOUNT_TYPES = dict(pb.AccountType.items())
_CONTAINERS = dict(pb.Container.items())
_DIRECTIONS = dict(pb.Direction.items())
_HOLDING_KINDS = dict(pb.HoldingKind.items())
_DIRECTION_BY_NUMBER = {_DIRECTIONS["DIRECTION_" + d.value]: d for d in Direction}
_STATUS_BY_NUMBER: dict[int, TransactionStatus] = {
    pb.TransactionStatus.Value("TRANSACTION_STATUS_" + s.value): s for s in TransactionStatus}
_STATUS_BY_NUMBER[pb.TRANSACTION_STATUS_UNSPECIFIED] = TransactionStatus.BOOKED


def _zero_if_none(amount: Decimal | None) -> Decimal:
    return Decimal(0) if amount is None else amount


def _names(numbers: Mapping[str, int]) -> dict[int, str]:
    return {number: name for name, number in numbers.items()}


def customer_from_proto(message: pb.Customer) -> Customer:
    return Customer(customer_id=message.customer_id, attributes=dict(message.attributes))


def customer_to_proto(customer: Customer) -> pb.Customer:
    return pb.Customer(name=f"customers/{customer.customer_id}", customer_id=customer.customer_id,
                       attributes=customer.attributes, create_time=timestamp_to_proto(customer.created_at),
                       update_time=timestamp_to_proto(customer.updated_at))


def account_from_proto(message: pb.Account, path: str = "account") -> Account:
    current, current_currency = money_field(message, "current_balance", f"{path}.current_balance")
    available, available_currency = money_field(message, "available_balance", f"{path}.available_balance")
    currency = message.currency_code
    for field_name, given in (("current_balance", current_currency), ("available_balance", available_currency)):
        if given is not None and given != currency:
            raise InvalidArgument("CURRENCY_MISMATCH", f"{path}.{field_name} is in {given}, the account in {currency}",
                                  violations=[FieldViolation(f"{path}.{field_name}.currency_code",
                                                             f"must be the account's currency {currency}")])
    return Account(
        account_id=message.account_id, customer_id=message.customer_id,
        type=enum_from_proto(AccountType, "ACCOUNT_TYPE_", message.type, _names(_ACCOUNT_TYPES), f"{path}.type"),
        container=enum_from_proto(Container, "CONTAINER_", message.container, _names(_CONTAINERS),
                                  f"{path}.container"),
        currency=currency, provider_name=message.provider_name, account_name=message.account_name,
        current_balance=current, available_balance=available,
        open_date=date_field(message, "open_date", f"{path}.open_date"),
        authorized_customer_ids=list(message.authorized_customer_ids), attributes=dict(message.attributes))


def account_to_proto(account: Account) -> pb.Account:
    return pb.Account(
        name=f"accounts/{account.account_id}", account_id=account.account_id, customer_id=account.customer_id,
        authorized_customer_ids=account.authorized_customer_ids,
        type=enum_to_proto(account.type, "ACCOUNT_TYPE_", _ACCOUNT_TYPES),  # type: ignore[arg-type]
        container=enum_to_proto(account.container, "CONTAINER_", _CONTAINERS),  # type: ignore[arg-type]
        currency_code=account.currency, provider_name=account.provider_name, account_name=account.account_name,
        current_balance=money_to_proto(_zero_if_none(account.current_balance), account.currency),
        available_balance=money_to_proto(_zero_if_none(account.available_balance), account.currency),
        open_date=date_to_proto(account.open_date), attributes=account.attributes,
        create_time=timestamp_to_proto(account.created_at), update_time=timestamp_to_proto(account.updated_at))


def holding_from_proto(message: pb.Holding, path: str) -> Holding:
    amount, currency = money_field(message, "amount", f"{path}.amount")
    return Holding(
        holding_id=message.holding_id,
        kind=enum_from_proto(HoldingKind, "HOLDING_KIND_", message.kind, _names(_HOLDING_KINDS), f"{path}.kind"),
        customer_id=message.customer_id or None, account_id=message.account_id or None, amount=amount,
        currency=currency, start_date=date_field(message, "start_date", f"{path}.start_date"),
        attributes=dict(message.attributes))


def holding_to_proto(holding: Holding) -> pb.Holding:
    return pb.Holding(
        name=f"holdings/{holding.holding_id}", holding_id=holding.holding_id,
        kind=enum_to_proto(holding.kind, "HOLDING_KIND_", _HOLDING_KINDS),  # type: ignore[arg-type]
        customer_id=holding.customer_id or "", account_id=holding.account_id or "",
        amount=None if holding.amount is None else money_to_proto(holding.amount, holding.currency or ""),
        start_date=date_to_proto(holding.start_date), attributes=holding.attributes)


def _scaled(units: int, nanos: int) -> tuple[int | None, str]:
    """(whole ten-thousandths, "") or (None, why the amount cannot be stored exactly)."""
    try:
        return units_nanos_to_scaled(units, nanos), ""
    except AmountError as exc:
        return None, str(exc)


def transaction_from_proto(message: pb.Transaction, index: int) -> IncomingTransaction | Rejection:
    """A row that cannot even be read becomes a Rejection: one bad row must not fail its batch. The
    ingestion hot path: one call per transaction, so plain attribute reads and integer arithmetic."""
    txn_id = message.transaction_id
    if not message.HasField("amount"):
        return Rejection(index, txn_id, "MISSING_AMOUNT", "amount is required")
    amount = message.amount
    has_running = message.HasField("running_balance")
    running = message.running_balance if has_running else None
    try:
        check_units_nanos(amount.units, amount.nanos)
        if running is not None:
            check_units_nanos(running.units, running.nanos)
    except AmountError as exc:
        return Rejection(index, txn_id, "INVALID_AMOUNT", str(exc))
    scaled, amount_error = _scaled(amount.units, amount.nanos)
    running_scaled, running_error = _scaled(running.units, running.nanos) if running is not None else (None, "")
    try:
        posted = timestamp_from_proto(message.post_time, "post_time") if message.HasField("post_time") else None
    except InvalidArgument as exc:
        return Rejection(index, txn_id, "INVALID_POST_TIME", exc.message)
    status = _STATUS_BY_NUMBER.get(message.status)
    if status is None:
        return Rejection(index, txn_id, "INVALID_STATUS", "status must be BOOKED, PENDING or DECLINED")
    return IncomingTransaction(txn_id, message.account_id, scaled, amount.currency_code,
                               _DIRECTION_BY_NUMBER.get(message.direction), posted, message.description,
                               message.category, running_scaled, amount_error, running_error, status)


def transaction_to_proto(txn: Transaction) -> pb.Transaction:
    return pb.Transaction(
        name=f"accounts/{txn.account_id}/transactions/{txn.transaction_id}", transaction_id=txn.transaction_id,
        account_id=txn.account_id, amount=money_to_proto(txn.amount, txn.currency),
        direction=_DIRECTIONS["DIRECTION_" + txn.direction.value], post_time=timestamp_to_proto(txn.posted_at),
        description=txn.description, category=txn.category,
        running_balance=None if txn.running_balance is None else money_to_proto(txn.running_balance, txn.currency),
        ingest_time=timestamp_to_proto(txn.ingested_at),
        status=pb.TransactionStatus.Value("TRANSACTION_STATUS_" + txn.status.value))


def status_from_proto(number: int, path: str) -> TransactionStatus:
    """A request's status filter: unset reads as BOOKED; an unknown number is INVALID_ARGUMENT."""
    status = _STATUS_BY_NUMBER.get(number)
    if status is None:
        raise InvalidArgument("INVALID_ENUM", f"{path} must be BOOKED, PENDING or DECLINED",
                              violations=[FieldViolation(path, "must be BOOKED, PENDING or DECLINED")])
    return status


def balance_from_proto(message: pb.DailyBalance, index: int) -> DailyBalance | Rejection:
    if not message.HasField("balance"):
        return Rejection(index, message.account_id, "MISSING_AMOUNT", "balance is required")
    try:
        amount, currency = money_from_proto(message.balance)
    except AmountError as exc:
        return Rejection(index, message.account_id, "INVALID_AMOUNT", str(exc))
    try:
        day = date_from_proto(message.date) if message.HasField("date") else None
    except ValueError:
        day = None
    return DailyBalance(account_id=message.account_id, date=day, balance=amount, currency=currency)  # type: ignore[arg-type]


def balance_to_proto(balance: DailyBalance) -> pb.DailyBalance:
    return pb.DailyBalance(account_id=balance.account_id, date=date_to_proto(balance.date),
                           balance=money_to_proto(balance.balance, balance.currency))


def rejection_to_transaction_proto(rejection: Rejection) -> pb.RejectedTransaction:
    return pb.RejectedTransaction(index=rejection.index, transaction_id=rejection.item_id, reason=rejection.reason,
                                  message=rejection.message)


def rejection_to_balance_proto(rejection: Rejection) -> pb.RejectedBalance:
    return pb.RejectedBalance(index=rejection.index, account_id=rejection.item_id, reason=rejection.reason,
                              message=rejection.message)
