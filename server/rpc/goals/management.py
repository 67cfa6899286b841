"""Enrolment, goals and history RPCs: proto <-> domain translation only."""

from __future__ import annotations

from typing import Any

import grpc

from engage.goals.v1 import goals_service_pb2 as pb
from server.domain import resource_names
from server.domain.errors import FieldViolation, InvalidArgument
from server.domain.events import Money
from server.domain.goals.enrolment import Enrolment, GoalSettings
from server.domain.goals.history import HistoryKind
from server.domain.goals.model import MIN_PRIORITY, GoalCategory, GoalDraft, GoalStatus
from server.domain.goals.tracker import progress_percent
from server.domain.pagination import instant_and_text_key, int64_key, page_request
from server.rpc.context import current_caller
from server.rpc.convert import (
    date_field,
    date_to_proto,
    enum_from_proto,
    money_field,
    money_to_proto,
    timestamp_to_proto,
    update_mask_paths,
)
from server.services.goals.management import (
    GOALS_LIST,
    HISTORY_LIST,
    SETTINGS_FIELDS,
    GoalsService,
    enrolment_name,
    goal_name,
)
from server.store.repositories.goals import StoredGoal, StoredHistoryEntry

Context = grpc.aio.ServicerContext

_CATEGORY_BY_NUMBER = {int(number): name for name, number in pb.GoalCategory.items()}
_GOAL_STATE_BY_NUMBER = {int(number): name for name, number in pb.GoalState.items()}
_HISTORY_KIND_BY_NUMBER = {int(number): name for name, number in pb.HistoryKind.items()}
# UpdateGoal's mask paths -> the domain goal's fields.
_GOAL_PATHS = {"display_name": "name", "category": "category", "target": "target", "target_date": "target_date",
               "priority": "priority", "state": "status"}
_SETTINGS_PATHS = {"settings": SETTINGS_FIELDS, **{f"settings.{name}": (name,) for name in SETTINGS_FIELDS}}


def _goals_key(after: Any) -> list[Any]:
    """A goals page token's key: [priority, created ISO instant, goal id]."""
    if not (isinstance(after, list) and len(after) == 3):
        raise TypeError("not a [priority, instant, id] key")
    return [int64_key(after[0]), *instant_and_text_key(after[1:])]


def enrolment_to_proto(enrolment: Enrolment) -> pb.GoalsEnrolment:
    return pb.GoalsEnrolment(
        name=enrolment_name(enrolment.customer_id), account_id=enrolment.account_id,
        state=pb.EnrolmentState.Value(f"ENROLMENT_STATE_{enrolment.status.value}"),
        settings=pb.GoalSettings(**{name: getattr(enrolment.settings, name) for name in SETTINGS_FIELDS}),
        enroll_time=timestamp_to_proto(enrolment.enrolled_at), update_time=timestamp_to_proto(enrolment.updated_at))


def goal_to_proto(stored: StoredGoal) -> pb.Goal:
    goal = stored.goal
    return pb.Goal(
        name=goal_name(goal.customer_id, goal.goal_id), display_name=goal.name,
        category=pb.GoalCategory.Value(f"GOAL_CATEGORY_{goal.category.value}"),
        target=money_to_proto(goal.target.amount, goal.target.currency), target_date=date_to_proto(goal.target_date),
        priority=goal.priority, state=pb.GoalState.Value(f"GOAL_STATE_{goal.status.value}"),
        saved=money_to_proto(goal.saved, goal.target.currency),
        percent=str(progress_percent(goal.saved, goal.target.amount)), account_id=goal.account_id,
        create_time=timestamp_to_proto(goal.created_at), update_time=timestamp_to_proto(stored.updated_at),
        achieve_time=timestamp_to_proto(goal.achieved_at), archive_time=timestamp_to_proto(goal.archived_at),
        milestones_reached=list(stored.milestones))


def history_entry_to_proto(stored: StoredHistoryEntry) -> pb.HistoryEntry:
    entry = stored.entry
    return pb.HistoryEntry(
        name=resource_names.HISTORY_ENTRY.format(stored.customer_id, stored.entry_id),
        kind=pb.HistoryKind.Value(f"HISTORY_KIND_{entry.kind.value}"),
        actor=pb.Actor.Value(f"ACTOR_{entry.actor.value}"), actor_id=entry.actor_id,
        create_time=timestamp_to_proto(entry.at),
        goal=goal_name(stored.customer_id, entry.goal_id) if entry.goal_id else "", resource=stored.resource,
        before={k: v or "" for k, v in entry.before.items()}, after={k: v or "" for k, v in entry.after.items()})


def _settings(message: pb.GoalSettings) -> GoalSettings:
    return GoalSettings(**{name: getattr(message, name) for name in SETTINGS_FIELDS})


def _category(number: int) -> GoalCategory:
    return enum_from_proto(GoalCategory, "GOAL_CATEGORY_", number, _CATEGORY_BY_NUMBER, "goal.category")


def _target(goal: pb.Goal) -> Money:
    amount, currency = money_field(goal, "target", "goal.target")
    if amount is None:
        raise InvalidArgument("GOAL_TARGET_NOT_POSITIVE", "a goal needs a target",
                              violations=[FieldViolation("goal.target", "is required")])
    return Money(amount, currency or "")


class ManagementRpcs:
    goals: GoalsService

    # -- enrolment ------------------------------------------------------------------------------

    async def GetGoalsEnrolment(self, request: pb.GetGoalsEnrolmentRequest, context: Context) -> pb.GoalsEnrolment:
        customer_id = resource_names.GOALS_ENROLMENT.id(request.name, "name")
        return enrolment_to_proto(await self.goals.get_enrolment(current_caller(), customer_id))

    async def EnrollInGoals(self, request: pb.EnrollInGoalsRequest, context: Context) -> pb.GoalsEnrolment:
        customer_id = resource_names.CUSTOMER.id(request.parent, "parent")
        settings = _settings(request.settings) if request.HasField("settings") else None
        return enrolment_to_proto(await self.goals.enrol(current_caller(), customer_id, request.account_id or None,
                                                         settings, request.request_id))

    async def PauseGoalsEnrolment(self, request: pb.PauseGoalsEnrolmentRequest, context: Context
                                  ) -> pb.GoalsEnrolment:
        customer_id = resource_names.GOALS_ENROLMENT.id(request.name, "name")
        return enrolment_to_proto(await self.goals.pause(current_caller(), customer_id))

    async def ResumeGoalsEnrolment(self, request: pb.ResumeGoalsEnrolmentRequest, context: Context
                                   ) -> pb.GoalsEnrolment:
        customer_id = resource_names.GOALS_ENROLMENT.id(request.name, "name")
        return enrolment_to_proto(await self.goals.resume(current_caller(), customer_id))

    async def UpdateGoalsEnrolment(self, request: pb.UpdateGoalsEnrolmentRequest, context: Context
                                   ) -> pb.GoalsEnrolment:
        customer_id = resource_names.GOALS_ENROLMENT.id(request.goals_enrolment.name, "goals_enrolment.name")
        paths = update_mask_paths(request.update_mask, {*_SETTINGS_PATHS, "account_id"})
        body = request.goals_enrolment
        settings = {name: getattr(body.settings, name) for path in paths for name in _SETTINGS_PATHS.get(path, ())}
        account_id = body.account_id if "account_id" in paths else None
        return enrolment_to_proto(await self.goals.update_settings(current_caller(), customer_id, settings,
                                                                   account_id))

    async def CancelGoalsEnrolment(self, request: pb.CancelGoalsEnrolmentRequest, context: Context
                                   ) -> pb.GoalsEnrolment:
        customer_id = resource_names.GOALS_ENROLMENT.id(request.name, "name")
        return enrolment_to_proto(await self.goals.cancel(current_caller(), customer_id))

    # -- goals ----------------------------------------------------------------------------------

    async def CreateGoal(self, request: pb.CreateGoalRequest, context: Context) -> pb.Goal:
        customer_id = resource_names.CUSTOMER.id(request.parent, "parent")
        goal = request.goal
        draft = GoalDraft(name=goal.display_name, category=_category(goal.category), target=_target(goal),
                          target_date=date_field(goal, "target_date", "goal.target_date"),
                          priority=goal.priority or MIN_PRIORITY)
        return goal_to_proto(await self.goals.create_goal(current_caller(), customer_id, draft, request.request_id))

    async def GetGoal(self, request: pb.GetGoalRequest, context: Context) -> pb.Goal:
        customer_id, goal_id = resource_names.GOAL.parse(request.name, "name")
        return goal_to_proto(await self.goals.get_goal(current_caller(), customer_id, goal_id))

    async def ListGoals(self, request: pb.ListGoalsRequest, context: Context) -> pb.ListGoalsResponse:
        customer_id = resource_names.CUSTOMER.id(request.parent, "parent")
        page = await self.goals.list_goals(
            current_caller(), customer_id, page_request(request.page_size, request.page_token, GOALS_LIST, _goals_key),
            show_archived=request.show_archived)
        return pb.ListGoalsResponse(goals=[goal_to_proto(g) for g in page.items], next_page_token=page.next_page_token)

    async def UpdateGoal(self, request: pb.UpdateGoalRequest, context: Context) -> pb.Goal:
        customer_id, goal_id = resource_names.GOAL.parse(request.goal.name, "goal.name")
        paths = update_mask_paths(request.update_mask, _GOAL_PATHS)
        goal = request.goal
        fields: dict[str, Any] = {}
        for path in paths:
            if path == "display_name":
                fields["name"] = goal.display_name
            elif path == "category":
                fields["category"] = _category(goal.category)
            elif path == "target":
                fields["target"] = _target(goal)
            elif path == "target_date":
                fields["target_date"] = date_field(goal, "target_date", "goal.target_date")
            elif path == "priority":
                fields["priority"] = goal.priority
            elif path == "state":
                fields["status"] = enum_from_proto(GoalStatus, "GOAL_STATE_", goal.state, _GOAL_STATE_BY_NUMBER,
                                                   "goal.state")
        return goal_to_proto(await self.goals.update_goal(current_caller(), customer_id, goal_id, fields))

    async def DeleteGoal(self, request: pb.DeleteGoalRequest, context: Context) -> pb.Goal:
        customer_id, goal_id = resource_names.GOAL.parse(request.name, "name")
        return goal_to_proto(await self.goals.archive_goal(current_caller(), customer_id, goal_id))

    # -- history --------------------------------------------------------------------------------

    async def ListHistoryEntries(self, request: pb.ListHistoryEntriesRequest, context: Context
                                 ) -> pb.ListHistoryEntriesResponse:
        customer_id = resource_names.CUSTOMER.id(request.parent, "parent")
        kinds = [enum_from_proto(HistoryKind, "HISTORY_KIND_", number, _HISTORY_KIND_BY_NUMBER, "kinds")
                 for number in request.kinds]
        since = until = None
        if request.HasField("create_date_range"):
            since = date_field(request.create_date_range, "start_date", "create_date_range.start_date")
            until = date_field(request.create_date_range, "end_date", "create_date_range.end_date")
        page = await self.goals.list_history(
            current_caller(), customer_id,
            page_request(request.page_size, request.page_token, HISTORY_LIST, instant_and_text_key),
            kinds=kinds, since=since, until=until)
        return pb.ListHistoryEntriesResponse(history_entries=[history_entry_to_proto(e) for e in page.items],
                                             next_page_token=page.next_page_token)

