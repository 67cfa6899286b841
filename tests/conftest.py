"""Shared fixtures: real databases (SQLite always; PostgreSQL where it runs, and in CI it must),
real Redis, a real grpc.aio server on a free port, tokens, and engagectl as a subprocess.

`make test` runs them on pytest-xdist workers. Each worker is a session of its own: its own template
databases, its own Redis when none runs, its own tmp dirs; databases, queues and tenants are named with
uuids and ports are taken free from the OS, so workers share nothing by name. A fixture added here keeps
that: no fixed names, ports or files outside tmp_path."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import shutil
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio
import structlog

from clients.stubs import Stubs, connect
from server.app import SERVICE_NAMES, build_server
from server.bootstrap import Services, build_services
from server.config import Settings
from server.domain.auth import Role
from server.health import is_ready
from server.security.tokens import mint_token
from tests.support.berka_template import (  # noqa: F401  (the fixtures)
    RUN_DIR_VARIABLE,
    berka_database_url,
    berka_template,
    drop_berka_template,
)
from tests.support.cli_zygote import CliZygote
from tests.support.databases import PostgresDatabases, SqliteDatabases, postgres_admin_url
from tests.support.egress import LOCAL_NETWORKS
from tests.support.redis import existing_redis_url, start_redis
from tests.support.sinks.fixtures import provider_sink, smtp_sink  # noqa: F401  (fixtures)
from tests.support.terminal import run_in_terminal

TEST_JWT_SECRET = "test-secret-" + "x" * 40
REPO_ROOT = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

# The server and workers run in the test's process, where nothing calls configure_logging: structlog's
# default renders each traceback with every frame's locals (rich), seconds of CPU on the event loop for
# each error logged, and on a busy machine a batch's answers were recorded only after their lease had
# run out (tests/integration/test_dispatch_reliability.py). Python's own traceback, as the server and
# workers write it on a console (server/logging.py).
structlog.configure(processors=[*structlog.get_config()["processors"][:-1], structlog.dev.ConsoleRenderer(
    colors=False, exception_formatter=structlog.dev.plain_traceback)])


def pytest_configure(config: pytest.Config) -> None:
    """The run's own folder, which its xdist workers share (they inherit the variable): what is built once
    per run and shared between them, the imported Berka template (tests/support/berka_template.py)."""
    if not hasattr(config, "workerinput"):
        os.environ[RUN_DIR_VARIABLE] = tempfile.mkdtemp(prefix="engage-test-run-")


def pytest_unconfigure(config: pytest.Config) -> None:
    run_dir = os.environ.get(RUN_DIR_VARIABLE)
    if not hasattr(config, "workerinput") and run_dir:
        drop_berka_template(Path(run_dir))
        shutil.rmtree(run_dir, ignore_errors=True)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The store tests (tests/integration) run on both backends. The end-to-end tests (tests/e2e) run on
    PostgreSQL, what a bank deploys, and a module marked `sqlite_too` on SQLite as well: those whose path
    goes through SQLite's own code (the ingest and bus writes, day series, deliveries, the feed, the goal,
    persona and offer stores, table locks) or through what `make run` stores into by default. Where
    PostgreSQL does not answer, every test runs on SQLite."""
    if postgres_admin_url() is None:
        return
    e2e = REPO_ROOT / "tests" / "e2e"
    dropped = [item for item in items if e2e in item.path.parents and not item.get_closest_marker("sqlite_too")
               and getattr(item, "callspec", None) is not None
               and item.callspec.params.get("database_url") == "sqlite"]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        dropped_ids = {id(item) for item in dropped}
        items[:] = [item for item in items if id(item) not in dropped_ids]


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    found = existing_redis_url()
    if found:
        yield found
        return
    redis = start_redis(tmp_path_factory.mktemp("redis"))
    yield redis.url
    redis.stop()


@pytest_asyncio.fixture(scope="session")
async def sqlite_databases(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[SqliteDatabases]:
    databases = SqliteDatabases(tmp_path_factory.mktemp("sqlite"))
    await databases.prepare()
    yield databases


@pytest_asyncio.fixture(scope="session")
async def postgres_databases() -> AsyncIterator[PostgresDatabases | None]:
    admin = postgres_admin_url()
    if admin is None:
        if IN_CI:
            pytest.fail("CI must run the PostgreSQL tests, but nothing answers on 127.0.0.1:5432")
        yield None
        return
    databases = PostgresDatabases(admin)
    await databases.prepare()
    yield databases
    await databases.close()


@pytest_asyncio.fixture(params=["sqlite", "postgresql"])
async def database_url(request: pytest.FixtureRequest, sqlite_databases: SqliteDatabases,
                       postgres_databases: PostgresDatabases | None) -> AsyncIterator[str]:
    """A fresh, migrated database for this test, on each backend."""
    databases = sqlite_databases if request.param == "sqlite" else postgres_databases
    if databases is None:
        pytest.skip("PostgreSQL is not running here (set TEST_DATABASE_URL or start it on 127.0.0.1:5432)")
    url = await databases.fresh()
    yield url
    await databases.drop(url)


@pytest.fixture
def settings(database_url: str, redis_url: str, tmp_path: Path) -> Settings:
    # Delivery retries wait a few milliseconds here, not the production minutes.
    return Settings(database_url=database_url, redis_url=redis_url, jwt_secret=TEST_JWT_SECRET, var_dir=tmp_path,
                    delivery_retry_base_seconds=0.02,
                    # Tests post on fixed dates (2024) and expect them live; the window has tests of its own.
                    live_window_days=0,
                    queue_name=f"engage:test:{uuid.uuid4().hex}", log_format="console", max_concurrent_rpcs=64,
                    provider_networks_allowed=LOCAL_NETWORKS,
                    # The queue path alone, as the bus tests count on; tests/e2e/test_trigger_in_process.py
                    # turns the server's own run of trigger_rules on.
                    triggers_in_process=False)


@pytest_asyncio.fixture
async def services(settings: Settings) -> AsyncIterator[Services]:
    built = await build_services(settings)
    yield built
    await built.close()


@dataclass
class RunningServer:
    address: str
    settings: Settings
    services: Services

    def token(self, tenant: str, role: Role | str = Role.SERVICE, sub: str = "tester",
              ttl: dt.timedelta = dt.timedelta(hours=1)) -> str:
        return mint_token(self.settings, tenant=tenant, role=Role(role), subject=sub, ttl=ttl)

    def stubs(self, token: str | None) -> Stubs:
        return connect(self.address, token)


@pytest_asyncio.fixture
async def server(services: Services, settings: Settings) -> AsyncIterator[RunningServer]:
    grpc_server, port, health_servicer = build_server(services, "127.0.0.1:0")
    await grpc_server.start()
    ready, why = await is_ready(services)
    assert ready, why
    from grpc_health.v1 import health_pb2

    for name in ["", *SERVICE_NAMES]:
        await health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    yield RunningServer(f"127.0.0.1:{port}", settings, services)
    await grpc_server.stop(2)


@pytest_asyncio.fixture
async def tenant(services: Services) -> str:
    created = await services.tenants.create(f"bank-{uuid.uuid4().hex[:12]}")
    return created.tenant_id


@pytest_asyncio.fixture
async def service_stubs(server: RunningServer, tenant: str) -> AsyncIterator[Stubs]:
    stubs = server.stubs(server.token(tenant, Role.SERVICE, "loader"))
    yield stubs
    await stubs.close()


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str


@pytest.fixture(scope="session")
def cli_zygote(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CliZygote]:
    environment = {**os.environ, "COLUMNS": "200"}  # rich reads the width when engagectl is imported
    environment.pop("ENGAGE_TOKEN", None)
    zygote = CliZygote(tmp_path_factory.mktemp("engagectl"), environment, REPO_ROOT)
    zygote.start()
    yield zygote
    zygote.stop()


@pytest.fixture
def engagectl(server: RunningServer, cli_zygote: CliZygote) -> Callable[..., object]:
    """Runs engagectl as its own process against the test server (awaitable): forked from one that has
    imported it (tests/support/cli_zygote.py), or under a pseudo-terminal as a fresh interpreter."""

    async def run(*args: str, token: str | None = None, env: dict[str, str] | None = None,
                  timeout: float = 600, terminal_columns: int | None = None) -> CliResult:
        """Piped (stdout and stderr apart), or under a pseudo-terminal `terminal_columns` wide (what the
        terminal shows, both streams, comes back as stdout)."""
        environment = {**os.environ, "ENGAGE_ADDRESS": server.address, "DATABASE_URL": server.settings.database_url,
                       "REDIS_URL": server.settings.redis_url, "ENGAGE_JWT_SECRET": TEST_JWT_SECRET,
                       "ENGAGE_VAR_DIR": str(server.settings.var_dir), "COLUMNS": "200", **(env or {})}
        environment.pop("ENGAGE_TOKEN", None)
        if token:
            environment["ENGAGE_TOKEN"] = token
        if terminal_columns is not None:
            code, shown = await asyncio.to_thread(
                run_in_terminal, [sys.executable, "-m", "clients.engagectl.main", *args], environment, REPO_ROOT,
                terminal_columns, timeout)
            return CliResult(code, shown, "")
        forked = await asyncio.to_thread(cli_zygote.run, list(args), environment, timeout)
        return CliResult(forked.exit_code, forked.stdout, forked.stderr)

    return run
