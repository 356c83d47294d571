"""The demo knowledge base (service-public.fr housing pages) imports cleanly."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy.orm import Session

from knowledge.catalog import entries, importing
from knowledge.catalog.entries import EntryFilter


def test_demo_file_imports_157_entries_with_id_and_url(session: Session, demo_data: Path) -> None:
    report = importing.import_file(session=session, path=demo_data, strict=True)
    session.commit()
    assert (report.created, report.updated, report.unchanged) == (157, 0, 0)
    assert report.skipped == []
    assert not report.aborted
    assert report.ignored_columns == ["modified"]
    with_url = entries.list_entries(session=session, criteria=EntryFilter(
        status=None, text=None))
    assert sum(1 for entry in with_url
               if (entry.source or "").startswith("https://www.service-public.fr/")) == 154
    assert entries.count_entries(session=session, criteria=EntryFilter(status=None)) == 157
    pages = [json.loads(line) for line in demo_data.read_text(encoding="utf-8").splitlines()]
    for page in pages:
        entry = entries.get_by_external_id(session=session, external_id=page["id"])
        assert entry is not None, page["id"]
        assert entry.source == page["source"]  # three pages of the file have no URL
        assert entry.question == page["question"].strip()
        assert entry.theme == page["theme"]


def test_demo_file_imported_twice_changes_nothing(session: Session, demo_data: Path) -> None:
    importing.import_file(session=session, path=demo_data)
    session.commit()
    again = importing.import_file(session=session, path=demo_data)
    session.commit()
    assert (again.created, again.updated, again.unchanged, again.skipped) == (0, 0, 157, [])
