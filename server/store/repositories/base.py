"""What every repository shares: a session and the one tenant it may touch."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession


class TenantRepository:
    """Bound to one tenant at construction: no method takes or can reach another tenant's rows."""

    def __init__(self, session: AsyncSession, tenant_id: str) -> None:
        if not tenant_id:
            raise ValueError("a repository needs a tenant")
        self.session = session
        self.tenant_id = tenant_id

    def upsert(self, table: Any) -> Any:
        """INSERT with ON CONFLICT support, in the current database's dialect."""
        return dialect_insert(self.session.bind.dialect.name)(table)


def dialect_insert(dialect: str) -> Any:
    """The insert() with ON CONFLICT support of a dialect, for statements built once per dialect."""
    return postgresql.insert if dialect == "postgresql" else sqlite.insert
