"""engagectl rules: real-time trigger rules (docs/triggers.md). A condition over an account's balances
and postings, an audience, and up to three actions (a banner, a note in the bank's inbox, a message);
approved by a second bank admin before they fire; backtested over the recorded history; their firings
listed and explained."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Literal

import typer
from google.protobuf import json_format

from clients.engagectl.banner_options import (
    BannerOptions,
    body_option,
    cta_label_option,
    cta_url_option,
    lifetime_option,
    title_option,
)
from clients.engagectl.context import cli_context
from clients.engagectl.dates import date_text, date_value
from clients.engagectl.engagement_common import label, name, pairs, short, time_of
from clients.engagectl.money import money, show_money
from clients.engagectl.output import (
    Column,
    Id,
    Wide,
    as_dict,
    emit_json,
    emit_list,
    emit_record,
    emit_table,
    json_wanted,
)
from clients.engagectl.paging import Paging, all_option, limit_option, page_token_option
from clients.engagectl.times import duration_text, duration_value, timestamp_value
from clients.stubs import Stubs
from engage.triggers.v1 import trigger_rules_service_pb2 as pb

app = typer.Typer(no_args_is_help=True, help="Trigger rules: conditions, approval, backtests, firings.")
COLUMNS: list[str | Column] = [Id("rule"), "status", "version", "name", "condition", Wide("audience"),
                               Wide("actions"), Wide("cooldown"), Wide("last editor"), Wide("approver")]
FIRING_COLUMNS: list[str | Column] = [Id("firing"), "fired", Id("customer"), "account", "transaction", "version",
                                      Wide("values"), Wide("actions")]
# What UpdateTriggerRule may change (its update_mask).
UPDATABLE = ("display_name", "description", "audience", "condition", "actions", "active_from", "active_until",
             "cooldown")
ACTION_KINDS = {"banner": "banner", "notification": "bank_notification", "message": "message"}


def _rule_argument() -> Any:
    return typer.Argument(..., metavar="RULE_ID", help="Id or triggerRules/ID.")


def _audience_text(audience: pb.TriggerAudience) -> str:
    match audience.WhichOneof("kind"):
        case "all_customers":
            return "all"
        case "customers":
            return "customers:" + ",".join(short(c) for c in audience.customers.customers)
        case "persona":
            return audience.persona
        case "audience":
            return audience.audience
    return ""


def _action_text(action: pb.TriggerAction) -> str:
    kind = action.WhichOneof("kind") or ""
    product = action.banner.product if kind == "banner" else action.message.product if kind == "message" else ""
    return f"{kind} ({short(product)})" if product else kind


def _row(rule: pb.TriggerRule) -> list[str]:
    return [short(rule.name), label(pb.TriggerRuleStatus, rule.status), str(rule.version), rule.display_name,
            rule.condition, _audience_text(rule.audience), ", ".join(_action_text(a) for a in rule.actions),
            duration_text(rule.cooldown), rule.last_editor, rule.approver]


def _values_text(values: Mapping[str, str]) -> str:
    return "; ".join(f"{key} = {value}" for key, value in sorted(values.items()))


def _firing_row(firing: pb.Firing) -> list[str]:
    return [short(firing.name), time_of(firing.fire_time), short(firing.customer), firing.account_id,
            firing.transaction_id, str(firing.rule_version), _values_text(firing.values),
            ", ".join(f"{label(pb.ActionKind, a.kind)}: {a.outcome}" for a in firing.actions)]


def emit_rule(rule: pb.TriggerRule) -> None:
    """Every field; on a table the latest backtest as its counts (its days and sample are in --json and
    `rules backtest`)."""
    record = as_dict(rule)
    if rule.HasField("latest_backtest") and not json_wanted():
        kept = rule.latest_backtest
        record["latest_backtest"] = {
            "rule_version": kept.rule_version, "period": f"{date_text(kept.start_date)} to {date_text(kept.end_date)}",
            "firings": kept.firing_count, "accounts": kept.account_count, "customers": kept.customer_count,
            "create_time": time_of(kept.create_time)}
    emit_record("trigger rule", record)


def audience_value(text: str) -> pb.TriggerAudience:
    """`all`, `customers:ID,ID`, `personas/ID` or `audiences/ID`."""
    if text.strip().lower() == "all":
        return pb.TriggerAudience(all_customers=True)
    if text.startswith("customers:"):
        ids = [c.strip() for c in text.removeprefix("customers:").split(",") if c.strip()]
        if not ids:
            raise typer.BadParameter("customers: needs one or more customer ids", param_hint="--audience")
        return pb.TriggerAudience(customers=pb.TriggerAudience.CustomerList(customers=[name("customers", c)
                                                                                      for c in ids]))
    if text.startswith("personas/"):
        return pb.TriggerAudience(persona=text)
    if text.startswith("audiences/"):
        return pb.TriggerAudience(audience=text)
    raise typer.BadParameter(f"{text!r} is none of all, customers:ID,ID, personas/ID, audiences/ID",
                             param_hint="--audience")


@dataclass(frozen=True)
class ActionOptions:
    """The action options of create and update: each kind's given fields, and kinds to drop."""

    banner: BannerOptions
    note: str | None
    message_event: str | None
    message_attributes: Sequence[str]
    product: str | None
    drop: Sequence[str] = ()

    def given(self) -> bool:
        return (self.banner.given() or self.note is not None or self.message_event is not None
                or bool(self.message_attributes) or self.product is not None or bool(self.drop))

    def merged(self, current: Sequence[pb.TriggerAction]) -> list[pb.TriggerAction]:
        """The actions after these options: each kind given is changed where the rule has it (added
        where not), kinds dropped go, the others stay as they are, in their order."""
        dropped = set()
        for kind in self.drop:
            if kind.lower() not in ACTION_KINDS:
                raise typer.BadParameter(f"{kind!r} is none of {', '.join(ACTION_KINDS)}", param_hint="--drop-action")
            dropped.add(ACTION_KINDS[kind.lower()])
        by_kind: dict[str, pb.TriggerAction] = {}
        for action in current:
            by_kind[action.WhichOneof("kind") or ""] = pb.TriggerAction()
            by_kind[action.WhichOneof("kind") or ""].CopyFrom(action)
        if self.banner.given():
            self.banner.fill(by_kind.setdefault("banner", pb.TriggerAction()).banner)
        if self.note is not None:
            by_kind.setdefault("bank_notification", pb.TriggerAction()).bank_notification.note = self.note
        if self.message_event is not None or self.message_attributes:
            message = by_kind.setdefault("message", pb.TriggerAction()).message
            if self.message_event is not None:
                message.event = name("events", self.message_event) if self.message_event else ""
            if self.message_attributes:
                message.attributes.clear()
                message.attributes.update(pairs(self.message_attributes, "--message-attr"))
        if self.product is not None:
            offered = [k for k in ("banner", "message") if k in by_kind and k not in dropped]
            if not offered:
                raise typer.BadParameter("needs a banner or a message action to offer the product",
                                         param_hint="--product")
            for kind in offered:
                getattr(by_kind[kind], kind).product = name("products", self.product) if self.product else ""
        return [action for kind, action in by_kind.items() if kind not in dropped]


def _from_file(path: Path) -> tuple[pb.TriggerRule, list[str]]:
    """The rule in the file (the API's JSON form of TriggerRule) and the fields it sets. Output-only
    fields are passed over, so that what `rules show --json` printed can be edited and sent back."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise typer.BadParameter(f"cannot read {path}: {exc.strerror}", param_hint="--file") from exc
    except ValueError as exc:
        raise typer.BadParameter(f"{path}: {exc}", param_hint="--file") from exc
    if not isinstance(document, dict):
        raise typer.BadParameter(f"{path}: a JSON object is expected", param_hint="--file")
    keys = {key: field.name for field in pb.TriggerRule.DESCRIPTOR.fields for key in (field.name, field.json_name)}
    unknown = sorted(key for key in document if key not in keys)
    if unknown:
        raise typer.BadParameter(f"{path}: no field of a rule is named {', '.join(unknown)}", param_hint="--file")
    given = {key: value for key, value in document.items() if keys[key] in UPDATABLE}
    try:
        rule = json_format.ParseDict(given, pb.TriggerRule())
    except (json_format.ParseError, RecursionError) as exc:
        raise typer.BadParameter(f"{path}: {exc}", param_hint="--file") from exc
    return rule, list(dict.fromkeys(keys[key] for key in given))


def _definition(file: Path | None, display_name: str | None, description: str | None, condition: str | None,
                audience: str | None, cooldown: str | None, active_from: str | None, active_until: str | None
                ) -> tuple[pb.TriggerRule, list[str]]:
    """The rule the file and the options describe (the options win), and the fields they set."""
    rule, paths = _from_file(file) if file is not None else (pb.TriggerRule(), [])
    for path, value in (("display_name", display_name), ("description", description), ("condition", condition)):
        if value is not None:
            setattr(rule, path, value)
            paths.append(path)
    if audience is not None:
        rule.audience.CopyFrom(audience_value(audience))
        paths.append("audience")
    if cooldown is not None:
        rule.cooldown.CopyFrom(duration_value(cooldown, "--cooldown"))
        paths.append("cooldown")
    if active_from is not None:
        _set_time(rule, "active_from", active_from, "--active-from")
        paths.append("active_from")
    if active_until is not None:
        _set_time(rule, "active_until", active_until, "--active-until")
        paths.append("active_until")
    return rule, list(dict.fromkeys(paths))


def _set_time(rule: pb.TriggerRule, path: Literal["active_from", "active_until"], text: str, option: str) -> None:
    if text:
        getattr(rule, path).CopyFrom(timestamp_value(text, option))
    else:
        rule.ClearField(path)  # "" lifts the bound


# The options create and update share, declared once.

def _file_option() -> Any:
    return typer.Option(None, "--file", "-f", metavar="RULE.json", exists=True, dir_okay=False,
                        help="The rule as JSON (the API's TriggerRule: displayName, audience, condition, actions ...);"
                             " options given as well win over it.")


def _name_option() -> Any:
    return typer.Option(None, "--name", metavar="NAME", help="The rule's display name (up to 100 characters).")


def _description_option() -> Any:
    return typer.Option(None, "--description", metavar="TEXT")


def _condition_option() -> Any:
    return typer.Option(None, "--condition", metavar="CONDITION",
                        help="e.g. \"average_collected_balance(30d) < 100 AND balance < 50\" (docs/triggers.md).")


def _audience_option() -> Any:
    return typer.Option(None, "--audience", metavar="AUDIENCE",
                        help="all, customers:ID,ID, personas/ID or audiences/ID.")


def _notify_option() -> Any:
    return typer.Option(None, "--notify", metavar="NOTE",
                        help="A note in the bank's inbox (and its webhook) when the rule fires.")


def _message_event_option() -> Any:
    return typer.Option(None, "--message-event", metavar="EVENT_ID",
                        help="Send the customer this Engagement event (id or events/ID) when the rule fires.")


def _message_attr_option() -> Any:
    return typer.Option([], "--message-attr", metavar="KEY=VALUE",
                        help="An attribute handed to the message's templates; repeat (replaces them all).")


def _product_option() -> Any:
    return typer.Option(None, "--product", metavar="PRODUCT_ID",
                        help="Makes the rule an offer of this product (on its banner and message actions).")


def _cooldown_option() -> Any:
    return typer.Option(None, "--cooldown", metavar="DURATION",
                        help="No second firing for a customer within this long: 0 to 366d (default 7d).")


def _active_from_option() -> Any:
    return typer.Option(None, "--active-from", metavar="TIME", help="Fires only from then (ISO 8601; \"\" lifts it).")


def _active_until_option() -> Any:
    return typer.Option(None, "--active-until", metavar="TIME",
                        help="Fires only before then (ISO 8601; \"\" lifts it).")


@app.command("create")
def create(ctx: typer.Context, rule_id: str = _rule_argument(), file: Path | None = _file_option(),
           display_name: str | None = _name_option(), description: str | None = _description_option(),
           condition: str | None = _condition_option(), audience: str | None = _audience_option(),
           banner_title: str | None = title_option(), banner_body: str | None = body_option(),
           banner_cta_label: str | None = cta_label_option(), banner_cta_url: str | None = cta_url_option(),
           banner_lifetime: str | None = lifetime_option("required with a banner"),
           note: str | None = _notify_option(), message_event: str | None = _message_event_option(),
           message_attributes: list[str] = _message_attr_option(), product: str | None = _product_option(),
           cooldown: str | None = _cooldown_option(), active_from: str | None = _active_from_option(),
           active_until: str | None = _active_until_option()) -> None:
    """Creates a rule in DRAFT (version 1); a condition the server cannot read is refused with the line,
    column and what is wrong. `rules submit` then asks for approval.

    Examples:
      engagectl rules create low_balance --name "Low balance" --audience all \\
        --condition "average_collected_balance(30d) < 100 AND NOT holds('OVERDRAFT_PROTECTION')" \\
        --banner-title "Running low?" --banner-body "Overdraft cover from 2 EUR a month" \\
        --banner-cta-label See --banner-cta-url https://bank.example/cover --banner-lifetime 3d \\
        --product overdraft-cover --notify "Call them" --cooldown 7d
      engagectl rules create big_deposit --file big_deposit.json
    """
    rule, _ = _definition(file, display_name, description, condition, audience, cooldown, active_from, active_until)
    actions = ActionOptions(BannerOptions(banner_title, banner_body, banner_cta_label, banner_cta_url,
                                          banner_lifetime), note, message_event, message_attributes, product)
    if actions.given():
        merged = actions.merged(rule.actions)
        del rule.actions[:]
        rule.actions.extend(merged)
    cli = cli_context(ctx)
    emit_rule(cli.call(lambda s: s.trigger_rules.CreateTriggerRule(pb.CreateTriggerRuleRequest(
        trigger_rule=rule, trigger_rule_id=rule_id.removeprefix("triggerRules/")))))


@app.command("list")
def list_rules(ctx: typer.Context, limit: int = limit_option(100, "rules"), page_token: str = page_token_option(),
               every_page: bool = all_option()) -> None:
    """Lists the bank's rules by id, archived ones too.

    Examples:
      engagectl rules list
      engagectl rules list -o wide
    """
    cli = cli_context(ctx)

    async def page(stubs: Stubs, size: int, token: str) -> tuple[list[pb.TriggerRule], str]:
        response = await stubs.trigger_rules.ListTriggerRules(pb.ListTriggerRulesRequest(
            page_size=size, page_token=token))
        return list(response.trigger_rules), response.next_page_token

    listed = cli.list(page, Paging(limit, page_token, every_page))
    emit_list("trigger rules", COLUMNS, listed.items, _row, listed.next_page_token)


@app.command("show")
def show(ctx: typer.Context, rule: str = _rule_argument()) -> None:
    """Shows a rule, every field: status, version, who edited and approved it, its last backtest.

    Examples:
      engagectl rules show low_balance
      engagectl rules show low_balance --json > low_balance.json
    """
    cli = cli_context(ctx)
    emit_rule(cli.call(lambda s: s.trigger_rules.GetTriggerRule(pb.GetTriggerRuleRequest(
        name=name("triggerRules", rule)))))


@app.command("update")
def update(ctx: typer.Context, rule: str = _rule_argument(), file: Path | None = _file_option(),
           display_name: str | None = _name_option(), description: str | None = _description_option(),
           condition: str | None = _condition_option(), audience: str | None = _audience_option(),
           banner_title: str | None = title_option(), banner_body: str | None = body_option(),
           banner_cta_label: str | None = cta_label_option(), banner_cta_url: str | None = cta_url_option(),
           banner_lifetime: str | None = lifetime_option("required with a new banner"),
           note: str | None = _notify_option(), message_event: str | None = _message_event_option(),
           message_attributes: list[str] = _message_attr_option(), product: str | None = _product_option(),
           drop: list[str] = typer.Option([], "--drop-action", metavar="KIND",
                                          help="Removes the rule's banner, notification or message action; repeat."),
           cooldown: str | None = _cooldown_option(), active_from: str | None = _active_from_option(),
           active_until: str | None = _active_until_option()) -> None:
    """Changes the fields given and makes a new version; an approved (or paused) rule goes back to approval
    and fires nothing until approved. Action options change only what they name in the rule's actions.

    Examples:
      engagectl rules update low_balance --condition "average_collected_balance(30d) < 150"
      engagectl rules update low_balance --banner-title "Need a hand?" --drop-action notification
      engagectl rules update low_balance --file low_balance.json
    """
    changed, paths = _definition(file, display_name, description, condition, audience, cooldown, active_from,
                                 active_until)
    changed.name = name("triggerRules", rule)
    actions = ActionOptions(BannerOptions(banner_title, banner_body, banner_cta_label, banner_cta_url,
                                          banner_lifetime), note, message_event, message_attributes, product, drop)
    if not paths and not actions.given():
        raise typer.BadParameter("nothing to change", param_hint="--file/--name/--condition/... ")
    cli = cli_context(ctx)

    async def work(stubs: Stubs) -> pb.TriggerRule:
        if actions.given():
            current = changed.actions if "actions" in paths else (await stubs.trigger_rules.GetTriggerRule(
                pb.GetTriggerRuleRequest(name=changed.name))).actions
            merged = actions.merged(current)
            del changed.actions[:]
            changed.actions.extend(merged)
            paths.append("actions")
        request = pb.UpdateTriggerRuleRequest(trigger_rule=changed)
        request.update_mask.paths.extend(dict.fromkeys(paths))
        return await stubs.trigger_rules.UpdateTriggerRule(request)

    emit_rule(cli.call(work))


@app.command("submit")
def submit(ctx: typer.Context, rule: str = _rule_argument()) -> None:
    """Sends a DRAFT for approval (PENDING_APPROVAL).

    Examples:
      engagectl rules submit low_balance
    """
    cli = cli_context(ctx)
    emit_rule(cli.call(lambda s: s.trigger_rules.SubmitTriggerRule(pb.SubmitTriggerRuleRequest(
        name=name("triggerRules", rule)))))


@app.command("approve")
def approve(ctx: typer.Context, rule: str = _rule_argument(),
            version: int = typer.Option(0, "--version", min=0, metavar="N",
                                        help="The version reviewed: refused if another edit came in since "
                                             "(0: the current one).")) -> None:
    """Approves the pending version (a bank admin other than its last editor): the rule is ACTIVE and fires.

    Examples:
      engagectl rules approve low_balance
      engagectl rules approve low_balance --version 2
    """
    cli = cli_context(ctx)
    emit_rule(cli.call(lambda s: s.trigger_rules.ApproveTriggerRule(pb.ApproveTriggerRuleRequest(
        name=name("triggerRules", rule), version=version))))


@app.command("reject")
def reject(ctx: typer.Context, rule: str = _rule_argument(),
           reason: str = typer.Option(..., "--reason", metavar="TEXT", help="Why (up to 1,000 characters).")) -> None:
    """Sends the pending version back to DRAFT, with the reason.

    Examples:
      engagectl rules reject low_balance --reason "100 EUR is too low a line"
    """
    cli = cli_context(ctx)
    emit_rule(cli.call(lambda s: s.trigger_rules.RejectTriggerRule(pb.RejectTriggerRuleRequest(
        name=name("triggerRules", rule), reason=reason))))


@app.command("pause")
def pause(ctx: typer.Context, rule: str = _rule_argument()) -> None:
    """Pauses an ACTIVE rule: it fires nothing until resumed.

    Examples:
      engagectl rules pause low_balance
    """
    cli = cli_context(ctx)
    emit_rule(cli.call(lambda s: s.trigger_rules.PauseTriggerRule(pb.PauseTriggerRuleRequest(
        name=name("triggerRules", rule)))))


@app.command("resume")
def resume(ctx: typer.Context, rule: str = _rule_argument()) -> None:
    """Resumes a PAUSED rule.

    Examples:
      engagectl rules resume low_balance
    """
    cli = cli_context(ctx)
    emit_rule(cli.call(lambda s: s.trigger_rules.ResumeTriggerRule(pb.ResumeTriggerRuleRequest(
        name=name("triggerRules", rule)))))


@app.command("archive")
def archive(ctx: typer.Context, rule: str = _rule_argument()) -> None:
    """Archives a rule for good: it neither fires nor changes again (its firings stay listed).

    Examples:
      engagectl rules archive low_balance
    """
    cli = cli_context(ctx)
    emit_rule(cli.call(lambda s: s.trigger_rules.ArchiveTriggerRule(pb.ArchiveTriggerRuleRequest(
        name=name("triggerRules", rule)))))


def _sample_row(firing: pb.Firing) -> list[str]:
    return [short(firing.customer), firing.account_id, time_of(firing.fire_time), firing.transaction_id,
            _values_text(firing.values)]


def show_backtest(result: pb.TriggerRuleBacktest) -> None:
    """The counts, the firings of each day that had any, and the sample with the values read."""
    if json_wanted():
        emit_json(as_dict(result))
        return
    emit_record("backtest", {"rule version": result.rule_version,
                             "period": f"{date_text(result.start_date)} to {date_text(result.end_date)}",
                             "firings": result.firing_count, "accounts": result.account_count,
                             "customers": result.customer_count})
    emit_table("firings per day", ["day", "firings"],
               [[date_text(d.date), str(d.firings)] for d in result.days if d.firings] or [["none", "0"]])
    emit_table("sample firings", [Id("customer"), "account", "fired", "transaction", "values"],
               [_sample_row(f) for f in result.sample_firings])
    if result.channel_estimates:
        emit_table("channel estimates", ["channel", "messages", "cost"],
                   [[e.channel, str(e.messages), show_money(e.cost) if e.HasField("cost") else ""]
                    for e in result.channel_estimates])


def _unit_costs(texts: Sequence[str], currency: str) -> list[pb.ChannelUnitCost]:
    costs = []
    for channel, amount in pairs(texts, "--unit-cost").items():
        try:
            costs.append(pb.ChannelUnitCost(channel=channel.upper(), unit_cost=money(Decimal(amount), currency)))
        except (InvalidOperation, ValueError) as exc:
            raise typer.BadParameter(f"{amount!r} is not an amount", param_hint="--unit-cost") from exc
    return costs


@app.command("backtest")
def backtest(ctx: typer.Context, rule: str = _rule_argument(),
             since: str = typer.Option(..., "--from", metavar="DATE", help="The first day replayed (YYYY-MM-DD)."),
             until: str = typer.Option(..., "--to", metavar="DATE", help="The last day replayed, included."),
             unit_costs: list[str] = typer.Option([], "--unit-cost", metavar="CHANNEL=AMOUNT",
                                                  help="What one message costs on a channel (EMAIL, SMS, PUSH, PASS, "
                                                       "BANNER, BANK_NOTIFICATION), to estimate the cost; repeat."),
             currency: str = typer.Option("EUR", "--currency", metavar="CURRENCY",
                                          help="The unit costs' currency.")) -> None:
    """Replays the rule's current version over the recorded postings and balances of a period: how often,
    for whom and on which days it would have fired, and what its actions would have sent on each channel
    (with the cost, given unit costs), without firing anything. The result is kept as the version's latest
    backtest (`rules show`).

    Examples:
      engagectl rules backtest low_balance --from 2026-09-01 --to 2026-11-30
      engagectl rules backtest low_balance --from 2026-09-01 --to 2026-11-30 --unit-cost SMS=0.05 \\
        --unit-cost EMAIL=0.001
      engagectl rules backtest low_balance --from 2026-11-01 --to 2026-11-30 --json
    """
    request = pb.BacktestTriggerRuleRequest(name=name("triggerRules", rule), start_date=date_value(since, "--from"),
                                            end_date=date_value(until, "--to"),
                                            unit_costs=_unit_costs(unit_costs, currency))
    cli = cli_context(ctx)
    show_backtest(cli.call(lambda s: s.trigger_rules.BacktestTriggerRule(request)))


@app.command("firings")
def firings(ctx: typer.Context, rule: str = _rule_argument(),
            customer: str = typer.Option("", "--customer", metavar="CUSTOMER_ID", help="Only this customer's."),
            limit: int = limit_option(100, "firings"), page_token: str = page_token_option(),
            every_page: bool = all_option()) -> None:
    """Lists a rule's firings, newest first (-o wide adds the values read and what each action did).

    Examples:
      engagectl rules firings low_balance
      engagectl rules firings low_balance --customer demo-c0001 -o wide
    """
    parent = name("triggerRules", rule)
    cli = cli_context(ctx)

    async def page(stubs: Stubs, size: int, token: str) -> tuple[list[pb.Firing], str]:
        response = await stubs.trigger_rules.ListFirings(pb.ListFiringsRequest(
            parent=parent, customer=name("customers", customer) if customer else "", page_size=size,
            page_token=token))
        return list(response.firings), response.next_page_token

    listed = cli.list(page, Paging(limit, page_token, every_page))
    emit_list("firings", FIRING_COLUMNS, listed.items, _firing_row, listed.next_page_token)


@app.command("explain")
def explain(ctx: typer.Context, rule: str = _rule_argument(),
            firing: str = typer.Argument(..., metavar="FIRING_ID",
                                         help="The firing's id, or triggerRules/ID/firings/ID.")) -> None:
    """Why a firing happened: the condition of the version that fired, the values it read, the actions done.

    Examples:
      engagectl rules explain low_balance 0190000000001a2b3c4d5e6f
    """
    resource = firing if firing.startswith("triggerRules/") else f"{name('triggerRules', rule)}/firings/{firing}"
    cli = cli_context(ctx)
    found = cli.call(lambda s: s.trigger_rules.ExplainFiring(pb.ExplainFiringRequest(name=resource)))
    if json_wanted():
        emit_json(as_dict(found))
        return
    fired = found.firing
    emit_record("firing", {"name": fired.name, "rule_version": fired.rule_version, "customer": short(fired.customer),
                           "account": fired.account_id, "fired": time_of(fired.fire_time),
                           "transaction": fired.transaction_id or "(the daily re-check)",
                           "condition": found.condition})
    emit_table("values read", [Id("value"), "was"], [[k, v] for k, v in sorted(found.values.items())])
    emit_table("actions", ["kind", Id("made"), "outcome"],
               [[label(pb.ActionKind, a.kind), a.resource, a.outcome] for a in found.actions])
