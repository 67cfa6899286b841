"""deliveries: the tenant's due index ordered by due time

A dispatch job claims its tenant's oldest due deliveries: (tenant_id, state, next_attempt_at) answers
that with one range scan in the wanted order. The index it replaces, (tenant_id, state, created_at),
matched only the first two columns (no query orders a tenant's deliveries of one state by creation),
so PostgreSQL read every queued row of the tenant and sorted them, or, before the table had
statistics, went through the customer index instead.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 20:00:00.000000
"""

from __future__ import annotations

from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_index('ix_deliveries_tenant_state')
        batch_op.create_index('ix_deliveries_tenant_due', ['tenant_id', 'state', 'next_attempt_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_index('ix_deliveries_tenant_due')
        batch_op.create_index('ix_deliveries_tenant_state', ['tenant_id', 'state', 'created_at'], unique=False)
