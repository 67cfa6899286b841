"""Sends records to IngestService in efficient batches; used by engagectl ingest, demo seed and
import berka, and by the benchmark."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field

from clients.batching import chunks
from clients.stubs import Stubs
from engage.ingest.v1 import ingest_service_pb2 as pb

TRANSACTION_BATCH = 500
UPSERT_BATCH = 1000
BALANCE_BATCH = 5000

Progress = Callable[[int], None]


@dataclass
class IngestSummary:
    customers: int = 0
    accounts: int = 0
    holdings: int = 0
    transactions_accepted: int = 0
    transactions_duplicate: int = 0
    transactions_rejected: int = 0
    balances_recorded: int = 0
    balances_rejected: int = 0
    rejections: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


class IngestWriter:
    def __init__(self, stubs: Stubs, summary: IngestSummary | None = None) -> None:
        self._stubs = stubs
        self.summary = summary or IngestSummary()

    async def customers(self, customers: Iterable[pb.Customer], progress: Progress | None = None) -> None:
        for chunk in chunks(customers, UPSERT_BATCH):
            response = await self._stubs.ingest.BatchUpsertCustomers(pb.BatchUpsertCustomersRequest(customers=chunk))
            self.summary.customers += response.upserted_count
            if progress:
                progress(len(chunk))

    async def accounts(self, accounts: Iterable[pb.Account], progress: Progress | None = None) -> None:
        for chunk in chunks(accounts, UPSERT_BATCH):
            response = await self._stubs.ingest.BatchUpsertAccounts(pb.BatchUpsertAccountsRequest(accounts=chunk))
            self.summary.accounts += response.upserted_count
            if progress:
                progress(len(chunk))

    async def holdings(self, holdings: Iterable[pb.Holding], progress: Progress | None = None) -> None:
        for chunk in chunks(holdings, UPSERT_BATCH):
            response = await self._stubs.ingest.BatchUpsertHoldings(pb.BatchUpsertHoldingsRequest(holdings=chunk))
            self.summary.holdings += response.upserted_count
            if progress:
                progress(len(chunk))

    async def transactions(self, transactions: Iterable[pb.Transaction], progress: Progress | None = None,
                           batch_size: int = TRANSACTION_BATCH, backfill: bool = False,
                           ) -> pb.IngestTransactionsResponse:
        """One client stream; rows are sent in batches of batch_size while the server stores. `backfill`:
        the rows are history, stored without real-time insights, alerts or messages."""

        async def requests() -> AsyncIterator[pb.IngestTransactionsRequest]:
            for chunk in chunks(transactions, batch_size):
                yield pb.IngestTransactionsRequest(transactions=chunk, backfill=backfill)
                if progress:
                    progress(len(chunk))

        response = await self._stubs.ingest.IngestTransactions(requests())
        self.summary.transactions_accepted += response.accepted_count
        self.summary.transactions_duplicate += response.duplicate_count
        self.summary.transactions_rejected += response.rejected_count
        self.summary.rejections += [f"transaction {r.transaction_id or '#' + str(r.index)}: {r.reason}: {r.message}"
                                    for r in response.rejected]
        return response

    async def balances(self, balances: Iterable[pb.DailyBalance], progress: Progress | None = None) -> None:
        for chunk in chunks(balances, BALANCE_BATCH):
            response = await self._stubs.ingest.RecordBalances(pb.RecordBalancesRequest(balances=chunk))
            self.summary.balances_recorded += response.recorded_count
            self.summary.balances_rejected += response.rejected_count
            self.summary.rejections += [f"balance of {r.account_id}: {r.reason}: {r.message}"
                                        for r in response.rejected]
            if progress:
                progress(len(chunk))
