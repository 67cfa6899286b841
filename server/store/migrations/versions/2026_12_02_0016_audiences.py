"""audiences of personas; personas' tokens; templates' persona variants

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02 23:20:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('audiences',
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.Column('audience_id', sa.String(length=40), nullable=False),
    sa.Column('display_name', sa.String(length=200), nullable=False),
    sa.Column('description', sa.String(length=2000), nullable=False),
    sa.Column('definition', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('tenant_id', 'audience_id', name=op.f('pk_audiences'))
    )
    with op.batch_alter_table('personas', schema=None) as batch_op:
        batch_op.add_column(sa.Column('tokens', sa.JSON(), server_default='{}', nullable=False))
    with op.batch_alter_table('templates', schema=None) as batch_op:
        batch_op.add_column(sa.Column('variants', sa.JSON(), server_default='[]', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('templates', schema=None) as batch_op:
        batch_op.drop_column('variants')
    with op.batch_alter_table('personas', schema=None) as batch_op:
        batch_op.drop_column('tokens')
    op.drop_table('audiences')
