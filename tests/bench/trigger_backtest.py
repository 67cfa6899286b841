"""One trigger backtest timed (server.services.triggers.backtest, no gRPC): the backtest part of the
triggers suite (tests/bench/triggers.py), over the history tests/bench/trigger_backtest_seed.py writes.
The tenant must exist."""

from __future__ import annotations

import contextlib
import datetime as dt
import time
from typing import Any

from server.domain.auth import Caller, Role
from server.domain.errors import AlreadyExists
from server.domain.triggers.rules import Audience, BankNotificationAction, RuleDefinition
from server.services.triggers.backtest import TriggerBacktestService
from server.services.triggers.rules import TriggerRulesService
from server.store.db import Database

# The seeded accounts (a salary on the 1st, small debits) cross it now and then, mostly early in the
# history while their balances are low.
CONDITION = "average_collected_balance(30d) < 1000"
RULE_ID = "bench_backtest"


async def time_backtest(database: Database, tenant_id: str, *, start: dt.date, end: dt.date,
                        condition: str = CONDITION) -> dict[str, Any]:
    """Creates the rule (once), then times one BacktestTriggerRule of it over [start, end]."""
    admin = Caller(tenant_id=tenant_id, subject="bench-admin", role=Role.BANK_ADMIN)
    with contextlib.suppress(AlreadyExists):
        await TriggerRulesService(database).create_rule(admin, RULE_ID, RuleDefinition(
            display_name="Bench backtest", description="", audience=Audience.everyone(), condition=condition,
            actions=(BankNotificationAction("bench"),)))
    began = time.perf_counter()
    result = await TriggerBacktestService(database).backtest(admin, RULE_ID, start, end)
    seconds = time.perf_counter() - began
    return {"seconds": round(seconds, 3), "days": (end - start).days + 1, "firings": result["firingCount"],
            "customers_fired": result["customerCount"]}

