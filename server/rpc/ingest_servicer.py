"""engage.ingest.v1.IngestService: translation between the wire and IngestionService only."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence

import grpc

from engage.ingest.v1 import ingest_service_pb2 as pb
from engage.ingest.v1 import ingest_service_pb2_grpc as pb_grpc
from server.domain import resource_names
from server.domain.ingest.model import BatchOutcome, DailyBalance, IncomingTransaction, Rejection
from server.domain.pagination import instant_and_text_key, page_request
from server.rpc.context import current_caller
from server.rpc.convert import date_range_field
from server.rpc.ingest_convert import (
    account_from_proto,
    account_to_proto,
    balance_from_proto,
    balance_to_proto,
    customer_from_proto,
    customer_to_proto,
    holding_from_proto,
    holding_to_proto,
    rejection_to_balance_proto,
    rejection_to_transaction_proto,
    status_from_proto,
    transaction_from_proto,
    transaction_to_proto,
)
from server.rpc.statements_convert import (
    date_and_text_key,
    scheduled_payment_from_proto,
    scheduled_payment_to_proto,
    statement_from_proto,
    statement_to_proto,
)
from server.services.ingestion import IngestionService
from server.services.statements import StatementsService

# Rejections echoed back in one response; the count covers all of them.
MAX_REPORTED_REJECTIONS = 1000
# Rows converted between two yields to the event loop (about a millisecond of work).
CONVERSION_SLICE = 100


async def _converted(messages: Sequence[pb.Transaction], first_index: int) -> list[IncomingTransaction | Rejection]:
    """The batch's rows as domain objects, converted a slice at a time: between slices the batch being
    stored gets the event loop for its round trips, so the conversion overlaps its statements."""
    batch: list[IncomingTransaction | Rejection] = []
    for start in range(0, len(messages), CONVERSION_SLICE):
        if start:
            await asyncio.sleep(0)
        batch += [transaction_from_proto(message, first_index + start + offset)
                  for offset, message in enumerate(messages[start:start + CONVERSION_SLICE])]
    return batch


def _add_outcome(response: pb.IngestTransactionsResponse, outcome: BatchOutcome) -> None:
    response.accepted_count += outcome.accepted
    response.duplicate_count += outcome.duplicate
    response.rejected_count += len(outcome.rejected)
    room = MAX_REPORTED_REJECTIONS - len(response.rejected)
    response.rejected.extend(rejection_to_transaction_proto(r) for r in outcome.rejected[:max(room, 0)])


class IngestServicer(pb_grpc.IngestServiceServicer):
    def __init__(self, ingestion: IngestionService, statements: StatementsService) -> None:
        self._ingestion = ingestion
        self._statements = statements

    async def UpsertCustomer(self, request: pb.UpsertCustomerRequest, context: grpc.aio.ServicerContext) -> pb.Customer:
        customer = customer_from_proto(request.customer)
        await self._ingestion.upsert_customers(current_caller(), [customer])
        return customer_to_proto(await self._ingestion.get_customer(current_caller(), customer.customer_id))

    async def BatchUpsertCustomers(self, request: pb.BatchUpsertCustomersRequest,
                                   context: grpc.aio.ServicerContext) -> pb.BatchUpsertCustomersResponse:
        count = await self._ingestion.upsert_customers(
            current_caller(), [customer_from_proto(c) for c in request.customers])
        return pb.BatchUpsertCustomersResponse(upserted_count=count)

    async def GetCustomer(self, request: pb.GetCustomerRequest, context: grpc.aio.ServicerContext) -> pb.Customer:
        customer_id = resource_names.CUSTOMER.id(request.name, "name")
        return customer_to_proto(await self._ingestion.get_customer(current_caller(), customer_id))

    async def ListCustomers(self, request: pb.ListCustomersRequest,
                            context: grpc.aio.ServicerContext) -> pb.ListCustomersResponse:
        page = await self._ingestion.list_customers(
            current_caller(), page_request(request.page_size, request.page_token, "customers"))
        return pb.ListCustomersResponse(customers=[customer_to_proto(c) for c in page.items],
                                        next_page_token=page.next_page_token)

    async def UpsertAccount(self, request: pb.UpsertAccountRequest, context: grpc.aio.ServicerContext) -> pb.Account:
        account = account_from_proto(request.account)
        await self._ingestion.upsert_accounts(current_caller(), [account])
        return account_to_proto(await self._ingestion.get_account(current_caller(), account.account_id))

    async def BatchUpsertAccounts(self, request: pb.BatchUpsertAccountsRequest,
                                  context: grpc.aio.ServicerContext) -> pb.BatchUpsertAccountsResponse:
        accounts = [account_from_proto(a, f"accounts[{i}]") for i, a in enumerate(request.accounts)]
        return pb.BatchUpsertAccountsResponse(
            upserted_count=await self._ingestion.upsert_accounts(current_caller(), accounts))

    async def GetAccount(self, request: pb.GetAccountRequest, context: grpc.aio.ServicerContext) -> pb.Account:
        account_id = resource_names.ACCOUNT.id(request.name, "name")
        return account_to_proto(await self._ingestion.get_account(current_caller(), account_id))

    async def ListAccounts(self, request: pb.ListAccountsRequest,
                           context: grpc.aio.ServicerContext) -> pb.ListAccountsResponse:
        page = await self._ingestion.list_accounts(
            current_caller(), request.customer_id or None,
            page_request(request.page_size, request.page_token, "accounts"))
        return pb.ListAccountsResponse(accounts=[account_to_proto(a) for a in page.items],
                                       next_page_token=page.next_page_token)

    async def BatchUpsertHoldings(self, request: pb.BatchUpsertHoldingsRequest,
                                  context: grpc.aio.ServicerContext) -> pb.BatchUpsertHoldingsResponse:
        holdings = [holding_from_proto(h, f"holdings[{i}]") for i, h in enumerate(request.holdings)]
        return pb.BatchUpsertHoldingsResponse(
            upserted_count=await self._ingestion.upsert_holdings(current_caller(), holdings))

    async def ListHoldings(self, request: pb.ListHoldingsRequest,
                           context: grpc.aio.ServicerContext) -> pb.ListHoldingsResponse:
        page = await self._ingestion.list_holdings(
            current_caller(), request.customer_id or None,
            page_request(request.page_size, request.page_token, "holdings"))
        return pb.ListHoldingsResponse(holdings=[holding_to_proto(h) for h in page.items],
                                       next_page_token=page.next_page_token)

    async def IngestTransactions(self, request_iterator: AsyncIterator[pb.IngestTransactionsRequest],
                                 context: grpc.aio.ServicerContext) -> pb.IngestTransactionsResponse:
        response = pb.IngestTransactionsResponse()
        stream = self._ingestion.transaction_stream(current_caller())
        next_index = 0
        try:
            async for request in request_iterator:
                # Converted while earlier batches are being stored.
                batch = await _converted(request.transactions, next_index)
                for outcome in await stream.add(batch, next_index, request.backfill):
                    _add_outcome(response, outcome)
                next_index += len(batch)
            for outcome in await stream.finish():
                _add_outcome(response, outcome)
        finally:
            await stream.close()
        return response

    async def ListTransactions(self, request: pb.ListTransactionsRequest,
                               context: grpc.aio.ServicerContext) -> pb.ListTransactionsResponse:
        account_id = resource_names.ACCOUNT.id(request.parent, "parent")
        since, until = date_range_field(request, "date_range")
        status = status_from_proto(request.status, "status")
        page = await self._ingestion.list_transactions(
            current_caller(), account_id, since, until,
            page_request(request.page_size, request.page_token, "transactions", instant_and_text_key), status)
        return pb.ListTransactionsResponse(transactions=[transaction_to_proto(t) for t in page.items],
                                           next_page_token=page.next_page_token)

    async def RecordBalances(self, request: pb.RecordBalancesRequest,
                             context: grpc.aio.ServicerContext) -> pb.RecordBalancesResponse:
        balances: list[DailyBalance | Rejection] = [balance_from_proto(b, i) for i, b in enumerate(request.balances)]
        outcome = await self._ingestion.record_balances(current_caller(), balances)
        return pb.RecordBalancesResponse(
            recorded_count=outcome.accepted, rejected_count=len(outcome.rejected),
            rejected=[rejection_to_balance_proto(r) for r in outcome.rejected[:MAX_REPORTED_REJECTIONS]])

    async def ListBalances(self, request: pb.ListBalancesRequest,
                           context: grpc.aio.ServicerContext) -> pb.ListBalancesResponse:
        account_id = resource_names.ACCOUNT.id(request.parent, "parent")
        since, until = date_range_field(request, "date_range")
        page = await self._ingestion.list_balances(
            current_caller(), account_id, since, until,
            page_request(request.page_size, request.page_token, "balances"))
        return pb.ListBalancesResponse(balances=[balance_to_proto(b) for b in page.items],
                                       next_page_token=page.next_page_token)

    # -- statements and scheduled payments ------------------------------------------------------

    async def BatchUpsertStatements(self, request: pb.BatchUpsertStatementsRequest,
                                    context: grpc.aio.ServicerContext) -> pb.BatchUpsertStatementsResponse:
        statements = [statement_from_proto(s, f"statements[{i}]") for i, s in enumerate(request.statements)]
        return pb.BatchUpsertStatementsResponse(
            upserted_count=await self._statements.upsert_statements(current_caller(), statements))

    async def ListStatements(self, request: pb.ListStatementsRequest,
                             context: grpc.aio.ServicerContext) -> pb.ListStatementsResponse:
        account_id = resource_names.ACCOUNT.id(request.parent, "parent")
        page = await self._statements.list_statements(
            current_caller(), account_id,
            page_request(request.page_size, request.page_token, "statements", date_and_text_key))
        return pb.ListStatementsResponse(statements=[statement_to_proto(s) for s in page.items],
                                         next_page_token=page.next_page_token)

    async def BatchUpsertScheduledPayments(self, request: pb.BatchUpsertScheduledPaymentsRequest,
                                           context: grpc.aio.ServicerContext
                                           ) -> pb.BatchUpsertScheduledPaymentsResponse:
        payments = [scheduled_payment_from_proto(p, f"scheduled_payments[{i}]")
                    for i, p in enumerate(request.scheduled_payments)]
        return pb.BatchUpsertScheduledPaymentsResponse(
            upserted_count=await self._statements.upsert_scheduled_payments(current_caller(), payments))

    async def ListScheduledPayments(self, request: pb.ListScheduledPaymentsRequest,
                                    context: grpc.aio.ServicerContext) -> pb.ListScheduledPaymentsResponse:
        account_id = resource_names.ACCOUNT.id(request.parent, "parent")
        page = await self._statements.list_scheduled_payments(
            current_caller(), account_id,
            page_request(request.page_size, request.page_token, "scheduledPayments", date_and_text_key))
        return pb.ListScheduledPaymentsResponse(
            scheduled_payments=[scheduled_payment_to_proto(p) for p in page.items],
            next_page_token=page.next_page_token)
