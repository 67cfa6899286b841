"""Fresh databases per test, cloned from one migrated template per run (real migrations, fast)."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from server.store.migrate import upgrade

DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"


def postgres_admin_url() -> str | None:
    """TEST_DATABASE_URL, else the local PostgreSQL if it answers on 127.0.0.1:5432."""
    explicit = os.environ.get("TEST_DATABASE_URL")
    if explicit:
        return explicit
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=0.5):
            return DEFAULT_POSTGRES
    except OSError:
        return None


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


def async_database_url(admin_url: str, name: str) -> str:
    """Database `name` on the admin URL's server, as the application connects to it (asyncpg)."""
    return with_database(admin_url, name).replace("postgresql://", "postgresql+asyncpg://")


async def admin_sql(admin_url: str, sql: str) -> None:
    """One statement on its own connection (CREATE / DROP DATABASE cannot run in a transaction)."""
    connection = await asyncpg.connect(admin_url)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


class SqliteDatabases:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.template = root / "template.db"

    async def prepare(self) -> None:
        await asyncio.to_thread(upgrade, f"sqlite+aiosqlite:///{self.template}")

    async def fresh(self) -> str:
        path = self.root / f"test-{uuid.uuid4().hex}.db"
        shutil.copyfile(self.template, path)
        return f"sqlite+aiosqlite:///{path}"

    async def drop(self, url: str) -> None:
        Path(url.removeprefix("sqlite+aiosqlite:///")).unlink(missing_ok=True)

    async def close(self) -> None:
        return None


class PostgresDatabases:
    """A database per test, cloned from a migrated template. The next test's database is cloned, and the
    last test's dropped, in the background while a test runs: each costs PostgreSQL a few hundred
    milliseconds of writing and syncing files, which would otherwise sit between every two tests."""

    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url.replace("postgresql+asyncpg://", "postgresql://")
        self.template_name = f"engage_template_{uuid.uuid4().hex[:10]}"
        self._spare: asyncio.Task[str] | None = None
        self._drops: set[asyncio.Task[None]] = set()

    async def admin(self, sql: str) -> None:
        await admin_sql(self.admin_url, sql)

    async def prepare(self) -> None:
        await self.admin(f'CREATE DATABASE "{self.template_name}"')
        await asyncio.to_thread(upgrade, with_database(self.admin_url, self.template_name))

    async def _clone(self) -> str:
        name = f"engage_test_{uuid.uuid4().hex[:16]}"
        await self.admin(f'CREATE DATABASE "{name}" TEMPLATE "{self.template_name}"')
        return async_database_url(self.admin_url, name)

    async def fresh(self) -> str:
        spare, self._spare = self._spare, asyncio.ensure_future(self._clone())
        return await (spare if spare is not None else self._clone())

    async def _drop(self, url: str) -> None:
        name = urlsplit(url).path.lstrip("/")
        await self.admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    async def drop(self, url: str) -> None:
        task = asyncio.ensure_future(self._drop(url))
        self._drops.add(task)
        task.add_done_callback(self._forget_dropped)

    def _forget_dropped(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is None:
            self._drops.discard(task)  # a failed one stays, for close() to raise

    async def close(self) -> None:
        await asyncio.gather(*self._drops)
        if self._spare is not None:
            await self._drop(await self._spare)
        await self.admin(f'DROP DATABASE IF EXISTS "{self.template_name}" WITH (FORCE)')
