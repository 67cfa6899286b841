"""persona_members: who is in each persona, kept by events

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 19:20:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('persona_members',
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.Column('persona_id', sa.String(length=40), nullable=False),
    sa.Column('customer_id', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('tenant_id', 'persona_id', 'customer_id', name=op.f('pk_persona_members'))
    )
    with op.batch_alter_table('persona_members', schema=None) as batch_op:
        batch_op.create_index('ix_persona_members_customer', ['tenant_id', 'customer_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('persona_members', schema=None) as batch_op:
        batch_op.drop_index('ix_persona_members_customer')
    op.drop_table('persona_members')
