"""products: conversion_category, conversion_description and conversion_direction, the transaction that
counts as taking the product up (docs/products.md, "Conversion match")

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-03 14:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0028'
down_revision = '0027'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.add_column(sa.Column('conversion_category', sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column('conversion_description', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('conversion_direction', sa.String(length=6), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.drop_column('conversion_direction')
        batch_op.drop_column('conversion_description')
        batch_op.drop_column('conversion_category')
