"""Goals management through the real server on both databases: the enrolment lifecycle and its refusals,
goals with their validation, allocation and idempotent creation, the customer history, and who may see
what (USER tokens, other banks)."""

import asyncio
import datetime as dt
import uuid

import grpc
from google.protobuf.field_mask_pb2 import FieldMask

from engage.goals.v1 import goals_service_pb2 as pb
from engage.ingest.v1 import ingest_service_pb2 as ingest
from engage.type.v1 import date_pb2, money_pb2
from server.domain.auth import Role
from tests.support.builders import account, amount_of, failure, seed_accounts, stream, transaction

FAILED_PRECONDITION = grpc.StatusCode.FAILED_PRECONDITION
INVALID_ARGUMENT = grpc.StatusCode.INVALID_ARGUMENT


def money(amount: str, currency: str = "EUR") -> money_pb2.Money:
    units, _, fraction = amount.partition(".")
    return money_pb2.Money(currency_code=currency, units=int(units), nanos=int((fraction or "0").ljust(9, "0")))


def enrolment(customer_id: str) -> str:
    return f"customers/{customer_id}/goalsEnrolment"


def goal(name: str = "Holiday", target: str = "1000.00", priority: int = 0, **fields) -> pb.Goal:
    return pb.Goal(display_name=name, category=fields.pop("category", pb.GOAL_CATEGORY_TRAVEL), target=money(target),
                   priority=priority, **fields)


async def enrolled(stubs, customer_id: str = "alice", balance: str = "0.00", **request) -> pb.GoalsEnrolment:
    """A customer with a savings account holding `balance`, enrolled with it."""
    await seed_accounts(stubs, customer_id)
    await stubs.ingest.UpsertAccount(ingest.UpsertAccountRequest(account=account(
        f"{customer_id}-sav", customer_id, type=ingest.ACCOUNT_TYPE_SAVINGS)))
    if balance != "0.00":
        await stubs.ingest.IngestTransactions(stream([transaction(f"{customer_id}-t1", f"{customer_id}-sav",
                                                                  balance)]))
    return await stubs.goals.EnrollInGoals(pb.EnrollInGoalsRequest(
        parent=f"customers/{customer_id}", account_id=f"{customer_id}-sav", **request))


async def create(stubs, customer_id: str = "alice", **fields) -> pb.Goal:
    request_id = fields.pop("request_id", "")
    return await stubs.goals.CreateGoal(pb.CreateGoalRequest(parent=f"customers/{customer_id}", goal=goal(**fields),
                                                             request_id=request_id))


async def history(stubs, customer_id: str = "alice", **request) -> list[pb.HistoryEntry]:
    response = await stubs.goals.ListHistoryEntries(pb.ListHistoryEntriesRequest(parent=f"customers/{customer_id}",
                                                                                 **request))
    return list(response.history_entries)


async def test_the_enrolment_lifecycle_and_its_refusals(service_stubs):
    stubs = service_stubs
    assert (await failure(stubs.goals.GetGoalsEnrolment(pb.GetGoalsEnrolmentRequest(name=enrolment("alice"))))
            )[:2] == (grpc.StatusCode.NOT_FOUND, "CUSTOMER_NOT_FOUND")
    first = await enrolled(stubs)
    assert (first.name, first.account_id, first.state) == (enrolment("alice"), "alice-sav",
                                                            pb.ENROLMENT_STATE_ACTIVE)
    # Unset settings: every insight on.
    assert (first.settings.tracker_insights, first.settings.milestone_insights, first.settings.at_risk_insights) \
        == (True, True, True)
    name = enrolment("alice")

    async def refused(call) -> tuple[grpc.StatusCode, str]:
        return (await failure(call))[:2]

    signup_again = stubs.goals.EnrollInGoals(pb.EnrollInGoalsRequest(parent="customers/alice", account_id="alice-sav"))
    assert await refused(signup_again) == (FAILED_PRECONDITION, "ENROLMENT_TRANSITION_NOT_ALLOWED")
    assert await refused(stubs.goals.ResumeGoalsEnrolment(pb.ResumeGoalsEnrolmentRequest(name=name))) == \
        (FAILED_PRECONDITION, "ENROLMENT_TRANSITION_NOT_ALLOWED")
    paused = await stubs.goals.PauseGoalsEnrolment(pb.PauseGoalsEnrolmentRequest(name=name))
    assert paused.state == pb.ENROLMENT_STATE_PAUSED
    assert await refused(stubs.goals.PauseGoalsEnrolment(pb.PauseGoalsEnrolmentRequest(name=name))) == \
        (FAILED_PRECONDITION, "ENROLMENT_TRANSITION_NOT_ALLOWED")
    # Settings change while paused; the status stays.
    changed = await stubs.goals.UpdateGoalsEnrolment(pb.UpdateGoalsEnrolmentRequest(
        goals_enrolment=pb.GoalsEnrolment(name=name, settings=pb.GoalSettings(tracker_insights=False)),
        update_mask=FieldMask(paths=["settings.tracker_insights"])))
    assert (changed.state, changed.settings.tracker_insights, changed.settings.milestone_insights) == \
        (pb.ENROLMENT_STATE_PAUSED, False, True)
    # The target account is chosen at signup.
    await seed_accounts(stubs, "alice", "alice-other")
    assert await refused(stubs.goals.UpdateGoalsEnrolment(pb.UpdateGoalsEnrolmentRequest(
        goals_enrolment=pb.GoalsEnrolment(name=name, account_id="alice-other"),
        update_mask=FieldMask(paths=["account_id"])))) == (INVALID_ARGUMENT, "ENROLMENT_ACCOUNT_INVALID")
    assert await refused(stubs.goals.UpdateGoalsEnrolment(pb.UpdateGoalsEnrolmentRequest(
        goals_enrolment=pb.GoalsEnrolment(name=name), update_mask=FieldMask(paths=["state"])))) == \
        (INVALID_ARGUMENT, "UPDATE_MASK_INVALID")
    resumed = await stubs.goals.ResumeGoalsEnrolment(pb.ResumeGoalsEnrolmentRequest(name=name))
    assert resumed.state == pb.ENROLMENT_STATE_ACTIVE
    cancelled = await stubs.goals.CancelGoalsEnrolment(pb.CancelGoalsEnrolmentRequest(name=name))
    assert cancelled.state == pb.ENROLMENT_STATE_CANCELLED
    for call in (stubs.goals.PauseGoalsEnrolment(pb.PauseGoalsEnrolmentRequest(name=name)),
                 stubs.goals.CancelGoalsEnrolment(pb.CancelGoalsEnrolmentRequest(name=name))):
        assert await refused(call) == (FAILED_PRECONDITION, "ENROLMENT_TRANSITION_NOT_ALLOWED")
    assert await refused(create(stubs)) == (FAILED_PRECONDITION, "NOT_ENROLLED")
    # A cancelled customer may enrol again; the account and settings are kept when not given.
    again = await stubs.goals.EnrollInGoals(pb.EnrollInGoalsRequest(parent="customers/alice"))
    assert (again.state, again.account_id, again.settings.tracker_insights) == \
        (pb.ENROLMENT_STATE_ACTIVE, "alice-sav", False)
    assert (await stubs.goals.GetGoalsEnrolment(pb.GetGoalsEnrolmentRequest(name=name))).state == \
        pb.ENROLMENT_STATE_ACTIVE

    kinds = [e.kind for e in await history(stubs)]
    assert kinds == [pb.HISTORY_KIND_SIGNUP, pb.HISTORY_KIND_CANCEL, pb.HISTORY_KIND_RESUME,
                     pb.HISTORY_KIND_MODIFY_SETTINGS, pb.HISTORY_KIND_PAUSE, pb.HISTORY_KIND_SIGNUP]
    settings_entry = (await history(stubs, kinds=[pb.HISTORY_KIND_MODIFY_SETTINGS]))[0]
    assert (dict(settings_entry.before), dict(settings_entry.after)) == \
        ({"tracker_insights": "true"}, {"tracker_insights": "false"})
    assert (settings_entry.actor, settings_entry.actor_id, settings_entry.resource) == \
        (pb.ACTOR_SERVICE, "loader", name)


async def test_enrolment_needs_the_customers_savings_or_checking_account(service_stubs):
    stubs = service_stubs
    await seed_accounts(stubs, "bob", "bob-chk")
    await seed_accounts(stubs, "carol", "carol-chk")
    await stubs.ingest.UpsertAccount(ingest.UpsertAccountRequest(account=account(
        "bob-card", "bob", type=ingest.ACCOUNT_TYPE_CREDIT)))
    for account_id in ("carol-chk", "bob-card", ""):
        code, reason, _ = await failure(stubs.goals.EnrollInGoals(pb.EnrollInGoalsRequest(
            parent="customers/bob", account_id=account_id)))
        assert (code, reason) == (INVALID_ARGUMENT, "ENROLMENT_ACCOUNT_INVALID"), account_id
    assert (await failure(stubs.goals.EnrollInGoals(pb.EnrollInGoalsRequest(
        parent="customers/bob", account_id="nope"))))[:2] == (grpc.StatusCode.NOT_FOUND, "ACCOUNT_NOT_FOUND")
    # A repeated request id is the first call's answer, not a refused second SIGNUP.
    first = await stubs.goals.EnrollInGoals(pb.EnrollInGoalsRequest(parent="customers/bob", account_id="bob-chk",
                                                                   request_id="r-1"))
    repeated = await stubs.goals.EnrollInGoals(pb.EnrollInGoalsRequest(parent="customers/bob", account_id="bob-chk",
                                                                      request_id="r-1"))
    assert repeated == first
    assert len(await history(stubs, "bob")) == 1


async def test_goals_are_validated_allocated_and_created_once(service_stubs):
    stubs = service_stubs
    await enrolled(stubs, balance="1500.00")
    cases = {
        "GOAL_NAME_INVALID": goal(name=" "),
        "GOAL_TARGET_NOT_POSITIVE": goal(target="0"),
        "GOAL_CURRENCY_MISMATCH": pb.Goal(display_name="x", category=pb.GOAL_CATEGORY_CAR,
                                          target=money("10.00", "USD")),
        "GOAL_PRIORITY_INVALID": goal(priority=101),
        "GOAL_TARGET_DATE_NOT_FUTURE": goal(target_date=date_pb2.Date(year=2020, month=1, day=1)),
        "INVALID_ENUM": goal(category=pb.GOAL_CATEGORY_UNSPECIFIED),
    }
    for reason, body in cases.items():
        code, found, _ = await failure(stubs.goals.CreateGoal(pb.CreateGoalRequest(parent="customers/alice",
                                                                                   goal=body)))
        assert (code, found) == (INVALID_ARGUMENT, reason)

    # Priority 0 means 1.
    assert (await create(stubs, name="Rainy day", target="1.00")).priority == 1
    await stubs.goals.DeleteGoal(pb.DeleteGoalRequest(name=(await stubs.goals.ListGoals(pb.ListGoalsRequest(
        parent="customers/alice"))).goals[0].name))
    holiday = await create(stubs, name="Holiday", target="1000.00", priority=3, request_id="g-1")
    # The balance fills it at once: achieved.
    assert (holiday.priority, holiday.state, amount_of(holiday.saved), holiday.percent, holiday.account_id) == \
        (3, pb.GOAL_STATE_ACHIEVED, "1000.00", "100.0", "alice-sav")
    [achieved] = await history(stubs, kinds=[pb.HISTORY_KIND_GOAL_ACHIEVED], page_size=1)
    assert (achieved.goal, achieved.actor, dict(achieved.after)) == \
        (holiday.name, pb.ACTOR_SERVICE, {"status": "ACHIEVED"})
    assert await create(stubs, name="Holiday", target="1000.00", priority=3, request_id="g-1") == holiday
    car = await create(stubs, name="Car", target="2000.00", priority=4)
    assert (amount_of(car.saved), car.percent) == ("500.00", "25.0")
    listed = await stubs.goals.ListGoals(pb.ListGoalsRequest(parent="customers/alice"))
    assert [g.display_name for g in listed.goals] == ["Holiday", "Car"]

    # Car first: the allocation follows.
    car = await stubs.goals.UpdateGoal(pb.UpdateGoalRequest(goal=pb.Goal(name=car.name, priority=1),
                                                            update_mask=FieldMask(paths=["priority"])))
    car = await stubs.goals.UpdateGoal(pb.UpdateGoalRequest(
        goal=pb.Goal(name=car.name, target_date=date_pb2.Date(year=2099, month=1, day=1), display_name="New car"),
        update_mask=FieldMask(paths=["target_date", "display_name"])))
    assert (car.display_name, car.target_date.year, amount_of(car.saved)) == ("New car", 2099, "1500.00")
    holiday = await stubs.goals.GetGoal(pb.GetGoalRequest(name=holiday.name))
    # It stays achieved when its money goes to a goal before it.
    assert (amount_of(holiday.saved), holiday.state) == ("0.00", pb.GOAL_STATE_ACHIEVED)
    # Unset target_date in the mask clears it.
    car = await stubs.goals.UpdateGoal(pb.UpdateGoalRequest(goal=pb.Goal(name=car.name),
                                                            update_mask=FieldMask(paths=["target_date"])))
    assert not car.HasField("target_date")
    code, reason, _ = await failure(stubs.goals.UpdateGoal(pb.UpdateGoalRequest(
        goal=pb.Goal(name=car.name, state=pb.GOAL_STATE_ARCHIVED), update_mask=FieldMask(paths=["state"]))))
    assert (code, reason) == (INVALID_ARGUMENT, "INVALID_ENUM")

    # Archiving gives its money back to the others.
    archived = await stubs.goals.DeleteGoal(pb.DeleteGoalRequest(name=car.name))
    assert (archived.state, amount_of(archived.saved), archived.HasField("archive_time")) == \
        (pb.GOAL_STATE_ARCHIVED, "0.00", True)
    assert amount_of((await stubs.goals.GetGoal(pb.GetGoalRequest(name=holiday.name))).saved) == "1000.00"
    for call in (stubs.goals.DeleteGoal(pb.DeleteGoalRequest(name=car.name)),
                 stubs.goals.UpdateGoal(pb.UpdateGoalRequest(goal=pb.Goal(name=car.name, display_name="x"),
                                                             update_mask=FieldMask(paths=["display_name"])))):
        assert (await failure(call))[:2] == (FAILED_PRECONDITION, "GOAL_ARCHIVED")
    visible = await stubs.goals.ListGoals(pb.ListGoalsRequest(parent="customers/alice"))
    everything = await stubs.goals.ListGoals(pb.ListGoalsRequest(parent="customers/alice", show_archived=True))
    assert ([g.display_name for g in visible.goals], len(everything.goals)) == (["Holiday"], 3)
    assert (await failure(stubs.goals.GetGoal(pb.GetGoalRequest(name="customers/alice/goals/nope"))))[:2] == \
        (grpc.StatusCode.NOT_FOUND, "GOAL_NOT_FOUND")

    # History: created, edited (before/after of the changed fields only), archived.
    entries = await history(stubs, kinds=[pb.HISTORY_KIND_GOAL_EDITED, pb.HISTORY_KIND_GOAL_ARCHIVED])
    assert [e.kind for e in entries] == [pb.HISTORY_KIND_GOAL_ARCHIVED, pb.HISTORY_KIND_GOAL_EDITED,
                                         pb.HISTORY_KIND_GOAL_EDITED, pb.HISTORY_KIND_GOAL_EDITED,
                                         pb.HISTORY_KIND_GOAL_ARCHIVED]
    assert (dict(entries[0].before), dict(entries[0].after)) == \
        ({"status": "ACTIVE", "saved": "1500.00"}, {"status": "ARCHIVED", "saved": "0.00"})
    assert (dict(entries[2].before), dict(entries[2].after)) == \
        ({"name": "Car", "target_date": ""}, {"name": "New car", "target_date": "2099-01-01"})
    assert entries[0].goal == car.name
    [created, *_] = await history(stubs, kinds=[pb.HISTORY_KIND_GOAL_CREATED], page_size=1)
    assert (dict(created.after)["target"], dict(created.before)) == ("2000.00 EUR", {})


async def test_the_active_goals_are_limited(server, service_stubs):
    await enrolled(service_stubs)
    limit = server.settings.goals_max_active
    for number in range(limit):
        last = await create(service_stubs, name=f"Goal {number}", target="10.00")
    assert (await failure(create(service_stubs, name="One more")))[:2] == (FAILED_PRECONDITION,
                                                                          "TOO_MANY_ACTIVE_GOALS")
    # A paused goal leaves room; reactivating it at the limit is refused.
    await service_stubs.goals.UpdateGoal(pb.UpdateGoalRequest(goal=pb.Goal(name=last.name, state=pb.GOAL_STATE_PAUSED),
                                                              update_mask=FieldMask(paths=["state"])))
    await create(service_stubs, name="One more")
    assert (await failure(service_stubs.goals.UpdateGoal(pb.UpdateGoalRequest(
        goal=pb.Goal(name=last.name, state=pb.GOAL_STATE_ACTIVE), update_mask=FieldMask(paths=["state"])))))[:2] == \
        (FAILED_PRECONDITION, "TOO_MANY_ACTIVE_GOALS")


async def test_a_paused_customer_keeps_the_money_and_cancel_archives_the_goals(service_stubs):
    stubs = service_stubs
    await enrolled(stubs, balance="300.00")
    created = await create(stubs, target="500.00")
    name = enrolment("alice")
    await stubs.goals.PauseGoalsEnrolment(pb.PauseGoalsEnrolmentRequest(name=name))
    kept = await stubs.goals.GetGoal(pb.GetGoalRequest(name=created.name))
    assert (kept.state, amount_of(kept.saved), kept.percent) == (pb.GOAL_STATE_ACTIVE, "300.00", "60.0")
    # Goals are managed while paused.
    await create(stubs, name="Second", target="50.00")

    await stubs.goals.CancelGoalsEnrolment(pb.CancelGoalsEnrolmentRequest(name=name))
    assert (await failure(stubs.goals.GetGoal(pb.GetGoalRequest(name=created.name))))[:2] == \
        (FAILED_PRECONDITION, "NOT_ENROLLED")
    archived = await history(stubs, kinds=[pb.HISTORY_KIND_GOAL_ARCHIVED])
    assert [(e.actor, e.actor_id, dict(e.after)["status"]) for e in archived] == \
        [(pb.ACTOR_SERVICE, "enrolment_cancel", "ARCHIVED")] * 2
    # A new SIGNUP starts without goals.
    await stubs.goals.EnrollInGoals(pb.EnrollInGoalsRequest(parent="customers/alice"))
    assert not (await stubs.goals.ListGoals(pb.ListGoalsRequest(parent="customers/alice"))).goals
    everything = await stubs.goals.ListGoals(pb.ListGoalsRequest(parent="customers/alice", show_archived=True))
    assert {g.state for g in everything.goals} == {pb.GOAL_STATE_ARCHIVED}


async def test_lists_page_through_and_history_filters_by_date(server, tenant, service_stubs):
    stubs = service_stubs
    await enrolled(stubs)
    for number in range(5):
        await create(stubs, name=f"Goal {number}", target="10.00", priority=5 - number)

    async def every_page(list_call, field: str) -> list:
        found, token = [], ""
        while True:
            page = await list_call(page_size=2, page_token=token)
            found += getattr(page, field)
            token = page.next_page_token
            if not token:
                return found

    goals = await every_page(lambda **p: stubs.goals.ListGoals(pb.ListGoalsRequest(parent="customers/alice", **p)),
                             "goals")
    assert [g.display_name for g in goals] == [f"Goal {n}" for n in (4, 3, 2, 1, 0)]
    entries = await every_page(lambda **p: stubs.goals.ListHistoryEntries(
        pb.ListHistoryEntriesRequest(parent="customers/alice", **p)), "history_entries")
    assert len(entries) == 6 and len({e.name for e in entries}) == 6
    assert [e.kind for e in entries][-1] == pb.HISTORY_KIND_SIGNUP
    today = dt.datetime.now(dt.UTC).date()
    date = date_pb2.Date
    for days, expected in ((0, 6), (1, 6), (-2, 0)):
        start = today + dt.timedelta(days=-1 if days >= 0 else days - 1)
        end = today + dt.timedelta(days=days)
        found = await history(stubs, create_date_range=date_pb2.DateRange(
            start_date=date(year=start.year, month=start.month, day=start.day),
            end_date=date(year=end.year, month=end.month, day=end.day)))
        assert len(found) == expected, days
    code, reason, fields = await failure(stubs.goals.ListGoals(pb.ListGoalsRequest(
        parent="customers/alice", page_token="bm90LWEtdG9rZW4")))
    assert (code, reason, fields) == (INVALID_ARGUMENT, "INVALID_PAGE_TOKEN", ["page_token"])


async def test_a_user_reaches_only_their_own_goals(server, tenant, service_stubs):
    await enrolled(service_stubs, "alice")
    await enrolled(service_stubs, "bob")
    bobs = await create(service_stubs, "bob")
    async with server.stubs(server.token(tenant, Role.USER, "alice")) as alice:
        mine = await create(alice, "alice", name="Mine")
        for call in (alice.goals.GetGoal(pb.GetGoalRequest(name=bobs.name)),
                     alice.goals.ListGoals(pb.ListGoalsRequest(parent="customers/bob")),
                     alice.goals.PauseGoalsEnrolment(pb.PauseGoalsEnrolmentRequest(name=enrolment("bob"))),
                     alice.goals.ListHistoryEntries(pb.ListHistoryEntriesRequest(parent="customers/bob")),
                     create(alice, "bob")):
            assert (await failure(call))[:2] == (grpc.StatusCode.PERMISSION_DENIED, "NOT_YOUR_DATA")
        [entry] = await history(alice, "alice", kinds=[pb.HISTORY_KIND_GOAL_CREATED])
        assert (entry.actor, entry.actor_id, entry.goal) == (pb.ACTOR_CUSTOMER, "alice", mine.name)
    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "ops")) as admin:
        await admin.goals.PauseGoalsEnrolment(pb.PauseGoalsEnrolmentRequest(name=enrolment("bob")))
        [entry] = await history(admin, "bob", kinds=[pb.HISTORY_KIND_PAUSE])
        assert (entry.actor, entry.actor_id) == (pb.ACTOR_BANK_ADMIN, "ops")


async def test_another_bank_can_neither_see_nor_touch_the_goals(server, services, service_stubs):
    await enrolled(service_stubs)
    mine = await create(service_stubs)
    other = (await services.tenants.create(f"other-{uuid.uuid4().hex[:8]}")).tenant_id
    async with server.stubs(server.token(other)) as intruder:
        for call in (intruder.goals.GetGoalsEnrolment(pb.GetGoalsEnrolmentRequest(name=enrolment("alice"))),
                     intruder.goals.GetGoal(pb.GetGoalRequest(name=mine.name)),
                     intruder.goals.DeleteGoal(pb.DeleteGoalRequest(name=mine.name)),
                     intruder.goals.PauseGoalsEnrolment(pb.PauseGoalsEnrolmentRequest(name=enrolment("alice"))),
                     intruder.goals.ListHistoryEntries(pb.ListHistoryEntriesRequest(parent="customers/alice"))):
            assert (await failure(call))[:2] == (grpc.StatusCode.NOT_FOUND, "CUSTOMER_NOT_FOUND")
    assert (await service_stubs.goals.GetGoal(pb.GetGoalRequest(name=mine.name))).state == pb.GOAL_STATE_ACTIVE


async def test_goals_created_at_the_same_moment_respect_the_limit(server, service_stubs):
    await enrolled(service_stubs)
    limit = server.settings.goals_max_active
    outcomes = await asyncio.gather(*(create(service_stubs, name=f"Goal {n}", target="10.00")
                                      for n in range(limit + 3)), return_exceptions=True)
    refused = [o for o in outcomes if isinstance(o, grpc.aio.AioRpcError)]
    assert (len(outcomes) - len(refused), {e.code() for e in refused}) == (limit, {FAILED_PRECONDITION})
    goals = (await service_stubs.goals.ListGoals(pb.ListGoalsRequest(parent="customers/alice"))).goals
    assert len(goals) == limit
