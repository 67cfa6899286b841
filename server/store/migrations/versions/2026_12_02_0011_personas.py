"""personas: attribute definitions, customers' typed attribute values, personas

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 19:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('attribute_definitions',
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('type', sa.String(length=8), nullable=False),
    sa.Column('enum_values', sa.JSON(), nullable=False),
    sa.Column('default_value', sa.String(length=1000), nullable=True),
    sa.Column('description', sa.String(length=2000), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('tenant_id', 'name', name=op.f('pk_attribute_definitions'))
    )
    op.create_table('customer_attribute_values',
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.Column('customer_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('bool_value', sa.Boolean(), nullable=True),
    sa.Column('int_value', sa.BigInteger(), nullable=True),
    sa.Column('decimal_value', sa.BigInteger(), nullable=True),
    sa.Column('text_value', sa.String(length=1000), nullable=True),
    sa.Column('date_value', sa.Date(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('tenant_id', 'customer_id', 'name', name=op.f('pk_customer_attribute_values'))
    )
    with op.batch_alter_table('customer_attribute_values', schema=None) as batch_op:
        batch_op.create_index('ix_customer_attribute_values_name', ['tenant_id', 'name'], unique=False)

    op.create_table('personas',
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.Column('persona_id', sa.String(length=40), nullable=False),
    sa.Column('display_name', sa.String(length=200), nullable=False),
    sa.Column('description', sa.String(length=2000), nullable=False),
    sa.Column('expression', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('tenant_id', 'persona_id', name=op.f('pk_personas'))
    )


def downgrade() -> None:
    op.drop_table('personas')
    with op.batch_alter_table('customer_attribute_values', schema=None) as batch_op:
        batch_op.drop_index('ix_customer_attribute_values_name')
    op.drop_table('customer_attribute_values')
    op.drop_table('attribute_definitions')
