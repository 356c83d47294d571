"""The legal reference parser: its corpus of citations as people write them, and its API."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from knowledge.errors import InvalidInput
from knowledge.watch.references import (
    CODES,
    LegalReference,
    TextNames,
    find_references,
    load_text_names,
    parse_reference_field,
    unique,
)

CORPUS = Path(__file__).with_name("references_corpus.jsonl")
MIN_PRECISION = 0.97
MIN_RECALL = 0.95


@dataclass
class Score:
    """Micro precision and recall over labels on the corpus."""

    citations: int = 0
    expected: int = 0
    found: int = 0
    right: int = 0
    misses: list[str] = field(default_factory=list)

    @property
    def precision(self) -> float:
        """Share of the labels found that were expected."""
        return self.right / self.found if self.found else 1.0

    @property
    def recall(self) -> float:
        """Share of the expected labels that were found."""
        return self.right / self.expected if self.expected else 1.0

    def summary(self) -> str:
        """The one line written at the end of the test run."""
        return (f"Références juridiques : {self.citations} citations, "
                f"précision {self.precision:.2f}, rappel {self.recall:.2f}")


def labels_of(row: dict[str, object], names: TextNames) -> list[str]:
    """The labels the parser gives for one corpus line."""
    text = str(row["text"])
    if row.get("mode") == "field":
        default = row.get("default_code")
        return [ref.label for ref in parse_reference_field(
            text, names=names, default_code=str(default) if default else None)]
    return [hit.reference.label for hit in find_references(text, names=names)]


def score_corpus(names: TextNames | None = None) -> Score:
    """Run the parser over the corpus and count expected and found labels."""
    names = names or load_text_names()
    score = Score()
    for line in CORPUS.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        expected, found = list(row["expected"]), labels_of(row, names)
        score.citations += 1
        score.expected += len(expected)
        score.found += len(found)
        right = sum(1 for label in dict.fromkeys(found) if label in expected)
        score.right += right
        if set(found) != set(expected):
            score.misses.append(f"{row['text']!r}: expected {expected}, found {found}")
    return score


def corpus_summary() -> str:
    """The summary line for the terminal report (used by tests/conftest.py)."""
    return score_corpus().summary()


@pytest.fixture(scope="module")
def names() -> TextNames:
    return load_text_names()


def test_corpus_precision_and_recall_are_high(names: TextNames) -> None:
    score = score_corpus(names)
    print(score.summary())
    print("\n".join(score.misses))
    assert score.citations >= 170
    assert score.precision >= MIN_PRECISION, score.misses
    assert score.recall >= MIN_RECALL, score.misses


def test_offsets_point_at_the_citation(names: TextNames) -> None:
    text = "Réponse : selon l’article L. 441-1 du CCH, puis la loi Égalité et citoyenneté."
    hits = find_references(text, names=names)
    assert [hit.text for hit in hits] == ["article L. 441-1 du CCH", "loi Égalité et citoyenneté"]
    assert all(text[hit.start:hit.end] == hit.text for hit in hits)


def test_offsets_stay_right_after_decomposed_accents(names: TextNames) -> None:
    text = "De\u0301cision : voir la loi E\u0301LAN."
    [hit] = find_references(text, names=names)
    assert hit.text == "loi E\u0301LAN"


def test_several_articles_share_the_citation_span(names: TextNames) -> None:
    hits = find_references("art. L441-1, L441-2 et R441-3 du CCH", names=names)
    assert [hit.reference.article for hit in hits] == ["L441-1", "L441-2", "R441-3"]
    assert {(hit.start, hit.end) for hit in hits} == {(0, 36)}


def test_a_range_covers_the_articles_between_its_ends(names: TextNames) -> None:
    [reference] = parse_reference_field("L. 441-1 à L. 441-2-9 du CCH", names=names)
    cch = CODES["CCH"].cid
    assert reference.covers(cch, "L441-2-3")
    assert reference.covers(cch, "L. 441-1")
    assert reference.covers(cch, "L441-2-9")
    assert not reference.covers(cch, "L441-2-10")
    assert not reference.covers(cch, "L441-3")
    assert not reference.covers(cch, "R441-2")
    assert not reference.covers(CODES["CGI"].cid, "L441-2")


def test_a_single_article_covers_only_itself(names: TextNames) -> None:
    [reference] = parse_reference_field("CGI art. 1388 bis", names=names)
    assert reference.covers(CODES["CGI"].cid, "1388 bis")
    assert not reference.covers(CODES["CGI"].cid, "1388")


def test_labels_are_stable(names: TextNames) -> None:
    dotted, spaced, bare = (parse_reference_field(text, names=names) for text in (
        "art. L.441-1 du CCH", "article L 441-1 du code de la construction", "CCH L441-1"))
    assert dotted == spaced == bare
    assert dotted[0].label == "CCH art. L441-1"
    assert parse_reference_field("art. L.441-1 du CCH", names=names) == dotted


def test_labels_read_back_as_themselves(names: TextNames) -> None:
    for line in CORPUS.read_text(encoding="utf-8").splitlines():
        for label in json.loads(line)["expected"]:
            assert [ref.label for ref in parse_reference_field(label, names=names)] == [label]


def test_an_article_without_a_code_is_not_guessed(names: TextNames) -> None:
    assert find_references("l'article L. 441-1 précise", names=names) == []
    assert parse_reference_field("L441-1", names=names) == []
    [reference] = parse_reference_field("L441-1", names=names, default_code="CCH")
    assert reference.cid == CODES["CCH"].cid


def test_an_unknown_default_code_is_refused(names: TextNames) -> None:
    with pytest.raises(InvalidInput, match="Code inconnu"):
        parse_reference_field("L441-1", names=names, default_code="XYZ")


def test_unique_keeps_the_first_of_each_label(names: TextNames) -> None:
    found = [hit.reference for hit in find_references(
        "loi ELAN, puis loi n° 2018-1021, puis CCH art. L441-1", names=names)]
    assert [ref.label for ref in unique(found)] == [
        "loi n° 2018-1021 du 23 novembre 2018 (ELAN)", "CCH art. L441-1"]


def test_a_law_by_number_gets_its_date_name_and_id(names: TextNames) -> None:
    [reference] = parse_reference_field("loi n°2018-1021", names=names)
    assert reference == LegalReference("text", None, None, None, "loi", "2018-1021",
                                       reference.signed_on, "ELAN", "JORFTEXT000037639478")
    assert str(reference.signed_on) == "2018-11-23"


def test_an_extra_file_replaces_and_adds_names(tmp_path: Path) -> None:
    extra = tmp_path / "textes.jsonl"
    extra.write_text("\n".join(json.dumps(line, ensure_ascii=False) for line in (
        {"key": "elan", "nature": "loi", "number": "2018-1021", "date": "2018-11-23",
         "title": "ELAN", "names": ["Élan 2018"], "cid": None},
        {"key": "lemoine", "nature": "loi", "number": "2022-270", "date": "2022-02-28",
         "title": "pour un accès plus juste à l'assurance emprunteur", "names": ["Lemoine"],
         "cid": None},
    )) + "\n", encoding="utf-8")
    names = load_text_names(extra)
    assert len(names) == len(load_text_names()) + 1
    elan = names.by_number("2018-1021")
    assert elan is not None and elan.names == ("Élan 2018",) and elan.cid is None
    [reference] = parse_reference_field("loi Lemoine", names=names)
    assert reference.label == "loi n° 2022-270 du 28 février 2022 (Lemoine)"


@pytest.mark.parametrize("line", [
    "pas du json",
    '["une", "liste"]',
    '{"key": "x", "nature": "règlement", "number": "2020-1", "names": []}',
    '{"key": "x", "nature": "loi", "number": "2020-1", "date": "1er mai", "names": []}',
    '{"key": "x", "nature": "loi", "number": "vingt", "names": []}',
    '{"key": "x", "nature": "loi", "number": "2020-1", "names": "X"}',
    '{"key": "x", "nature": "loi", "number": "2020-1", "names": [], "cid": "123"}',
    '{"key": "x", "nature": "loi", "names": []}',
])
def test_a_malformed_line_names_the_file_and_line(tmp_path: Path, line: str) -> None:
    extra = tmp_path / "textes.jsonl"
    good = '{"key": "y", "nature": "loi", "number": "2020-2", "names": ["Y"]}'
    extra.write_text(f"{good}\n\n{line}\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match=r"textes\.jsonl, ligne 3 : "):
        load_text_names(extra)


def test_the_bundled_file_has_the_ids_we_rely_on(names: TextNames) -> None:
    elan, molle = names.by_name("ELAN"), names.by_name("MOLLE", nature="loi")
    assert elan is not None and elan.cid == "JORFTEXT000037639478"
    assert molle is not None and molle.number == "2009-323"
    assert all(code.cid.startswith("LEGITEXT") for code in CODES.values())
