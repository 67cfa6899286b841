"""Backtest before approval, through the real gRPC stubs on both databases: a hand-made history whose
firings are known (a crossing fires once, the cool-down holds back a second crossing, a customer with
overdraft protection is left out), the expected messages and cost per channel, the result kept on the
rule for its approver and dropped by an edit, bad periods and unit costs refused; and the real Berka
data, whose customer count is checked against an average computed here straight from trans.asc."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

import grpc
import pytest
from google.protobuf import duration_pb2, field_mask_pb2

from clients.berka.balances import derive_daily_balances
from clients.berka.reader import read_berka
from clients.berka.records import (
    account_message,
    balance_messages,
    customer_message,
    date_message,
    transaction_message,
)
from clients.engagectl.money import money
from engage.ingest.v1 import ingest_service_pb2 as ipb
from engage.triggers.v1 import trigger_rules_service_pb2 as pb
from server.domain.auth import Role
from tests.e2e.test_berka_import import BERKA, table
from tests.e2e.test_insights_berka import day_closing
from tests.support.builders import account, amount_of, customer, failure, transaction
from tests.support.yes_bank import set_up_yes_bank

WEEK = duration_pb2.Duration(seconds=7 * 86_400)
JANUARY = dt.date(2024, 1, 1)


def day(n: int) -> dt.date:
    return JANUARY + dt.timedelta(days=n - 1)


def backtest_request(name: str, start: dt.date, end: dt.date, **costs: str) -> pb.BacktestTriggerRuleRequest:
    return pb.BacktestTriggerRuleRequest(
        name=name, start_date=date_message(start), end_date=date_message(end),
        unit_costs=[pb.ChannelUnitCost(channel=channel, unit_cost=money(Decimal(cost), "EUR"))
                    for channel, cost in costs.items()])


async def _ingest(stubs, transactions: list[ipb.Transaction]) -> None:  # type: ignore[no-untyped-def]
    async def requests():  # type: ignore[no-untyped-def]
        yield ipb.IngestTransactionsRequest(transactions=transactions, backfill=True)

    response = await stubs.ingest.IngestTransactions(requests())
    assert response.accepted_count == len(transactions)


async def test_a_backtest_counts_crossings_once_within_the_cooldown(server, tenant, service_stubs, smtp_sink,
                                                                    provider_sink):
    for who in ("carol", "dan", "erin", "fred"):
        await service_stubs.ingest.UpsertCustomer(ipb.UpsertCustomerRequest(customer=customer(who)))
        await service_stubs.ingest.UpsertAccount(ipb.UpsertAccountRequest(account=account(f"{who}-chk", who)))
    await service_stubs.ingest.BatchUpsertHoldings(ipb.BatchUpsertHoldingsRequest(holdings=[ipb.Holding(
        holding_id="fred-odp", customer_id="fred", account_id="fred-chk", kind=ipb.HOLDING_KIND_OVERDRAFT_PROTECTION)]))
    await _ingest(service_stubs, [
        # carol: overdrawn on the 3rd (fires), deeper on the 4th (still true: nothing), back on the 5th,
        # overdrawn again on the 6th (inside the week's cool-down: nothing), back on the 8th, overdrawn
        # on the 12th (fires).
        transaction("c01", "carol-chk", "100.00", "CREDIT", day(1)),
        transaction("c03", "carol-chk", "150.00", "DEBIT", day(3)),
        transaction("c04", "carol-chk", "10.00", "DEBIT", day(4)),
        transaction("c05", "carol-chk", "100.00", "CREDIT", day(5)),
        transaction("c06", "carol-chk", "100.00", "DEBIT", day(6)),
        transaction("c08", "carol-chk", "100.00", "CREDIT", day(8)),
        transaction("c12", "carol-chk", "100.00", "DEBIT", day(12)),
        # dan: never overdrawn.
        transaction("d05", "dan-chk", "500.00", "CREDIT", day(5)),
        transaction("d07", "dan-chk", "400.00", "DEBIT", day(7)),
        # erin: overdrawn since before the period (the bank's running balances given); the first
        # evaluation inside the period finds it true and fires (the rule taken as active from the start).
        transaction("e00", "erin-chk", "20.00", "DEBIT", day(1) - dt.timedelta(days=2),
                    running_balance=money(Decimal("-20.00"), "EUR")),
        transaction("e10", "erin-chk", "5.00", "DEBIT", day(10), running_balance=money(Decimal("-25.00"), "EUR")),
        # fred: overdrawn, but he holds overdraft protection.
        transaction("f03", "fred-chk", "50.00", "DEBIT", day(3)),
    ])
    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "lisa")) as lisa, \
            server.stubs(server.token(tenant, Role.BANK_ADMIN, "mark")) as mark:
        bank = await set_up_yes_bank(lisa, smtp_host=smtp_sink.host, smtp_port=smtp_sink.port,
                                     provider_base_url=provider_sink.base_url)
        rule = await lisa.trigger_rules.CreateTriggerRule(pb.CreateTriggerRuleRequest(
            trigger_rule_id="overdrawn", trigger_rule=pb.TriggerRule(
                display_name="Overdrawn", audience=pb.TriggerAudience(all_customers=True),
                condition="balance < 0 AND NOT holds('OVERDRAFT_PROTECTION')", cooldown=WEEK, actions=[
                    pb.TriggerAction(banner=pb.BannerAction(
                        title="Overdrawn?", body="Cover from 2 EUR a month", call_to_action_label="See",
                        call_to_action_url="https://bank.example/cover", lifetime=WEEK)),
                    pb.TriggerAction(message=pb.MessageAction(event=bank.event))])))
        await lisa.trigger_rules.SubmitTriggerRule(pb.SubmitTriggerRuleRequest(name=rule.name))

        result = await mark.trigger_rules.BacktestTriggerRule(
            backtest_request(rule.name, day(2), day(31), SMS="0.05", EMAIL="0.001"))
        assert (result.rule_version, result.firing_count, result.account_count, result.customer_count) == (1, 3, 2, 2)
        assert (result.start_date, result.end_date) == (date_message(day(2)), date_message(day(31)))
        assert len(result.days) == 30
        assert {(d.date.day, d.firings) for d in result.days if d.firings} == {(3, 1), (10, 1), (12, 1)}
        fired = [(f.customer, f.account_id, f.transaction_id, Decimal(f.values["balance"]))
                 for f in result.sample_firings]
        assert fired == [("customers/carol", "carol-chk", "c03", Decimal("-50")),
                         ("customers/carol", "carol-chk", "c12", Decimal("-60")),
                         ("customers/erin", "erin-chk", "e10", Decimal("-25"))]
        assert all(f.name == "" and f.rule_version == 1 for f in result.sample_firings)

        # Three firings: three banners, and three messages on each channel the event has a message for
        # (Yes Bank's: email, SMS and push), priced where a unit cost was given.
        assert [(e.channel, e.messages, amount_of(e.cost) if e.HasField("cost") else None)
                for e in result.channel_estimates] == \
            [("EMAIL", 3, "0.00"), ("SMS", 3, "0.15"), ("PUSH", 3, None), ("BANNER", 3, None)]
        email = next(e for e in result.channel_estimates if e.channel == "EMAIL")
        assert (email.cost.currency_code, email.cost.units, email.cost.nanos) == ("EUR", 0, 3_000_000)

        # Kept on the rule: the approver sees it with the request.
        pending = await mark.trigger_rules.GetTriggerRule(pb.GetTriggerRuleRequest(name=rule.name))
        assert pending.latest_backtest == result
        # An edit makes version 2, which has no backtest of its own yet.
        edited = await lisa.trigger_rules.UpdateTriggerRule(pb.UpdateTriggerRuleRequest(
            trigger_rule=pb.TriggerRule(name=rule.name, condition="balance < -55"),
            update_mask=field_mask_pb2.FieldMask(paths=["condition"])))
        assert edited.version == 2 and not edited.HasField("latest_backtest")
        again = await mark.trigger_rules.BacktestTriggerRule(backtest_request(rule.name, day(2), day(31)))
        assert (again.rule_version, again.firing_count, [f.transaction_id for f in again.sample_firings]) == \
            (2, 2, ["c04", "c12"])  # -60 on the 4th, then again on the 12th, 8 days later
        assert {e.channel: e.HasField("cost") for e in again.channel_estimates}["BANNER"] is False
        # Only the audience's customers are replayed: carol's firings, not erin's (fred: protected).
        await lisa.trigger_rules.UpdateTriggerRule(pb.UpdateTriggerRuleRequest(
            trigger_rule=pb.TriggerRule(name=rule.name, condition="balance < 0 AND NOT holds('OVERDRAFT_PROTECTION')",
                                        audience=pb.TriggerAudience(customers=pb.TriggerAudience.CustomerList(
                                            customers=["customers/carol", "customers/fred"]))),
            update_mask=field_mask_pb2.FieldMask(paths=["condition", "audience"])))
        chosen = await mark.trigger_rules.BacktestTriggerRule(backtest_request(rule.name, day(2), day(31)))
        assert (chosen.rule_version, chosen.customer_count, [f.transaction_id for f in chosen.sample_firings]) == \
            (3, 1, ["c03", "c12"])
        # Ending before carol's later postings: her opening balance is her current one less all of them.
        short = await mark.trigger_rules.BacktestTriggerRule(backtest_request(rule.name, day(2), day(5)))
        assert [(f.transaction_id, f.values["balance"]) for f in short.sample_firings] == [("c03", "-50.0000")]

        refused = {
            "end before start": backtest_request(rule.name, day(5), day(4)),
            "367 days": backtest_request(rule.name, day(1), day(1) + dt.timedelta(days=366)),
            "no end": pb.BacktestTriggerRuleRequest(name=rule.name, start_date=date_message(day(1))),
            "unknown channel": backtest_request(rule.name, day(1), day(2), FAX="1"),
            "negative cost": backtest_request(rule.name, day(1), day(2), SMS="-1"),
            "the calendar's last day": backtest_request(rule.name, dt.date(9999, 12, 31), dt.date(9999, 12, 31)),
        }
        fields = {why: (await failure(mark.trigger_rules.BacktestTriggerRule(request)))
                  for why, request in refused.items()}
        assert fields == {
            "end before start": (grpc.StatusCode.INVALID_ARGUMENT, "TRIGGER_BACKTEST_INVALID", ["end_date"]),
            "367 days": (grpc.StatusCode.INVALID_ARGUMENT, "TRIGGER_BACKTEST_INVALID", ["end_date"]),
            "no end": (grpc.StatusCode.INVALID_ARGUMENT, "TRIGGER_BACKTEST_INVALID", ["end_date"]),
            "unknown channel": (grpc.StatusCode.INVALID_ARGUMENT, "TRIGGER_BACKTEST_INVALID",
                                ["unit_costs[0].channel"]),
            "negative cost": (grpc.StatusCode.INVALID_ARGUMENT, "TRIGGER_BACKTEST_INVALID",
                              ["unit_costs[0].unit_cost"]),
            "the calendar's last day": (grpc.StatusCode.INVALID_ARGUMENT, "TRIGGER_BACKTEST_INVALID", ["end_date"]),
        }
        # 366 days is allowed.
        await mark.trigger_rules.BacktestTriggerRule(backtest_request(rule.name, day(1), day(366)))
    assert (await failure(service_stubs.trigger_rules.BacktestTriggerRule(
        backtest_request(rule.name, day(2), day(31)))))[0] == grpc.StatusCode.PERMISSION_DENIED
    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "lisa")) as lisa:
        assert (await failure(lisa.trigger_rules.BacktestTriggerRule(
            backtest_request("triggerRules/nope", day(2), day(31)))))[:2] == \
            (grpc.StatusCode.NOT_FOUND, "TRIGGER_RULE_NOT_FOUND")


# -- the real Berka data -------------------------------------------------------------------------------

# Every 10th account with history (by id), the first 5 opened in March 1994 (part of the month counted)
# and 3 opened after the file's end (no balance in March: never counted): 129 accounts, all of
# whose transactions are imported, with the bank's end-of-day balances fed as `engagectl import berka` does.
EVERY = 10
MARCH = [dt.date(1994, 3, d) for d in range(1, 32)]
FOUR_PLACES = Decimal("0.0001")


def march_average(rows: list[list[str]]) -> Decimal | None:
    """Plain test code, from the raw rows of one account: each day's end-of-day balance is the balance
    of the day's last row in the bank's chain; a day without rows keeps the previous one; days before
    the account's first row do not count; the mean is rounded half-up to 4 places. None when no day of
    March counts."""
    by_day: dict[dt.date, list[list[str]]] = defaultdict(list)
    for row in rows:
        by_day[dt.date(1900 + int(row[2][:2]), int(row[2][2:4]), int(row[2][4:6]))].append(row)
    closings: dict[dt.date, Decimal] = {}
    previous: Decimal | None = None
    for when in sorted(by_day):
        previous = closings[when] = day_closing(by_day[when], previous)
    counted: list[Decimal] = []
    carried: Decimal | None = None
    for when in sorted(d for d in closings if d < MARCH[0]):
        carried = closings[when]
    for when in MARCH:
        carried = closings.get(when, carried)
        if carried is not None:
            counted.append(carried)
    if not counted:
        return None
    mean = Fraction(sum(counted, Decimal(0))) / len(counted)
    exact = Decimal(mean.numerator) / Decimal(mean.denominator)  # 28 digits: far more than 4 places need
    return exact.quantize(FOUR_PLACES, rounding=ROUND_HALF_UP)


@pytest.mark.skipif(not (BERKA / "trans.asc").is_file(), reason=f"the Berka data set is not at {BERKA}")
async def test_berka_low_march_average_matches_an_independent_count(server, tenant, service_stubs):
    data = read_berka(BERKA)
    raw, _ = table("trans.asc")
    rows_of: dict[str, list[list[str]]] = defaultdict(list)
    for row in raw:
        rows_of[row[1]].append(row)
    owners = {d.account_id: d.client_id for d in data.dispositions if d.type == "OWNER"}
    opened = {a.account_id: a.opened for a in data.accounts}
    with_history = sorted(rows_of, key=int)
    march_openers = sorted((a for a in with_history if opened[a].strftime("%Y-%m") == "1994-03"), key=int)[:5]
    later = sorted((a for a in opened if opened[a] > dt.date(1994, 3, 31)), key=int)[:3]
    chosen = sorted(set(with_history[::EVERY]) | set(march_openers) | set(later), key=int)
    assert len(march_openers) == 5 and len(later) == 3

    clients = {c.client_id: c for c in data.clients}
    accounts = {a.account_id: a for a in data.accounts}
    for account_id in chosen:
        owner = owners[account_id]
        await service_stubs.ingest.UpsertCustomer(ipb.UpsertCustomerRequest(
            customer=customer_message(clients[owner], data)))
        await service_stubs.ingest.UpsertAccount(ipb.UpsertAccountRequest(
            account=account_message(accounts[account_id], owner, [], data)))
    history = sorted((t for t in data.transactions if t.account_id in set(chosen)), key=lambda t: (t.day, t.trans_id))
    for start in range(0, len(history), 500):
        await _ingest(service_stubs, [transaction_message(r) for r in history[start:start + 500]])
    derivation = derive_daily_balances(t.posting() for t in history)
    closings = balance_messages(derivation.closings)
    for start in range(0, len(closings), 500):
        await service_stubs.ingest.RecordBalances(ipb.RecordBalancesRequest(balances=closings[start:start + 500]))
    final = derivation.last_balances()
    for account_id in final:
        await service_stubs.ingest.UpsertAccount(ipb.UpsertAccountRequest(account=account_message(
            accounts[account_id], owners[account_id], [], data, final[account_id])))

    averages = {a: march_average(rows_of.get(a, [])) for a in chosen}
    low = {a for a, average in averages.items() if average is not None and average < 5000}
    expected = {owners[a] for a in low}
    assert set(later) <= {a for a, average in averages.items() if average is None}
    assert 0 < len(low) < len(chosen) - len(later)

    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "ana")) as ana:
        rule = await ana.trigger_rules.CreateTriggerRule(pb.CreateTriggerRuleRequest(
            trigger_rule_id="low_march", trigger_rule=pb.TriggerRule(
                display_name="Low March", audience=pb.TriggerAudience(all_customers=True),
                condition="average_collected_balance(last_month) < 5000", actions=[
                    pb.TriggerAction(bank_notification=pb.BankNotificationAction(note="call them"))])))
        # Evaluated on 1994-04-01, last_month is March 1994: the daily re-check of that day fires for
        # every account whose March average is below 5,000 CZK.
        result = await ana.trigger_rules.BacktestTriggerRule(
            backtest_request(rule.name, dt.date(1994, 4, 1), dt.date(1994, 4, 1), BANK_NOTIFICATION="2"))
    assert result.customer_count == len(expected)
    assert result.firing_count == result.account_count == len(expected)  # one account per owner here
    assert len(result.sample_firings) == min(20, len(low))
    for firing in result.sample_firings:  # the engine's March average is the one computed here
        assert firing.account_id in low and firing.customer == f"customers/{owners[firing.account_id]}"
        assert Decimal(firing.values["average_collected_balance(last_month)"]) == averages[firing.account_id]
    assert [(e.channel, e.messages, amount_of(e.cost)) for e in result.channel_estimates] == \
        [("BANK_NOTIFICATION", len(expected), f"{2 * len(expected)}.00")]
    assert [(d.date, d.firings) for d in result.days] == [(date_message(dt.date(1994, 4, 1)), len(expected))]
