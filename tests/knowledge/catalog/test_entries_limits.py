"""Entry fields longer than their columns are refused the same way on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from knowledge.catalog import entries
from knowledge.catalog.entries import EntryFields
from knowledge.errors import InvalidInput


def test_theme_longer_than_its_column_is_refused(session: Session) -> None:
    with pytest.raises(InvalidInput, match="thème"):
        entries.create(session=session, content=EntryFields(
            question="Q ?", answer="R.", theme="t" * 201), actor="test")


def test_external_id_longer_than_its_column_is_refused(session: Session) -> None:
    with pytest.raises(InvalidInput, match="identifiant"):
        entries.create(session=session, content=EntryFields(
            question="Q ?", answer="R.", external_id="x" * 201), actor="test")


def test_theme_and_id_at_their_limit_are_accepted(session: Session) -> None:
    entry = entries.create(session=session, content=EntryFields(
        question="Q ?", answer="R.", theme="t" * 200, external_id="x" * 200), actor="test")
    session.commit()
    assert (len(entry.theme or ""), len(entry.external_id or "")) == (200, 200)
