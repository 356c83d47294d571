"""question vectors: each entry's question embedded on its own, beside its passage

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-26 21:10:00

The vectors are computed by `svp index reembed` (or any import): until then an entry is found
through its passage alone, as before.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('entry_embeddings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('question_vector', sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('entry_embeddings', schema=None) as batch_op:
        batch_op.drop_column('question_vector')
