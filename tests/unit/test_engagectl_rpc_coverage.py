"""Every RPC of every Engage service can be reached from engagectl: the table below names the command
that calls each one, and the test checks it against the generated descriptors (a new RPC without a
command fails here) and against the command tree (a command that is renamed, removed or no longer
calls its RPC fails here too)."""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path
from typing import Any

from clients.engagectl.main import build

PROTOS = Path(__file__).resolve().parents[2] / "protos"

# "package.Service.Rpc": the engagectl command (its words after `engagectl`) that calls it.
COVERED_BY = {
    "engage.ingest.v1.IngestService.UpsertCustomer": "ingest",
    "engage.ingest.v1.IngestService.BatchUpsertCustomers": "ingest",
    "engage.ingest.v1.IngestService.GetCustomer": "customers get",
    "engage.ingest.v1.IngestService.ListCustomers": "customers list",
    "engage.ingest.v1.IngestService.UpsertAccount": "ingest",
    "engage.ingest.v1.IngestService.BatchUpsertAccounts": "ingest",
    "engage.ingest.v1.IngestService.GetAccount": "accounts get",
    "engage.ingest.v1.IngestService.ListAccounts": "accounts list",
    "engage.ingest.v1.IngestService.BatchUpsertHoldings": "holdings upsert",
    "engage.ingest.v1.IngestService.ListHoldings": "holdings list",
    "engage.ingest.v1.IngestService.IngestTransactions": "ingest",
    "engage.ingest.v1.IngestService.ListTransactions": "transactions list",
    "engage.ingest.v1.IngestService.RecordBalances": "ingest",
    "engage.ingest.v1.IngestService.ListBalances": "balances list",
    "engage.ingest.v1.IngestService.BatchUpsertStatements": "statements upsert",
    "engage.ingest.v1.IngestService.ListStatements": "statements list",
    "engage.ingest.v1.IngestService.BatchUpsertScheduledPayments": "scheduled-payments upsert",
    "engage.ingest.v1.IngestService.ListScheduledPayments": "scheduled-payments list",

    "engage.insights.v1.InsightsService.ListInsightDefinitions": "insights list",
    "engage.insights.v1.InsightsService.TriggerInsights": "insights trigger",
    "engage.insights.v1.InsightsService.GetFeed": "insights feed",
    "engage.insights.v1.InsightsService.RecordInteraction": "insights interact",
    "engage.insights.v1.InsightsService.RunInsightBatch": "insights run-batch",
    "engage.insights.v1.InsightsService.GetInsightBatch": "insights batch",
    "engage.insights.v1.InsightsService.ListInsightBatches": "insights batches",

    "engage.goals.v1.GoalsService.GetGoalsEnrolment": "goals enrolment",
    "engage.goals.v1.GoalsService.EnrollInGoals": "goals enrol",
    "engage.goals.v1.GoalsService.PauseGoalsEnrolment": "goals pause",
    "engage.goals.v1.GoalsService.ResumeGoalsEnrolment": "goals resume",
    "engage.goals.v1.GoalsService.UpdateGoalsEnrolment": "goals settings",
    "engage.goals.v1.GoalsService.CancelGoalsEnrolment": "goals cancel",
    "engage.goals.v1.GoalsService.CreateGoal": "goals create",
    "engage.goals.v1.GoalsService.GetGoal": "goals show",
    "engage.goals.v1.GoalsService.ListGoals": "goals list",
    "engage.goals.v1.GoalsService.UpdateGoal": "goals update",
    "engage.goals.v1.GoalsService.DeleteGoal": "goals archive",
    "engage.goals.v1.GoalsService.GetGoalTracker": "goals tracker",
    "engage.goals.v1.GoalsService.ListHistoryEntries": "goals history",
    "engage.goals.v1.GoalsService.CreateFundingProgramme": "goals programmes create",
    "engage.goals.v1.GoalsService.GetFundingProgramme": "goals programmes show",
    "engage.goals.v1.GoalsService.ListFundingProgrammes": "goals programmes list",
    "engage.goals.v1.GoalsService.UpdateFundingProgramme": "goals programmes update",
    "engage.goals.v1.GoalsService.PauseFundingProgramme": "goals programmes pause",
    "engage.goals.v1.GoalsService.ResumeFundingProgramme": "goals programmes resume",
    "engage.goals.v1.GoalsService.CancelFundingProgramme": "goals programmes cancel",
    "engage.goals.v1.GoalsService.ListTransfers": "goals transfers list",
    "engage.goals.v1.GoalsService.ConfirmTransfer": "goals transfers confirm",

    "engage.subscriptions.v1.SubscriptionsService.GetBankSubscriptions": "subscriptions get",
    "engage.subscriptions.v1.SubscriptionsService.UpdateBankSubscriptions": "subscriptions set",
    "engage.subscriptions.v1.SubscriptionsService.GetUserSubscriptions": "subscriptions get",
    "engage.subscriptions.v1.SubscriptionsService.UpdateUserSubscriptions": "subscriptions set",
    "engage.subscriptions.v1.SubscriptionsService.ListSubscriptionChanges": "subscriptions history",

    "engage.engagement.v1.EngagementService.CreateApp": "apps create",
    "engage.engagement.v1.EngagementService.GetApp": "apps get",
    "engage.engagement.v1.EngagementService.ListApps": "apps list",
    "engage.engagement.v1.EngagementService.UpdateApp": "apps update",
    "engage.engagement.v1.EngagementService.PublishApp": "apps publish",
    "engage.engagement.v1.EngagementService.CreateEventType": "event-types create",
    "engage.engagement.v1.EngagementService.ListEventTypes": "event-types list",
    "engage.engagement.v1.EngagementService.UpdateEventType": "event-types update",
    "engage.engagement.v1.EngagementService.UpsertContact": "contacts set",
    "engage.engagement.v1.EngagementService.GetContact": "contacts get",
    "engage.engagement.v1.EngagementService.CreateChannelConfig": "channels create",
    "engage.engagement.v1.EngagementService.GetChannelConfig": "channels get",
    "engage.engagement.v1.EngagementService.ListChannelConfigs": "channels list",
    "engage.engagement.v1.EngagementService.UpdateChannelConfig": "channels update",
    "engage.engagement.v1.EngagementService.CreateTemplate": "templates create",
    "engage.engagement.v1.EngagementService.GetTemplate": "templates get",
    "engage.engagement.v1.EngagementService.ListTemplates": "templates list",
    "engage.engagement.v1.EngagementService.UpdateTemplate": "templates update",
    "engage.engagement.v1.EngagementService.CreateEvent": "events create",
    "engage.engagement.v1.EngagementService.GetEvent": "events get",
    "engage.engagement.v1.EngagementService.ListEvents": "events list",
    "engage.engagement.v1.EngagementService.UpdateEvent": "events update",
    "engage.engagement.v1.EngagementService.TriggerEvent": "events trigger",
    "engage.engagement.v1.EngagementService.BatchTriggerEvents": "events trigger",
    "engage.engagement.v1.EngagementService.CreateTransactionAlert": "events alert",
    "engage.engagement.v1.EngagementService.ListTransactionAlerts": "events alerts",
    "engage.engagement.v1.EngagementService.DeleteTransactionAlert": "events unalert",
    "engage.engagement.v1.EngagementService.CreatePaymentAlert": "payment-alerts create",
    "engage.engagement.v1.EngagementService.ListPaymentAlerts": "payment-alerts list",
    "engage.engagement.v1.EngagementService.DeletePaymentAlert": "payment-alerts delete",
    "engage.engagement.v1.EngagementService.SendBalance": "events send-balance",
    "engage.engagement.v1.EngagementService.CreateInsightNotification": "events notify-insight",
    "engage.engagement.v1.EngagementService.ListInsightNotifications": "events insight-notifications",
    "engage.engagement.v1.EngagementService.DeleteInsightNotification": "events unnotify-insight",
    "engage.engagement.v1.EngagementService.CreateCampaign": "campaigns create",
    "engage.engagement.v1.EngagementService.GetCampaign": "campaigns get",
    "engage.engagement.v1.EngagementService.ListCampaigns": "campaigns list",
    "engage.engagement.v1.EngagementService.ApproveCampaign": "campaigns approve",
    "engage.engagement.v1.EngagementService.RejectCampaign": "campaigns reject",
    "engage.engagement.v1.EngagementService.CancelCampaign": "campaigns cancel",
    "engage.engagement.v1.EngagementService.SendOtp": "otp send",
    "engage.engagement.v1.EngagementService.VerifyOtp": "otp verify",
    "engage.engagement.v1.EngagementService.GetDelivery": "deliveries get",
    "engage.engagement.v1.EngagementService.ListDeliveries": "deliveries list",
    "engage.engagement.v1.EngagementService.ListWalletPasses": "passes list",
    "engage.engagement.v1.EngagementService.RetryDeliveries": "deliveries retry",

    "engage.operations.v1.OperationsService.GetStatus": "status",

    "engage.reporting.v1.ReportingService.ListInsightHistory": "reports insight-history",
    "engage.reporting.v1.ReportingService.ListEventHistory": "reports event-history",
    "engage.reporting.v1.ReportingService.ExportView": "reports export",
    "engage.reporting.v1.ReportingService.QueryMetrics": "reports metrics",
    "engage.reporting.v1.ReportingService.SummarizeGoals": "reports goals-summary",

    "engage.personas.v1.PersonasService.CreateAttributeDefinition": "attributes create",
    "engage.personas.v1.PersonasService.GetAttributeDefinition": "attributes show",
    "engage.personas.v1.PersonasService.ListAttributeDefinitions": "attributes list",
    "engage.personas.v1.PersonasService.UpdateAttributeDefinition": "attributes update",
    "engage.personas.v1.PersonasService.DeleteAttributeDefinition": "attributes delete",
    "engage.personas.v1.PersonasService.UpdateCustomerAttributes": "attributes set",
    "engage.personas.v1.PersonasService.GetCustomerAttributes": "attributes get",
    "engage.personas.v1.PersonasService.CreatePersona": "personas create",
    "engage.personas.v1.PersonasService.GetPersona": "personas show",
    "engage.personas.v1.PersonasService.ListPersonas": "personas list",
    "engage.personas.v1.PersonasService.UpdatePersona": "personas update",
    "engage.personas.v1.PersonasService.DeletePersona": "personas delete",
    "engage.personas.v1.PersonasService.IsMember": "personas is-member",
    "engage.personas.v1.PersonasService.ExplainMembership": "personas explain",
    "engage.personas.v1.PersonasService.ListMembers": "personas members",
    "engage.personas.v1.PersonasService.CreateAudience": "audiences create",
    "engage.personas.v1.PersonasService.GetAudience": "audiences show",
    "engage.personas.v1.PersonasService.ListAudiences": "audiences list",
    "engage.personas.v1.PersonasService.UpdateAudience": "audiences update",
    "engage.personas.v1.PersonasService.DeleteAudience": "audiences delete",
    "engage.personas.v1.PersonasService.ListAudienceMembers": "audiences members",
    "engage.personas.v1.PersonasService.IsAudienceMember": "audiences is-member",

    "engage.products.v1.ProductsService.CreateProduct": "products create",
    "engage.products.v1.ProductsService.GetProduct": "products show",
    "engage.products.v1.ProductsService.UpdateProduct": "products update",
    "engage.products.v1.ProductsService.ListProducts": "products list",
    "engage.products.v1.ProductsService.CreateProductVersion": "products versions create",
    "engage.products.v1.ProductsService.GetProductVersion": "products versions show",
    "engage.products.v1.ProductsService.ListProductVersions": "products versions list",
    "engage.products.v1.ProductsService.UpdateProductVersion": "products versions update",
    "engage.products.v1.ProductsService.AnalyzeProductVersion": "products versions analyze",
    "engage.products.v1.ProductsService.ApproveProductVersion": "products approve",
    "engage.products.v1.ProductsService.RetireProductVersion": "products retire",
    "engage.products.v1.ProductsService.QuoteProduct": "products quote",

    "engage.journeys.v1.JourneysService.CreateJourney": "journeys create",
    "engage.journeys.v1.JourneysService.GetJourney": "journeys show",
    "engage.journeys.v1.JourneysService.ListJourneys": "journeys list",
    "engage.journeys.v1.JourneysService.UpdateJourney": "journeys update",
    "engage.journeys.v1.JourneysService.StartJourney": "journeys start",
    "engage.journeys.v1.JourneysService.SubmitStep": "journeys submit",
    "engage.journeys.v1.JourneysService.GetJourneyState": "journeys state",
    "engage.journeys.v1.JourneysService.ListJourneyRoutes": "journeys routes",

    "engage.triggers.v1.BankNotificationsService.ListBankNotifications": "notifications list",
    "engage.triggers.v1.BankNotificationsService.AcknowledgeBankNotification": "notifications ack",
    "engage.triggers.v1.BankNotificationsService.AssignBankNotification": "notifications assign",
    "engage.triggers.v1.BankNotificationsService.SetNotificationWebhook": "notifications webhook set",
    "engage.triggers.v1.BankNotificationsService.GetNotificationWebhook": "notifications webhook show",
    "engage.triggers.v1.BankNotificationsService.ListWebhookDeliveries": "notifications deliveries",

    "engage.triggers.v1.BannersService.ListBanners": "banners list",

    "engage.triggers.v1.OffersService.CreateOfferRecommendation": "offers recommendations create",
    "engage.triggers.v1.OffersService.GetOfferRecommendation": "offers recommendations show",
    "engage.triggers.v1.OffersService.ListOfferRecommendations": "offers recommendations list",
    "engage.triggers.v1.OffersService.DeleteOfferRecommendation": "offers recommendations delete",
    "engage.triggers.v1.OffersService.RunOfferRecommendations": "offers run",
    "engage.triggers.v1.OffersService.ListSuggestedOffers": "offers suggested",
    "engage.triggers.v1.OffersService.ApproveSuggestedOffer": "offers approve",
    "engage.triggers.v1.OffersService.RejectSuggestedOffer": "offers reject",

    "engage.triggers.v1.TriggerRulesService.CreateTriggerRule": "rules create",
    "engage.triggers.v1.TriggerRulesService.GetTriggerRule": "rules show",
    "engage.triggers.v1.TriggerRulesService.ListTriggerRules": "rules list",
    "engage.triggers.v1.TriggerRulesService.UpdateTriggerRule": "rules update",
    "engage.triggers.v1.TriggerRulesService.SubmitTriggerRule": "rules submit",
    "engage.triggers.v1.TriggerRulesService.ApproveTriggerRule": "rules approve",
    "engage.triggers.v1.TriggerRulesService.RejectTriggerRule": "rules reject",
    "engage.triggers.v1.TriggerRulesService.PauseTriggerRule": "rules pause",
    "engage.triggers.v1.TriggerRulesService.ResumeTriggerRule": "rules resume",
    "engage.triggers.v1.TriggerRulesService.ArchiveTriggerRule": "rules archive",
    "engage.triggers.v1.TriggerRulesService.BacktestTriggerRule": "rules backtest",
    "engage.triggers.v1.TriggerRulesService.ListFirings": "rules firings",
    "engage.triggers.v1.TriggerRulesService.ExplainFiring": "rules explain",
}

# "package.Service.Rpc": why no command calls it.
LEFT_OUT: dict[str, str] = {
    **{f"engage.goals.v1.GoalsService.{rpc}": "`engagectl reports export` streams the same view through "
                                              "ReportingService.ExportView"
       for rpc in ("ListGoalReportRows", "ListCustomerHistoryReportRows", "ListTransferReportRows")},
    "engage.triggers.v1.BannersService.RecordBannerImpression":
        "the bank's app counts a customer's showing of a banner; an operator has nothing to count",
    "engage.triggers.v1.BannersService.RecordBannerClick":
        "the bank's app counts a customer's tap on a banner; an operator has nothing to count",
}


def _rpcs() -> set[str]:
    """Every method of every service generated under protos/engage/*/v1."""
    found = set()
    for generated in sorted(PROTOS.glob("engage/*/v1/*_pb2.py")):
        module = importlib.import_module(".".join(generated.relative_to(PROTOS).with_suffix("").parts))
        for service in module.DESCRIPTOR.services_by_name.values():
            found |= {f"{service.full_name}.{method.name}" for method in service.methods}
    return found


def _commands(command: Any, path: tuple[str, ...] = ()) -> dict[str, Any]:
    children = getattr(command, "commands", None)
    if children is None:
        return {" ".join(path): command}
    return {name: leaf for child_name, child in children.items()
            for name, leaf in _commands(child, (*path, child_name)).items()}


RPCS = _rpcs()
COMMANDS = _commands(build())


def test_the_services_are_found() -> None:
    assert {"engage.ingest.v1.IngestService.ListHoldings", "engage.insights.v1.InsightsService.GetFeed",
            "engage.engagement.v1.EngagementService.UpdateEvent"} <= RPCS


def test_every_rpc_has_a_command_or_a_reason() -> None:
    assert sorted(RPCS - COVERED_BY.keys() - LEFT_OUT.keys()) == []


def test_the_table_names_only_rpcs_that_exist() -> None:
    assert sorted((COVERED_BY.keys() | LEFT_OUT.keys()) - RPCS) == []
    assert sorted(COVERED_BY.keys() & LEFT_OUT.keys()) == []


def test_each_command_exists_and_its_module_calls_the_rpc() -> None:
    wrong = []
    for rpc, command_path in COVERED_BY.items():
        command = COMMANDS.get(command_path)
        if command is None:
            wrong.append(f"{rpc}: no command `engagectl {command_path}`")
            continue
        source = inspect.getsource(inspect.getmodule(command.callback))  # type: ignore[arg-type]
        if f".{rpc.rpartition('.')[2]}(" not in source:
            wrong.append(f"{rpc}: `engagectl {command_path}` ({command.callback.__module__}) does not call it")
    assert wrong == []
