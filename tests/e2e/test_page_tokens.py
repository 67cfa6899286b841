"""A page token made by hand, with its list's name and a key of another shape than the list's (an object
for an id, a number past 64 bits for a change id, text for a pair), is INVALID_PAGE_TOKEN on every list.
Such keys reached the database and were INTERNAL on 14 of the 16 lists."""

import json

import grpc
import pytest

from tests.e2e.test_nested_input import LISTS, list_request, token
from tests.support.builders import failure

# Each list's name in its tokens, and the shape of its key.
TEXT, PAIR, INTEGER, DATE = "text", "pair", "integer", "date"
DATED_PAIR, RANKED, CUSTOMER_TRIPLE = "dated pair", "ranked", "customer triple"
EVENT_TRIPLE, VALUE_AND_DATE = "event triple", "value and date"
LIST_KEYS = {"ListApps": ("apps", TEXT), "ListEventTypes": ("eventTypes", TEXT),
             "ListChannelConfigs": ("channelConfigs", TEXT), "ListTemplates": ("templates", TEXT),
             "ListEvents": ("events", TEXT), "ListTransactionAlerts": ("transactionAlerts", TEXT),
             "ListInsightNotifications": ("insightNotifications", TEXT), "ListCampaigns": ("campaigns", TEXT),
             "ListDeliveries": ("deliveries", TEXT), "ListCustomers": ("customers", TEXT),
             "ListAccounts": ("accounts", TEXT), "ListHoldings": ("holdings", TEXT),
             "ListTransactions": ("transactions", PAIR), "ListBalances": ("balances", TEXT),
             "GetFeed": ("feed", PAIR), "ListSubscriptionChanges": ("subscription-changes", INTEGER),
             "ListInsightBatches": ("insight_batches", DATE),
             "ListGoals": ("goals", RANKED), "ListHistoryEntries": ("goal-history", PAIR),
             "ListFundingProgrammes": ("funding_programmes", TEXT), "ListTransfers": ("goal_transfers", DATED_PAIR),
             "ListGoalReportRows": ("goal-report-rows", CUSTOMER_TRIPLE),
             "ListCustomerHistoryReportRows": ("customer-history-report-rows", PAIR),
             "ListTransferReportRows": ("transfer-report-rows", PAIR),
             "ListPaymentAlerts": ("paymentAlerts", TEXT), "ListWalletPasses": ("walletPasses", TEXT),
             "ListStatements": ("statements", DATED_PAIR), "ListScheduledPayments": ("scheduledPayments", DATED_PAIR),
             "ListInsightHistory": ("insight-history", PAIR), "ListEventHistory": ("event-history", EVENT_TRIPLE),
             "QueryMetrics": ("metrics-rows", VALUE_AND_DATE)}
NOT_TEXT = [{"x": 1}, [1, 2, 3], 2**70, -1, 1e308, True, ["a"]]
NOT_A_PAIR = [{"x": 1}, "x", 7, ["2026-01-01T00:00:00"], ["2026-01-01T00:00:00", "a", "b"],
              ["2026-01-01T00:00:00", {}], [1, "a"], ["not a time", "a"], [["2026-01-01T00:00:00"], "a"]]
NOT_A_CHANGE_ID = [{"x": 1}, [1], "x", "12", 1.5, True, 2**63, -(2**63) - 1, 2**70]
WRONG = {TEXT: [*NOT_TEXT, "a\x00b"], PAIR: NOT_A_PAIR, INTEGER: NOT_A_CHANGE_ID,
         DATE: [*NOT_TEXT, "a\x00b", "x", "", "2026-13-01", "2026-01-01T00:00:00"]}
# Goals by priority, then creation time and id; report rows by customer, then creation time and id.
NOT_RANKED = [{"x": 1}, "x", [1, "2026-01-01T00:00:00+00:00"], ["1", "2026-01-01T00:00:00+00:00", "g"],
              [2**70, "2026-01-01T00:00:00+00:00", "g"], [1, "not a time", "g"], [1, "2026-01-01T00:00:00+00:00", 5]]
NOT_A_CUSTOMER_TRIPLE = [{"x": 1}, "x", ["c", "2026-01-01T00:00:00+00:00"], [1, "2026-01-01T00:00:00+00:00", "g"],
                         ["c", "not a time", "g"], ["c", "2026-01-01T00:00:00+00:00", {}], ["c\x00", "x", "g"]]
NOT_A_DATED_PAIR = [{"x": 1}, "x", 7, ["2026-01-01"], ["2026-01-01", "a", "b"], ["2026-13-01", "a"],
                    ["not a date", "a"], [["2026-01-01"], "a"], ["2026-01-01", {}]]
# Event history: [instant, kind, event id]; metrics: [dimension value, period's first day].
NOT_AN_EVENT_TRIPLE = [{"x": 1}, "x", ["2026-01-01T00:00:00+00:00", "DELIVERY"],
                       ["2026-01-01T00:00:00", "DELIVERY", "d"], ["not a time", "DELIVERY", "d"],
                       ["2026-01-01T00:00:00+00:00", "PARCEL", "d"], ["2026-01-01T00:00:00+00:00", "DELIVERY", {}],
                       [1, "DELIVERY", "d"]]
NOT_A_VALUE_AND_DATE = [{"x": 1}, "x", ["v"], ["v", "2026-01-01", "x"], [1, "2026-01-01"], ["v", "not a date"],
                        ["v", {}], ["v\x00", "2026-01-01"]]
WRONG |= {RANKED: NOT_RANKED, CUSTOMER_TRIPLE: NOT_A_CUSTOMER_TRIPLE, DATED_PAIR: NOT_A_DATED_PAIR,
          EVENT_TRIPLE: NOT_AN_EVENT_TRIPLE, VALUE_AND_DATE: NOT_A_VALUE_AND_DATE}
RIGHT = {RANKED: [[1, "2026-01-01T00:00:00+00:00", "g"]],
         CUSTOMER_TRIPLE: [["c", "2026-01-01T00:00:00+00:00", "g"]], DATED_PAIR: [["2026-01-01", "t"]],
         TEXT: ["x", ""], PAIR: [["2026-01-01T00:00:00+00:00", "x"]], INTEGER: [1, 2**63 - 1],
         DATE: ["2026-01-01", "0001-01-01"], EVENT_TRIPLE: [["2026-01-01T00:00:00+00:00", "DELIVERY", "d"]],
         VALUE_AND_DATE: [["v", "2026-01-01"]]}


def test_every_list_is_covered():
    assert sorted(LIST_KEYS) == sorted(method for *_, method in LISTS)


@pytest.mark.parametrize(("module", "stub", "role", "method"), LISTS, ids=[m for *_, m in LISTS])
async def test_a_key_of_another_shape_is_an_invalid_token(server, tenant, module, stub, role, method):
    name, shape = LIST_KEYS[method]
    async with server.stubs(server.token(tenant, role, "lisa")) as stubs:
        call = getattr(getattr(stubs, stub), method)
        for after in WRONG[shape]:
            request = list_request(module, method, token(json.dumps({"list": name, "after": after})))
            assert await failure(call(request)) == (grpc.StatusCode.INVALID_ARGUMENT, "INVALID_PAGE_TOKEN",
                                                    ["page_token"]), after
        for after in RIGHT[shape]:  # read as a key: a page after it, or the list's own answer
            request = list_request(module, method, token(json.dumps({"list": name, "after": after})))
            try:
                await call(request)
            except grpc.aio.AioRpcError as error:
                assert error.code() in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.PERMISSION_DENIED), after
