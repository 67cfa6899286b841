"""An audience's selection (server.domain.personas.audiences.Selection) as one SQL condition on a
customer id: EXISTS over the kept persona_members for each persona, AND (ALL) or OR (ANY) over the
included, AND NOT over the excluded. Each EXISTS is a lookup on persona_members' primary key."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_, exists, false, not_, or_, true

from server.domain.personas.audiences import AudienceMode, Selection
from server.store.personas_models import PersonaMemberRow


def selection_condition(tenant_id: str, selection: Selection | str, customer_id: Any) -> ColumnElement[bool]:
    """True for the customers (`customer_id`: a column of the outer query, or a value) the selection takes."""
    if isinstance(selection, str):
        return exists().where(PersonaMemberRow.tenant_id == tenant_id, PersonaMemberRow.persona_id == selection,
                              PersonaMemberRow.customer_id == customer_id)
    included = [selection_condition(tenant_id, part, customer_id) for part in selection.include]
    if not included:
        return false()  # an audience that is no longer stored
    condition = and_(*included) if selection.mode is AudienceMode.ALL else or_(*included)
    excluded = [selection_condition(tenant_id, part, customer_id) for part in selection.exclude]
    return and_(condition, not_(or_(*excluded))) if excluded else and_(condition, true())
