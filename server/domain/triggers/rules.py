"""Trigger rules (docs/triggers.md#rules): what a bank admin writes, the checks of each field, and the
lifecycle as pure functions. The condition is checked apart, by server.domain.triggers.parser.

DRAFT -(submit)-> PENDING_APPROVAL -(approve, by another admin)-> ACTIVE <-(pause/resume)-> PAUSED;
a rejection sends a pending rule back to DRAFT with its reason; any status but ARCHIVED may be archived,
for good. Every edit makes a new version; an edit of a rule that was submitted or approved sends it
(back) to PENDING_APPROVAL, so that no version fires without a second admin's approval."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from server.domain.errors import FailedPrecondition, FieldViolation, InvalidArgument, PermissionDenied
from server.domain.reasons import Reason

RULE_ID = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
REFERENCE_ID = re.compile(r"^[a-z][a-z0-9_]{0,39}$")  # persona and audience ids
PRODUCT_ID = re.compile(r"^[^/\x00-\x1f\x7f]{1,40}$")
EVENT_ID = re.compile(r"^[^/\x00-\x1f\x7f]{1,40}$")
CUSTOMER_ID = re.compile(r"^[^/\x00-\x1f\x7f]{1,64}$")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # tabs and line breaks are text

MAX_DISPLAY_NAME = 100
MAX_DESCRIPTION = 1000
MAX_AUDIENCE_CUSTOMERS = 1000
MAX_ACTIONS = 3
MAX_TITLE = 100
MAX_BODY = 500
MAX_CTA_LABEL = 40
MAX_CTA_URL = 2000
MIN_LIFETIME = dt.timedelta(hours=1)
MAX_LIFETIME = dt.timedelta(days=366)
MAX_NOTE = 500
MAX_MESSAGE_ATTRIBUTES = 20
MAX_ATTRIBUTE_NAME = 64
MAX_ATTRIBUTE_VALUE = 500
MAX_COOLDOWN = dt.timedelta(days=366)
DEFAULT_COOLDOWN = dt.timedelta(days=7)
MAX_REJECTION_REASON = 1000


class RuleStatus(enum.StrEnum):
    DRAFT = "DRAFT"
    PENDING_APPROVAL = "PENDING_APPROVAL"
    ACTIVE = "ACTIVE"
    PAUSED = "PAUSED"
    ARCHIVED = "ARCHIVED"


class AudienceKind(enum.StrEnum):
    ALL = "ALL"
    CUSTOMERS = "CUSTOMERS"
    PERSONA = "PERSONA"
    AUDIENCE = "AUDIENCE"


@dataclass(frozen=True)
class Audience:
    kind: AudienceKind
    customer_ids: tuple[str, ...] = ()  # CUSTOMERS
    reference_id: str = ""  # the persona's or audience's id

    @classmethod
    def everyone(cls) -> Audience:
        return cls(AudienceKind.ALL)


@dataclass(frozen=True)
class BannerAction:
    title: str
    body: str
    cta_label: str
    cta_url: str
    lifetime: dt.timedelta
    product_id: str | None = None


@dataclass(frozen=True)
class BankNotificationAction:
    note: str


@dataclass(frozen=True)
class MessageAction:
    event_id: str  # an Engagement event of the tenant (events/{id}), sent through its templates
    attributes: Mapping[str, str] = field(default_factory=dict)
    product_id: str | None = None


Action = BannerAction | BankNotificationAction | MessageAction


class ActionKind(enum.StrEnum):
    BANNER = "banner"
    BANK_NOTIFICATION = "bank_notification"
    MESSAGE = "message"


def kind_of(action: Action) -> ActionKind:
    if isinstance(action, BannerAction):
        return ActionKind.BANNER
    if isinstance(action, BankNotificationAction):
        return ActionKind.BANK_NOTIFICATION
    return ActionKind.MESSAGE


@dataclass(frozen=True)
class RuleDefinition:
    """What an editor writes: every field but the lifecycle's."""

    display_name: str
    description: str
    audience: Audience
    condition: str  # as written; the parser checks it (server.domain.triggers.parser)
    actions: tuple[Action, ...]
    active_from: dt.datetime | None = None
    active_until: dt.datetime | None = None
    cooldown: dt.timedelta = DEFAULT_COOLDOWN


@dataclass(frozen=True)
class TriggerRule:
    rule_id: str
    definition: RuleDefinition
    status: RuleStatus
    version: int
    created_by: str
    updated_by: str  # the current version's last editor: who may not approve it
    created_at: dt.datetime
    updated_at: dt.datetime
    approved_by: str | None = None
    approved_at: dt.datetime | None = None
    rejection_reason: str | None = None
    latest_backtest: Mapping[str, Any] | None = None  # the current version's, as BACKTEST stores it

    def is_live(self, at: dt.datetime) -> bool:
        """Whether the rule fires at `at`: approved, not paused, inside its active window."""
        d = self.definition
        return (self.status is RuleStatus.ACTIVE and (d.active_from is None or d.active_from <= at)
                and (d.active_until is None or at < d.active_until))


# -- field checks ------------------------------------------------------------------------------------

def check_rule_id(rule_id: str, field_path: str = "trigger_rule_id") -> None:
    if not RULE_ID.match(rule_id):
        raise InvalidArgument(Reason.TRIGGER_RULE_INVALID, f"{field_path} is not a rule id", violations=[
            FieldViolation(field_path, "a lower-case letter, then up to 39 lower-case letters, digits or _")])


def definition_violations(definition: RuleDefinition, prefix: str = "trigger_rule") -> list[FieldViolation]:
    """Every bad field of `definition` (the condition aside: the parser checks it), each named."""
    bad: list[FieldViolation] = []

    def text(path: str, value: str, limit: int, *, required: bool) -> None:
        if required and not value.strip():
            bad.append(FieldViolation(f"{prefix}.{path}", "is required"))
        elif len(value) > limit:
            bad.append(FieldViolation(f"{prefix}.{path}", f"at most {limit} characters"))
        elif _CONTROL.search(value):
            bad.append(FieldViolation(f"{prefix}.{path}", "has a control character"))

    text("display_name", definition.display_name, MAX_DISPLAY_NAME, required=True)
    text("description", definition.description, MAX_DESCRIPTION, required=False)
    bad += _audience_violations(definition.audience, f"{prefix}.audience")
    if not definition.condition.strip():
        bad.append(FieldViolation(f"{prefix}.condition", "is required"))
    if not 1 <= len(definition.actions) <= MAX_ACTIONS:
        bad.append(FieldViolation(f"{prefix}.actions", f"1 to {MAX_ACTIONS} actions"))
    kinds = [kind_of(a) for a in definition.actions]
    for kind in sorted({k for k in kinds if kinds.count(k) > 1}):
        bad.append(FieldViolation(f"{prefix}.actions", f"at most one {kind} action"))
    for i, action in enumerate(definition.actions):
        path = f"actions[{i}].{kind_of(action)}"
        if isinstance(action, BannerAction):
            text(f"{path}.title", action.title, MAX_TITLE, required=True)
            text(f"{path}.body", action.body, MAX_BODY, required=True)
            text(f"{path}.call_to_action_label", action.cta_label, MAX_CTA_LABEL, required=True)
            if not _is_https_url(action.cta_url):
                bad.append(FieldViolation(f"{prefix}.{path}.call_to_action_url",
                                          f"an https:// URL with a host, at most {MAX_CTA_URL} characters"))
            if not MIN_LIFETIME <= action.lifetime <= MAX_LIFETIME:
                bad.append(FieldViolation(f"{prefix}.{path}.lifetime", "1 hour to 366 days"))
            bad += _product_violations(action.product_id, f"{prefix}.{path}.product")
        elif isinstance(action, BankNotificationAction):
            text(f"{path}.note", action.note, MAX_NOTE, required=True)
        else:
            if not EVENT_ID.match(action.event_id):
                bad.append(FieldViolation(f"{prefix}.{path}.event", "events/{id}: 1 to 40 characters, required"))
            if len(action.attributes) > MAX_MESSAGE_ATTRIBUTES:
                bad.append(FieldViolation(f"{prefix}.{path}.attributes",
                                          f"at most {MAX_MESSAGE_ATTRIBUTES} attributes"))
            for name, value in action.attributes.items():
                if not name or len(name) > MAX_ATTRIBUTE_NAME or _CONTROL.search(name):
                    bad.append(FieldViolation(f"{prefix}.{path}.attributes",
                                              f"a name is 1 to {MAX_ATTRIBUTE_NAME} characters"))
                elif len(value) > MAX_ATTRIBUTE_VALUE:
                    bad.append(FieldViolation(f"{prefix}.{path}.attributes[{name}]",
                                              f"at most {MAX_ATTRIBUTE_VALUE} characters"))
            bad += _product_violations(action.product_id, f"{prefix}.{path}.product")
    if definition.active_from is not None and definition.active_until is not None \
            and definition.active_from >= definition.active_until:
        bad.append(FieldViolation(f"{prefix}.active_until", "must be after active_from"))
    if not dt.timedelta(0) <= definition.cooldown <= MAX_COOLDOWN:
        bad.append(FieldViolation(f"{prefix}.cooldown", "0 to 366 days"))
    return bad


def check_definition(definition: RuleDefinition, prefix: str = "trigger_rule") -> None:
    """TRIGGER_RULE_INVALID naming every bad field, if any."""
    bad = definition_violations(definition, prefix)
    if bad:
        summary = "; ".join(f"{v.field}: {v.description}" for v in bad[:5])
        raise InvalidArgument(Reason.TRIGGER_RULE_INVALID, f"invalid trigger rule: {summary}", violations=bad)


def _audience_violations(audience: Audience, path: str) -> list[FieldViolation]:
    match audience.kind:
        case AudienceKind.ALL:
            return []
        case AudienceKind.CUSTOMERS:
            if not 1 <= len(audience.customer_ids) <= MAX_AUDIENCE_CUSTOMERS:
                return [FieldViolation(f"{path}.customers", f"1 to {MAX_AUDIENCE_CUSTOMERS} customers")]
            if len(set(audience.customer_ids)) != len(audience.customer_ids):
                return [FieldViolation(f"{path}.customers", "a customer is named twice")]
            return [FieldViolation(f"{path}.customers[{i}]", "not a customer id")
                    for i, c in enumerate(audience.customer_ids) if not CUSTOMER_ID.match(c)]
    kind = audience.kind.lower()
    if not REFERENCE_ID.match(audience.reference_id):
        return [FieldViolation(f"{path}.{kind}", f"not a {kind} id")]
    return []


def _product_violations(product_id: str | None, path: str) -> list[FieldViolation]:
    if product_id is not None and not PRODUCT_ID.match(product_id):
        return [FieldViolation(path, "not a product id")]
    return []


def _is_https_url(url: str) -> bool:
    return (len(url) <= MAX_CTA_URL and url.startswith("https://") and len(url) > len("https://")
            and not url[len("https://")].startswith(("/", "?", "#")) and not re.search(r"[\s\x00-\x1f\x7f]", url))


# -- lifecycle ---------------------------------------------------------------------------------------

def new_rule(rule_id: str, definition: RuleDefinition, *, by: str, at: dt.datetime) -> TriggerRule:
    check_rule_id(rule_id)
    check_definition(definition)
    return TriggerRule(rule_id, definition, RuleStatus.DRAFT, 1, by, by, at, at)


def edit(rule: TriggerRule, definition: RuleDefinition, *, by: str, at: dt.datetime) -> TriggerRule:
    """A new version. A DRAFT stays DRAFT; a rule that was submitted or approved goes to
    PENDING_APPROVAL and fires nothing until approved again."""
    _require(rule, "edit", RuleStatus.DRAFT, RuleStatus.PENDING_APPROVAL, RuleStatus.ACTIVE, RuleStatus.PAUSED)
    check_definition(definition)
    status = RuleStatus.DRAFT if rule.status is RuleStatus.DRAFT else RuleStatus.PENDING_APPROVAL
    return dataclasses.replace(rule, definition=definition, status=status, version=rule.version + 1,
                               updated_by=by, updated_at=at, approved_by=None, approved_at=None,
                               rejection_reason=None, latest_backtest=None)


def submit(rule: TriggerRule, *, at: dt.datetime) -> TriggerRule:
    _require(rule, "submit", RuleStatus.DRAFT)
    return dataclasses.replace(rule, status=RuleStatus.PENDING_APPROVAL, rejection_reason=None, updated_at=at)


def approve(rule: TriggerRule, *, by: str, at: dt.datetime, version: int = 0) -> TriggerRule:
    """Four eyes: the approver is not the version's last editor. `version` (0: any) is the one the
    approver reviewed: an edit since then is refused rather than approved unseen."""
    _require(rule, "approve", RuleStatus.PENDING_APPROVAL)
    if version and version != rule.version:
        raise FailedPrecondition(Reason.TRIGGER_RULE_STATE,
                                 f"rule {rule.rule_id} is at version {rule.version}, not {version}",
                                 metadata={"status": rule.status.value, "version": str(rule.version)})
    if by == rule.updated_by:
        raise PermissionDenied(Reason.TRIGGER_RULE_SELF_APPROVAL,
                               f"{by} edited version {rule.version} of rule {rule.rule_id}: another admin approves it",
                               metadata={"rule": rule.rule_id})
    return dataclasses.replace(rule, status=RuleStatus.ACTIVE, approved_by=by, approved_at=at, updated_at=at)


def reject(rule: TriggerRule, *, reason: str, at: dt.datetime) -> TriggerRule:
    if not reason.strip() or len(reason) > MAX_REJECTION_REASON:
        raise InvalidArgument(Reason.TRIGGER_RULE_INVALID, "a rejection needs a reason of up to 1,000 characters",
                              violations=[FieldViolation("reason", f"1 to {MAX_REJECTION_REASON} characters")])
    _require(rule, "reject", RuleStatus.PENDING_APPROVAL)
    return dataclasses.replace(rule, status=RuleStatus.DRAFT, rejection_reason=reason, updated_at=at)


def pause(rule: TriggerRule, *, at: dt.datetime) -> TriggerRule:
    _require(rule, "pause", RuleStatus.ACTIVE)
    return dataclasses.replace(rule, status=RuleStatus.PAUSED, updated_at=at)


def resume(rule: TriggerRule, *, at: dt.datetime) -> TriggerRule:
    _require(rule, "resume", RuleStatus.PAUSED)
    return dataclasses.replace(rule, status=RuleStatus.ACTIVE, updated_at=at)


def archive(rule: TriggerRule, *, at: dt.datetime) -> TriggerRule:
    _require(rule, "archive", RuleStatus.DRAFT, RuleStatus.PENDING_APPROVAL, RuleStatus.ACTIVE, RuleStatus.PAUSED)
    return dataclasses.replace(rule, status=RuleStatus.ARCHIVED, updated_at=at)


def _require(rule: TriggerRule, step: str, *allowed: RuleStatus) -> None:
    if rule.status not in allowed:
        raise FailedPrecondition(Reason.TRIGGER_RULE_STATE,
                                 f"cannot {step} rule {rule.rule_id}: it is {rule.status.value}",
                                 metadata={"status": rule.status.value, "rule": rule.rule_id})
