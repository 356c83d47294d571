"""catalog upkeep: revisions as produced, review checks, folded search text, themes,
corrections, web uploads

Revision ID: 0005
Revises: 0002
Create Date: 2026-11-26 16:00:00
"""

from __future__ import annotations

import itertools
import unicodedata
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

# The association's areas (issue 10); copied here so the migration never changes with the code.
SEEDED_THEMES = (
    "Développement de l'offre",
    "Renouvellement urbain et patrimoine",
    "Accès et maintien dans le logement",
    "Gestion locative et charges",
    "Relations avec les locataires",
    "Vente Hlm",
    "Fiscalité (TFPB)",
    "Management et RH",
    "Copropriété",
)
_CONTENT = ("question", "answer", "theme", "tags", "legal_references", "source")


def _fold(text: str) -> str:
    # Same as knowledge.text.fold at the time of writing.
    import re
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return re.sub(r"[^\w]+", " ", bare).strip()


def _entries() -> sa.TableClause:
    return sa.table('entries', sa.column('id', sa.Integer), sa.column('question', sa.Text),
                    sa.column('answer', sa.Text), sa.column('theme', sa.String),
                    sa.column('tags', sa.JSON), sa.column('legal_references', sa.JSON),
                    sa.column('source', sa.Text), sa.column('status', sa.String),
                    sa.column('review_by', sa.Date), sa.column('revision', sa.Integer),
                    sa.column('created_by', sa.String), sa.column('created_at', sa.DateTime),
                    sa.column('updated_at', sa.DateTime), sa.column('search_text', sa.Text))


def _revisions() -> sa.TableClause:
    return sa.table('entry_revisions', sa.column('id', sa.Integer),
                    sa.column('entry_id', sa.Integer), sa.column('revision', sa.Integer),
                    sa.column('question', sa.Text), sa.column('answer', sa.Text),
                    sa.column('theme', sa.String), sa.column('tags', sa.JSON),
                    sa.column('legal_references', sa.JSON), sa.column('source', sa.Text),
                    sa.column('status', sa.String), sa.column('review_by', sa.Date),
                    sa.column('actor', sa.String), sa.column('reason', sa.Text),
                    sa.column('changed_at', sa.DateTime), sa.column('minor', sa.Boolean))


def upgrade() -> None:
    with op.batch_alter_table('entries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reviewed_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('reviewed_by', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('search_text', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('origin_ticket_id', sa.Integer(), nullable=True))
    with op.batch_alter_table('entry_revisions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('minor', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
        batch_op.add_column(sa.Column('restored_from', sa.Integer(), nullable=True))
    with op.batch_alter_table('entry_revisions', schema=None) as batch_op:
        batch_op.alter_column('minor', server_default=None)
    op.create_table('themes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('folded', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_themes')),
    sa.UniqueConstraint('folded', name=op.f('uq_themes_folded')),
    sa.UniqueConstraint('name', name=op.f('uq_themes_name'))
    )
    op.create_table('entry_corrections',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('retired', sa.Boolean(), nullable=False),
    sa.Column('asker_id', sa.Integer(), nullable=True),
    sa.Column('ticket_id', sa.Integer(), nullable=True),
    sa.Column('outbox_id', sa.Integer(), nullable=True),
    sa.Column('sent_by', sa.String(length=200), nullable=False),
    sa.Column('sent_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['asker_id'], ['askers.id'], name=op.f('fk_entry_corrections_asker_id_askers'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['entry_id'], ['entries.id'], name=op.f('fk_entry_corrections_entry_id_entries'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['outbox_id'], ['outbox.id'], name=op.f('fk_entry_corrections_outbox_id_outbox'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_entry_corrections_ticket_id_tickets'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_entry_corrections')),
    sa.UniqueConstraint('entry_id', 'revision', 'retired', 'asker_id', name='uq_entry_corrections_once')
    )
    with op.batch_alter_table('entry_corrections', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_entry_corrections_entry_id'), ['entry_id'], unique=False)
    op.create_table('import_uploads',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('filename', sa.String(length=300), nullable=False),
    sa.Column('fmt', sa.String(length=8), nullable=True),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_import_uploads_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_import_uploads'))
    )
    _convert_revisions()
    _seed_themes()


def _convert_revisions() -> None:
    """Rewrite the history: rows were 'the state before a change', they become 'revision N'."""
    bind = op.get_bind()
    entries, revisions = _entries(), _revisions()
    old_by_entry: dict[int, list[Any]] = {}
    for row in bind.execute(sa.select(revisions).order_by(revisions.c.entry_id,
                                                          revisions.c.revision)):
        old_by_entry.setdefault(row.entry_id, []).append(row)
    bind.execute(sa.delete(revisions))
    rows: list[dict[str, Any]] = []
    for entry in bind.execute(sa.select(entries)).fetchall():
        states = [*old_by_entry.get(entry.id, []), entry]
        first = states[0]
        number = 1
        rows.append(_row(entry.id, number, first, actor=entry.created_by or "inconnu",
                         reason=None, at=entry.created_at))
        for before, after in itertools.pairwise(states):
            if all(getattr(before, name) == getattr(after, name) for name in _CONTENT):
                continue  # a retirement or reinstatement: an event, not a revision
            number += 1
            rows.append(_row(entry.id, number, after, actor=before.actor, reason=before.reason,
                             at=before.changed_at))
        # Every entry gets a review date: a year after its last change (overdue ones surface).
        review_by = entry.review_by or _a_year_after(entry.updated_at or entry.created_at)
        bind.execute(sa.update(entries).where(entries.c.id == entry.id).values(
            revision=number, search_text=_fold(f"{entry.question}\n{entry.answer}"),
            review_by=review_by))
    if rows:
        bind.execute(sa.insert(revisions), rows)


def _a_year_after(moment: datetime | None) -> date:
    day = (moment or datetime.now(UTC)).date()
    return day.replace(year=day.year + 1, day=28) if (day.month, day.day) == (2, 29) else \
        day.replace(year=day.year + 1)


def _row(entry_id: int, number: int, state: Any, *, actor: str, reason: str | None,
         at: datetime | None) -> dict[str, Any]:
    return {"entry_id": entry_id, "revision": number, "question": state.question,
            "answer": state.answer, "theme": state.theme, "tags": list(state.tags or []),
            "legal_references": list(state.legal_references or []), "source": state.source,
            "status": state.status, "review_by": state.review_by, "actor": actor,
            "reason": reason, "changed_at": at or datetime.now(UTC).replace(tzinfo=None),
            "minor": False}


def _seed_themes() -> None:
    bind = op.get_bind()
    themes = sa.table('themes', sa.column('name', sa.String), sa.column('folded', sa.String),
                      sa.column('created_at', sa.DateTime))
    entries = _entries()
    names: dict[str, str] = {}
    for name in SEEDED_THEMES:
        names.setdefault(_fold(name), name)
    for (theme,) in bind.execute(sa.select(entries.c.theme).where(entries.c.theme.is_not(None))
                                 .distinct().order_by(entries.c.theme)):
        if theme and _fold(theme):
            names.setdefault(_fold(theme), theme)
    now = datetime.now(UTC).replace(tzinfo=None)
    bind.execute(sa.insert(themes), [{"name": name, "folded": folded, "created_at": now}
                                     for folded, name in names.items()])


def downgrade() -> None:
    bind = op.get_bind()
    revisions = _revisions()
    # Back to 'the state before each change', keeping the content of every revision.
    by_entry: dict[int, list[Any]] = {}
    for row in bind.execute(sa.select(revisions).order_by(revisions.c.entry_id,
                                                          revisions.c.revision)):
        by_entry.setdefault(row.entry_id, []).append(row)
    bind.execute(sa.delete(revisions))
    rows = []
    for rows_of_entry in by_entry.values():
        for before, after in itertools.pairwise(rows_of_entry):
            rows.append(_row(before.entry_id, before.revision, before, actor=after.actor,
                             reason=after.reason, at=after.changed_at))
    if rows:
        bind.execute(sa.insert(revisions), rows)
    op.drop_table('import_uploads')
    with op.batch_alter_table('entry_corrections', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_entry_corrections_entry_id'))
    op.drop_table('entry_corrections')
    op.drop_table('themes')
    with op.batch_alter_table('entry_revisions', schema=None) as batch_op:
        batch_op.drop_column('restored_from')
        batch_op.drop_column('minor')
    with op.batch_alter_table('entries', schema=None) as batch_op:
        batch_op.drop_column('origin_ticket_id')
        batch_op.drop_column('search_text')
        batch_op.drop_column('reviewed_by')
        batch_op.drop_column('reviewed_at')
