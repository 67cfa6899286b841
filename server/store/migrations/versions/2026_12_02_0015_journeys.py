"""journeys: versioned definitions, instances and the routes they took

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02 23:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('journey_versions',
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.Column('journey_id', sa.String(length=40), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('display_name', sa.String(length=200), nullable=False),
    sa.Column('definition', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('tenant_id', 'journey_id', 'version', name=op.f('pk_journey_versions'))
    )
    op.create_table('journey_instances',
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.Column('instance_id', sa.String(length=40), nullable=False),
    sa.Column('customer_id', sa.String(length=64), nullable=False),
    sa.Column('journey_id', sa.String(length=40), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('current_step', sa.String(length=40), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('captured', sa.JSON(), nullable=False),
    sa.Column('handed_to', sa.String(length=40), nullable=True),
    sa.Column('route_count', sa.BigInteger(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('tenant_id', 'instance_id', name=op.f('pk_journey_instances'))
    )
    with op.batch_alter_table('journey_instances', schema=None) as batch_op:
        batch_op.create_index('ix_journey_instances_customer', ['tenant_id', 'customer_id'], unique=False)
    op.create_table('journey_routes',
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.Column('instance_id', sa.String(length=40), nullable=False),
    sa.Column('sequence', sa.BigInteger(), nullable=False),
    sa.Column('from_step', sa.String(length=40), nullable=False),
    sa.Column('rule_index', sa.Integer(), nullable=True),
    sa.Column('rule_expression', sa.Text(), nullable=False),
    sa.Column('to_step', sa.String(length=40), nullable=True),
    sa.Column('to_journey', sa.String(length=40), nullable=True),
    sa.Column('handed_to', sa.String(length=40), nullable=True),
    sa.Column('taken_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('tenant_id', 'instance_id', 'sequence', name=op.f('pk_journey_routes'))
    )


def downgrade() -> None:
    op.drop_table('journey_routes')
    with op.batch_alter_table('journey_instances', schema=None) as batch_op:
        batch_op.drop_index('ix_journey_instances_customer')
    op.drop_table('journey_instances')
    op.drop_table('journey_versions')
