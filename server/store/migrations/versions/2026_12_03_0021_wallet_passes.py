"""wallet passes: wallet_passes, wallet_registrations

The passes Engage issued (serial, authentication token, rendered content, lastUpdated, download link)
and the devices Apple Wallet registered for their updates through the pass web service.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-03 08:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('wallet_passes',
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.Column('pass_type_identifier', sa.String(length=255), nullable=False),
    sa.Column('serial_number', sa.String(length=64), nullable=False),
    sa.Column('customer_id', sa.String(length=64), nullable=False),
    sa.Column('sealed_token', sa.LargeBinary(), nullable=False),
    sa.Column('parts', sa.JSON(), nullable=False),
    sa.Column('download_token_hash', sa.String(length=64), nullable=True),
    sa.Column('download_expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('tenant_id', 'pass_type_identifier', 'serial_number', name=op.f('pk_wallet_passes'))
    )
    with op.batch_alter_table('wallet_passes', schema=None) as batch_op:
        batch_op.create_index('ix_wallet_passes_customer', ['tenant_id', 'customer_id', 'pass_type_identifier'],
                              unique=False)
        batch_op.create_index('uq_wallet_passes_download', ['tenant_id', 'download_token_hash'], unique=True)
    op.create_table('wallet_registrations',
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.Column('device_library_identifier', sa.String(length=128), nullable=False),
    sa.Column('pass_type_identifier', sa.String(length=255), nullable=False),
    sa.Column('serial_number', sa.String(length=64), nullable=False),
    sa.Column('push_token', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('tenant_id', 'device_library_identifier', 'pass_type_identifier', 'serial_number',
                            name=op.f('pk_wallet_registrations'))
    )
    with op.batch_alter_table('wallet_registrations', schema=None) as batch_op:
        batch_op.create_index('ix_wallet_registrations_pass', ['tenant_id', 'pass_type_identifier', 'serial_number'],
                              unique=False)


def downgrade() -> None:
    op.drop_table('wallet_registrations')
    op.drop_table('wallet_passes')
