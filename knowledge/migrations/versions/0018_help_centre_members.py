"""help centre: organisations' mail domains, sign-in links, member sessions, entry feedback

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03 18:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('organisations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email_domains', sa.JSON(), server_default='[]',
                                      nullable=False))
    op.create_table('member_links',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=True),
    sa.Column('asker_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.Column('used_at', sa.DateTime(), nullable=True),
    sa.Column('ip', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['asker_id'], ['askers.id'], name=op.f('fk_member_links_asker_id_askers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_member_links_organisation_id_organisations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_member_links')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_member_links_token_hash'))
    )
    with op.batch_alter_table('member_links', schema=None) as batch_op:
        batch_op.create_index('ix_member_links_expires_at', ['expires_at'], unique=False)
    op.create_table('member_sessions',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=True),
    sa.Column('asker_id', sa.Integer(), nullable=True),
    sa.Column('csrf_token', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.Column('revoked_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['asker_id'], ['askers.id'], name=op.f('fk_member_sessions_asker_id_askers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_member_sessions_organisation_id_organisations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_member_sessions'))
    )
    with op.batch_alter_table('member_sessions', schema=None) as batch_op:
        batch_op.create_index('ix_member_sessions_expires_at', ['expires_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_member_sessions_organisation_id'),
                              ['organisation_id'], unique=False)

    op.create_table('entry_feedback',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.Column('member_key', sa.String(length=64), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=True),
    sa.Column('value', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['entry_id'], ['entries.id'], name=op.f('fk_entry_feedback_entry_id_entries'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_entry_feedback_organisation_id_organisations'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_entry_feedback')),
    sa.UniqueConstraint('entry_id', 'member_key', name='uq_entry_feedback_entry_member')
    )
    with op.batch_alter_table('entry_feedback', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_entry_feedback_entry_id'), ['entry_id'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('entry_feedback', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_entry_feedback_entry_id'))
    op.drop_table('entry_feedback')
    with op.batch_alter_table('member_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_member_sessions_organisation_id'))
        batch_op.drop_index('ix_member_sessions_expires_at')
    op.drop_table('member_sessions')
    with op.batch_alter_table('member_links', schema=None) as batch_op:
        batch_op.drop_index('ix_member_links_expires_at')
    op.drop_table('member_links')
    with op.batch_alter_table('organisations', schema=None) as batch_op:
        batch_op.drop_column('email_domains')
