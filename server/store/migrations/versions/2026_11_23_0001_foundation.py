"""foundation: tenants, customers, accounts, holdings, transactions, balances, outbox

Revision ID: 0001
Revises: 
Create Date: 2026-11-23 18:46:38.920618
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('holdings',
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.Column('holding_id', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('customer_id', sa.String(length=64), nullable=True),
    sa.Column('account_id', sa.String(length=64), nullable=True),
    sa.Column('amount', sa.BigInteger(), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=True),
    sa.Column('start_date', sa.Date(), nullable=True),
    sa.Column('attributes', sa.JSON(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('tenant_id', 'holding_id', name=op.f('pk_holdings'))
    )
    with op.batch_alter_table('holdings', schema=None) as batch_op:
        batch_op.create_index('ix_holdings_tenant_customer', ['tenant_id', 'customer_id'], unique=False)

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

    op.create_table('tenants',
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.Column('display_name', sa.String(length=200), nullable=False),
    sa.Column('time_zone', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('tenant_id', name=op.f('pk_tenants'))
    )
    op.create_table('customers',
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.Column('customer_id', sa.String(length=64), nullable=False),
    sa.Column('attributes', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.tenant_id'], name=op.f('fk_customers_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('tenant_id', 'customer_id', name=op.f('pk_customers'))
    )
    op.create_table('accounts',
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.Column('account_id', sa.String(length=64), nullable=False),
    sa.Column('customer_id', sa.String(length=64), nullable=False),
    sa.Column('authorized_customer_ids', sa.JSON(), nullable=False),
    sa.Column('account_type', sa.String(length=16), nullable=False),
    sa.Column('container', sa.String(length=16), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('provider_name', sa.String(length=512), nullable=False),
    sa.Column('account_name', sa.String(length=512), nullable=False),
    sa.Column('current_balance', sa.BigInteger(), nullable=False),
    sa.Column('available_balance', sa.BigInteger(), nullable=False),
    sa.Column('open_date', sa.Date(), nullable=True),
    sa.Column('attributes', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'customer_id'], ['customers.tenant_id', 'customers.customer_id'], name=op.f('fk_accounts_tenant_id_customers')),
    sa.PrimaryKeyConstraint('tenant_id', 'account_id', name=op.f('pk_accounts'))
    )
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.create_index('ix_accounts_tenant_customer', ['tenant_id', 'customer_id'], unique=False)

    op.create_table('account_parties',
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.Column('account_id', sa.String(length=64), nullable=False),
    sa.Column('customer_id', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'account_id'], ['accounts.tenant_id', 'accounts.account_id'], name=op.f('fk_account_parties_tenant_id_accounts')),
    sa.PrimaryKeyConstraint('tenant_id', 'account_id', 'customer_id', name=op.f('pk_account_parties'))
    )
    with op.batch_alter_table('account_parties', schema=None) as batch_op:
        batch_op.create_index('ix_account_parties_tenant_customer', ['tenant_id', 'customer_id'], unique=False)

    op.create_table('daily_balances',
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.Column('account_id', sa.String(length=64), nullable=False),
    sa.Column('balance_date', sa.Date(), nullable=False),
    sa.Column('balance', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'account_id'], ['accounts.tenant_id', 'accounts.account_id'], name=op.f('fk_daily_balances_tenant_id_accounts')),
    sa.PrimaryKeyConstraint('tenant_id', 'account_id', 'balance_date', name=op.f('pk_daily_balances'))
    )
    op.create_table('transactions',
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.Column('transaction_id', sa.String(length=64), nullable=False),
    sa.Column('account_id', sa.String(length=64), nullable=False),
    sa.Column('signed_amount', sa.BigInteger(), nullable=False),
    sa.Column('direction', sa.String(length=6), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('posted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('category', sa.String(length=128), nullable=False),
    sa.Column('running_balance', sa.BigInteger(), nullable=True),
    sa.Column('ingested_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'account_id'], ['accounts.tenant_id', 'accounts.account_id'], name=op.f('fk_transactions_tenant_id_accounts')),
    sa.PrimaryKeyConstraint('tenant_id', 'transaction_id', name=op.f('pk_transactions'))
    )
    with op.batch_alter_table('transactions', schema=None) as batch_op:
        batch_op.create_index('ix_transactions_tenant_account_posted', ['tenant_id', 'account_id', 'posted_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('transactions', schema=None) as batch_op:
        batch_op.drop_index('ix_transactions_tenant_account_posted')

    op.drop_table('transactions')
    op.drop_table('daily_balances')
    with op.batch_alter_table('account_parties', schema=None) as batch_op:
        batch_op.drop_index('ix_account_parties_tenant_customer')

    op.drop_table('account_parties')
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.drop_index('ix_accounts_tenant_customer')

    op.drop_table('accounts')
    op.drop_table('customers')
    op.drop_table('tenants')
    with op.batch_alter_table('ingest_events', schema=None) as batch_op:
        batch_op.drop_index('ix_ingest_events_pending')

    op.drop_table('ingest_events')
    with op.batch_alter_table('holdings', schema=None) as batch_op:
        batch_op.drop_index('ix_holdings_tenant_customer')

    op.drop_table('holdings')
