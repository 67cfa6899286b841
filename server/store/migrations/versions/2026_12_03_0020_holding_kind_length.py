"""holdings.kind: String(32), room for OVERDRAFT_PROTECTION

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-03 04:10:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('holdings') as batch:
        batch.alter_column('kind', existing_type=sa.String(length=16), type_=sa.String(length=32),
                           existing_nullable=False)


def downgrade() -> None:
    # PostgreSQL refuses while a kind longer than 16 characters is stored (OVERDRAFT_PROTECTION):
    # delete or rewrite those holdings first rather than lose them silently.
    with op.batch_alter_table('holdings') as batch:
        batch.alter_column('kind', existing_type=sa.String(length=32), type_=sa.String(length=16),
                           existing_nullable=False)
