"""durable intake: Telegram inbox, group notices, index log readers, one ticket per message

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 16:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('inbox_updates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('update_id', sa.BigInteger(), nullable=False),
    sa.Column('chat_id', sa.BigInteger(), nullable=True),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('received_at', sa.DateTime(), nullable=False),
    sa.Column('processed_at', sa.DateTime(), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inbox_updates')),
    sa.UniqueConstraint('update_id', name=op.f('uq_inbox_updates_update_id'))
    )
    with op.batch_alter_table('inbox_updates', schema=None) as batch_op:
        batch_op.create_index('ix_inbox_updates_processed_id', ['processed_at', 'id'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_inbox_updates_chat_id'), ['chat_id'], unique=False)

    op.create_table('group_notices',
    sa.Column('chat_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('told_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('chat_id', name=op.f('pk_group_notices'))
    )
    op.create_table('index_readers',
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('watermark', sa.BigInteger(), nullable=False),
    sa.Column('seen_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_index_readers'))
    )
    # Tickets stored before this revision keep a NULL chat id: the constraint ignores them.
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('telegram_chat_id', sa.BigInteger(), nullable=True))
        batch_op.create_unique_constraint('uq_tickets_telegram_message',
                                          ['telegram_chat_id', 'telegram_message_id'])


def downgrade() -> None:
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_constraint('uq_tickets_telegram_message', type_='unique')
        batch_op.drop_column('telegram_chat_id')
    op.drop_table('index_readers')
    op.drop_table('group_notices')
    with op.batch_alter_table('inbox_updates', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inbox_updates_chat_id'))
        batch_op.drop_index('ix_inbox_updates_processed_id')
    op.drop_table('inbox_updates')
