"""The text of a LEGI article as people read it, and LEGI's dates."""

from __future__ import annotations

import html
import re
from datetime import date

_BLOCK_END = re.compile(r"</(p|div|li|tr|h\d)\s*>|<br\s*/?>", re.IGNORECASE)
_TAG = re.compile(r"<[^>]+>")
_SPACES = re.compile(r"[ \t\r\f\v]+")
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
