"""engagectl reports export: the reporting views as CSV and JSON Lines files, fetched a few rows a page so
that every export spans several pages, with docs/reports.md's columns exactly."""

import asyncio
import csv
import datetime as dt
import io
import json
import os
import sys
from decimal import Decimal

from server.domain.auth import Role
from server.domain.reporting.export_tables import CUSTOMER_HISTORY, TRANSFERS
from server.store.goals_models import GoalRow
from server.store.uow import UnitOfWork
from tests.conftest import REPO_ROOT
from tests.support.goal_reports import seed_goal_reports

GOALS_CSV = """\
customer_id,account_id,goal_id,display_name,category,target,saved,currency,percent,state,create_time,achieve_time,\
archive_time,target_date,milestones_reached
c1,c1-sav,g-a,Holiday,TRAVEL,1000.00,250.00,EUR,25.0,ACTIVE,2025-01-10T09:00:00Z,,,,"[""percent:25""]"
c1,c1-sav,g-b,Rainy day,EMERGENCY,500.00,500.00,EUR,100.0,ACHIEVED,2025-01-12T09:00:00Z,2025-02-01T10:00:00Z,,\
2026-06-30,"[""percent:25"",""percent:50"",""percent:75"",""percent:100""]"
c1,c1-sav,g-c,Car,CAR,8000.00,0.00,EUR,0.0,ARCHIVED,2025-01-15T09:00:00Z,,2025-03-01T10:00:00Z,,[]
c2,c2-chk,g-d,Flat,HOME,20000.00,1234.50,USD,6.2,PAUSED,2025-01-11T23:30:00Z,,,,[]
c2,c2-chk,g-e,Wedding,WEDDING,3000.00,2999.99,USD,99.9,ACTIVE,2025-02-20T09:00:00Z,,,,[]
"""


async def test_goals_export_as_csv_over_several_pages(engagectl, server, services, tenant, tmp_path):
    await seed_goal_reports(services.database, tenant)
    admin = server.token(tenant, Role.BANK_ADMIN, "lisa")
    shown = await engagectl("reports", "export", "goals", "--page-size", "2", token=admin)
    assert shown.exit_code == 0, shown.stderr
    assert shown.stdout == GOALS_CSV

    written = tmp_path / "active.csv"
    result = await engagectl("reports", "export", "goals", "--state", "active", "--category", "TRAVEL",
                             "--file", str(written), "--page-size", "1", token=admin)
    assert (result.exit_code, result.stdout) == (0, "")
    assert written.read_text().splitlines() == GOALS_CSV.splitlines()[:2]


async def test_customer_history_export_as_json_lines(engagectl, server, services, tenant):
    await seed_goal_reports(services.database, tenant)
    shown = await engagectl("reports", "export", "customer-history", "--format", "jsonl", "--page-size", "5",
                            "--kind", "SIGNUP", "--kind", "GOAL_CREATED", "--kind", "GOAL_ACHIEVED",
                            token=server.token(tenant, Role.SERVICE, "warehouse"))
    assert shown.exit_code == 0, shown.stderr
    rows = [json.loads(line) for line in shown.stdout.splitlines()]
    assert [list(row) for row in rows] == [list(CUSTOMER_HISTORY.names)] * 4
    assert rows[0] == {"customer_id": "c1", "entry_id": "h01", "kind": "SIGNUP", "actor": "CUSTOMER",
                       "actor_id": "c1", "create_time": "2025-01-10T08:00:00Z", "goal_id": "",
                       "resource": "customers/c1/goalsEnrolment", "before": {},
                       "after": {"account_id": "c1-sav", "status": "ACTIVE"}}
    assert [(r["entry_id"], r["kind"], r["actor"]) for r in rows] == [
        ("h01", "SIGNUP", "CUSTOMER"), ("h02", "GOAL_CREATED", "CUSTOMER"), ("h03", "SIGNUP", "BANK_ADMIN"),
        ("h04", "GOAL_ACHIEVED", "SERVICE")]
    assert rows[1]["after"] == {"name": "Holiday", "target": "1000.00 EUR", "target_date": ""}


async def test_transfers_export_with_filters(engagectl, server, services, tenant):
    await seed_goal_reports(services.database, tenant)
    admin = server.token(tenant, Role.BANK_ADMIN, "lisa")
    shown = await engagectl("reports", "export", "transfers", "--page-size", "3", token=admin)
    assert shown.exit_code == 0, shown.stderr
    rows = list(csv.DictReader(io.StringIO(shown.stdout)))
    assert shown.stdout.splitlines()[0] == ",".join(TRANSFERS.names)
    assert [(r["kind"], r["programme_state"], r["transfer_state"]) for r in rows] == [
        ("PROGRAMME_CREATED", "ACTIVE", ""), ("PROGRAMME_CHANGED", "PAUSED", ""), ("PROGRAMME_CHANGED", "ACTIVE", ""),
        ("TRANSFER_REQUESTED", "ACTIVE", "REQUESTED"), ("TRANSFER_EXECUTED", "ACTIVE", "EXECUTED"),
        ("TRANSFER_REQUESTED", "ACTIVE", "REQUESTED"), ("TRANSFER_FAILED", "ACTIVE", "FAILED"),
        ("PROGRAMME_CANCELLED", "CANCELLED", "")]
    assert rows[4] == {
        "customer_id": "c1", "goal_id": "g-a", "funding_programme_id": "p1", "transfer_id": "t1",
        "kind": "TRANSFER_EXECUTED", "actor": "SERVICE", "event_time": "2025-04-02T06:00:00Z",
        "programme_state": "ACTIVE", "amount": "50.00", "currency": "EUR", "source_account_id": "c1-chk",
        "target_account_id": "c1-sav", "transfer_state": "EXECUTED", "period_key": "2025-04", "failure_reason": "",
        "transaction_id": "bank-tx-1"}
    assert (rows[0]["amount"], rows[0]["currency"]) == ("", "")

    failed = await engagectl("reports", "export", "transfers", "--kind", "TRANSFER_FAILED", "--from", "2025-05-01",
                             "--to", "2025-05-31", "--format", "jsonl", token=admin)
    assert [(r["transfer_id"], r["failure_reason"]) for r in map(json.loads, failed.stdout.splitlines())] == [
        ("t2", "insufficient funds")]


async def test_a_user_token_and_wrong_options_are_refused(engagectl, server, tenant):
    refused = await engagectl("reports", "export", "goals", token=server.token(tenant, Role.USER, "c1"))
    assert refused.exit_code == 1 and refused.stdout == ""
    assert "PERMISSION_DENIED" in refused.stderr and "ROLE_NOT_ALLOWED" in refused.stderr
    admin = server.token(tenant, Role.BANK_ADMIN, "lisa")
    for args in (["customer-history", "--state", "ACTIVE"], ["goals", "--kind", "SIGNUP"],
                 ["goals", "--state", "DONE"], ["transfers", "--from", "2025-13-01"], ["everything"]):
        wrong = await engagectl("reports", "export", *args, token=admin)
        assert wrong.exit_code == 2, (args, wrong.stderr)


async def test_an_export_into_a_reader_that_stops_early_ends_quietly(server, services, tenant):
    # More than a pipe holds (64 KiB), so that the export is still writing when `head` has gone.
    async with UnitOfWork(services.database, tenant) as uow:
        for n in range(1500):
            created = dt.datetime(2025, 1, 1, tzinfo=dt.UTC) + dt.timedelta(minutes=n)
            uow.session.add(GoalRow(
                tenant_id=tenant, goal_id=f"goal-{n:05d}", customer_id="c1", account_id="c1-sav",
                name="A goal with a name long enough to fill a pipe", category="CUSTOM", target=Decimal(1000),
                saved=Decimal(10), currency="EUR", priority=1, status="ACTIVE", milestones=[], created_at=created,
                updated_at=created))
        await uow.commit()
    environment = {**os.environ, "ENGAGE_ADDRESS": server.address,
                   "ENGAGE_TOKEN": server.token(tenant, Role.BANK_ADMIN, "ops")}
    process = await asyncio.create_subprocess_exec(
        "bash", "-c", f"{sys.executable} -m clients.engagectl.main reports export goals --page-size 100 | head -2; "
                      "echo ${PIPESTATUS[0]} >&2",
        cwd=REPO_ROOT, env=environment, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), 120)
    assert out.decode().splitlines()[1].startswith("c1,c1-sav,goal-00000,")
    assert err.decode() == "1\n"
