"""advisers' desk: drafts, formatted outbox text, reply templates, heartbeats, queue indexes

Revision ID: 0004
Revises: 0002
Create Date: 2026-11-26 16:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

_TEMPLATES = [
    {'id': 1, 'title': 'Salutation', 'position': 1,
     'body': 'Bonjour,\n\nMerci pour votre question.'},
    {'id': 2, 'title': 'Réponse partielle', 'position': 2,
     'body': "Voici une première réponse ; nous vous apporterons un complément dès que "
             "possible sur les points qui restent à vérifier."},
    {'id': 3, 'title': 'Formule de fin', 'position': 3,
     'body': "N'hésitez pas à revenir vers nous si un point reste obscur.\n\nBien cordialement,"},
]


def upgrade() -> None:
    templates = op.create_table('reply_templates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=100), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('updated_by', sa.String(length=200), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reply_templates')),
    sa.UniqueConstraint('title', name=op.f('uq_reply_templates_title'))
    )
    op.create_table('process_heartbeats',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(), nullable=False),
    sa.Column('detail', sa.String(length=200), nullable=True),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_process_heartbeats'))
    )
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('draft', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('draft_saved_at', sa.DateTime(), nullable=True))
        batch_op.create_index('ix_tickets_status_created', ['status', 'created_at'],
                              unique=False)
        batch_op.create_index('ix_tickets_assigned_status', ['assigned_to_id', 'status'],
                              unique=False)
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('formatted', sa.Boolean(), server_default=sa.false(),
                                      nullable=False))
    # A first set of reply templates the advisers adapt from the admin.
    from datetime import UTC, datetime
    now = datetime.now(UTC).replace(tzinfo=None)
    op.bulk_insert(templates, [{**row, 'updated_by': 'installation', 'updated_at': now}
                               for row in _TEMPLATES])


def downgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_column('formatted')
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_index('ix_tickets_assigned_status')
        batch_op.drop_index('ix_tickets_status_created')
        batch_op.drop_column('draft_saved_at')
        batch_op.drop_column('draft')
    op.drop_table('process_heartbeats')
    op.drop_table('reply_templates')
