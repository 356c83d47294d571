"""regulatory watch: LEGI imports, versions of the cited articles and texts, entries flagged
when a text they cite changed

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-04 22:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('legal_imports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('archive_name', sa.String(length=300), nullable=False),
    sa.Column('archive_sha256', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('stamp', sa.String(length=20), nullable=True),
    sa.Column('files_read', sa.Integer(), nullable=False),
    sa.Column('articles_kept', sa.Integer(), nullable=False),
    sa.Column('texts_kept', sa.Integer(), nullable=False),
    sa.Column('new_versions', sa.Integer(), nullable=False),
    sa.Column('removed', sa.Integer(), nullable=False),
    sa.Column('flags_raised', sa.Integer(), nullable=False),
    sa.Column('seconds', sa.Float(), nullable=False),
    sa.Column('imported_by', sa.String(length=200), nullable=False),
    sa.Column('imported_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_legal_imports')),
    sa.UniqueConstraint('archive_sha256', name=op.f('uq_legal_imports_archive_sha256'))
    )
    op.create_table('entry_legal_flags',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.Column('reference', sa.String(length=300), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('change_key', sa.String(length=64), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('effective_on', sa.Date(), nullable=True),
    sa.Column('old_version_id', sa.String(length=20), nullable=True),
    sa.Column('new_version_id', sa.String(length=20), nullable=True),
    sa.Column('verified_on', sa.Date(), nullable=True),
    sa.Column('import_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('resolved_at', sa.DateTime(), nullable=True),
    sa.Column('resolved_by', sa.String(length=200), nullable=True),
    sa.Column('resolution', sa.String(length=16), nullable=True),
    sa.ForeignKeyConstraint(['entry_id'], ['entries.id'], name=op.f('fk_entry_legal_flags_entry_id_entries'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['import_id'], ['legal_imports.id'], name=op.f('fk_entry_legal_flags_import_id_legal_imports'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_entry_legal_flags')),
    sa.UniqueConstraint('entry_id', 'reference', 'change_key', name='uq_entry_legal_flags')
    )
    op.create_index('ix_entry_legal_flags_open', 'entry_legal_flags', ['resolved_at', 'entry_id'], unique=False)
    op.create_table('legal_article_versions',
    sa.Column('id', sa.String(length=20), nullable=False),
    sa.Column('text_cid', sa.String(length=20), nullable=False),
    sa.Column('num', sa.String(length=50), nullable=False),
    sa.Column('etat', sa.String(length=20), nullable=True),
    sa.Column('date_debut', sa.Date(), nullable=True),
    sa.Column('date_fin', sa.Date(), nullable=True),
    sa.Column('content', sa.Text(), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('import_id', sa.Integer(), nullable=True),
    sa.Column('stored_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['import_id'], ['legal_imports.id'], name=op.f('fk_legal_article_versions_import_id_legal_imports'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_legal_article_versions'))
    )
    op.create_index('ix_legal_article_versions_num', 'legal_article_versions', ['text_cid', 'num'], unique=False)
    op.create_table('legal_text_versions',
    sa.Column('id', sa.String(length=20), nullable=False),
    sa.Column('cid', sa.String(length=20), nullable=False),
    sa.Column('nature', sa.String(length=30), nullable=True),
    sa.Column('num', sa.String(length=50), nullable=True),
    sa.Column('date_texte', sa.Date(), nullable=True),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('etat', sa.String(length=20), nullable=True),
    sa.Column('date_debut', sa.Date(), nullable=True),
    sa.Column('date_fin', sa.Date(), nullable=True),
    sa.Column('import_id', sa.Integer(), nullable=True),
    sa.Column('stored_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['import_id'], ['legal_imports.id'], name=op.f('fk_legal_text_versions_import_id_legal_imports'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_legal_text_versions'))
    )
    op.create_index(op.f('ix_legal_text_versions_cid'), 'legal_text_versions', ['cid'], unique=False)
    op.create_index('ix_legal_text_versions_num', 'legal_text_versions', ['nature', 'num'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_legal_text_versions_num', table_name='legal_text_versions')
    op.drop_index(op.f('ix_legal_text_versions_cid'), table_name='legal_text_versions')
    op.drop_table('legal_text_versions')
    op.drop_index('ix_legal_article_versions_num', table_name='legal_article_versions')
    op.drop_table('legal_article_versions')
    op.drop_index('ix_entry_legal_flags_open', table_name='entry_legal_flags')
    op.drop_table('entry_legal_flags')
    op.drop_table('legal_imports')
