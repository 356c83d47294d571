"""An import's report names the themes it adds to the managed list, before anything is written."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy.orm import Session

from knowledge.catalog import importing, themes
from knowledge.catalog.importing import NewTheme

ROWS = [
    {"id": "T1", "question": "Qui paie la TEOM ?", "answer": "Le locataire.",
     "theme": "fiscalite (tfpb)"},  # the listed theme, spelled otherwise: nothing new
    {"id": "T2", "question": "Le PLAI ouvre-t-il droit à l'APL ?", "answer": "Oui.",
     "theme": "Aides au logement"},
    {"id": "T3", "question": "Quelle exonération de TFPB en QPV ?", "answer": "30 %.",
     "theme": "TFPB et fiscalité"},  # reads like « Fiscalité (TFPB) »
    {"id": "T4", "question": "Et l'APL des étudiants ?", "answer": "Aussi.",
     "theme": "AIDES AU LOGEMENT"},  # the same new theme twice: listed once
    {"id": "T5", "question": "", "answer": "Sans question.", "theme": "Thème d'une ligne refusée"},
]


def _file(tmp_path: Path, rows: list[dict[str, str]] = ROWS) -> Path:
    path = tmp_path / "fiches.jsonl"
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows),
                    encoding="utf-8")
    return path


def test_a_dry_run_lists_the_themes_it_would_create_and_creates_none(
        session: Session, tmp_path: Path) -> None:
    before = [theme.name for theme in themes.list_themes(session=session)]
    report = importing.import_file(session=session, path=_file(tmp_path), dry_run=True)
    assert report.created == 4 and len(report.skipped) == 1
    assert report.new_themes == [NewTheme("Aides au logement"),
                                 NewTheme("TFPB et fiscalité", ("Fiscalité (TFPB)",))]
    summary, _ = importing.report_lines(report)
    assert summary[1] == (
        "2 nouveaux thèmes seraient créés : « Aides au logement », « TFPB et fiscalité » "
        "(proche de « Fiscalité (TFPB) »). Un thème proche d'un thème de la liste fait sans "
        "doute double emploi : corrigez-le dans le fichier, ou fusionnez-le ensuite sur la "
        "page Thèmes.")
    assert [theme.name for theme in themes.list_themes(session=session)] == before


def test_the_real_import_says_which_themes_it_created(session: Session,
                                                      tmp_path: Path) -> None:
    report = importing.import_file(session=session, path=_file(tmp_path, ROWS[1:2]))
    summary, _ = importing.report_lines(report)
    assert summary[1] == "1 nouveau thème créé : « Aides au logement »."
    assert themes.find(session=session, name="aides au logement") is not None
    again = importing.import_file(session=session, path=_file(tmp_path, ROWS[1:2]),
                                  dry_run=True)
    assert again.new_themes == [] and len(importing.report_lines(again)[0]) == 1


def test_a_strict_import_that_aborts_creates_no_theme(session: Session,
                                                      tmp_path: Path) -> None:
    report = importing.import_file(session=session, path=_file(tmp_path), strict=True,
                                   dry_run=True)
    assert report.aborted and report.new_themes == []
    assert "thème" not in " ".join(importing.report_lines(report)[0])
