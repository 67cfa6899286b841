"""A tenant is one bank (the seed APIs call it cobrand or customer)."""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from dataclasses import dataclass

from server.domain.errors import FieldViolation, InvalidArgument

_TENANT_ID = re.compile(r"^[a-z][a-z0-9-]{1,62}$")


@dataclass(frozen=True)
class Tenant:
    tenant_id: str
    display_name: str
    time_zone: str
    created_at: dt.datetime
    # When an operator disabled it (its tokens are refused, its sends and scheduled work wait); None = enabled.
    disabled_at: dt.datetime | None = None

    @property
    def disabled(self) -> bool:
        return self.disabled_at is not None

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        """The tenant's time zone: its days (dates asked for, today, periods) are counted in it."""
        return zoneinfo.ZoneInfo(self.time_zone)


def check_new_tenant(tenant_id: str, display_name: str, time_zone: str) -> None:
    violations = []
    if not _TENANT_ID.match(tenant_id):
        violations.append(FieldViolation("tenant_id", "2-63 lower-case letters, digits or '-', starting with a letter"))
    if not display_name.strip() or len(display_name) > 200:
        violations.append(FieldViolation("display_name", "1-200 characters"))
    try:
        zoneinfo.ZoneInfo(time_zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        violations.append(FieldViolation("time_zone", f"'{time_zone}' is not an IANA time zone"))
    if violations:
        raise InvalidArgument("INVALID_TENANT", "tenant is invalid: " +
                              "; ".join(f"{v.field} {v.description}" for v in violations), violations=violations)
