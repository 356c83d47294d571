"""The text of a LEGI article as people read it, and a word-level diff of two versions."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import date
from difflib import SequenceMatcher

_BLOCK_END = re.compile(r"</(p|div|li|tr|h\d)\s*>|<br\s*/?>", re.IGNORECASE)
_TAG = re.compile(r"<[^>]+>")
_SPACES = re.compile(r"[ \t\r\f\v]+")
_WORDS = re.compile(r"\s+|\w+|[^\w\s]")  # punctuation apart: "ressources," keeps its word
OPEN_END = date(2999, 1, 1)  # LEGI's "no end date"


def html_to_text(markup: str) -> str:
    """Plain text of a BLOC_TEXTUEL: one paragraph per block, entities decoded."""
    text = _BLOCK_END.sub("\n\n", markup)
    text = html.unescape(_TAG.sub("", text))
    paragraphs = (_SPACES.sub(" ", part).strip() for part in text.split("\n"))
    return "\n\n".join(part for part in paragraphs if part)


def parse_day(value: str | None) -> date | None:
    """A LEGI date (YYYY-MM-DD), None when missing or malformed."""
    if not value:
        return None
    try:
        return date.fromisoformat(value.strip()[:10])
    except ValueError:
        return None


def french_day(value: date) -> str:
    """A date as advisers write it (01/01/2027)."""
    return value.strftime("%d/%m/%Y")


def is_open(value: date | None) -> bool:
    """Tell whether a LEGI end date means 'still in force'."""
    return value is None or value >= OPEN_END


@dataclass(frozen=True)
class DiffPart:
    """A run of words kept, removed or added between two versions."""

    kind: str  # "same", "removed", "added"
    text: str


def word_diff(old: str, new: str) -> list[DiffPart]:
    """Word-level differences from `old` to `new` (whitespace kept with the words)."""
    before, after = _WORDS.findall(old), _WORDS.findall(new)
    parts: list[DiffPart] = []
    matcher = SequenceMatcher(a=before, b=after, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            parts.append(DiffPart("same", "".join(before[i1:i2])))
            continue
        if i2 > i1:
            parts.append(DiffPart("removed", "".join(before[i1:i2])))
        if j2 > j1:
            parts.append(DiffPart("added", "".join(after[j1:j2])))
    return parts


def changed_words(parts: list[DiffPart]) -> tuple[int, int]:
    """How many words a diff removes and adds."""
    removed = sum(len(part.text.split()) for part in parts if part.kind == "removed")
    added = sum(len(part.text.split()) for part in parts if part.kind == "added")
    return removed, added
