"""Evaluation of search against a labelled set: ranking metrics and abstention calibration.

A labelled set is a JSONL file, one query a line: `{"q": "...", "rel": ["F1170", ...]}` where
`rel` lists the external ids of every entry that answers the query; `rel: []` means the right
behaviour is to suggest nothing (abstain).

Definitions used throughout:

- Ranking metrics (Recall@1, Recall@5, Recall@k, MRR cut at k) are computed over answerable
  queries only, on the raw ranking (no abstention).
- The *top score* of a query is the score of its first hit in the raw ranking.
- Abstention AUC: the probability that an answerable query's top score is higher than an
  unanswerable query's (Mann-Whitney U / (n_pos * n_neg), ties count one half).
- Answer-or-abstain decision at threshold t: the system answers a query when its top score is
  >= t. A *true positive* is an answerable query that is answered and whose top hit is relevant.
  Precision = true positives / answered queries (a wrong top hit or an answer to an unanswerable
  query both count against it); recall = true positives / answerable queries.
- The best threshold maximises that F1; among equal F1 the highest threshold wins, and the value
  reported is the midpoint between the lowest accepted top score and the next lower top score,
  so the cut does not sit exactly on one query of the set.
- Evidence@1, over the queries with an `evidence` field (a verbatim quote of the expected
  entry's answer) whose first hit is relevant: the share whose first hit shows the quote under
  its title, i.e. the quote (whitespace collapsed, case folded) lies inside the excerpt the bot
  shows (the best passage, `passages.shown_excerpt`, or the opening when the entry has no
  passages). The baseline does the same with the answer's opening cut at 280 characters (what
  the bot showed before passages). Queries whose first hit is wrong are left out of both: the
  ranking is measured by Recall@1, evidence by this.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from knowledge.errors import InvalidInput
from knowledge.retrieval import passages
from knowledge.store.models import EntryStatus, KnowledgeEntry
from knowledge.text import read_utf8_file

if TYPE_CHECKING:
    from knowledge.runtime import Knowledge

# Raw ranking: the search must not abstain so that every query gets its top score.
RAW_MIN_SCORE = -1.0


@dataclass(frozen=True)
class LabelledQuery:
    """One query of a labelled set and the external ids of the entries that answer it."""

    text: str
    relevant: frozenset[str]
    line: int = 0
    # A verbatim quote of the expected entry's answer that answers the query (evidence@1).
    evidence: str | None = None

    @property
    def answerable(self) -> bool:
        """Whether some entry answers this query (otherwise the search should abstain)."""
        return bool(self.relevant)


@dataclass(frozen=True)
class RankedQuery:
    """A labelled query with the external ids and scores the search returned, best first."""

    query: LabelledQuery
    ranking: tuple[str | None, ...]
    scores: tuple[float, ...]
    # What the first hit shows under its title: its best passage, and its opening.
    top_shown: str | None = None
    top_opening: str | None = None

    @property
    def top_score(self) -> float:
        """The score of the first hit, or -inf when the search returned nothing."""
        return self.scores[0] if self.scores else -math.inf

    @property
    def first_relevant_rank(self) -> int | None:
        """The 1-based rank of the first relevant hit, or None when none was returned."""
        for rank, external_id in enumerate(self.ranking, start=1):
            if external_id is not None and external_id in self.query.relevant:
                return rank
        return None

    @property
    def top_is_relevant(self) -> bool:
        """Whether the first hit answers the query."""
        return self.first_relevant_rank == 1


@dataclass(frozen=True)
class DecisionQuality:
    """Precision, recall and F1 of the answer-or-abstain decision at one threshold."""

    threshold: float
    precision: float
    recall: float
    f1: float


@dataclass(frozen=True)
class EvaluationReport:
    """Every number `svp eval` prints, and the per-query rankings behind them."""

    n: int
    n_answerable: int
    n_unanswerable: int
    k: int
    recall_at_1: float
    recall_at_5: float
    recall_at_k: float
    mrr: float
    abstain_auc: float | None
    best: DecisionQuality | None
    configured: DecisionQuality | None
    unknown_ids: tuple[str, ...] = ()
    ranked: tuple[RankedQuery, ...] = field(default=(), repr=False)
    evidence: EvidenceReport | None = None


@dataclass(frozen=True)
class EvidenceReport:
    """Evidence@1 of the passage shown and of the opening (see the module docstring)."""

    labelled: int
    ranked_first: int
    passage: float | None
    opening: float | None


def parse_labelled_queries(*, lines: Iterable[str]) -> list[LabelledQuery]:
    """Parse labelled-set lines; raise InvalidInput naming the line and the reason."""
    queries: list[LabelledQuery] = []
    seen: dict[str, int] = {}
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line:
            continue
        query = _parse_line(line, number=number)
        key = query.text.casefold()
        if key in seen:
            raise InvalidInput(
                f"ligne {number} : requête en double (déjà présente ligne {seen[key]})."
            )
        seen[key] = number
        queries.append(query)
    if not queries:
        raise InvalidInput("le fichier ne contient aucune requête.")
    return queries


def load_labelled_queries(*, path: Path) -> list[LabelledQuery]:
    """Read a labelled JSONL file; raise InvalidInput with a French reason when unusable."""
    text = read_utf8_file(path)
    try:
        return parse_labelled_queries(lines=text.splitlines())
    except InvalidInput as error:
        raise InvalidInput(f"{path.name}, {error}") from None


def _parse_line(line: str, *, number: int) -> LabelledQuery:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as error:
        raise InvalidInput(f"ligne {number} : JSON invalide (colonne {error.colno}).") from None
    if not isinstance(record, dict):
        raise InvalidInput(f"ligne {number} : un objet JSON est attendu.")
    text = record.get("q")
    if not isinstance(text, str) or not text.strip():
        raise InvalidInput(f"ligne {number} : le champ « q » (texte non vide) est manquant.")
    relevant = record.get("rel")
    if not isinstance(relevant, list):
        raise InvalidInput(
            f"ligne {number} : le champ « rel » doit être une liste d'identifiants "
            "(vide si la bonne réponse est de s'abstenir)."
        )
    if not all(isinstance(item, str) and item.strip() for item in relevant):
        raise InvalidInput(
            f"ligne {number} : « rel » ne doit contenir que des identifiants texte non vides."
        )
    evidence = record.get("evidence")
    if evidence is not None and (not isinstance(evidence, str) or not evidence.strip()):
        raise InvalidInput(f"ligne {number} : le champ « evidence » doit être un texte non vide.")
    if evidence is not None and not relevant:
        raise InvalidInput(f"ligne {number} : « evidence » sans fiche attendue (« rel » vide).")
    return LabelledQuery(
        text=text.strip(), relevant=frozenset(item.strip() for item in relevant), line=number,
        evidence=evidence.strip() if evidence is not None else None,
    )


def _flat(text: str) -> str:
    return " ".join(text.split()).casefold()


def shows_evidence(quote: str, shown: str | None) -> bool:
    """Whether a shown excerpt contains the quote (whitespace collapsed, case folded)."""
    return shown is not None and _flat(quote) in _flat(shown)


def evidence_report(*, ranked: Sequence[RankedQuery]) -> EvidenceReport | None:
    """Evidence@1 of the shown passage and of the opening; None when no query has evidence."""
    labelled = [item for item in ranked if item.query.evidence]
    if not labelled:
        return None
    first = [item for item in labelled if item.top_is_relevant]
    if not first:
        return EvidenceReport(labelled=len(labelled), ranked_first=0, passage=None,
                              opening=None)
    quote = [(item, item.query.evidence or "") for item in first]
    return EvidenceReport(
        labelled=len(labelled), ranked_first=len(first),
        passage=sum(shows_evidence(text, item.top_shown) for item, text in quote) / len(first),
        opening=sum(shows_evidence(text, item.top_opening) for item, text in quote) / len(first),
    )


def recall_at(*, ranked: Sequence[RankedQuery], k: int) -> float:
    """Share of answerable queries with a relevant entry among the first k hits."""
    answerable = [item for item in ranked if item.query.answerable]
    if not answerable:
        return 0.0
    found = 0
    for item in answerable:
        rank = item.first_relevant_rank
        if rank is not None and rank <= k:
            found += 1
    return found / len(answerable)


def mean_reciprocal_rank(*, ranked: Sequence[RankedQuery], k: int | None = None) -> float:
    """Mean of 1/rank of the first relevant hit within k over answerable queries (0 if absent)."""
    answerable = [item for item in ranked if item.query.answerable]
    if not answerable:
        return 0.0
    total = 0.0
    for item in answerable:
        rank = item.first_relevant_rank
        if rank is not None and (k is None or rank <= k):
            total += 1.0 / rank
    return total / len(answerable)


def separation_auc(*, positives: Sequence[float], negatives: Sequence[float]) -> float | None:
    """Probability that a positive outscores a negative (ties: half); None if a side is empty."""
    if not positives or not negatives:
        return None
    # Rank-sum form of Mann-Whitney U with average ranks for ties: O(n log n).
    pooled = sorted([(score, 1) for score in positives] + [(score, 0) for score in negatives])
    rank_sum_positive = 0.0
    start = 0
    while start < len(pooled):
        end = start
        while end + 1 < len(pooled) and pooled[end + 1][0] == pooled[start][0]:
            end += 1
        average_rank = (start + end) / 2 + 1
        rank_sum_positive += average_rank * sum(label for _, label in pooled[start:end + 1])
        start = end + 1
    n_pos, n_neg = len(positives), len(negatives)
    u_statistic = rank_sum_positive - n_pos * (n_pos + 1) / 2
    return u_statistic / (n_pos * n_neg)


def abstention_auc(*, ranked: Sequence[RankedQuery]) -> float | None:
    """AUC of the top score separating answerable from unanswerable queries."""
    return separation_auc(
        positives=[item.top_score for item in ranked if item.query.answerable],
        negatives=[item.top_score for item in ranked if not item.query.answerable],
    )


def decision_quality(*, ranked: Sequence[RankedQuery], threshold: float) -> DecisionQuality:
    """Precision, recall and F1 of answering exactly the queries whose top score >= threshold."""
    answered = [item for item in ranked if item.top_score >= threshold]
    true_positives = sum(1 for item in answered if item.top_is_relevant)
    n_answerable = sum(1 for item in ranked if item.query.answerable)
    precision = true_positives / len(answered) if answered else 0.0
    recall = true_positives / n_answerable if n_answerable else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return DecisionQuality(threshold=threshold, precision=precision, recall=recall, f1=f1)


def best_threshold(*, ranked: Sequence[RankedQuery]) -> DecisionQuality | None:
    """The abstention threshold maximising F1 (see the module docstring); None without scores."""
    scores = sorted({item.top_score for item in ranked if math.isfinite(item.top_score)},
                    reverse=True)
    best: DecisionQuality | None = None
    best_index = 0
    for index, score in enumerate(scores):
        quality = decision_quality(ranked=ranked, threshold=score)
        # The tolerance keeps float noise from breaking ties towards the lower cut.
        if best is None or quality.f1 > best.f1 + 1e-12:
            best, best_index = quality, index
    if best is None:
        return None
    if best_index + 1 < len(scores):
        # Any cut strictly between the lowest accepted and the next lower score gives the same
        # decisions on this set; the midpoint leaves room on both sides.
        midpoint = (scores[best_index] + scores[best_index + 1]) / 2
        return DecisionQuality(threshold=midpoint, precision=best.precision,
                               recall=best.recall, f1=best.f1)
    return best


def known_external_ids(*, session: Session) -> set[str]:
    """External ids of the active entries of the knowledge base."""
    rows = session.scalars(
        select(KnowledgeEntry.external_id).where(
            KnowledgeEntry.status == EntryStatus.ACTIVE.value,
            KnowledgeEntry.external_id.is_not(None),
        )
    )
    return {external_id for external_id in rows if external_id is not None}


def summarise(*, ranked: Sequence[RankedQuery], k: int,
              configured_threshold: float | None = None,
              unknown_ids: Sequence[str] = ()) -> EvaluationReport:
    """Compute every metric of a report from ranked queries."""
    n_answerable = sum(1 for item in ranked if item.query.answerable)
    return EvaluationReport(
        n=len(ranked),
        n_answerable=n_answerable,
        n_unanswerable=len(ranked) - n_answerable,
        k=k,
        recall_at_1=recall_at(ranked=ranked, k=1),
        recall_at_5=recall_at(ranked=ranked, k=5),
        recall_at_k=recall_at(ranked=ranked, k=k),
        mrr=mean_reciprocal_rank(ranked=ranked, k=k),
        abstain_auc=abstention_auc(ranked=ranked),
        best=best_threshold(ranked=ranked),
        configured=(decision_quality(ranked=ranked, threshold=configured_threshold)
                    if configured_threshold is not None else None),
        unknown_ids=tuple(sorted(unknown_ids)),
        ranked=tuple(ranked),
        evidence=evidence_report(ranked=ranked),
    )


def rank_queries(*, knowledge: Knowledge, queries: Sequence[LabelledQuery],
                 k: int) -> list[RankedQuery]:
    """Run every query through the search without abstention and keep the top k hits."""
    ranked: list[RankedQuery] = []
    for query in queries:
        # Passages are the same with or without: asked for only where evidence is measured.
        result = knowledge.similar(query.text, k=k, min_score=RAW_MIN_SCORE,
                                   passages=query.evidence is not None)
        top = result.hits[0] if result.hits else None
        ranked.append(RankedQuery(
            query=query,
            ranking=tuple(hit.external_id for hit in result.hits),
            scores=tuple(float(hit.score) for hit in result.hits),
            top_shown=None if top is None else passages.suggestion_text(top.answer, top.passage),
            top_opening=None if top is None else passages.opening(top.answer,
                                                                  passages.OPENING_LIMIT),
        ))
    return ranked


def evaluate(*, knowledge: Knowledge, queries: Sequence[LabelledQuery],
             k: int = 5) -> EvaluationReport:
    """Evaluate the search of a knowledge base on a labelled set."""
    if k < 1:
        raise InvalidInput("k doit être au moins 1.")
    with knowledge.session() as session:
        known = known_external_ids(session=session)
    if not known:
        raise InvalidInput(
            "la base ne contient aucune fiche active avec un identifiant externe : "
            "importez d'abord les fiches (« svp kb import »)."
        )
    unknown = {item for query in queries for item in query.relevant} - known
    # Recall@5 is always reported, so the ranking goes at least five deep.
    ranked = rank_queries(knowledge=knowledge, queries=queries, k=max(k, 5))
    return summarise(ranked=ranked, k=k, configured_threshold=knowledge.abstain_threshold,
                     unknown_ids=sorted(unknown))


# Depth of the ranking searched for the expected entry of a missed query (the re-ranked pool).
MISS_DEPTH = 50


@dataclass(frozen=True)
class Miss:
    """A query whose first hit is wrong: where its expected entry ranked, and what came first.

    For a query that must abstain, a miss is a first hit scored at or above the threshold.
    """

    query: LabelledQuery
    expected_rank: int | None
    expected_id: str | None
    expected_score: float | None
    top_id: str | None
    top_question: str | None
    top_score: float | None


def find_misses(*, knowledge: Knowledge, queries: Sequence[LabelledQuery],
                depth: int = MISS_DEPTH) -> list[Miss]:
    """Return the queries whose first hit is wrong, in the order of the set."""
    threshold = knowledge.abstain_threshold
    misses: list[Miss] = []
    for query in queries:
        hits = knowledge.similar(query.text, k=depth, min_score=RAW_MIN_SCORE,
                                 passages=False).hits
        top = hits[0] if hits else None
        if query.answerable:
            if top is not None and top.external_id in query.relevant:
                continue
            found = next(((rank, hit) for rank, hit in enumerate(hits, start=1)
                          if hit.external_id in query.relevant), None)
        else:
            if top is None or top.score < threshold:
                continue
            found = None
        misses.append(Miss(
            query=query,
            expected_rank=found[0] if found else None,
            expected_id=found[1].external_id if found else None,
            expected_score=found[1].score if found else None,
            top_id=top.external_id if top else None,
            top_question=top.question if top else None,
            top_score=top.score if top else None,
        ))
    return misses
