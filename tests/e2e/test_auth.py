"""Authentication and roles, through a real server and generated stubs."""

import datetime as dt

import grpc
import jwt
import pytest

from engage.ingest.v1 import ingest_service_pb2 as pb
from server.domain.auth import Role
from tests.conftest import TEST_JWT_SECRET
from tests.support.builders import customer, failure, seed_accounts, stream, transaction

NOW = dt.datetime.now(dt.UTC)


def _token(tenant: str, **overrides: object) -> str:
    claims = {"iss": "engage", "aud": "engage-api", "sub": "svc", "tenant": tenant, "role": "service",
              "iat": NOW, "exp": NOW + dt.timedelta(minutes=5), **overrides}
    return jwt.encode({k: v for k, v in claims.items() if v is not None}, TEST_JWT_SECRET, algorithm="HS256")


@pytest.mark.parametrize(("make_token", "reason"), [
    (lambda t: None, "TOKEN_MISSING"),
    (lambda t: "not-a-jwt", "TOKEN_MALFORMED"),
    (lambda t: _token(t, exp=NOW - dt.timedelta(hours=1)), "TOKEN_EXPIRED"),
    (lambda t: _token(t, nbf=NOW + dt.timedelta(hours=1)), "TOKEN_NOT_YET_VALID"),
    (lambda t: _token(t, iss="elsewhere"), "TOKEN_WRONG_ISSUER"),
    (lambda t: _token(t, aud="other"), "TOKEN_WRONG_AUDIENCE"),
    (lambda t: _token(t, role="root"), "TOKEN_UNKNOWN_ROLE"),
    (lambda t: _token("no-such-bank"), "UNKNOWN_TENANT"),
    (lambda t: jwt.encode({"tenant": t, "role": "service", "sub": "x"}, None, algorithm="none"),
     "TOKEN_ALGORITHM_NOT_ALLOWED"),
    (lambda t: jwt.encode({"iss": "engage", "aud": "engage-api", "sub": "x", "tenant": t, "role": "service",
                           "exp": NOW + dt.timedelta(minutes=5)}, "another-secret-" + "y" * 40, algorithm="HS256"),
     "TOKEN_BAD_SIGNATURE"),
])
async def test_bad_tokens_are_unauthenticated_with_a_reason(server, tenant, make_token, reason):
    async with server.stubs(make_token(tenant)) as stubs:
        code, got, _ = await failure(stubs.ingest.ListCustomers(pb.ListCustomersRequest()))
    assert (code, got) == (grpc.StatusCode.UNAUTHENTICATED, reason)


async def test_wrong_scheme_is_unauthenticated(server, tenant):
    async with server.stubs(None) as stubs:
        call = stubs.ingest.ListCustomers(pb.ListCustomersRequest(),
                                          metadata=(("authorization", f"Basic {server.token(tenant)}"),))
        assert (await failure(call))[:2] == (grpc.StatusCode.UNAUTHENTICATED, "TOKEN_MALFORMED")


async def test_streaming_call_is_authenticated_too(server, tenant):
    async with server.stubs(None) as stubs:
        code, reason, _ = await failure(stubs.ingest.IngestTransactions(stream([transaction("t1", "a1", "1.00")])))
    assert (code, reason) == (grpc.StatusCode.UNAUTHENTICATED, "TOKEN_MISSING")


async def test_user_may_not_ingest(server, tenant):
    async with server.stubs(server.token(tenant, Role.USER, "c1")) as stubs:
        code, reason, _ = await failure(stubs.ingest.IngestTransactions(stream([transaction("t1", "a1", "1.00")])))
        assert (code, reason) == (grpc.StatusCode.PERMISSION_DENIED, "ROLE_NOT_ALLOWED")
        code, reason, _ = await failure(stubs.ingest.UpsertCustomer(pb.UpsertCustomerRequest(customer=customer("c1"))))
        assert (code, reason) == (grpc.StatusCode.PERMISSION_DENIED, "ROLE_NOT_ALLOWED")


async def test_bank_admin_reads_but_does_not_write(server, tenant, service_stubs):
    await seed_accounts(service_stubs, "c1", "a1")
    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "ops")) as stubs:
        listed = await stubs.ingest.ListAccounts(pb.ListAccountsRequest())
        assert [a.account_id for a in listed.accounts] == ["a1"]
        code, _, _ = await failure(stubs.ingest.UpsertCustomer(pb.UpsertCustomerRequest(customer=customer("c2"))))
        assert code == grpc.StatusCode.PERMISSION_DENIED


async def test_user_sees_only_their_own_data(server, tenant, service_stubs):
    await seed_accounts(service_stubs, "alice", "alice-chk")
    await seed_accounts(service_stubs, "bob", "bob-chk")
    async with server.stubs(server.token(tenant, Role.USER, "alice")) as alice:
        own = await alice.ingest.ListAccounts(pb.ListAccountsRequest())
        assert [a.account_id for a in own.accounts] == ["alice-chk"]
        assert (await alice.ingest.GetAccount(pb.GetAccountRequest(name="accounts/alice-chk"))).customer_id == "alice"
        # Bob's account is as invisible to Alice as one that does not exist.
        code, reason, _ = await failure(alice.ingest.GetAccount(pb.GetAccountRequest(name="accounts/bob-chk")))
        assert (code, reason) == (grpc.StatusCode.NOT_FOUND, "ACCOUNT_NOT_FOUND")
        code, reason, _ = await failure(alice.ingest.ListAccounts(pb.ListAccountsRequest(customer_id="bob")))
        assert (code, reason) == (grpc.StatusCode.PERMISSION_DENIED, "NOT_YOUR_DATA")
        code, _, _ = await failure(alice.ingest.ListTransactions(pb.ListTransactionsRequest(parent="accounts/bob-chk")))
        assert code == grpc.StatusCode.NOT_FOUND
        code, _, _ = await failure(alice.ingest.ListCustomers(pb.ListCustomersRequest()))
        assert code == grpc.StatusCode.PERMISSION_DENIED


async def test_authorized_party_sees_the_shared_account(server, tenant, service_stubs):
    await seed_accounts(service_stubs, "owner", "joint")
    await service_stubs.ingest.UpsertCustomer(pb.UpsertCustomerRequest(customer=customer("partner")))
    from tests.support.builders import account

    await service_stubs.ingest.UpsertAccount(pb.UpsertAccountRequest(
        account=account("joint", "owner", authorized_customer_ids=["partner"])))
    async with server.stubs(server.token(tenant, Role.USER, "partner")) as partner:
        listed = await partner.ingest.ListAccounts(pb.ListAccountsRequest())
        assert [a.account_id for a in listed.accounts] == ["joint"]
