"""audit log: rows stay append-only, but their details (and actor) may be redacted;
index of tickets by answer date (retention purge)

Revision ID: 0011
Revises: 0009 (the merger rechains it after 0010)
Create Date: 2026-11-26 20:10:00
"""

from __future__ import annotations

from alembic import op

revision = '0011'
down_revision = '0009'
branch_labels = None
depends_on = None

# Still no DELETE, and no UPDATE of what happened (id, time, action, object). The one change
# let through is a redaction: the new details carry the marker `"redacted"`, which only the
# retention purge and the erasure services write (knowledge/people/retention.py,
# data_requests.py). So personal data can leave the log while every event stays, and an
# accidental rewrite (a bug, a hand-made UPDATE without the marker) is still refused.
_PG_FUNCTION = """
CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.id = OLD.id AND NEW.at IS NOT DISTINCT FROM OLD.at
            AND NEW.action = OLD.action AND NEW.object_type = OLD.object_type
            AND NEW.object_id IS NOT DISTINCT FROM OLD.object_id
            AND (NEW.details::jsonb -> 'redacted') IS NOT NULL THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'audit_events is append-only (only a redaction may change details)';
END;
$$ LANGUAGE plpgsql
"""

_PG_FUNCTION_0008 = """
CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only';
END;
$$ LANGUAGE plpgsql
"""

_SQLITE_REDACT_ONLY = """
CREATE TRIGGER audit_events_redact_only BEFORE UPDATE ON audit_events
WHEN NOT (NEW.id = OLD.id AND NEW.at IS OLD.at AND NEW.action = OLD.action
          AND NEW.object_type = OLD.object_type AND NEW.object_id IS OLD.object_id
          AND json_valid(NEW.details) AND json_type(NEW.details, '$.redacted') IS NOT NULL)
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only (only a redaction may change details)');
END
"""


def upgrade() -> None:
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.create_index('ix_tickets_answered_at', ['answered_at'], unique=False)
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(_PG_FUNCTION)
    else:
        op.execute('DROP TRIGGER IF EXISTS audit_events_no_update')
        op.execute(_SQLITE_REDACT_ONLY)


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(_PG_FUNCTION_0008)
    else:
        op.execute('DROP TRIGGER IF EXISTS audit_events_redact_only')
        op.execute("CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events BEGIN "
                   "SELECT RAISE(ABORT, 'audit_events is append-only'); END")
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_index('ix_tickets_answered_at')
