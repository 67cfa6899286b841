"""Database refusals that are the request's fault, as the domain's errors (the caller gets
INVALID_ARGUMENT, not INTERNAL)."""

from __future__ import annotations

from server.domain.errors import DomainError, InvalidArgument

# PostgreSQL's text cannot hold U+0000 (22021 character_not_in_repertoire), nor can jsonb (22P05
# untranslatable_character). Protocol buffers' strings can, and a check of every string of every request
# (ingested transactions by the thousand included) would cost more than the rare refusal here.
_NUL_CHARACTER_STATES = frozenset({"22021", "22P05"})


def request_error(exc: BaseException | None) -> DomainError | None:
    """The domain error a database exception stands for, when the request caused it; else None."""
    seen = exc
    for _ in range(3):  # SQLAlchemy's error -> the driver adapter's -> asyncpg's
        if seen is None:
            return None
        if getattr(seen, "sqlstate", None) in _NUL_CHARACTER_STATES:
            return InvalidArgument("TEXT_NUL_CHARACTER",
                                   "text cannot contain the NUL character (U+0000); remove it from the request")
        seen = getattr(seen, "orig", None) or seen.__cause__
    return None
