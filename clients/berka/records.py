"""Berka rows -> engage.ingest.v1 messages: customers, accounts, holdings, transactions, daily balances."""

from __future__ import annotations

import calendar
import datetime as dt
import functools
from collections.abc import Iterable, Iterator
from decimal import Decimal

from google.protobuf import timestamp_pb2

from clients.berka.balances import DailyClosing
from clients.berka.reader import BankAccount, BerkaData, Card, Client, Loan, TransactionRow
from clients.engagectl.money import money
from engage.ingest.v1 import ingest_service_pb2 as pb
from engage.type.v1 import date_pb2

CURRENCY = "CZK"
PROVIDER_NAME = "Berka (PKDD'99)"

STATEMENT_FREQUENCIES = {"POPLATEK MESICNE": "monthly", "POPLATEK TYDNE": "weekly",
                         "POPLATEK PO OBRATU": "after_each_transaction"}
LOAN_STATUSES = {"A": "finished_paid", "B": "finished_unpaid", "C": "running_ok", "D": "running_in_debt"}

# k_symbol: what the payment is for -> (category, description).
PURPOSES = {
    "POJISTNE": ("INSURANCE", "Insurance payment"),
    "SLUZBY": ("STATEMENT_FEE", "Statement fee"),
    "UROK": ("INTEREST", "Interest credited"),
    "SANKC. UROK": ("PENALTY_INTEREST", "Penalty interest on a negative balance"),
    "SIPO": ("HOUSEHOLD", "Household payment"),
    "DUCHOD": ("PENSION", "Pension"),
    "UVER": ("LOAN_PAYMENT", "Loan instalment"),
}
# operation: how the money moved -> (category, description); the category when k_symbol is empty.
OPERATIONS = {
    "VYBER KARTOU": ("CARD_WITHDRAWAL", "Card withdrawal"),
    "VKLAD": ("CASH_DEPOSIT", "Cash deposit"),
    "PREVOD Z UCTU": ("INCOMING_TRANSFER", "Incoming transfer"),
    "VYBER": ("CASH_WITHDRAWAL", "Cash withdrawal"),
    "PREVOD NA UCET": ("OUTGOING_TRANSFER", "Outgoing transfer"),
}
# The bank's own charges and credits: the file books them as "VYBER" (or no operation), which is not what happened.
BANK_POSTINGS = frozenset({"SLUZBY", "UROK", "SANKC. UROK"})


def date_message(day: dt.date) -> date_pb2.Date:
    return date_pb2.Date(year=day.year, month=day.month, day=day.day)


def midnight_utc(day: dt.date) -> timestamp_pb2.Timestamp:
    return timestamp_pb2.Timestamp(seconds=_midnight_seconds(day))


@functools.cache  # a few hundred distinct days for tens of thousands of rows
def _midnight_seconds(day: dt.date) -> int:
    return calendar.timegm(day.timetuple())


def customer_messages(data: BerkaData) -> list[pb.Customer]:
    return [customer_message(client, data) for client in data.clients]


def customer_message(client: Client, data: BerkaData) -> pb.Customer:
    attributes = {"birth_date": client.birth_date.isoformat(), "gender": client.gender,
                  "district_id": client.district_id}
    district = data.districts.get(client.district_id)
    if district:
        attributes |= {"district_name": district.name, "region": district.region}
    return pb.Customer(customer_id=client.client_id, attributes=attributes)


def account_parties(data: BerkaData) -> dict[str, tuple[str | None, list[str]]]:
    """account id -> (owner client id, disponent client ids), from the dispositions."""
    owners: dict[str, str] = {}
    disponents: dict[str, list[str]] = {}
    for disposition in data.dispositions:
        if disposition.type == "OWNER":
            owners[disposition.account_id] = disposition.client_id
        else:
            disponents.setdefault(disposition.account_id, []).append(disposition.client_id)
    return {account.account_id: (owners.get(account.account_id), sorted(disponents.get(account.account_id, [])))
            for account in data.accounts}


def account_messages(data: BerkaData, balances: dict[str, Decimal] | None = None) -> list[pb.Account]:
    """Every account with an owner; with `balances`, only those accounts, carrying that balance."""
    parties = account_parties(data)
    messages = []
    for account in data.accounts:
        owner, disponents = parties[account.account_id]
        if owner is None:
            continue  # the service needs an owner; the data set gives every account one
        if balances is not None and account.account_id not in balances:
            continue
        balance = None if balances is None else balances[account.account_id]
        messages.append(account_message(account, owner, disponents, data, balance))
    return messages


def account_message(account: BankAccount, owner: str, disponents: list[str], data: BerkaData,
                    balance: Decimal | None = None) -> pb.Account:
    attributes = {"statement_frequency": STATEMENT_FREQUENCIES.get(account.frequency, account.frequency.lower()),
                  "district_id": account.district_id}
    district = data.districts.get(account.district_id)
    if district:
        attributes["district_name"] = district.name
    message = pb.Account(
        account_id=account.account_id, customer_id=owner, authorized_customer_ids=disponents,
        type=pb.ACCOUNT_TYPE_CHECKING, container=pb.CONTAINER_BANK, currency_code=CURRENCY,
        provider_name=PROVIDER_NAME, account_name=f"Account {account.account_id}",
        open_date=date_message(account.opened), attributes=attributes)
    if balance is not None:
        message.current_balance.CopyFrom(money(balance, CURRENCY))
        message.available_balance.CopyFrom(money(balance, CURRENCY))
    return message


def holding_messages(data: BerkaData) -> list[pb.Holding]:
    parties = account_parties(data)
    dispositions = {d.disp_id: d for d in data.dispositions}
    loans = [loan_message(loan, parties.get(loan.account_id, (None, []))[0]) for loan in data.loans]
    cards = [card_message(card, dispositions[card.disp_id].client_id, dispositions[card.disp_id].account_id)
             for card in data.cards if card.disp_id in dispositions]
    return loans + cards


def loan_message(loan: Loan, owner: str | None) -> pb.Holding:
    return pb.Holding(
        holding_id=f"loan-{loan.loan_id}", kind=pb.HOLDING_KIND_LOAN, customer_id=owner or "",
        account_id=loan.account_id, amount=money(loan.amount, CURRENCY), start_date=date_message(loan.granted),
        # duration in months, payments = the monthly instalment, as the data set names them
        attributes={"duration": str(loan.duration_months), "payments": str(loan.monthly_payment),
                    "status": LOAN_STATUSES.get(loan.status, loan.status), "status_code": loan.status})


def card_message(card: Card, client_id: str, account_id: str) -> pb.Holding:
    return pb.Holding(holding_id=f"card-{card.card_id}", kind=pb.HOLDING_KIND_CARD, customer_id=client_id,
                      account_id=account_id, start_date=date_message(card.issued), attributes={"type": card.type})


def category(row: TransactionRow) -> str:
    if row.k_symbol in PURPOSES:
        return PURPOSES[row.k_symbol][0]
    if row.operation in OPERATIONS:
        return OPERATIONS[row.operation][0]
    if row.k_symbol:
        return "OTHER"
    return "OTHER_CREDIT" if row.is_credit else "OTHER_DEBIT"


def description(row: TransactionRow) -> str:
    """Readable English, e.g. "Cash withdrawal" or
    "Household payment (outgoing transfer) to account 87144583 at bank YZ"."""
    purpose = PURPOSES[row.k_symbol][1] if row.k_symbol in PURPOSES else row.k_symbol
    how = OPERATIONS[row.operation][1] if row.operation in OPERATIONS else row.operation
    if row.k_symbol in BANK_POSTINGS or (purpose and not how):
        text = purpose
    elif purpose:
        text = f"{purpose} ({how.lower()})"
    else:
        text = how or ("Credit" if row.is_credit else "Debit")
    if row.partner_account and row.partner_account != "0":  # "0" stands for no account
        text += f" {'from' if row.is_credit else 'to'} account {row.partner_account}"
    if row.partner_bank:
        text += f" at bank {row.partner_bank}"
    return text


def transaction_message(row: TransactionRow) -> pb.Transaction:
    return pb.Transaction(
        transaction_id=row.trans_id, account_id=row.account_id, amount=money(row.amount, CURRENCY),
        direction=pb.DIRECTION_CREDIT if row.is_credit else pb.DIRECTION_DEBIT, post_time=midnight_utc(row.day),
        description=description(row), category=category(row), running_balance=money(row.balance, CURRENCY))


def transaction_messages(rows: Iterable[TransactionRow]) -> Iterator[pb.Transaction]:
    return (transaction_message(row) for row in rows)


def balance_messages(closings: Iterable[DailyClosing]) -> list[pb.DailyBalance]:
    return [pb.DailyBalance(account_id=c.account_id, date=date_message(c.day), balance=money(c.balance, CURRENCY))
            for c in closings]
