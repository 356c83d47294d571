"""mail channel in the outbox, askers' choice for web answers, help-centre counters

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-04 01:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('channel', sa.String(length=16),
                                      server_default='telegram', nullable=False))
        batch_op.add_column(sa.Column('email_to', sa.String(length=254), nullable=True))
        batch_op.add_column(sa.Column('subject', sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column('mail_message_id', sa.String(length=255), nullable=True))
        batch_op.alter_column('chat_id', existing_type=sa.BigInteger(), nullable=True)
        batch_op.create_index('ix_outbox_channel_status_next',
                              ['channel', 'status', 'next_attempt_at'], unique=False)
    with op.batch_alter_table('askers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('web_notify', sa.String(length=16), nullable=True))
    op.create_table('help_counts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('organisation_key', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_help_counts')),
    sa.UniqueConstraint('day', 'organisation_key', 'kind',
                        name='uq_help_counts_day_organisation_kind')
    )


def downgrade() -> None:
    op.drop_table('help_counts')
    with op.batch_alter_table('askers', schema=None) as batch_op:
        batch_op.drop_column('web_notify')
    # Email rows cannot live in a Telegram-only outbox.
    op.execute("DELETE FROM outbox WHERE channel <> 'telegram'")
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_channel_status_next')
        batch_op.alter_column('chat_id', existing_type=sa.BigInteger(), nullable=False)
        batch_op.drop_column('mail_message_id')
        batch_op.drop_column('subject')
        batch_op.drop_column('email_to')
        batch_op.drop_column('channel')
