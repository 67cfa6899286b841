"""metrics: channel_configs.cost_per_message and cost_currency, goal_milestones (when each milestone was
reached)

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-03 12:30:00.000000
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = '0026'
down_revision = '0025'
branch_labels = None
depends_on = None

_BACKFILL_BATCH = 1000


def upgrade() -> None:
    with op.batch_alter_table('channel_configs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('cost_per_message', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('cost_currency', sa.String(length=3), nullable=True))
    op.create_table(
        'goal_milestones',
        sa.Column('tenant_id', sa.String(length=64), nullable=False),
        sa.Column('goal_id', sa.String(length=40), nullable=False),
        sa.Column('milestone', sa.String(length=64), nullable=False),
        sa.Column('reached_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('tenant_id', 'goal_id', 'milestone'),
    )
    with op.batch_alter_table('goal_milestones', schema=None) as batch_op:
        batch_op.create_index('ix_goal_milestones_tenant_reached', ['tenant_id', 'reached_at'], unique=False)
    _backfill_milestones()


def _backfill_milestones() -> None:
    """The milestones reached before this version, dated by their goal's last update: when it was
    recorded or later (nothing kept the moment itself)."""
    bind = op.get_bind()
    goals = sa.table('goals', sa.column('tenant_id', sa.String), sa.column('goal_id', sa.String),
                     sa.column('milestones', sa.JSON), sa.column('updated_at', sa.DateTime(timezone=True)))
    milestones = sa.table('goal_milestones', sa.column('tenant_id', sa.String), sa.column('goal_id', sa.String),
                          sa.column('milestone', sa.String), sa.column('reached_at', sa.DateTime(timezone=True)))
    batch: list[dict[str, Any]] = []
    for tenant_id, goal_id, keys, updated_at in bind.execute(sa.select(
            goals.c.tenant_id, goals.c.goal_id, goals.c.milestones, goals.c.updated_at)):
        if isinstance(keys, str):
            keys = json.loads(keys)
        for key in dict.fromkeys(keys or ()):
            batch.append({'tenant_id': tenant_id, 'goal_id': goal_id, 'milestone': str(key)[:64],
                          'reached_at': _utc(updated_at, bind.dialect.name)})
        if len(batch) >= _BACKFILL_BATCH:
            bind.execute(milestones.insert(), batch)
            batch = []
    if batch:
        bind.execute(milestones.insert(), batch)


def _utc(value: Any, dialect: str) -> Any:
    # SQLite keeps naive UTC text (server.store.types.UTCDateTime): give it back as it was read.
    if dialect == 'sqlite' or not isinstance(value, dt.datetime):
        return value
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def downgrade() -> None:
    with op.batch_alter_table('goal_milestones', schema=None) as batch_op:
        batch_op.drop_index('ix_goal_milestones_tenant_reached')
    op.drop_table('goal_milestones')
    with op.batch_alter_table('channel_configs', schema=None) as batch_op:
        batch_op.drop_column('cost_currency')
        batch_op.drop_column('cost_per_message')
