"""What is set up before anything is timed: the tenant, and for the bare load its customers and
accounts, through the server's own use cases in this process (the same rows as over gRPC)."""

from __future__ import annotations

from pathlib import Path

from clients.batching import chunks
from server.bootstrap import build_services
from server.config import Settings
from server.domain.auth import Caller, Role
from server.rpc.ingest_convert import account_from_proto, customer_from_proto
from tests.bench.workload import Workload

UPSERT_BATCH = 1000


def _settings(database_url: str, jwt_secret: str, var_dir: Path) -> Settings:
    return Settings(database_url=database_url, jwt_secret=jwt_secret, var_dir=var_dir)


async def create_tenant(database_url: str, tenant_id: str, jwt_secret: str, var_dir: Path) -> None:
    services = await build_services(_settings(database_url, jwt_secret, var_dir), with_queue=False)
    try:
        await services.tenants.create(tenant_id, "Bench bank")
    finally:
        await services.close()


async def create_tenant_with_accounts(database_url: str, tenant_id: str, workload: Workload, jwt_secret: str,
                                      var_dir: Path) -> None:
    services = await build_services(_settings(database_url, jwt_secret, var_dir), with_queue=False)
    caller = Caller(tenant_id=tenant_id, subject="bench", role=Role.SERVICE)
    try:
        await services.tenants.create(tenant_id, "Bench bank")
        for chunk in chunks(workload.customer_messages(), UPSERT_BATCH):
            await services.ingestion.upsert_customers(caller, [customer_from_proto(c) for c in chunk])
        for chunk in chunks(workload.account_messages(), UPSERT_BATCH):
            await services.ingestion.upsert_accounts(caller, [account_from_proto(a) for a in chunk])
    finally:
        await services.close()
