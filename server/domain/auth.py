"""Who is calling, and what each role may do. No token parsing here: that is infrastructure."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from server.domain.errors import PermissionDenied


class Role(enum.StrEnum):
    BANK_ADMIN = "bank_admin"  # bank-level configuration, campaigns, approvals, reports
    SERVICE = "service"  # ingestion, and calls on behalf of any user of the tenant
    USER = "user"  # only the user's own data


@dataclass(frozen=True)
class Caller:
    tenant_id: str
    subject: str
    role: Role

    def require_role(self, *allowed: Role) -> None:
        if self.role not in allowed:
            names = ", ".join(r.value for r in allowed)
            raise PermissionDenied("ROLE_NOT_ALLOWED", f"role '{self.role.value}' may not do this; needs {names}")

    def require_customer_access(self, customer_id: str) -> None:
        """A user reaches only their own customer record; services and bank admins reach all."""
        if self.role is Role.USER and customer_id != self.subject:
            raise PermissionDenied("NOT_YOUR_DATA", "a user token may only read the user's own data")

    @property
    def is_user(self) -> bool:
        return self.role is Role.USER
