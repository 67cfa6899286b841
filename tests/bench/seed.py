"""What is set up before anything is timed: the tenant (with a transaction alert, so that the bus's
alert handler matches postings), and for the bare load its customers and accounts, through the server's
own use cases in this process (the same rows as over gRPC)."""

from __future__ import annotations

from pathlib import Path

from clients.batching import chunks
from server.bootstrap import build_services
from server.config import Settings
from server.domain.auth import Caller, Role
from server.domain.engagement.alerts import alert_condition
from server.domain.engagement.entities import Channel, EventMessage
from server.rpc.ingest_convert import account_from_proto, customer_from_proto
from tests.bench.workload import Workload

UPSERT_BATCH = 1000
# The transaction alert the tenant has: cash withdrawals of 1,000 EUR or more, about one posting in 14 of
# the newsworthy workload (one category in 8, 70 % debits, 80 % of amounts at least 1,000), one in 80
# of the realistic one (tests/bench/amounts.py).
ALERT_CATEGORY = "CASH"
ALERT_MIN_AMOUNT = "1000"


def _settings(database_url: str, jwt_secret: str, var_dir: Path) -> Settings:
    return Settings(database_url=database_url, jwt_secret=jwt_secret, var_dir=var_dir)


async def create_tenant(database_url: str, tenant_id: str, jwt_secret: str, var_dir: Path) -> None:
    """The tenant, with its EVENT insights subscribed (the catalogue's default: no subscription rows) and
    one transaction alert bound to an e-mail event of a published app. No customer has a contact, so
    each match records its trigger and a rendered delivery skipped for want of an address: the alert
    handler does all of its work but sends nothing (sending is the dispatch bench's)."""
    # The e-mail configuration names this machine (nothing is sent to it): the operator allows it, as in tests.
    settings = _settings(database_url, jwt_secret, var_dir).model_copy(
        update={"provider_networks_allowed": "127.0.0.0/8"})
    services = await build_services(settings, with_queue=False)
    admin = Caller(tenant_id=tenant_id, subject="bench-admin", role=Role.BANK_ADMIN)
    setup = services.engagement_setup
    try:
        await services.tenants.create(tenant_id, "Bench bank")
        app = await setup.create_app(admin, "Bench bank", "BANKING", ["ANDROID"])
        await setup.publish_app(admin, app.app_id)
        kind = await setup.create_event_type(admin, "Cash withdrawals", "")
        await setup.create_channel_config(admin, "Bench mail", "EMAIL", "smtp",
                                          {"host": "127.0.0.1", "port": "25", "security": "NONE",
                                           "from_address": "alerts@bench.example"}, {}, 0)
        email = EventMessage(Channel.EMAIL, "", {
            "subject": "Cash withdrawal of {{ transaction.amount }} {{ transaction.currency }}",
            "text": "{{ transaction.amount }} {{ transaction.currency }} was withdrawn from {{ account.name }} on "
                    "{{ transaction.time }}. Balance: {{ transaction.balance }}."})
        event = await setup.create_event(admin, "Cash withdrawal", "A customer withdrew cash", kind.event_type_id,
                                         app.app_id, "REGULAR", [email])
        await setup.create_transaction_alert(admin, event.event_id, alert_condition(
            directions=["DEBIT"], categories=[ALERT_CATEGORY], min_amount=ALERT_MIN_AMOUNT))
    finally:
        await services.close()


async def create_tenant_with_accounts(database_url: str, tenant_id: str, workload: Workload, jwt_secret: str,
                                      var_dir: Path) -> None:
    services = await build_services(_settings(database_url, jwt_secret, var_dir), with_queue=False)
    caller = Caller(tenant_id=tenant_id, subject="bench", role=Role.SERVICE)
    try:
        await services.tenants.create(tenant_id, "Bench bank")
        for chunk in chunks(workload.customer_messages(), UPSERT_BATCH):
            await services.ingestion.upsert_customers(caller, [customer_from_proto(c) for c in chunk])
        for chunk in chunks(workload.account_messages(), UPSERT_BATCH):
            await services.ingestion.upsert_accounts(caller, [account_from_proto(a) for a in chunk])
    finally:
        await services.close()
