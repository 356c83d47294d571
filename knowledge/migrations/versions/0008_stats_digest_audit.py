"""digest subscriptions, digest sends, append-only audit log

Revision ID: 0008
Revises: 0002
Create Date: 2026-11-26 16:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

# The audit log is append-only: the database itself refuses to change or remove a row, so no
# code path (a bug, a future service, a hand-written script through the app) can rewrite it.
_PG_FUNCTION = """
CREATE FUNCTION audit_events_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only';
END;
$$ LANGUAGE plpgsql
"""


def upgrade() -> None:
    with op.batch_alter_table('askers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('digest_subscribed', sa.Boolean(),
                                      server_default=sa.false(), nullable=False))

    op.create_table('digest_sends',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('asker_id', sa.Integer(), nullable=False),
    sa.Column('outbox_id', sa.Integer(), nullable=True),
    sa.Column('sent_by', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['asker_id'], ['askers.id'], name=op.f('fk_digest_sends_asker_id_askers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['outbox_id'], ['outbox.id'], name=op.f('fk_digest_sends_outbox_id_outbox'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_digest_sends')),
    sa.UniqueConstraint('month', 'asker_id', name='uq_digest_sends_month_asker')
    )

    if op.get_bind().dialect.name == 'postgresql':
        op.execute(_PG_FUNCTION)
        op.execute('CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE '
                   'ON audit_events FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()')
    else:
        for event in ('UPDATE', 'DELETE'):
            op.execute(f"CREATE TRIGGER audit_events_no_{event.lower()} BEFORE {event} "
                       "ON audit_events BEGIN "
                       "SELECT RAISE(ABORT, 'audit_events is append-only'); END")


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('DROP TRIGGER IF EXISTS audit_events_append_only ON audit_events')
        op.execute('DROP FUNCTION IF EXISTS audit_events_append_only()')
    else:
        for event in ('update', 'delete'):
            op.execute(f'DROP TRIGGER IF EXISTS audit_events_no_{event}')
    op.drop_table('digest_sends')
    with op.batch_alter_table('askers', schema=None) as batch_op:
        batch_op.drop_column('digest_subscribed')
