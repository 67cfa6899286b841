"""The Berka data set imported once per test run, into a PostgreSQL template database that each test
which starts from the imported data clones (CREATE DATABASE ... TEMPLATE: a second or two, where the
import itself costs tens of seconds of the server's and PostgreSQL's CPU).

The template is built the way a bank loads the data: a migrated database, a tenant, a real server,
`engagectl import berka` as a process of its own, then the worker run until its queue is empty (the
import's events handled). The xdist workers of one run share it: the first to need it builds it while
holding a file lock in the run's folder (ENGAGE_TEST_RUN_DIR, made by the controller), the others wait
and clone it. Its name carries a hash of the data files and of the migration head, and the run drops it
at the end (drop_berka_template). The tests whose subject is the import itself import on their own."""

from __future__ import annotations

import asyncio
import datetime as dt
import fcntl
import hashlib
import json
import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from arq import Worker

from server.app import build_server
from server.bootstrap import build_services
from server.config import Settings
from server.domain.auth import Role
from server.security.tokens import mint_token
from server.store.migrate import head_revision
from tests.support.cli_zygote import CliZygote
from tests.support.databases import PostgresDatabases, admin_sql, async_database_url
from tests.support.egress import LOCAL_NETWORKS
from workers.settings import worker_settings

BERKA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "berka"
BERKA_TENANT = "berka"
RUN_DIR_VARIABLE = "ENGAGE_TEST_RUN_DIR"
STATE_FILE = "berka-template.json"


def template_key() -> str:
    """Changes when a data file or the migrations' head does: a template of other data is never used."""
    digest = hashlib.sha256()
    for path in sorted(BERKA.glob("*.asc")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    digest.update(str(head_revision()).encode())
    return digest.hexdigest()[:12]


async def run_worker(settings: Settings) -> None:
    """The real arq worker, in burst mode: until its queue is empty."""
    worker = Worker(**(worker_settings(settings) | {"burst": True, "poll_delay": 0, "handle_signals": False}))
    try:
        await worker.main()
    finally:
        await worker.close()


@dataclass(frozen=True)
class BerkaTemplate:
    name: str
    import_report: dict[str, Any]  # what `engagectl --json import berka` printed when it built the template


async def _import_into(database_url: str, redis_url: str, jwt_secret: str, var_dir: Path,
                       cli_zygote: CliZygote) -> dict[str, Any]:
    """`engagectl import berka` against a real server on the database, then the worker until it is idle:
    what the import printed."""
    settings = Settings(database_url=database_url, redis_url=redis_url, jwt_secret=jwt_secret, var_dir=var_dir,
                        queue_name=f"engage:test:berka:{uuid.uuid4().hex}", log_format="console",
                        provider_networks_allowed=LOCAL_NETWORKS, triggers_in_process=False)
    services = await build_services(settings)
    try:
        await services.tenants.create(BERKA_TENANT)
        grpc_server, port, _ = build_server(services, "127.0.0.1:0")
        await grpc_server.start()
        try:
            token = mint_token(settings, tenant=BERKA_TENANT, role=Role.SERVICE, subject="loader",
                               ttl=dt.timedelta(hours=1))
            environment = {**os.environ, "ENGAGE_ADDRESS": f"127.0.0.1:{port}", "ENGAGE_TOKEN": token,
                           "COLUMNS": "200"}
            imported = await asyncio.to_thread(cli_zygote.run, ["--json", "import", "berka", str(BERKA)],
                                               environment, 600)
            assert imported.exit_code == 0, imported.stderr
        finally:
            await grpc_server.stop(None)
        await run_worker(settings)
    finally:
        await services.close()
    report: dict[str, Any] = json.loads(imported.stdout)
    return report


async def built_berka_template(databases: PostgresDatabases, redis_url: str, jwt_secret: str, cli_zygote: CliZygote,
                         scratch: Path) -> BerkaTemplate:
    """This run's Berka template database, built here if no worker of the run has built it."""
    run_dir = Path(os.environ.get(RUN_DIR_VARIABLE) or scratch)
    state_path = run_dir / STATE_FILE
    key = template_key()
    with open(run_dir / "berka-template.lock", "a") as lock:
        await asyncio.to_thread(fcntl.flock, lock, fcntl.LOCK_EX)
        try:
            state = json.loads(state_path.read_text()) if state_path.exists() else None
            if state is not None and state["key"] == key and state["built"]:
                return BerkaTemplate(state["name"], state["import_report"])
            if state is not None:  # a build that failed, or of other data: not to be cloned
                await admin_sql(state["admin_url"], f'DROP DATABASE IF EXISTS "{state["name"]}" WITH (FORCE)')
            name = f"engage_berka_{key}_{uuid.uuid4().hex[:8]}"
            state = {"key": key, "name": name, "admin_url": databases.admin_url, "built": False}
            state_path.write_text(json.dumps(state))  # written first: the run drops it even if the build fails
            await admin_sql(databases.admin_url, f'CREATE DATABASE "{name}" TEMPLATE "{databases.template_name}"')
            url = async_database_url(databases.admin_url, name)
            report = await _import_into(url, redis_url, jwt_secret, scratch, cli_zygote)
            state_path.write_text(json.dumps(state | {"built": True, "import_report": report}))
            return BerkaTemplate(name, report)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def drop_berka_template(run_dir: Path) -> None:
    """At the end of the run (the xdist controller, or the only process): the template goes."""
    state_path = run_dir / STATE_FILE
    if not state_path.exists():
        return
    state = json.loads(state_path.read_text())
    asyncio.run(admin_sql(state["admin_url"], f'DROP DATABASE IF EXISTS "{state["name"]}" WITH (FORCE)'))


# -- fixtures (imported by the modules that use them) -----------------------------------------------------


@pytest_asyncio.fixture(scope="session")
async def berka_template(postgres_databases: PostgresDatabases | None, redis_url: str, cli_zygote: CliZygote,
                         tmp_path_factory: pytest.TempPathFactory) -> BerkaTemplate:
    from tests.conftest import TEST_JWT_SECRET

    if postgres_databases is None:
        pytest.skip("the imported Berka data set is a PostgreSQL template")
    if not (BERKA / "trans.asc").is_file():
        pytest.skip(f"the Berka data set is not at {BERKA}")
    return await built_berka_template(postgres_databases, redis_url, TEST_JWT_SECRET, cli_zygote,
                                      tmp_path_factory.mktemp("berka"))


@pytest_asyncio.fixture
async def berka_database_url(postgres_databases: PostgresDatabases, berka_template: BerkaTemplate
                             ) -> AsyncIterator[str]:
    """A database of this test's own holding the imported Berka data set (tenant BERKA_TENANT)."""
    name = f"engage_test_{uuid.uuid4().hex[:16]}"
    await postgres_databases.admin(f'CREATE DATABASE "{name}" TEMPLATE "{berka_template.name}"')
    url = async_database_url(postgres_databases.admin_url, name)
    yield url
    await postgres_databases.drop(url)
