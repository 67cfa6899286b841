"""engagectl reports html end to end: a small bank's insights, deliveries on several channels and in
several states, banners, rule firings and goals in PostgreSQL, the real command against the real server,
then the file opened in headless Chromium: no console or page error, nothing fetched from outside the
file, every chart drew marks, and a screenshot kept as an artifact (var/artifacts/report.png)."""

import datetime as dt
import json
import os
import re
import shutil
from pathlib import Path

import pytest

from engage.triggers.v1 import trigger_rules_service_pb2 as rules_pb
from server.domain.auth import Role
from server.store.goals_models import GoalMilestoneRow
from server.store.triggers_models import TriggerFiringRow
from server.store.uow import UnitOfWork
from tests.conftest import REPO_ROOT
from tests.support.browser import CHROMIUM, render
from tests.support.goal_reports import seed_goal_reports
from tests.support.metrics_seed import seed_metrics
from tests.support.triggers import low_balance_rule

ARTIFACT = REPO_ROOT / "var" / "artifacts" / "report.png"
CHARTS = ["chart-funnel", "chart-deliveries", "chart-personas", "chart-goal-progress", "chart-milestones",
          "chart-rule-firings", "chart-backtest"]

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists() and os.environ.get("CI") != "true",
                                reason=f"no {CHROMIUM}: `make install` installs Debian's chromium as root")


async def _seed_rule_with_firings(server, services, tenant) -> str:
    """A real rule (to replay) that fired three times in February 2026: more than the seed's r1 and r2."""
    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "lisa")) as admin:
        rule = await admin.trigger_rules.CreateTriggerRule(rules_pb.CreateTriggerRuleRequest(
            trigger_rule=low_balance_rule(), trigger_rule_id="low_balance"))
    rule_id = rule.name.removeprefix("triggerRules/")
    async with UnitOfWork(services.database, tenant) as uow:
        for n, day in enumerate((3, 3, 10)):
            fired = dt.datetime(2026, 2, day, 9, n, tzinfo=dt.UTC)
            uow.session.add(TriggerFiringRow(tenant_id=tenant, firing_id=f"lb{n}", rule_id=rule_id, version=1,
                                             customer_id="c1", account_id="c1-chk", fired_at=fired,
                                             dedupe_key=f"lb{n}", values={}, actions=[]))
        await uow.commit()
    return rule_id


async def _seed_milestones(services, tenant) -> None:
    """The milestones of the goal-report seed's goals (it keeps them on the goals only), as the tracker records them."""
    reached = {("g-a", "percent:25"): "2025-01-20", ("g-b", "percent:25"): "2025-01-14",
               ("g-b", "percent:50"): "2025-01-18", ("g-b", "percent:75"): "2025-01-25",
               ("g-b", "percent:100"): "2025-02-01"}
    async with UnitOfWork(services.database, tenant) as uow:
        for (goal_id, milestone), day in reached.items():
            uow.session.add(GoalMilestoneRow(tenant_id=tenant, goal_id=goal_id, milestone=milestone,
                                             reached_at=dt.datetime.fromisoformat(f"{day}T10:00:00+00:00")))
        await uow.commit()


async def test_the_report_opens_in_chromium_with_every_chart_drawn(engagectl, server, services, tenant, tmp_path):
    await seed_metrics(services.database, tenant)
    await seed_goal_reports(services.database, tenant)
    await _seed_milestones(services, tenant)
    rule_id = await _seed_rule_with_firings(server, services, tenant)
    report = tmp_path / "report.html"

    result = await engagectl("reports", "html", "--period", "2025-01..2026-02", "-o", str(report), "--json",
                             token=server.token(tenant, Role.BANK_ADMIN, "lisa"))
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert (summary["file"], summary["tenant"], summary["period_start"], summary["period_end"]) == (
        str(report), tenant, "2025-01-01", "2026-02-28")
    assert summary["bytes"] == report.stat().st_size < 5_000_000
    # The period is 14 months long: the backtest replays its last 366 days.
    assert summary["remarks"] == ["The backtest replays the period's last 366 days."]

    page = report.read_text()
    assert f'<dd id="tenant">{tenant}</dd>' in page
    assert "2025-01-01 to 2026-02-28 (the bank's time zone;\n    by month)" in page
    assert f"Backtest of triggerRules/{rule_id} (version 1) beside its live firings" in page
    problems = re.findall(r"<tr><td>(\w+)</td><td>(\w+)</td><td>([^<]*)</td>\s*<td class=\"count\">(\d+)</td>",
                          page)
    assert problems == [("EMAIL", "DEAD_LETTER", "SMTP_550", "1"), ("SMS", "FAILED", "INVALID_NUMBER", "1")]

    rendered = await render(report, ARTIFACT)
    print(f"screenshot: {rendered.screenshot}")
    shutil.copy(report, ARTIFACT.with_suffix(".html"))
    assert (rendered.console_errors, rendered.page_errors, rendered.outside_requests) == ([], [], [])
    assert rendered.charts_drawn == str(len(CHARTS))
    assert list(rendered.marks) == CHARTS
    assert [chart for chart, marks in rendered.marks.items() if marks == 0] == []
    assert ARTIFACT.stat().st_size > 0

    # A service token reads every view but may not replay a rule: the report says so and goes on. A
    # customer's token reads none of it.
    service = await engagectl("reports", "html", "--period", "2025-01..2026-02", "-o", str(tmp_path / "s.html"),
                              "--json", token=server.token(tenant, Role.SERVICE, "warehouse"))
    assert service.exit_code == 0, service.stderr
    [remark] = [r for r in json.loads(service.stdout)["remarks"] if "refused" in r]
    assert remark.startswith(f"The backtest of triggerRules/{rule_id} was refused (PERMISSION_DENIED")
    customer = await engagectl("reports", "html", "--period", "2026-01", "-o", str(tmp_path / "c.html"),
                               token=server.token(tenant, Role.USER, "c1"))
    assert (customer.exit_code, customer.stdout) == (1, "")
    assert "PERMISSION_DENIED" in customer.stderr and not (tmp_path / "c.html").exists()
