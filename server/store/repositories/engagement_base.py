"""Shared reads of the engagement set-up tables: get by id (one or many), and list a page ordered by id."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select

from server.store.driver import rowcount
from server.store.keyset import keyset_page
from server.store.repositories.base import TenantRepository


class IdKeyedRepository(TenantRepository):
    """A table keyed by (tenant_id, <id column>); subclasses name the model and the id column."""

    model: Any
    id_column: str

    async def _row(self, identifier: str) -> Any:
        return await self.session.get(self.model, (self.tenant_id, identifier))

    async def _rows(self, identifiers: set[str]) -> list[Any]:
        """The rows of the named ids that exist, in one query."""
        if not identifiers:
            return []
        column = getattr(self.model, self.id_column)
        return list(await self.session.scalars(select(self.model).where(
            self.model.tenant_id == self.tenant_id, column.in_(identifiers))))

    async def _page(self, after: str | None, limit: int, *conditions: Any) -> list[Any]:
        column = getattr(self.model, self.id_column)
        query = select(self.model).where(self.model.tenant_id == self.tenant_id, *conditions)
        return list(await self.session.scalars(keyset_page(query, [column], (after,) if after else None, limit)))

    async def _delete(self, identifier: str) -> bool:
        column = getattr(self.model, self.id_column)
        result = await self.session.execute(
            delete(self.model).where(self.model.tenant_id == self.tenant_id, column == identifier))
        return bool(rowcount(result))
