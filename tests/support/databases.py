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


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


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
    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url.replace("postgresql+asyncpg://", "postgresql://")
        self.template_name = f"engage_template_{uuid.uuid4().hex[:10]}"

    async def admin(self, sql: str) -> None:
        connection = await asyncpg.connect(self.admin_url)
        try:
            await connection.execute(sql)
        finally:
            await connection.close()

    async def prepare(self) -> None:
        await self.admin(f'CREATE DATABASE "{self.template_name}"')
        await asyncio.to_thread(upgrade, _with_database(self.admin_url, self.template_name))

    async def fresh(self) -> str:
        name = f"engage_test_{uuid.uuid4().hex[:16]}"
        await self.admin(f'CREATE DATABASE "{name}" TEMPLATE "{self.template_name}"')
        return _with_database(self.admin_url, name).replace("postgresql://", "postgresql+asyncpg://")

    async def drop(self, url: str) -> None:
        name = urlsplit(url).path.lstrip("/")
        await self.admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    async def close(self) -> None:
        await self.admin(f'DROP DATABASE IF EXISTS "{self.template_name}" WITH (FORCE)')
