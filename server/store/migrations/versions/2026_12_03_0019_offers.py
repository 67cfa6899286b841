"""recommended offers: offer_recommendations, offer_suggestions

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-03 04:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None

_OPEN = sa.text("status IN ('PENDING', 'APPROVED')")


def upgrade() -> None:
    op.create_table('offer_recommendations',
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.Column('recommendation_id', sa.String(length=40), nullable=False),
    sa.Column('display_name', sa.String(length=100), nullable=False),
    sa.Column('product_id', sa.String(length=40), nullable=False),
    sa.Column('criteria', sa.Text(), nullable=False),
    sa.Column('target_kind', sa.String(length=8), nullable=False),
    sa.Column('target_id', sa.String(length=40), nullable=False),
    sa.Column('banner', sa.JSON(), nullable=False),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_run_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('tenant_id', 'recommendation_id', name=op.f('pk_offer_recommendations'))
    )
    op.create_table('offer_suggestions',
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.Column('suggestion_id', sa.String(length=32), nullable=False),
    sa.Column('recommendation_id', sa.String(length=40), nullable=False),
    sa.Column('customer_id', sa.String(length=64), nullable=False),
    sa.Column('product_id', sa.String(length=40), nullable=False),
    sa.Column('indicator_values', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=8), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_by', sa.String(length=200), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('rejection_reason', sa.String(length=500), nullable=False),
    sa.Column('banner_id', sa.String(length=64), nullable=True),
    sa.PrimaryKeyConstraint('tenant_id', 'suggestion_id', name=op.f('pk_offer_suggestions'))
    )
    with op.batch_alter_table('offer_suggestions', schema=None) as batch_op:
        batch_op.create_index('uq_offer_suggestions_open', ['tenant_id', 'recommendation_id', 'customer_id'],
                              unique=True, postgresql_where=_OPEN, sqlite_where=_OPEN)
        batch_op.create_index('ix_offer_suggestions_recommendation',
                              ['tenant_id', 'recommendation_id', 'customer_id'], unique=False)
        batch_op.create_index('ix_offer_suggestions_status', ['tenant_id', 'status', 'suggestion_id'], unique=False)


def downgrade() -> None:
    op.drop_table('offer_suggestions')
    op.drop_table('offer_recommendations')
