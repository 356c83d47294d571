"""Text normalisation shared by import, deduplication and search."""

from __future__ import annotations

import difflib
import hashlib
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from knowledge.errors import InvalidInput

_NON_WORD = re.compile(r"[^\w]+", re.UNICODE)
_TOKEN = re.compile(r"\s+|\w+|[^\w\s]", re.UNICODE)  # punctuation apart: "ressources,"


def fold(text: str) -> str:
    """Lower-case, strip accents and collapse everything that is not a letter or digit."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _NON_WORD.sub(" ", bare).strip()


def row_number(text: str | None) -> int | None:
    """Parse a row number typed or sent by a user (1 to 2^31-1); None for anything else.

    `str.isdigit` accepts "²" and other digits `int` refuses, and `int` refuses strings of
    more than 4,300 digits: only short ASCII digits are read.
    """
    value = (text or "").strip()
    if not (value.isascii() and value.isdigit()) or len(value) > 10:
        return None
    number = int(value)
    return number if 1 <= number <= 2**31 - 1 else None


def question_hash(question: str) -> str:
    """Return a hash of the normalised question, used to recognise the same question again."""
    return hashlib.sha256(fold(question).encode("utf-8")).hexdigest()


def clean(text: str) -> str:
    """Drop NUL and other control characters (tabs and newlines kept) and trim the ends."""
    return "".join(
        ch for ch in text if ch in "\t\n" or unicodedata.category(ch) != "Cc"
    ).strip()


def read_utf8_file(path: Path) -> str:
    """Read a text file a person named; raise InvalidInput with a French reason when unusable."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidInput(f"fichier introuvable : {path}.") from None
    except IsADirectoryError:
        raise InvalidInput(f"{path} est un dossier, pas un fichier.") from None
    except UnicodeDecodeError:
        raise InvalidInput(f"{path} n'est pas un texte UTF-8.") from None
    except OSError as error:
        raise InvalidInput(f"lecture impossible de {path} : {error.strerror}.") from None


def count_of(number: int, singular: str, plural: str) -> str:
    """A number with its words agreed in French: 0 and 1 take the singular (« 0 fiche »)."""
    words = singular if -2 < number < 2 else plural
    return f"{number:,}".replace(",", "\u202f") + f" {words}"


@dataclass(frozen=True)
class Piece:
    """A run of words of a diff: kept (`equal`), removed (`delete`) or added (`insert`)."""

    op: str
    text: str


def word_diff(before: str, after: str) -> tuple[Piece, ...]:
    """Diff two texts word by word (difflib), keeping spaces and punctuation."""
    old, new = _TOKEN.findall(before), _TOKEN.findall(after)
    pieces: list[Piece] = []
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            _append(pieces, "equal", "".join(old[i1:i2]))
            continue
        if op in ("delete", "replace"):
            _append(pieces, "delete", "".join(old[i1:i2]))
        if op in ("insert", "replace"):
            _append(pieces, "insert", "".join(new[j1:j2]))
    return tuple(pieces)


def _append(pieces: list[Piece], op: str, text: str) -> None:
    if not text:
        return
    if pieces and pieces[-1].op == op:
        pieces[-1] = Piece(op, pieces[-1].text + text)
    else:
        pieces.append(Piece(op, text))
