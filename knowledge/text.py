"""Text normalisation shared by import, deduplication and search."""

from __future__ import annotations

import hashlib
import re
import unicodedata

_NON_WORD = re.compile(r"[^\w]+", re.UNICODE)


def fold(text: str) -> str:
    """Lower-case, strip accents and collapse everything that is not a letter or digit."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _NON_WORD.sub(" ", bare).strip()


def question_hash(question: str) -> str:
    """Return a hash of the normalised question, used to recognise the same question again."""
    return hashlib.sha256(fold(question).encode("utf-8")).hexdigest()


def clean(text: str) -> str:
    """Drop NUL and other control characters (tabs and newlines kept) and trim the ends."""
    return "".join(
        ch for ch in text if ch in "\t\n" or unicodedata.category(ch) != "Cc"
    ).strip()
