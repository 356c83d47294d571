"""Greetings, closing formulas and signatures: what an answer loses when it becomes an entry.

The asker receives the answer as written; the entry keeps only its substance, so that the next
answer built from it does not start with someone else's « Bonjour Madame Durand, ».
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from knowledge.text import fold

# Folded forms (lower case, no accents, punctuation as spaces) of whole lines.
_TITLES = r"(?:madame|monsieur|mademoiselle|mesdames|messieurs|cher|chere|chers|cheres)"
_HELLO = re.compile(
    r"^(?:bonjour|bonsoir|hello|salut)(?: a (?:vous|tous|toutes))?"
    r"(?: " + _TITLES + r"(?: \S+){0,3})*$")
# Without « Bonjour », only a line that ends with a comma: « Monsieur Martin a droit » stays.
_ADDRESS = re.compile(r"^" + _TITLES + r"(?: \S+){0,3}(?: " + _TITLES + r"(?: \S+){0,3})*$")
# A greeting followed by the answer on the same line: « Bonjour, le SLS est dû… ».
_GREETING_PREFIX = re.compile(
    r"^\s*(?:bonjour|bonsoir)(?:\s+(?:madame|monsieur)(?:\s+[\w'’-]+){0,2})?\s*,\s*(?=\S)",
    re.IGNORECASE)
_CLOSING = re.compile(
    r"^(?:(?:bien |tres |tres bien |bien tres )?cordialement(?: \S+){0,6}"
    r"|(?:bien|tout) a (?:vous|toi)"
    r"|(?:sinceres |meilleures |bien sinceres )?salutations(?: distinguees| cordiales)?"
    r"|(?:avec )?(?:mes|nos) (?:sinceres |meilleures |cordiales )?salutations(?: \S+)*"
    r"|(?:je vous prie d |nous vous prions d |veuillez )?agreer .*"
    r"|(?:je vous|nous vous) (?:prie|prions) .*(?:salutations|sentiments|considerations?).*"
    r"|(?:bonne|belle|tres bonne|excellente) (?:journee|soiree|fin de journee|semaine)(?: a vous)?"
    r"|(?:je reste|nous restons|restant|je demeure|nous demeurons) a (?:votre|vos) .*"
    r"|n hesite[zr]? pas a (?:revenir|nous|me|m|reprendre contact|prendre contact|recontacter)"
    r"(?: .*)?"
    r"|en (?:esperant|souhaitant) (?:avoir|que) .*"
    r"|(?:merci|je vous remercie) (?:pour|de) votre (?:question|confiance|message|sollicitation).*"
    r"|a votre (?:disposition|ecoute).*"
    r"|l equipe (?:du |de l )?svp.*|le svp.*|svp de l .*)$")
# A line of a signature block under a closing formula: a name, a role, an organisation.
_SIGNATURE_LINE_CHARS = 80


def _folded(line: str) -> str:
    return fold(line.replace("&", " et "))


def _signature_pattern(template: str) -> re.Pattern[str] | None:
    # The configured signature, any adviser's name in place of {prénom} and {nom}.
    hole = "qqnameqq"  # a word, so that folding keeps it
    folded = _folded(template.replace("{prénom}", hole).replace("{prenom}", hole)
                     .replace("{nom}", hole))
    if not folded.replace(hole, "").strip():
        return None
    parts = [re.escape(part.strip()) for part in folded.split(hole)]
    pattern = r"(?:\s*\S+){1,4}\s*".join(parts)
    return re.compile(r"^\s*" + pattern + r"\s*$")


def _is_greeting(line: str) -> bool:
    folded = _folded(line)
    return bool(_HELLO.match(folded)
                or (line.rstrip().endswith(",") and _ADDRESS.match(folded)))


def _is_closing(line: str) -> bool:
    return bool(_CLOSING.match(_folded(line)))


def _is_signature(line: str, signatures: Sequence[re.Pattern[str]]) -> bool:
    folded = _folded(line)
    return bool(folded) and any(pattern.match(folded) for pattern in signatures)


def _looks_like_signature_line(line: str) -> bool:
    # Under a closing formula: short, no sentence (no final full stop, no question).
    text = line.strip()
    return (0 < len(text) <= _SIGNATURE_LINE_CHARS and not text.endswith((".", "?", ":", ";"))
            and len(text.split()) <= 8)


def strip_courtesy(text: str, *, signatures: Sequence[str] = ()) -> str:
    """Drop the greeting, the closing formulas and the signature of an answer.

    `signatures` are the advisers' signatures, filled or as the configured template
    ({prénom}, {nom} then match any name). Only whole lines at the start or the end go, plus
    a « Bonjour, » opening the first sentence; the body is left exactly as written.
    """
    patterns = [pattern for pattern in (_signature_pattern(s) for s in signatures if s.strip())
                if pattern is not None]
    lines = text.strip().split("\n")
    # The opening: greeting lines (and the blank lines after them).
    while lines and (not lines[0].strip() or _is_greeting(lines[0])):
        lines.pop(0)
    if lines:
        opened = _GREETING_PREFIX.sub("", lines[0], count=1)
        if opened != lines[0]:
            lines[0] = opened[:1].upper() + opened[1:]
    # The end: signatures, closing formulas, and the short lines a closing formula signs.
    while lines:
        last = lines[-1]
        if not last.strip() or _is_signature(last, patterns) or _is_closing(last):
            lines.pop()
            continue
        block = _signed_block(lines)
        if block is None:
            break
        del lines[block:]
    return "\n".join(lines).strip()


def _signed_block(lines: list[str]) -> int | None:
    # The index of a closing formula followed only by a few signature-like lines, if any.
    for index in range(len(lines) - 1, max(len(lines) - 5, 0) - 1, -1):
        line = lines[index]
        if _is_closing(line):
            return index
        if not _looks_like_signature_line(line):
            return None
    return None


def has_courtesy(text: str, *, signatures: Sequence[str] = ()) -> bool:
    """Whether publishing would change the text (a greeting, closing or signature to drop)."""
    return strip_courtesy(text, signatures=signatures) != text.strip()
