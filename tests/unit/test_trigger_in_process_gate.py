"""The server's gate of its own trigger_rules runs (docs/triggers.md#latency): a bulk load, a backfill and
a tenant known to have no live rule are left to the workers at once, without I/O."""

from __future__ import annotations

import datetime as dt
from typing import Any

from server.domain.triggers.rules import Audience, AudienceKind, RuleDefinition, RuleStatus, TriggerRule
from server.services.triggers.live_rules import IN_PROCESS_MAX_POSTINGS, InProcessTriggers
from server.store.event_payloads import transactions_posted_payload

NOW = dt.datetime(2026, 12, 3, 12, tzinfo=dt.UTC)


def _written(postings: int, live: bool = True) -> dict[int, tuple[str, dict[str, Any]]]:
    return {1: ("TransactionsPosted", transactions_posted_payload([[]] * postings, live))}


def _active(window: tuple[dt.datetime | None, dt.datetime | None]) -> TriggerRule:
    definition = RuleDefinition("r", "", Audience(AudienceKind.ALL), "balance < 100", (), *window)
    return TriggerRule("r", definition, RuleStatus.ACTIVE, 1, "ana", "ana", NOW, NOW)


def _gate(windows: tuple[tuple[dt.datetime | None, dt.datetime | None], ...] | None,
          elapsed: float = 0.0) -> InProcessTriggers:
    """A gate that read, at monotonic 0, the tenant's ACTIVE rules with these windows (None: read none)."""
    gate = InProcessTriggers(database=None, clock=lambda: NOW, monotonic=lambda: elapsed)  # type: ignore[arg-type]
    if windows is not None:
        gate._rules["bank-1"] = (0.0, tuple(_active(window) for window in windows))
    return gate


def test_a_small_live_batch_of_a_tenant_not_known_yet_is_run_here():
    assert not _gate(None).declines("bank-1", _written(1))
    assert not _gate(None).declines("bank-1", _written(IN_PROCESS_MAX_POSTINGS))


def test_a_bulk_load_a_backfill_and_other_events_are_left_to_the_workers():
    assert _gate(None).declines("bank-1", _written(IN_PROCESS_MAX_POSTINGS + 1))
    assert _gate(None).declines("bank-1", _written(5, live=False))
    assert _gate(None).declines("bank-1", {2: ("BalancesRecorded", {"balances": []})})


def test_a_tenant_known_without_a_live_rule_is_left_to_the_workers_until_the_knowledge_expires():
    assert _gate(()).declines("bank-1", _written(1))
    later = NOW + dt.timedelta(days=1)
    assert _gate(((later, None),)).declines("bank-1", _written(1))  # its only rule's window opens tomorrow
    assert not _gate(((None, later),)).declines("bank-1", _written(1))
    assert not _gate((), elapsed=60.0).declines("bank-1", _written(1))  # read again before the run
