"""ix_trigger_rule_states_account: a tenant's rule states by account, so that an evaluation reads its batch's
accounts' states account by account (server.store.repositories.trigger_runtime) instead of all the tenant's
states: the primary key leads with the rule

Revision ID: 0036
Revises: 0035
Create Date: 2026-12-05 06:00:00.000000
"""

from __future__ import annotations

from alembic import op

revision = '0036'
down_revision = '0035'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_trigger_rule_states_account', 'trigger_rule_states', ['tenant_id', 'account_id'])


def downgrade() -> None:
    op.drop_index('ix_trigger_rule_states_account', table_name='trigger_rule_states')
