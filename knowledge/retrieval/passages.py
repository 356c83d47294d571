"""Passages of entries: the answer cut into paragraphs or sentence windows, each with a vector.

Passage vectors show evidence: under a suggestion, the passage of the entry closest to the
query. They are not in the vector index and never change how entries are ranked. An entry's
question is its passage 0 (offsets into the question); the others have offsets into the
answer exactly as stored, so `answer[start:end]` is the passage text.
"""

from __future__ import annotations

import re
import threading
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import numpy.typing as npt
from sqlalchemy import ForeignKey, Integer, LargeBinary, String, delete, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapped, Session, mapped_column

from knowledge.retrieval.expansion import Concept
from knowledge.retrieval.search import (
    FrenchAnalyzer,
    Passage,
    SearchHit,
    TermCounts,
    concept_scores,
    fuse,
)
from knowledge.store.db import Base, UtcDateTime
from knowledge.timeutil import utcnow

# A paragraph up to this length is one passage; a longer one is cut into windows of whole
# sentences (at most WINDOW_SENTENCES, at most MAX_CHARS unless one sentence is longer).
MAX_CHARS = 350
WINDOW_SENTENCES = 3
# A shorter piece (a heading, "Exemple") joins the next one when both fit in MAX_CHARS.
MIN_CHARS = 80
QUESTION_POSITION = 0
# Under a suggestion: the closest passage in whole sentences up to SHOWN_LIMIT characters, or
# the answer's opening up to OPENING_LIMIT when the entry has no passages (as before them).
SHOWN_LIMIT = 350
OPENING_LIMIT = 280

# A sentence ends with . ! ? or … (and closing quotes or brackets), before a space and a
# capital, a digit or an opening quote; a line break always ends one.
_SENTENCE_END = re.compile(r"[.!?…]+[»\")\]]*(?=\s+[«\"(\[]?[A-ZÀ-ÖØ-Þ0-9])")
# Words whose trailing dot is not a sentence end ("art. L. 442-3", "M. Dupont", "n°.").
_ABBREVIATIONS = frozenset((
    "art", "al", "av", "bd", "cf", "chap", "ex", "env", "etc", "fig", "hab", "jr", "min", "max",
    "mm", "mme", "mlle", "mr", "no", "nos", "p", "pp", "r", "s", "ste", "st", "vol",
))
_WORD_START = re.compile(r"['’(«\"]")
_LINE = re.compile(r"[^\n]+")
_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n")


class EntryPassage(Base):
    """The stored vector of one passage of an entry, with its offsets and the entry's hash."""

    __tablename__ = "entry_passages"

    entry_id: Mapped[int] = mapped_column(
        ForeignKey("entries.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    # Offsets into the answer (into the question for position 0), end excluded.
    start: Mapped[int] = mapped_column(Integer)
    end: Mapped[int] = mapped_column(Integer)
    model_id: Mapped[str] = mapped_column(String(200))
    dim: Mapped[int] = mapped_column(Integer)
    vector: Mapped[bytes] = mapped_column(LargeBinary)
    # Hash of the entry's embedded text (as `EntryEmbedding.text_hash`): the offsets hold for
    # that text only.
    text_hash: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


@dataclass(frozen=True)
class Span:
    """Where a passage lies: its position in the entry and its offsets (end excluded)."""

    position: int
    start: int
    end: int


# --- splitting -----------------------------------------------------------------------------


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Return the (start, end) offsets of the sentences of text[start:end], spaces trimmed."""
    stop = len(text) if end is None else end
    spans: list[tuple[int, int]] = []
    for line in _LINE.finditer(text, start, stop):
        cursor = line.start()
        for match in _SENTENCE_END.finditer(text, line.start(), line.end()):
            word = (text[cursor:match.start()].rsplit(None, 1)[-1:] or [""])[0]
            bare = _WORD_START.split(word)[-1].casefold()
            if (match.group().startswith(".") and len(match.group()) == 1
                    and (bare in _ABBREVIATIONS or len(bare) == 1)):
                continue
            spans.append((cursor, match.end()))
            cursor = match.end()
        spans.append((cursor, line.end()))
    return [trimmed for span in spans if (trimmed := _trim(text, *span)) is not None]


def _trim(text: str, start: int, end: int) -> tuple[int, int] | None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return (start, end) if end > start else None


def _paragraphs(answer: str) -> list[tuple[int, int]]:
    bounds, cursor = [], 0
    for match in _PARAGRAPH_BREAK.finditer(answer):
        bounds.append((cursor, match.start()))
        cursor = match.end()
    bounds.append((cursor, len(answer)))
    return [trimmed for bound in bounds if (trimmed := _trim(answer, *bound)) is not None]


def _windows(answer: str, start: int, end: int) -> list[tuple[int, int]]:
    if end - start <= MAX_CHARS:
        return [(start, end)]
    windows: list[tuple[int, int]] = []
    current: list[tuple[int, int]] = []
    for sentence in sentence_spans(answer, start, end):
        if current and (len(current) >= WINDOW_SENTENCES
                        or sentence[1] - current[0][0] > MAX_CHARS):
            windows.append((current[0][0], current[-1][1]))
            current = []
        current.append(sentence)
    if current:
        windows.append((current[0][0], current[-1][1]))
    return windows


def answer_spans(answer: str) -> list[tuple[int, int]]:
    """Cut an answer into passages: paragraphs, sentence windows of long ones, short ones joined."""
    pieces = [window for paragraph in _paragraphs(answer)
              for window in _windows(answer, *paragraph)]
    joined: list[tuple[int, int]] = []
    pending: tuple[int, int] | None = None
    for piece in pieces:
        if pending is not None:
            if piece[1] - pending[0] <= MAX_CHARS:
                piece = (pending[0], piece[1])
            else:
                joined.append(pending)
            pending = None
        if piece[1] - piece[0] < MIN_CHARS:
            pending = piece
        else:
            joined.append(piece)
    if pending is not None:
        if joined and pending[1] - joined[-1][0] <= MAX_CHARS:
            joined[-1] = (joined[-1][0], pending[1])
        else:
            joined.append(pending)
    return joined


def split(question: str, answer: str) -> list[Span]:
    """Return an entry's passages: its question (position 0), then the answer's pieces."""
    spans = [Span(QUESTION_POSITION, *(_trim(question, 0, len(question)) or (0, 0)))]
    spans += [Span(position, start, end)
              for position, (start, end) in enumerate(answer_spans(answer), start=1)]
    return spans


def span_text(span: Span, question: str, answer: str) -> str:
    """Return the text of a passage of this entry."""
    source = question if span.position == QUESTION_POSITION else answer
    return source[span.start:span.end]


def passage_texts(question: str, answer: str) -> tuple[list[Span], list[str]]:
    """Return an entry's passages and the text of each."""
    spans = split(question, answer)
    return spans, [span_text(span, question, answer) for span in spans]


# --- storage -------------------------------------------------------------------------------


def store(*, session: Session, entry_id: int, spans: Sequence[Span], vectors: Sequence[bytes],
          model_id: str, dim: int, digest: str) -> None:
    """Replace the stored passages of an entry."""
    remove(session=session, entry_id=entry_id)
    now = utcnow()
    session.add_all([
        EntryPassage(entry_id=entry_id, position=span.position, start=span.start, end=span.end,
                     model_id=model_id, dim=dim, vector=vector, text_hash=digest,
                     updated_at=now)
        for span, vector in zip(spans, vectors, strict=True)
    ])


def remove(*, session: Session, entry_id: int) -> None:
    """Delete the stored passages of an entry."""
    session.execute(delete(EntryPassage).where(EntryPassage.entry_id == entry_id))


def stored_state(*, session: Session, entry_id: int) -> tuple[str, str] | None:
    """Return (model id, text hash) of an entry's passages; None if it has none."""
    row = session.execute(
        select(EntryPassage.model_id, EntryPassage.text_hash)
        .where(EntryPassage.entry_id == entry_id).limit(1)).first()
    return None if row is None else (row.model_id, row.text_hash)


# --- the best passage for a query ----------------------------------------------------------


@dataclass(frozen=True)
class EntryText:
    """What the best-passage choice needs of a suggested entry."""

    entry_id: int
    question: str
    answer: str
    digest: str


class TermsCache:
    """Stemmed terms of the passages of recently suggested entries, per entry and text hash."""

    def __init__(self, size: int = 2_000) -> None:
        self._size = size
        self._terms: dict[tuple[int, str], list[str]] = {}
        self._lock = threading.Lock()

    def get(self, entry: EntryText, texts: Sequence[str],
            analyzer: FrenchAnalyzer) -> list[str]:
        """Return the encoded term counts of these passage texts of an entry."""
        key = (entry.entry_id, entry.digest)
        with self._lock:
            found = self._terms.get(key)
        if found is not None and len(found) == len(texts):
            return found
        terms = [TermCounts.encode(_counts(analyzer, text)) for text in texts]
        with self._lock:
            if len(self._terms) >= self._size:
                self._terms.clear()  # a new knowledge base's worth of entries: start again
            self._terms[key] = terms
        return terms


def best_passages(*, session: Session | Connection, entries: Sequence[EntryText],
                  query_vector: npt.NDArray[np.float32], concepts: Sequence[Concept],
                  model_id: str, analyzer: FrenchAnalyzer,
                  cache: TermsCache | None = None) -> dict[int, Passage]:
    """Return the passage of each entry closest to the query (entries without any left out).

    Each passage scores as entries do: the cosine with the query fused with the lexical
    signal, whose document frequencies come from this entry's passages alone.
    """
    if not entries:
        return {}
    wanted = {entry.entry_id: entry for entry in entries}
    rows = session.execute(
        select(EntryPassage.entry_id, EntryPassage.position, EntryPassage.start,
               EntryPassage.end, EntryPassage.dim, EntryPassage.vector, EntryPassage.text_hash)
        .where(EntryPassage.entry_id.in_(list(wanted)), EntryPassage.model_id == model_id)
        .order_by(EntryPassage.entry_id, EntryPassage.position)).all()
    by_entry: dict[int, list[tuple[Span, bytes]]] = defaultdict(list)
    query = np.asarray(query_vector, dtype=np.float32).reshape(-1)
    for row in rows:
        entry = wanted[int(row.entry_id)]
        # Passages cut from another text (waiting to be re-embedded) are never shown.
        if row.text_hash == entry.digest and row.dim == query.shape[0]:
            by_entry[entry.entry_id].append((Span(row.position, row.start, row.end), row.vector))
    found: dict[int, Passage] = {}
    for entry_id, stored in by_entry.items():
        entry = wanted[entry_id]
        spans = [span for span, _ in stored]
        vectors = np.frombuffer(b"".join(blob for _, blob in stored), dtype="<f4")
        dense = vectors.reshape(len(spans), -1).astype(np.float32) @ query
        texts = [span_text(span, entry.question, entry.answer) for span in spans]
        documents = (cache.get(entry, texts, analyzer) if cache is not None
                     else [TermCounts.encode(_counts(analyzer, text)) for text in texts])
        lexical = concept_scores(concepts, documents)
        scores = [fuse(float(cosine), lex) for cosine, lex in zip(dense, lexical, strict=True)]
        best = max(range(len(spans)), key=lambda index: (scores[index], -index))
        shown, from_question = spans[best], False
        if shown.position == QUESTION_POSITION:
            # The question is the suggestion's title already: show the answer's opening.
            answer_spans_ = [span for span in spans if span.position != QUESTION_POSITION]
            if not answer_spans_:
                continue
            shown, from_question = answer_spans_[0], True
        found[entry_id] = Passage(position=shown.position, start=shown.start, end=shown.end,
                                  text=span_text(shown, entry.question, entry.answer),
                                  score=round(scores[best], 6), from_question=from_question)
    return found


def _counts(analyzer: FrenchAnalyzer, text: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for stem in analyzer.tokens(text):
        counts[stem] = counts.get(stem, 0) + 1
    return counts


def opening(answer: str, limit: int) -> str:
    """The start of an answer on one line, cut on a word with an ellipsis."""
    flat = " ".join(answer.split())
    if len(flat) <= limit:
        return flat
    cut = flat[:limit].rsplit(" ", 1)[0] or flat[:limit]
    return cut.rstrip(" ,;:.") + "…"


def suggestion_text(answer: str, passage: Passage | None) -> str:
    """What a suggestion shows of its answer: its closest passage, else its opening."""
    if passage is None:
        return opening(answer, OPENING_LIMIT)
    return shown_excerpt(passage, answer, SHOWN_LIMIT)


def shown_texts(hits: Sequence[SearchHit]) -> dict[int, str]:
    """What each suggestion shows of its answer, by entry id (see `suggestion_text`)."""
    return {hit.entry_id: suggestion_text(hit.answer, hit.passage) for hit in hits}


def shown_excerpt(passage: Passage, answer: str, limit: int) -> str:
    """The passage as shown under a suggestion: whole sentences within `limit`, « … » where cut."""
    sentences = sentence_spans(answer, passage.start, passage.end)
    end = passage.start
    for _, sentence_end in sentences:
        if sentence_end - passage.start > limit:
            break
        end = sentence_end
    text = " ".join(answer[passage.start:end].split())
    cut_after = end < len(answer.rstrip())
    if not text:  # a single sentence longer than the limit: cut on a word
        flat = " ".join(answer[passage.start:passage.end].split())
        text = (flat[:limit].rsplit(" ", 1)[0] or flat[:limit]).rstrip(" ,;:.")
        cut_after = True
    before = "… " if answer[:passage.start].strip() else ""
    return f"{before}{text}{' …' if cut_after else ''}"


__all__ = [
    "EntryPassage",
    "EntryText",
    "Span",
    "TermsCache",
    "answer_spans",
    "best_passages",
    "opening",
    "passage_texts",
    "sentence_spans",
    "shown_excerpt",
    "span_text",
    "split",
    "suggestion_text",
]
