"""persona indexes: holdings by account; no (tenant_id, name) index on customer_attribute_values;
personas' revisions for their members' whole evaluation by the workers

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 23:10:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # holds('KIND') finds holdings on a customer's accounts by account.
    with op.batch_alter_table('holdings', schema=None) as batch_op:
        batch_op.create_index('ix_holdings_tenant_account', ['tenant_id', 'account_id'], unique=False)
    # Compiled expressions read one customer's value by the primary key (tenant, customer, name); with
    # statistics missing PostgreSQL chose this index instead and scanned every customer's value per row.
    with op.batch_alter_table('customer_attribute_values', schema=None) as batch_op:
        batch_op.drop_index('ix_customer_attribute_values_name')
    # Existing personas' members were computed whole when saved: both revisions 0, current.
    with op.batch_alter_table('personas', schema=None) as batch_op:
        batch_op.add_column(sa.Column('revision', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('members_revision', sa.Integer(), server_default='0', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('personas', schema=None) as batch_op:
        batch_op.drop_column('members_revision')
        batch_op.drop_column('revision')
    with op.batch_alter_table('customer_attribute_values', schema=None) as batch_op:
        batch_op.create_index('ix_customer_attribute_values_name', ['tenant_id', 'name'], unique=False)
    with op.batch_alter_table('holdings', schema=None) as batch_op:
        batch_op.drop_index('ix_holdings_tenant_account')
