"""Evidence@1: does the excerpt shown for the first hit contain the labelled quote?"""

from __future__ import annotations

import pytest

from knowledge.errors import InvalidInput
from knowledge.retrieval.evaluation import (
    LabelledQuery,
    RankedQuery,
    evidence_report,
    parse_labelled_queries,
    shows_evidence,
)


def ranked(text: str, rel: str, top: str, shown: str, opening: str,
           evidence: str | None = "3 € TTC par m²") -> RankedQuery:
    query = LabelledQuery(text=text, relevant=frozenset({rel}), evidence=evidence)
    return RankedQuery(query=query, ranking=(top,), scores=(0.9,), top_shown=shown,
                       top_opening=opening)


def test_evidence_lines_are_read_and_checked() -> None:
    [query] = parse_labelled_queries(lines=[
        '{"q": "plafond EDL", "rel": ["F10696"], "evidence": " 3 € TTC par m² "}'])
    assert query.evidence == "3 € TTC par m²"
    with pytest.raises(InvalidInput, match="ligne 1 : le champ « evidence »"):
        parse_labelled_queries(lines=['{"q": "x", "rel": ["F1"], "evidence": 3}'])
    with pytest.raises(InvalidInput, match="sans fiche attendue"):
        parse_labelled_queries(lines=['{"q": "x", "rel": [], "evidence": "y"}'])


def test_the_quote_must_lie_inside_what_is_shown() -> None:
    assert shows_evidence("3 € TTC  par m²", "… au maximum 3 € TTC par\\nm² de surface …".replace(
        "\\n", "\n"))
    assert shows_evidence("LE LOCATAIRE", "… le locataire paie.")
    assert not shows_evidence("3 € TTC par m²", "… au maximum 3 € …")
    assert not shows_evidence("x", None)


def test_evidence_at_one_counts_only_queries_whose_first_hit_is_expected() -> None:
    report = evidence_report(ranked=[
        ranked("a", "F1", "F1", "… 3 € TTC par m² …", "Lorsque l'état des lieux…"),
        ranked("b", "F1", "F1", "… autre chose …", "3 € TTC par m² dès le début"),
        ranked("c", "F1", "F2", "… 3 € TTC par m² …", "…"),  # wrong first hit: left out
        ranked("d", "F1", "F1", "… 3 € TTC par m² …", "…", evidence=None),  # not labelled
    ])
    assert report is not None
    assert (report.labelled, report.ranked_first) == (3, 2)
    assert (report.passage, report.opening) == (0.5, 0.5)
    assert evidence_report(ranked=[ranked("d", "F1", "F1", "x", "y", evidence=None)]) is None
