"""Migration 0005 rewrites old histories ('state before each change') as numbered revisions."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest
from sqlalchemy import Engine, text

from knowledge.store import migrate
from knowledge.store.db import make_engine


@pytest.fixture
def old_engine(empty_database_url: str) -> Iterator[Engine]:
    engine = make_engine(empty_database_url)
    migrate.upgrade(engine, "0002")
    yield engine
    engine.dispose()


def _insert_old_history(engine: Engine) -> None:
    # Entry created by "demo", edited (reason "barème 2026"), retired, reinstated: the old code
    # left revision 4 and three snapshots, each with the reason of the change that followed.
    entry = {"id": 1, "question": "Plafond ?", "answer": "31 000 euros.", "theme": "Logement",
             "tags": "[]", "refs": "[]", "status": "active", "hash": "h", "revision": 4,
             "by": "demo", "at": datetime(2026, 1, 1)}
    snapshots = [
        (1, "30 000 euros.", "active", "user:camille", "barème 2026", datetime(2026, 2, 1)),
        (2, "31 000 euros.", "active", "cli", "loi abrogée", datetime(2026, 3, 1)),
        (3, "31 000 euros.", "retired", "cli", "erreur", datetime(2026, 3, 2)),
    ]
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO entries (id, question, answer, theme, tags, legal_references, status, "
            "question_hash, revision, created_by, created_at, updated_at) VALUES (:id, "
            ":question, :answer, :theme, :tags, :refs, :status, :hash, :revision, :by, :at, "
            ":at)"), entry)
        for number, answer, status, actor, reason, at in snapshots:
            connection.execute(text(
                "INSERT INTO entry_revisions (entry_id, revision, question, answer, theme, tags, "
                "legal_references, status, actor, reason, changed_at) VALUES (1, :n, "
                "'Plafond ?', :answer, 'Logement', '[]', '[]', :status, :actor, :reason, :at)"),
                {"n": number, "answer": answer, "status": status, "actor": actor,
                 "reason": reason, "at": at})


def test_old_history_becomes_numbered_revisions_with_their_own_reasons(
        old_engine: Engine) -> None:
    _insert_old_history(old_engine)
    migrate.upgrade(old_engine)
    with old_engine.connect() as connection:
        rows = connection.execute(text(
            "SELECT revision, answer, actor, reason FROM entry_revisions ORDER BY revision")).all()
        entry = connection.execute(text(
            "SELECT revision, search_text, review_by FROM entries")).one()
        themes = connection.execute(text("SELECT name FROM themes")).scalars().all()
    assert [tuple(row) for row in rows] == [
        (1, "30 000 euros.", "demo", None),
        (2, "31 000 euros.", "user:camille", "barème 2026"),
    ]
    assert tuple(entry)[:2] == (2, "plafond 31 000 euros")
    assert str(entry.review_by)[:10] == "2027-01-01"  # a year after the last change
    assert "Logement" in themes and "Fiscalité (TFPB)" in themes
