import pytest

from engage.ingest.v1 import ingest_service_pb2 as pb

# Also on SQLite: this path goes through SQLite's own store code (tests/conftest.py).
pytestmark = pytest.mark.sqlite_too


async def test_upsert_and_read_customer(service_stubs):
    created = await service_stubs.ingest.UpsertCustomer(
        pb.UpsertCustomerRequest(customer=pb.Customer(customer_id="c1", attributes={"segment": "retail"})))
    assert created.name == "customers/c1"
    fetched = await service_stubs.ingest.GetCustomer(pb.GetCustomerRequest(name="customers/c1"))
    assert fetched.attributes["segment"] == "retail"


async def test_cli_health(engagectl):
    result = await engagectl("--json", "health")
    assert result.exit_code == 0, result.stderr
    assert '"SERVING"' in result.stdout
