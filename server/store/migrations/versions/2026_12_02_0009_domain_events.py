"""domain_events and domain_event_handlings replace ingest_events

The outbox now carries every kind of domain event with its payload (server.domain.events), and each
handler's progress per event. Events of ingest_events not yet processed are carried over as
TransactionsPosted under their own ids (a job already queued for one still finds it), with the facts a
consumer read until now: the bank's running balance when it sent one, else the account's balance.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 10:00:00.000000
"""

from __future__ import annotations

import datetime as dt
import json

import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

_COLUMNS = ["transaction_id", "account_id", "customer_id", "account_type", "account_container", "currency",
            "amount_scaled", "balance_after_scaled", "posted_at", "direction", "category", "description"]


def upgrade() -> None:
    op.create_table('domain_events',
    sa.Column('event_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=64), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('enqueued_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('processed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('event_id', name=op.f('pk_domain_events'))
    )
    with op.batch_alter_table('domain_events', schema=None) as batch_op:
        batch_op.create_index('ix_domain_events_pending', ['processed_at', 'created_at'], unique=False)
    op.create_table('domain_event_handlings',
    sa.Column('event_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('handler', sa.String(length=128), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('event_id', 'handler', name=op.f('pk_domain_event_handlings'))
    )
    _carry_over_pending_ingest_events()
    with op.batch_alter_table('ingest_events', schema=None) as batch_op:
        batch_op.drop_index('ix_ingest_events_pending')
    op.drop_table('ingest_events')


def _carry_over_pending_ingest_events() -> None:
    bind = op.get_bind()
    pending = bind.execute(sa.text(
        "SELECT event_id, tenant_id, transaction_ids, created_at FROM ingest_events WHERE processed_at IS NULL "
        "ORDER BY event_id")).all()
    for event_id, tenant_id, transaction_ids, created_at in pending:
        ids = json.loads(transaction_ids) if isinstance(transaction_ids, str) else list(transaction_ids)
        rows = []
        for transaction_id in ids:
            found = bind.execute(sa.text(
                "SELECT t.transaction_id, t.account_id, a.customer_id, a.account_type, a.container, t.currency, "
                "t.signed_amount, "
                "COALESCE(t.running_balance, a.current_balance), t.posted_at, t.direction, t.category, "
                "t.description FROM transactions t JOIN accounts a ON a.tenant_id = t.tenant_id AND "
                "a.account_id = t.account_id WHERE t.tenant_id = :tenant AND t.transaction_id = :id"),
                {"tenant": tenant_id, "id": transaction_id}).first()
            if found is None:
                continue
            (txn_id, account_id, customer_id, account_type, container, currency, signed, balance, posted_at,
             direction, category, description) = found
            # SQLite keeps the naive UTC time as text; PostgreSQL gives an aware datetime.
            when = dt.datetime.fromisoformat(posted_at) if isinstance(posted_at, str) else posted_at
            posted = (when if when.tzinfo else when.replace(tzinfo=dt.UTC)).isoformat()
            rows.append([txn_id, account_id, customer_id, account_type, container, currency, int(signed),
                         int(balance), posted, direction, category or "", description or ""])
        bind.execute(sa.text(
            "INSERT INTO domain_events (event_id, tenant_id, kind, payload, created_at, attempts) "
            "VALUES (:id, :tenant, 'TransactionsPosted', :payload, :created, 0)"),
            {"id": event_id, "tenant": tenant_id, "created": created_at,
             "payload": json.dumps({"live": True, "columns": _COLUMNS, "rows": rows})})
    if pending and bind.dialect.name == "postgresql":
        # Ids were given explicitly: the sequence goes on after the largest.
        bind.execute(sa.text("SELECT setval(pg_get_serial_sequence('domain_events', 'event_id'), "
                             "(SELECT MAX(event_id) FROM domain_events))"))


def downgrade() -> None:
    op.create_table('ingest_events',
    sa.Column('event_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.Column('transaction_ids', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('enqueued_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('processed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('event_id', name=op.f('pk_ingest_events'))
    )
    with op.batch_alter_table('ingest_events', schema=None) as batch_op:
        batch_op.create_index('ix_ingest_events_pending', ['processed_at', 'created_at'], unique=False)
    op.drop_table('domain_event_handlings')
    with op.batch_alter_table('domain_events', schema=None) as batch_op:
        batch_op.drop_index('ix_domain_events_pending')
    op.drop_table('domain_events')
