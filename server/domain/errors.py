"""Domain errors: each carries a stable code that clients can rely on (documented in docs/errors.md)."""

from __future__ import annotations

from dataclasses import dataclass, field

from server.domain.reasons import Reason


@dataclass(frozen=True)
class FieldViolation:
    field: str
    description: str


@dataclass
class DomainError(Exception):
    """Base of every error the service layer raises on purpose; the RPC layer maps the kind."""

    code: Reason | str  # a Reason member, or its value (turned into the member; anything else: ValueError)
    message: str
    violations: list[FieldViolation] = field(default_factory=list)
    metadata: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Only documented codes: an unknown one is a bug here, not a new code for clients to learn.
        # A lookup by value: Enum runs Reason.__new__ (code, meaning) only to make the members.
        self.code = Reason(self.code)  # type: ignore[call-arg]

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


class InvalidArgument(DomainError):
    pass


class NotFound(DomainError):
    pass


class AlreadyExists(DomainError):
    pass


class FailedPrecondition(DomainError):
    pass


class PermissionDenied(DomainError):
    pass


class ResourceExhausted(DomainError):
    """A quota that this caller has used up for now; metadata says when to try again."""


class Unauthenticated(DomainError):
    pass


def not_found(kind: str, identifier: str) -> NotFound:
    # The same answer whether the resource does not exist or belongs to another tenant.
    return NotFound(f"{kind.upper()}_NOT_FOUND", f"{kind} '{identifier}' was not found",
                    metadata={"resource": kind, "id": identifier})
