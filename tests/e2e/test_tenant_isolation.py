"""A bank never sees another bank's data: NOT_FOUND for its resources, absent from lists."""

import uuid

import grpc

from engage.ingest.v1 import ingest_service_pb2 as pb
from tests.support.builders import amount_of, failure, seed_accounts, stream, transaction


async def test_other_tenants_resources_are_not_found_and_never_listed(server, services, tenant, service_stubs):
    await seed_accounts(service_stubs, "c1", "a1")
    await service_stubs.ingest.IngestTransactions(stream([transaction("t1", "a1", "10.00")]))
    other = (await services.tenants.create(f"other-{uuid.uuid4().hex[:8]}")).tenant_id

    async with server.stubs(server.token(other)) as intruder:
        for call in (intruder.ingest.GetAccount(pb.GetAccountRequest(name="accounts/a1")),
                     intruder.ingest.GetCustomer(pb.GetCustomerRequest(name="customers/c1")),
                     intruder.ingest.ListTransactions(pb.ListTransactionsRequest(parent="accounts/a1")),
                     intruder.ingest.ListBalances(pb.ListBalancesRequest(parent="accounts/a1"))):
            assert (await failure(call))[0] == grpc.StatusCode.NOT_FOUND
        assert not (await intruder.ingest.ListAccounts(pb.ListAccountsRequest())).accounts
        assert not (await intruder.ingest.ListCustomers(pb.ListCustomersRequest())).customers
        # Writing into another bank's account is impossible: for this tenant it does not exist.
        response = await intruder.ingest.IngestTransactions(stream([transaction("t2", "a1", "5.00")]))
        assert (response.accepted_count, response.rejected[0].reason) == (0, "UNKNOWN_ACCOUNT")

        # The same ids are free for the other bank and stay separate.
        await seed_accounts(intruder, "c1", "a1")
        response = await intruder.ingest.IngestTransactions(stream([transaction("t1", "a1", "3.00")]))
        assert response.accepted_count == 1
        theirs = await intruder.ingest.GetAccount(pb.GetAccountRequest(name="accounts/a1"))
    ours = await service_stubs.ingest.GetAccount(pb.GetAccountRequest(name="accounts/a1"))
    assert (amount_of(ours.current_balance), amount_of(theirs.current_balance)) == ("10.00", "3.00")
