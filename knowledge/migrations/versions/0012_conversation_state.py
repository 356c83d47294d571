"""conversation state: registration steps and drafts survive a restart

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-26 20:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('conversation_states',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('key', sa.String(length=100), nullable=False),
    sa.Column('user_id', sa.BigInteger(), nullable=True),
    sa.Column('state', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('name', 'key', name=op.f('pk_conversation_states'))
    )
    with op.batch_alter_table('conversation_states', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_conversation_states_user_id'), ['user_id'],
                              unique=False)

    op.create_table('telegram_user_data',
    sa.Column('user_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_telegram_user_data'))
    )


def downgrade() -> None:
    op.drop_table('telegram_user_data')
    with op.batch_alter_table('conversation_states', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_conversation_states_user_id'))
    op.drop_table('conversation_states')
