"""engagectl goals as an operator runs it, against the real server: enrolment, goals and history."""

import json

from engage.goals.v1 import goals_service_pb2 as pb
from server.domain.auth import Role
from tests.e2e.test_goals_management import enrolled


async def test_enrol_create_update_archive_and_history(engagectl, server, tenant, service_stubs):
    await enrolled(service_stubs, "alice", balance="1200.00")
    # Enrolled by the bank's app once, then cancelled: engagectl enrols the customer again.
    await service_stubs.goals.CancelGoalsEnrolment(pb.CancelGoalsEnrolmentRequest(
        name="customers/alice/goalsEnrolment"))
    admin = server.token(tenant, Role.BANK_ADMIN, "ops")

    enrolment = await engagectl("--json", "goals", "enrol", "alice", "--account", "alice-sav", "--no-tracker",
                                token=admin)
    assert enrolment.exit_code == 0, enrolment.stderr
    shown = json.loads(enrolment.stdout)
    assert (shown["state"], shown["settings"].get("tracker_insights", False)) == ("ACTIVE", False)

    created = await engagectl("--json", "goals", "create", "alice", "--name", "Holiday", "--category", "travel",
                              "--target", "1000", "--target-date", "2099-07-01", token=admin)
    assert created.exit_code == 0, created.stderr
    goal = json.loads(created.stdout)
    goal_id = goal["name"].rpartition("/")[2]
    assert (goal["category"], goal["state"], goal["saved"]["amount"], goal["percent"]) == \
        ("TRAVEL", "ACHIEVED", "1000.00", "100.0")

    raised = await engagectl("--json", "goals", "update", "alice", goal_id, "--target", "1500.00", "--no-target-date",
                             token=admin)
    assert raised.exit_code == 0, raised.stderr
    assert (json.loads(raised.stdout)["percent"], "target_date" in json.loads(raised.stdout)) == ("80.0", False)

    listed = await engagectl("goals", "list", "alice", token=admin)
    assert listed.exit_code == 0 and "Holiday" in listed.stdout and "1,200.00 EUR" in listed.stdout

    paused = await engagectl("goals", "pause", "alice", token=admin)
    assert paused.exit_code == 0, paused.stderr
    again = await engagectl("goals", "pause", "alice", token=admin)
    assert again.exit_code != 0 and "ENROLMENT_TRANSITION_NOT_ALLOWED" in again.stderr
    assert (await engagectl("goals", "settings", "alice", "--tracker", token=admin)).exit_code == 0
    assert (await engagectl("goals", "resume", "alice", token=admin)).exit_code == 0
    assert (await engagectl("goals", "archive", "alice", goal_id, token=admin)).exit_code == 0

    history = await engagectl("--json", "goals", "history", "alice", "--kind", "GOAL_EDITED", "--kind",
                              "goal_archived", token=admin)
    assert history.exit_code == 0, history.stderr
    entries = json.loads(history.stdout)
    assert [e["kind"] for e in entries] == ["GOAL_ARCHIVED", "GOAL_EDITED"]
    # Raising an achieved goal's target reopens it.
    assert entries[1]["after"] == {"target": "1500.00 EUR", "target_date": "", "status": "ACTIVE"}
    assert entries[1]["actor"] == "BANK_ADMIN" and entries[1]["actor_id"] == "ops"
    table = await engagectl("goals", "history", "alice", "--from", "2020-01-01", token=admin)
    assert table.exit_code == 0 and "MODIFY_SETTINGS" in table.stdout
    every = await engagectl("--json", "goals", "list", "alice", "--archived", token=admin)
    assert [g["state"] for g in json.loads(every.stdout)] == ["ARCHIVED"]
