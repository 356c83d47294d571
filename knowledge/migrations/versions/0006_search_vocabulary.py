"""search vocabulary: sector glossary and learnt phrasings of entries

Revision ID: 0006
Revises: 0002
Create Date: 2026-11-26 16:10:00
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from alembic import op

from knowledge.text import fold

# The glossary shipped as the default of every new or upgraded database.
GLOSSARY = Path(__file__).resolve().parents[2] / "data" / "glossary.jsonl"

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    terms = op.create_table('glossary_terms',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('term', sa.String(length=200), nullable=False),
    sa.Column('term_key', sa.String(length=200), nullable=False),
    sa.Column('synonyms', sa.Text(), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('updated_by', sa.String(length=200), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_glossary_terms')),
    sa.UniqueConstraint('term_key', name=op.f('uq_glossary_terms_term_key'))
    )
    op.create_table('entry_phrasings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=True),
    sa.Column('model_id', sa.String(length=200), nullable=True),
    sa.Column('dim', sa.Integer(), nullable=True),
    sa.Column('vector', sa.LargeBinary(), nullable=True),
    sa.Column('created_by', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['entry_id'], ['entries.id'], name=op.f('fk_entry_phrasings_entry_id_entries'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_entry_phrasings'))
    )
    with op.batch_alter_table('entry_phrasings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_entry_phrasings_entry_id'), ['entry_id'], unique=False)

    now = datetime.now(UTC).replace(tzinfo=None)
    rows = [json.loads(line) for line in GLOSSARY.read_text(encoding="utf-8").splitlines()
            if line.strip()]
    op.bulk_insert(terms, [
        {'term': row['term'], 'term_key': fold(row['term']), 'synonyms': "\n".join(row['synonyms']),
         'note': row.get('note'), 'updated_by': 'installation', 'updated_at': now}
        for row in rows
    ])


def downgrade() -> None:
    with op.batch_alter_table('entry_phrasings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_entry_phrasings_entry_id'))
    op.drop_table('entry_phrasings')
    op.drop_table('glossary_terms')
