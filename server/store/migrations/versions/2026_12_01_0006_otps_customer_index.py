"""otps: a customer's codes by time

SendOtp counts the codes sent to the customer in the last hour (at most ENGAGE_OTP_MAX_SENDS_PER_HOUR):
(tenant_id, customer_id, created_at) answers that with one range scan instead of a read of the
tenant's every code.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 00:00:00.000000
"""

from __future__ import annotations

from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('otps', schema=None) as batch_op:
        batch_op.create_index('ix_otps_tenant_customer_created', ['tenant_id', 'customer_id', 'created_at'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('otps', schema=None) as batch_op:
        batch_op.drop_index('ix_otps_tenant_customer_created')
