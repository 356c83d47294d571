"""The monthly digest: the month's entries by theme, anonymised unless asked, and its files."""

from __future__ import annotations

import io
from datetime import date

import pytest
from docx import Document
from sqlalchemy.orm import Session
from stats_fixture import build, paris

from knowledge.catalog import digest
from knowledge.catalog.activity import Activity
from knowledge.errors import InvalidInput
from knowledge.store.models import EntryRevision, KnowledgeEntry

NOVEMBER = digest.Month(2026, 11)


def _fixture_month(session: Session) -> None:
    history = build(session)
    # The old entry (March) is revised in November: it belongs to November's digest too.
    old = session.get(KnowledgeEntry, history.old_entry)
    assert old is not None
    old.updated_at = paris("2026-11-20", 16)
    old.revision = 2
    session.add(EntryRevision(entry_id=old.id, revision=2, question=old.question,
                              answer=old.answer, status="active", actor="user:camille",
                              changed_at=paris("2026-11-20", 16)))
    # A retired entry of the month stays out of the letter.
    session.add(KnowledgeEntry(question="Ancienne règle abrogée ?", answer="…", status="retired",
                               question_hash="x", created_at=paris("2026-11-05"),
                               updated_at=paris("2026-11-05"), tags=[], legal_references=[]))
    # An entry of December is not November's.
    session.add(KnowledgeEntry(question="Question de décembre ?", answer="…", theme="Loyers",
                               question_hash="y", created_at=paris("2026-12-01", 0),
                               updated_at=paris("2026-12-01", 0), tags=[],
                               legal_references=[]))
    session.commit()


def test_digest_groups_the_months_entries_by_theme_anonymously(session: Session) -> None:
    _fixture_month(session)
    letter = digest.build(session=session, month=NOVEMBER)
    assert [(theme, [item.question for item in items]) for theme, items in letter.sections] == [
        ("Attributions", ["Le fils d'un locataire décédé peut-il reprendre le bail ?"]),
        ("Charges", ["Quelles charges de gardien sont récupérables ?"]),
        ("Loyers", ["Comment se calcule le supplément de loyer de solidarité ?"]),
    ]
    loyers = letter.sections[2][1][0]
    assert loyers.revised and loyers.references == ("CCH art. L441-3",)
    assert all(item.organisations == () for item in letter.items)
    # The retired entry was published in November: it counts, but stays out of the letter.
    assert letter.figures == Activity(questions=5, answered=3, self_served=1, published=3,
                                      updated=1)
    html = digest.render_html(letter)
    assert "Habitat Provence" not in html and "Var Logis" not in html
    assert "Sophie Martin" not in html and "Karim Benali" not in html


def test_organisations_appear_only_when_asked(session: Session) -> None:
    _fixture_month(session)
    letter = digest.build(session=session, month=NOVEMBER, show_organisations=True)
    by_question = {item.question: item.organisations for item in letter.items}
    assert by_question["Comment se calcule le supplément de loyer de solidarité ?"] == \
        ("Var Logis",)
    assert "Question posée par : Var Logis" in digest.render_html(letter)


def test_the_adviser_chooses_the_entries_and_the_files_follow(session: Session) -> None:
    _fixture_month(session)
    chosen = [item.entry_id for item in digest.build(session=session, month=NOVEMBER).items
              if item.theme == "Charges"]
    letter = digest.build(session=session, month=NOVEMBER, entry_ids=chosen,
                          introduction="Bonne lecture !")
    document = Document(io.BytesIO(digest.render_docx(letter)))
    text = [paragraph.text for paragraph in document.paragraphs]
    assert text[0] == "Les réponses du SVP — novembre 2026" and "Bonne lecture !" in text
    assert "Quelles charges de gardien sont récupérables ?" in text
    assert not any("supplément de loyer" in line for line in text)
    message = digest.render_telegram(letter)
    assert message.startswith("Les réponses du SVP — novembre 2026")
    assert "• Quelles charges de gardien sont récupérables ?" in message


def test_telegram_text_stays_within_one_message(session: Session) -> None:
    for number in range(200):
        session.add(KnowledgeEntry(
            question=f"Question numéro {number} sur un sujet assez long pour peser ?",
            answer="Réponse.", theme=f"Thème {number % 7}", question_hash=str(number),
            created_at=paris("2026-11-10"), updated_at=paris("2026-11-10"), tags=[],
            legal_references=[]))
    session.commit()
    message = digest.render_telegram(digest.build(session=session, month=NOVEMBER))
    assert len(message) < 4_096 and "autres réponses dans la lettre complète" in message


def test_long_answers_are_shortened_on_a_sentence() -> None:
    answer = "Première phrase assez longue. " * 40
    short = digest.shorten(answer, size=200)
    assert len(short) <= 200 and short.endswith(".")


def test_months_are_read_strictly() -> None:
    assert digest.Month.parse("2026-11") == NOVEMBER
    assert digest.Month.of(date(2026, 1, 31)).label == "janvier 2026"
    for wrong in ("2026-13", "nov 2026", "2026-1"):
        with pytest.raises(InvalidInput):
            digest.Month.parse(wrong)
