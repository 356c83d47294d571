"""stored embeddings and index change log

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 08:30:00
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('entry_embeddings',
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.Column('model_id', sa.String(length=200), nullable=False),
    sa.Column('dim', sa.Integer(), nullable=False),
    sa.Column('vector', sa.LargeBinary(), nullable=False),
    sa.Column('text_hash', sa.String(length=64), nullable=False),
    sa.Column('terms', sa.Text(), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['entry_id'], ['entries.id'], name=op.f('fk_entry_embeddings_entry_id_entries'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('entry_id', name=op.f('pk_entry_embeddings'))
    )
    with op.batch_alter_table('entry_embeddings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_entry_embeddings_model_id'), ['model_id'], unique=False)

    op.create_table('index_changes',
    sa.Column('seq', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.Column('op', sa.String(length=8), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_index_changes'))
    )
    with op.batch_alter_table('index_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_index_changes_entry_id'), ['entry_id'], unique=False)

    counter = op.create_table('index_counter',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('value', sa.BigInteger(), nullable=False),
    sa.Column('epoch', sa.String(length=32), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_index_counter'))
    )
    # The single counter row: writers bump it, readers compare it with their watermark.
    op.bulk_insert(counter, [{'id': 1, 'value': 0, 'epoch': uuid.uuid4().hex}])


def downgrade() -> None:
    op.drop_table('index_counter')
    with op.batch_alter_table('index_changes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_index_changes_entry_id'))

    op.drop_table('index_changes')
    with op.batch_alter_table('entry_embeddings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_entry_embeddings_model_id'))

    op.drop_table('entry_embeddings')
