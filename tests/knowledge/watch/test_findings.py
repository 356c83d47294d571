"""What a change of one article says, for each kind of change LEGI records."""

from __future__ import annotations

from datetime import date

from knowledge.store.watch_models import LegalArticleVersion, LegalTextVersion
from knowledge.watch.flags import Finding, article_finding, text_finding

VERIFIED, TODAY = date(2025, 3, 1), date(2026, 12, 4)
OPEN = date(2999, 1, 1)


def _version(identifier: str, etat: str, start: date, end: date = OPEN) -> LegalArticleVersion:
    return LegalArticleVersion(id=identifier, text_cid="LEGITEXT000006074096", num="L441-2",
                               etat=etat, date_debut=start, date_fin=end, content="",
                               content_hash="")


def _finding(*versions: LegalArticleVersion, in_range: bool = False) -> Finding | None:
    return article_finding(label="CCH art. L441-1 à L441-3" if in_range else "CCH art. L441-2",
                           article="L441-2", versions=versions, verified=VERIFIED, today=TODAY,
                           in_range=in_range)


def test_transferred_renumbered_and_unchanged_articles() -> None:
    moved = _finding(_version("A1", "TRANSFERE", date(2018, 1, 1), date(2026, 6, 1)))
    assert moved is not None and (moved.kind, moved.reason) == (
        "transferred", "CCH art. L441-2 transféré (renuméroté) le 01/06/2026")
    assert _finding(_version("A1", "VIGUEUR", date(2018, 1, 1))) is None
    # Changed before the verification: the adviser checked the text in force.
    assert _finding(_version("A1", "MODIFIE", date(2018, 1, 1), date(2024, 1, 1)),
                    _version("A2", "VIGUEUR", date(2024, 1, 1))) is None


def test_an_end_without_the_next_version_and_a_change_inside_a_range() -> None:
    ends = _finding(_version("A1", "MODIFIE", date(2018, 1, 1), date(2027, 2, 1)))
    assert ends is not None and ends.reason == (
        "CCH art. L441-2 modifié à compter du 01/02/2027 (à venir) (nouvelle version pas "
        "encore importée)")
    assert (ends.old_version_id, ends.new_version_id) == ("A1", None)
    inside = _finding(_version("A1", "MODIFIE", date(2018, 1, 1), date(2026, 1, 1)),
                      _version("A2", "VIGUEUR", date(2026, 1, 1)), in_range=True)
    assert inside is not None and inside.reason == (
        "art. L441-2 (CCH art. L441-1 à L441-3) modifié, nouvelle version en vigueur le "
        "01/01/2026")


def test_a_cited_law_is_flagged_when_it_is_repealed() -> None:
    law = LegalTextVersion(id="LEGITEXT000000000001", cid="JORFTEXT000000000001", nature="LOI",
                           num="48-1360", title="Loi de 1948", etat="ABROGE",
                           date_debut=date(1948, 9, 2), date_fin=date(2026, 7, 1))
    found = text_finding(label="loi n° 48-1360 du 1er septembre 1948", versions=[law],
                         verified=VERIFIED, today=TODAY)
    assert found is not None and found.reason == (
        "loi n° 48-1360 du 1er septembre 1948 abrogée le 01/07/2026")
