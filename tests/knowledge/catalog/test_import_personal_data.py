"""Import refuses rows holding personal data unless told otherwise, and says which and where."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from knowledge.catalog import importing
from knowledge.store.models import AuditEvent, KnowledgeEntry

ROWS = ("id;question;réponse\n"
        "P1;Qui paie la TEOM ?;Le locataire, par les charges.\n"
        "P2;Mme Haddad peut-elle garder son T4 ?;Oui, sauf sous-occupation.\n"
        "P3;Qui joindre ?;Le gardien au 06 12 34 56 78 ou g.martin@free.fr.\n")


def _file(tmp_path: Path) -> Path:
    path = tmp_path / "fiches.csv"
    path.write_text(ROWS, encoding="utf-8")
    return path


def _questions(session: Session) -> list[str]:
    return list(session.scalars(select(KnowledgeEntry.question).order_by(KnowledgeEntry.id)))


def test_rows_with_personal_data_are_reported_and_not_imported(
        session: Session, tmp_path: Path) -> None:
    report = importing.import_file(session=session, path=_file(tmp_path))
    assert report.created == 1 and _questions(session) == ["Qui paie la TEOM ?"]
    assert [(p.row, p.field) for p in report.skipped] == [(3, "question"), (4, "réponse")]
    assert "nom de personne (1)" in report.skipped[0].reason
    assert "numéro de téléphone (1)" in report.skipped[1].reason
    assert "adresse électronique (1)" in report.skipped[1].reason
    summary, problems = importing.report_lines(report)
    text = "\n".join(summary + problems)
    assert "--allow-personal-data" in text
    # The report names the kind and the place, never the data itself.
    assert "Haddad" not in text and "06 12" not in text and "g.martin" not in text


def test_strict_import_with_personal_data_writes_nothing(session: Session,
                                                         tmp_path: Path) -> None:
    report = importing.import_file(session=session, path=_file(tmp_path), strict=True)
    assert report.aborted and _questions(session) == []


def test_allowed_personal_data_is_imported_and_audited_with_counts(
        session: Session, tmp_path: Path) -> None:
    report = importing.import_file(session=session, path=_file(tmp_path), strict=True,
                                   allow_personal_data=True, actor="cli")
    assert report.created == 3 and not report.skipped
    assert report.personal_data_rows == 2
    event = session.scalars(select(AuditEvent).where(
        AuditEvent.action == "privacy.confirm")).one()
    assert event.object_type == "import" and event.object_id == "fiches.csv"
    assert event.details == {"personal_data": {"person": 1, "phone": 1, "email": 1},
                             "rows": 2}
    _, problems = importing.report_lines(report)
    assert any("importées sur autorisation, 2 ligne(s)" in line for line in problems)


def test_dry_run_reports_personal_data_and_keeps_nothing(session: Session,
                                                         tmp_path: Path) -> None:
    report = importing.import_file(session=session, path=_file(tmp_path), dry_run=True)
    assert report.dry_run and report.created == 1 and len(report.skipped) == 2
    assert _questions(session) == []
    assert session.scalars(select(AuditEvent).where(
        AuditEvent.action == "privacy.confirm")).first() is None
