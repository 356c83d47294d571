"""Search: map vector-index hits to active entries, abstain when nothing is close enough."""

from __future__ import annotations

import logging
import math
import threading
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import snowballstemmer
from sqlalchemy import select
from sqlalchemy.orm import Session

from knowledge.models import EntryStatus, KnowledgeEntry
from knowledge.text import fold

logger = logging.getLogger(__name__)

# Calibrated abstention thresholds of the fused score, by model id, measured on the development
# set of tests/data/ over the demo knowledge base: the threshold maximising F1 of "answer when
# the top hit is right" vs "abstain" (see docs/retrieval.md to recalibrate).
DEFAULT_THRESHOLDS: dict[str, float] = {
    "e5-small-int4": 0.81,
}
# Models without a calibration: a cautious middle value, to be measured with `svp eval`.
FALLBACK_THRESHOLD = 0.5
# Extra candidates fetched from the index, in case some were retired since the last sync.
CANDIDATE_MARGIN = 5
# Dense candidates re-ranked with the lexical signal (measured: 50 beats 20 on the holdout).
RERANK_POOL = 50
# Weight of the lexical signal in the fused score (measured best among 0.05-0.3).
LEXICAL_WEIGHT = 0.1
BM25_K1 = 1.2
BM25_B = 0.75

# Function words carry no topic: dropped before stemming (already accent-folded).
STOPWORDS = frozenset("""
a afin ai aie aient ainsi alors as au aucun aucune aupres auquel aura aurait aussi autre autres
aux avaient avais avait avant avec avez aviez avoir avons ayant c ca car ce ceci cela celle
celles celui cependant certains ces cet cette ceux chaque chez ci comme comment d dans de des
desquels deja doit doivent donc dont du duquel elle elles en encore entre est et etaient etais
etait etant ete etes etre eu eux faire fait faut il ils j je l la laquelle le lequel les
lesquels leur leurs lors lorsque lui m ma mais me meme memes mes moi moins mon n ne ni non nos
notre nous on ont or ou par parce pas peu peut peuvent plus pour pourquoi puis qu quand que
quel quelle quelles quels qui quoi s sa sans se selon ses si sien soit sommes son sont sous
suis sur t ta te tel telle tes toi ton tous tout toute toutes tres tu un une unes uns vers
voici voila vos votre vous y
""".split())


@dataclass(frozen=True)
class SearchHit:
    """One suggested entry with its score (higher is closer)."""

    entry_id: int
    external_id: str | None
    question: str
    answer: str
    score: float
    theme: str | None
    source: str | None


@dataclass(frozen=True)
class SearchResult:
    """The answer to a search: ranked hits, or an abstention when nothing is close enough."""

    query: str
    abstained: bool
    hits: list[SearchHit] = field(default_factory=list)


def default_threshold(model_id: str) -> float:
    """Return the measured abstention threshold of a model (a cautious fallback otherwise)."""
    return DEFAULT_THRESHOLDS.get(model_id, FALLBACK_THRESHOLD)


def active_hits(*, session: Session, ranked: Sequence[tuple[int, float]]) -> list[SearchHit]:
    """Turn (entry id, score) pairs into hits, dropping entries that are not active."""
    if not ranked:
        return []
    ids = [entry_id for entry_id, _ in ranked]
    entries = {
        entry.id: entry
        for entry in session.scalars(
            select(KnowledgeEntry).where(KnowledgeEntry.id.in_(ids),
                                         KnowledgeEntry.status == EntryStatus.ACTIVE.value)
        )
    }
    hits: list[SearchHit] = []
    for entry_id, score in ranked:
        entry = entries.get(entry_id)
        if entry is None:
            continue
        hits.append(SearchHit(entry_id=entry.id, external_id=entry.external_id,
                              question=entry.question, answer=entry.answer,
                              score=round(float(score), 6), theme=entry.theme,
                              source=entry.source))
    hits.sort(key=lambda hit: (-hit.score, hit.entry_id))
    return hits


def decide(*, query: str, hits: list[SearchHit], k: int, threshold: float) -> SearchResult:
    """Keep the k best hits at or above the threshold; abstain when none is."""
    kept = [hit for hit in hits if hit.score >= threshold][:max(k, 0)]
    return SearchResult(query=query, abstained=not kept, hits=kept)


class FrenchAnalyzer:
    """Turns French text into stemmed terms: accents folded, function words dropped.

    The snowball stemmer keeps state while it works, so calls are serialised; stems of words
    already seen are cached (the vocabulary of a knowledge base is small).
    """

    def __init__(self, cache_size: int = 200_000) -> None:
        self._stemmer = snowballstemmer.stemmer("french")
        self._cache: dict[str, str] = {}
        self._cache_size = cache_size
        self._lock = threading.Lock()

    def tokens(self, text: str) -> list[str]:
        """Return the stems of the text's content words, in order."""
        words = [word for word in fold(text).split() if len(word) > 1 and word not in STOPWORDS]
        with self._lock:
            stems = []
            for word in words:
                stem = self._cache.get(word)
                if stem is None:
                    stem = self._stemmer.stemWord(word)
                    if len(self._cache) < self._cache_size:
                        self._cache[word] = stem
                stems.append(stem)
        return stems

    def terms(self, text: str) -> dict[str, int]:
        """Return how often each stem occurs in the text."""
        return dict(Counter(self.tokens(text)))


def lexical_scores(query_terms: Sequence[str],
                   documents: Sequence[Mapping[str, int] | None]) -> list[float]:
    """Score documents against query terms: BM25 share of the query's weight, in [0, 1].

    Inverse document frequencies come from the candidate documents themselves (the dense
    neighbours of the query), which keeps the signal local and needs no corpus statistics.
    Each matched term contributes its saturated BM25 weight divided by its maximum, and the sum
    is divided by the total weight of the query: 1 means every query term is well represented,
    and a query of words found in no candidate (off-topic) scores near 0.
    """
    unique = sorted(set(query_terms))
    known = [doc or {} for doc in documents]
    if not unique or not known:
        return [0.0] * len(documents)
    lengths = [sum(doc.values()) for doc in known]
    average = (sum(lengths) / len(lengths)) or 1.0
    count = len(known)
    weights = {}
    for term in unique:
        frequency = sum(1 for doc in known if term in doc)
        weights[term] = math.log(1.0 + (count - frequency + 0.5) / (frequency + 0.5))
    total = sum(weights.values()) or 1.0
    scores = []
    for doc, length in zip(known, lengths, strict=True):
        norm = BM25_K1 * (1.0 - BM25_B + BM25_B * length / average)
        score = 0.0
        for term in unique:
            tf = doc.get(term, 0)
            if tf:
                score += weights[term] * tf / (tf + norm)
        scores.append(score / total)
    return scores


def fuse(dense: float, lexical: float, weight: float = LEXICAL_WEIGHT) -> float:
    """Combine the cosine of the embeddings with the lexical score (both higher is closer)."""
    return (1.0 - weight) * dense + weight * lexical
