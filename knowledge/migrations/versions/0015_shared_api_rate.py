"""JSON API rate limit shared by every web worker: admitted calls of the last minute

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 14:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('api_rate_calls',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('at', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_rate_calls'))
    )
    with op.batch_alter_table('api_rate_calls', schema=None) as batch_op:
        batch_op.create_index('ix_api_rate_calls_key_at', ['key', 'at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('api_rate_calls', schema=None) as batch_op:
        batch_op.drop_index('ix_api_rate_calls_key_at')
    op.drop_table('api_rate_calls')
