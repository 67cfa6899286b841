"""Generated customers, accounts, postings and balances as engage.ingest.v1 messages."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable

from google.protobuf import timestamp_pb2

from clients.demo_data import catalog
from clients.demo_data.amounts import ZERO
from clients.demo_data.profiles import AccountPlan, CustomerProfile
from clients.demo_data.simulation import EndOfDay, Posting
from clients.engagectl.money import money
from engage.ingest.v1 import ingest_service_pb2 as pb
from engage.type.v1 import date_pb2

_ACCOUNT_KINDS = {
    "checking": (pb.ACCOUNT_TYPE_CHECKING, pb.CONTAINER_BANK),
    "savings": (pb.ACCOUNT_TYPE_SAVINGS, pb.CONTAINER_BANK),
    "credit_card": (pb.ACCOUNT_TYPE_CREDIT, pb.CONTAINER_CREDIT_CARD),
}


def date_message(day: dt.date) -> date_pb2.Date:
    return date_pb2.Date(year=day.year, month=day.month, day=day.day)


def timestamp_message(at: dt.datetime) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(at)
    return stamp


def customer_message(profile: CustomerProfile) -> pb.Customer:
    return pb.Customer(customer_id=profile.customer_id, attributes=profile.attributes)


def account_message(profile: CustomerProfile, plan: AccountPlan, currency: str) -> pb.Account:
    """No balances: the service derives them from the transactions, so re-seeding cannot reset them."""
    account_type, container = _ACCOUNT_KINDS[plan.kind]
    return pb.Account(account_id=plan.account_id, customer_id=profile.customer_id, type=account_type,
                      container=container, currency_code=currency, provider_name=catalog.BANK_NAME,
                      account_name=plan.name, open_date=date_message(plan.open_date), attributes=plan.attributes)


def transaction_messages(postings: Iterable[Posting], currency: str) -> list[pb.Transaction]:
    """Ids are `{account}-{yyyymmdd}-{nn}`, numbered in time order within the account's day, so the
    same postings always get the same ids; running balances follow the same order."""
    by_account: dict[str, list[Posting]] = defaultdict(list)
    for posting in postings:
        by_account[posting.account_id].append(posting)
    messages = []
    for account_id in sorted(by_account):
        running = ZERO
        numbers: dict[dt.date, int] = defaultdict(int)
        for posting in sorted(by_account[account_id], key=lambda p: (p.at, p.order)):
            running += posting.amount
            day = posting.at.date()
            numbers[day] += 1
            direction = pb.DIRECTION_CREDIT if posting.amount >= 0 else pb.DIRECTION_DEBIT
            messages.append(pb.Transaction(
                transaction_id=f"{account_id}-{day:%Y%m%d}-{numbers[day]:02d}", account_id=account_id,
                amount=money(abs(posting.amount), currency), direction=direction,
                post_time=timestamp_message(posting.at), description=posting.description, category=posting.category,
                running_balance=money(running, currency)))
    return messages


def balance_messages(end_of_days: Iterable[EndOfDay], currency: str) -> list[pb.DailyBalance]:
    return [pb.DailyBalance(account_id=e.account_id, date=date_message(e.day), balance=money(e.balance, currency))
            for e in end_of_days]
