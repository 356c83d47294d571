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
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from knowledge.errors import InvalidInput
from knowledge.retrieval.expansion import Concept, Expansion
from knowledge.store.models import EntryStatus, KnowledgeEntry
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
# Share of a glossary equivalent's lexical match counted for the query word it replaces.
ALTERNATIVE_WEIGHT = 1.0
BM25_K1 = 1.2
# Where the glossary acts, decided by measurement (docs/retrieval.md): the lexical signal
# accepts every equivalent form of a query's terms, and the embedded query text gets the first
# equivalent of each glossary headword it uses ("headwords"; "acronyms" limits that to
# one-word headwords of at most six letters, "off" embeds the query as typed).
GLOSSARY_LEXICAL = True
GLOSSARY_DENSE = "headwords"
ACRONYM_MAX_LENGTH = 6
BM25_B = 0.75
# Weight of a second lexical signal matched against the entry's question alone (field
# weighting: the question names the topic, the answer mentions neighbouring ones); 0 = off.
QUESTION_LEXICAL_WEIGHT = 0.0

# Function words carry no topic: dropped before stemming (already accent-folded).
_STOPWORD_LIST = """
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
"""
STOPWORDS = frozenset(_STOPWORD_LIST.split())


@dataclass(frozen=True)
class Passage:
    """The passage of an entry closest to a query: whole sentences, offsets into the answer."""

    position: int
    start: int
    end: int
    text: str
    score: float
    # True when the entry's question matched best and the answer's opening is shown instead.
    from_question: bool = False


@dataclass(frozen=True)
class SearchHit:
    """One suggested entry with its score (higher is closer) and its closest passage."""

    entry_id: int
    external_id: str | None
    question: str
    answer: str
    score: float
    theme: str | None
    source: str | None
    passage: Passage | None = None


@dataclass(frozen=True)
class SearchResult:
    """The answer to a search: ranked hits, or an abstention when nothing is close enough."""

    query: str
    abstained: bool
    hits: list[SearchHit] = field(default_factory=list)


def default_threshold(model_id: str) -> float:
    """Return the measured abstention threshold of a model (a cautious fallback otherwise)."""
    return DEFAULT_THRESHOLDS.get(model_id, FALLBACK_THRESHOLD)


def active_hits(*, session: Session | Connection,
                ranked: Sequence[tuple[int, float]]) -> list[SearchHit]:
    """Turn (entry id, score) pairs into hits, dropping entries that are not active."""
    if not ranked:
        return []
    ids = [entry_id for entry_id, _ in ranked]
    # Plain columns rather than ORM objects: this runs on every search.
    entries = {
        row.id: row
        for row in session.execute(
            select(KnowledgeEntry.id, KnowledgeEntry.external_id, KnowledgeEntry.question,
                   KnowledgeEntry.answer, KnowledgeEntry.theme, KnowledgeEntry.source)
            .where(KnowledgeEntry.id.in_(ids), KnowledgeEntry.status == EntryStatus.ACTIVE.value)
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

    def terms(self, text: str) -> str:
        """Return the text's stems and counts, encoded for storage (see `TermCounts`)."""
        return TermCounts.encode(Counter(self.tokens(text)))


class TermCounts:
    """Stem counts of a document, stored as text: `"<length>\t stem:count stem:count "`.

    A search reads the counts of a few query stems in 50 documents; finding ` stem:` in a
    string is much faster than decoding a JSON object of hundreds of stems.
    """

    def __init__(self, encoded: str) -> None:
        head, _, self._body = encoded.partition("\t")
        self.length = int(head or 0)

    @staticmethod
    def encode(counts: Mapping[str, int]) -> str:
        """Encode stem counts (stems never contain spaces, colons or tabs)."""
        body = " ".join(f"{stem}:{count}" for stem, count in sorted(counts.items()))
        return f"{sum(counts.values())}\t {body} "

    def count(self, stem: str) -> int:
        """Return how often the stem occurs in the document."""
        start = self._body.find(f" {stem}:")
        if start < 0:
            return 0
        start += len(stem) + 2
        return int(self._body[start:self._body.index(" ", start)])

    def __contains__(self, stem: object) -> bool:
        return isinstance(stem, str) and f" {stem}:" in self._body


def lexical_scores(query_terms: Sequence[str],
                   documents: Sequence[str | None]) -> list[float]:
    """Score documents against query stems: BM25 share of the query's weight, in [0, 1]."""
    return concept_scores([((stem,),) for stem in sorted(set(query_terms))], documents)


def concept_scores(concepts: Sequence[Concept], documents: Sequence[str | None], *,
                   alternative_weight: float | None = None) -> list[float]:
    """Score documents against query concepts: BM25 share of the query's weight, in [0, 1].

    A concept is the query's own stems followed by equivalent forms from the glossary; a plain
    word is a concept of one form of one stem. Inverse document frequencies come from the
    candidate documents themselves (the dense neighbours of the query), which keeps the signal
    local and needs no corpus statistics. A concept weighs the idf of its own stems; a document
    earns that weight times the best-matching form's idf-weighted saturated term frequency
    (alternative forms discounted by `alternative_weight`), and the sum is divided by the
    total weight of the query: 1 means every query concept is well represented, and a query
    of words found in no candidate (off-topic) scores near 0. Without glossary matches this is
    exactly the BM25 share of the query's distinct stems.
    """
    unique_concepts = list(dict.fromkeys(concept for concept in concepts if concept and
                                         concept[0]))
    if not unique_concepts or not documents:
        return [0.0] * len(documents)
    discount = ALTERNATIVE_WEIGHT if alternative_weight is None else alternative_weight
    stems = sorted({stem for concept in unique_concepts for form in concept for stem in form})
    column = {stem: index for index, stem in enumerate(stems)}
    known = [TermCounts(doc or "0\t ") for doc in documents]
    counts = [[doc.count(stem) for stem in stems] for doc in known]
    average = (sum(doc.length for doc in known) / len(known)) or 1.0
    idf = []
    for index in range(len(stems)):
        frequency = sum(1 for row in counts if row[index])
        idf.append(math.log(1.0 + (len(known) - frequency + 0.5) / (frequency + 0.5)))
    forms = [[([column[stem] for stem in form], sum(idf[column[stem]] for stem in form))
              for form in concept] for concept in unique_concepts]
    weights = [own_weight for (_, own_weight), *_ in forms]
    total = sum(weights) or 1.0
    scores = []
    for doc, row in zip(known, counts, strict=True):
        norm = BM25_K1 * (1.0 - BM25_B + BM25_B * doc.length / average)
        partial = [idf[index] * tf / (tf + norm) if (tf := row[index]) else 0.0
                   for index in range(len(stems))]
        score = 0.0
        for weight, concept_forms in zip(weights, forms, strict=True):
            best = 0.0
            for position, (indexes, form_weight) in enumerate(concept_forms):
                if not form_weight:
                    continue
                value = sum(partial[index] for index in indexes) / form_weight
                best = max(best, value if position == 0 else value * discount)
            score += weight * best
        scores.append(score / total)
    return scores


# How an entry's question vector combines with its passage vector (see `Ranking`).
QUESTION_VECTOR_MODES = ("max", "weighted", "off")
# Where the glossary acts: both signals, the lexical signal only, the embedded query only, none.
GLOSSARY_MODES = ("on", "lexical", "dense", "off")
MAX_RERANK_POOL = 1000


@dataclass(frozen=True)
class Ranking:
    """How the search ranks entries: which signals count, and how much (docs/retrieval.md).

    - `question_vectors`: an entry's dense score from its passage vector `p` and its question
      vector `q`: `max` (the better of the two), `weighted` (`question_weight × q + (1 −
      question_weight) × p`) or `off` (the passage alone; question vectors are not read).
      Learnt phrasings always count by their best vector.
    - `glossary`: where the glossary's equivalents act (`on`: lexical signal and embedded
      query, `lexical`, `dense`, `off`).
    - `lexical_weight`, `question_lexical_weight`: shares of the lexical signals in the fused
      score, the rest going to the dense score.
    - `rerank_pool`: how many dense candidates are re-ranked with the lexical signal.
    """

    # Defaults: the best on the held-out SVP sets among the configurations tuned on the
    # development sets (issue 27, docs/evaluation.md « Cinquième étape »).
    question_vectors: str = "weighted"
    question_weight: float = 0.7
    glossary: str = "on"
    lexical_weight: float = LEXICAL_WEIGHT
    question_lexical_weight: float = QUESTION_LEXICAL_WEIGHT
    rerank_pool: int = RERANK_POOL

    def __post_init__(self) -> None:
        if self.question_vectors not in QUESTION_VECTOR_MODES:
            raise InvalidInput(
                f"réglage SVP_SEARCH_QUESTION_VECTORS invalide (« {self.question_vectors} ») : "
                f"valeurs possibles {', '.join(QUESTION_VECTOR_MODES)}.")
        if self.glossary not in GLOSSARY_MODES:
            raise InvalidInput(
                f"réglage SVP_SEARCH_GLOSSARY invalide (« {self.glossary} ») : valeurs "
                f"possibles {', '.join(GLOSSARY_MODES)}.")
        for name, value in (("QUESTION_WEIGHT", self.question_weight),
                            ("LEXICAL_WEIGHT", self.lexical_weight),
                            ("QUESTION_LEXICAL_WEIGHT", self.question_lexical_weight)):
            if not 0.0 <= value <= 1.0 or math.isnan(value):
                raise InvalidInput(f"réglage SVP_SEARCH_{name} invalide ({_french(value)}) : "
                                   "nombre entre 0 et 1 attendu.")
        if self.lexical_weight + self.question_lexical_weight >= 1.0:
            raise InvalidInput(
                "réglages SVP_SEARCH_LEXICAL_WEIGHT et SVP_SEARCH_QUESTION_LEXICAL_WEIGHT "
                f"invalides ({_french(self.lexical_weight)} + "
                f"{_french(self.question_lexical_weight)}) : leur somme doit rester sous 1, "
                "le reste du score venant des vecteurs.")
        if isinstance(self.rerank_pool, bool) or not 1 <= self.rerank_pool <= MAX_RERANK_POOL:
            raise InvalidInput(
                f"réglage SVP_SEARCH_RERANK_POOL invalide ({self.rerank_pool}) : nombre entier "
                f"de candidats entre 1 et {MAX_RERANK_POOL} attendu.")

    def describe(self) -> str:
        """The settings in one French line (for evaluation reports)."""
        questions = self.question_vectors
        if questions == "weighted":
            questions = f"pondérés (question {_french(self.question_weight)})"
        extra = (f", lexical sur la question {_french(self.question_lexical_weight)}"
                 if self.question_lexical_weight else "")
        return (f"vecteurs de question {questions}, glossaire {self.glossary}, poids lexical "
                f"{_french(self.lexical_weight)}{extra}, {self.rerank_pool} candidats "
                "reclassés")

    def dense_score(self, passage: float, question: float | None) -> float:
        """An entry's dense score from the cosines of its passage and question vectors."""
        if question is None or self.question_vectors == "off":
            return passage
        if self.question_vectors == "max":
            return max(passage, question)
        return self.question_weight * question + (1.0 - self.question_weight) * passage


def _french(value: float) -> str:
    return f"{value:g}".replace(".", ",")


def lexical_concepts(expansion: Expansion, ranking: Ranking | None = None) -> list[Concept]:
    """The query's lexical concepts, with or without glossary equivalents (see `Ranking`)."""
    lexical = GLOSSARY_LEXICAL if ranking is None else ranking.glossary in ("on", "lexical")
    if lexical:
        return expansion.concepts
    return [concept[:1] for concept in expansion.concepts]


def dense_query(expansion: Expansion, ranking: Ranking | None = None) -> str:
    """The text embedded for a query: as typed, plus what its glossary headwords stand for."""
    if GLOSSARY_DENSE == "off" or (ranking is not None
                                   and ranking.glossary not in ("on", "dense")):
        return expansion.query
    extra = [match.equivalents[0] for match in expansion.matches
             if match.headword and match.equivalents
             and (GLOSSARY_DENSE == "headwords"
                  or (" " not in match.text and len(match.text) <= ACRONYM_MAX_LENGTH))]
    return f"{expansion.query} ({' ; '.join(extra)})" if extra else expansion.query


def fuse(dense: float, lexical: float, weight: float | None = None,
         question_lexical: float = 0.0, question_weight: float | None = None) -> float:
    """Combine the cosine of the embeddings with the lexical scores (all higher is closer)."""
    share = LEXICAL_WEIGHT if weight is None else weight
    extra = QUESTION_LEXICAL_WEIGHT if question_weight is None else question_weight
    return (1.0 - share - extra) * dense + share * lexical + extra * question_lexical
