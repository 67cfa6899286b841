"""Fresh, migrated databases for one bench run: SQLite files under var/bench/, and PostgreSQL
databases created on the admin server and dropped afterwards."""

from __future__ import annotations

import asyncio
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from server.store.migrate import upgrade

DEFAULT_POSTGRES_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"


@dataclass(frozen=True)
class BenchDatabase:
    backend: str  # "sqlite" | "postgresql"
    url: str  # what the server gets as DATABASE_URL
    sqlite_path: Path | None = None

    @property
    def postgres_dsn(self) -> str:
        """The plain libpq form asyncpg takes."""
        return self.url.replace("postgresql+asyncpg://", "postgresql://")


async def migrate(database: BenchDatabase) -> None:
    # alembic's env.py runs its own event loop: it must not run on this one.
    await asyncio.to_thread(upgrade, database.url)


async def fresh_sqlite(root: Path, label: str) -> BenchDatabase:
    root.mkdir(parents=True, exist_ok=True)
    path = (root / f"{label}-{uuid.uuid4().hex[:8]}.db").resolve()
    database = BenchDatabase("sqlite", f"sqlite+aiosqlite:///{path}", path)
    await migrate(database)
    return database


def drop_sqlite(database: BenchDatabase) -> None:
    assert database.sqlite_path is not None
    for suffix in ("", "-wal", "-shm"):
        Path(f"{database.sqlite_path}{suffix}").unlink(missing_ok=True)


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


class PostgresServer:
    """The PostgreSQL the bench creates its databases on (trust auth, as in development and CI)."""

    def __init__(self, admin_url: str | None = None) -> None:
        url = admin_url or os.environ.get("BENCH_DATABASE_URL") or DEFAULT_POSTGRES_ADMIN
        self.admin_url = url.replace("postgresql+asyncpg://", "postgresql://")

    async def unavailable_reason(self) -> str | None:
        """None when the server answers; else why not, to print instead of its figures."""
        try:
            connection = await asyncpg.connect(self.admin_url, timeout=3)
        except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
            return f"PostgreSQL at {urlsplit(self.admin_url).netloc} does not answer ({type(exc).__name__}: {exc})"
        await connection.close()
        return None

    async def _admin(self, sql: str) -> None:
        connection = await asyncpg.connect(self.admin_url)
        try:
            await connection.execute(sql)
        finally:
            await connection.close()

    async def fresh(self, label: str) -> BenchDatabase:
        name = f"engage_bench_{label}_{uuid.uuid4().hex[:8]}"
        await self._admin(f'CREATE DATABASE "{name}"')
        database = BenchDatabase("postgresql", _with_database(self.admin_url, name))
        await migrate(database)
        return database

    async def autovacuum(self) -> str:
        connection = await asyncpg.connect(self.admin_url)
        try:
            return str(await connection.fetchval("SHOW autovacuum"))
        finally:
            await connection.close()

    async def backend_pids(self, database: BenchDatabase) -> set[int]:
        """The server processes PostgreSQL runs for the connections to this database (the server's pool)."""
        connection = await asyncpg.connect(self.admin_url)
        try:
            rows = await connection.fetch(
                "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
                urlsplit(database.url).path.lstrip("/"))
            return {row["pid"] for row in rows}
        finally:
            await connection.close()

    async def drop(self, database: BenchDatabase) -> None:
        name = urlsplit(database.url).path.lstrip("/")
        await self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

