"""Legal references (code articles, laws, décrets…) read from answers and reference fields."""

from __future__ import annotations

import functools
import json
import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from types import MappingProxyType
from typing import Any, NamedTuple

from knowledge.errors import InvalidInput
from knowledge.text import fold, read_utf8_file
from knowledge.timeutil import FRENCH_MONTHS

BUNDLED_TEXTS = Path(__file__).resolve().parent.parent / "data" / "legal-texts.jsonl"

NATURES = ("loi", "ordonnance", "décret", "arrêté", "circulaire")
# Latin ordinals of inserted articles, in their order in a code ("novies" is "nonies").
SUFFIXES = ("bis", "ter", "quater", "quinquies", "sexies", "septies", "octies", "nonies",
            "decies", "undecies", "duodecies", "terdecies", "quaterdecies", "quindecies",
            "sexdecies", "septdecies", "octodecies", "novodecies", "vicies", "unvicies",
            "duovicies", "tervicies", "quatervicies", "quinvicies", "sexvicies", "septvicies",
            "octovicies", "novovicies", "tricies")
_SUFFIX_ALIASES = {"novies": "nonies"}


# --- values -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Code:
    """A French code: short key, full name, Légifrance id and how people write it."""

    key: str
    name: str
    cid: str
    spellings: tuple[str, ...]  # regular expressions over accent-free text, case ignored
    plain_numbers: bool = False  # articles numbered "1240", not "L441-1"


@dataclass(frozen=True)
class LegalReference:
    """One normalised reference: an article of a code or of a text, or a whole text."""

    kind: str  # "article" or "text"
    code: str | None
    article: str | None
    article_end: str | None
    nature: str | None
    number: str | None
    signed_on: date | None
    name: str | None
    cid: str | None
    nor: str | None = None  # NOR of an arrêté or a circulaire, when written

    @property
    def label(self) -> str:
        """The normalised form shown to users and stored as the reference's identity."""
        articles = self.article or ""
        if self.article_end:
            articles += f" à {self.article_end}"
        if self.code is not None:
            return f"{self.code} art. {articles}"
        text = _text_label(self)
        return f"{text}, art. {articles}" if self.kind == "article" else text

    def covers(self, code_cid: str, num: str) -> bool:
        """Say whether this reference names that article of that code (or is a range holding it)."""
        if self.kind != "article" or self.cid != code_cid or self.article is None:
            return False
        wanted, first = _article_number(num), _article_number(self.article)
        if wanted is None or first is None:
            return False
        if self.article_end is None:
            return wanted.text == first.text
        last = _article_number(self.article_end)
        return (last is not None and first.prefix == wanted.prefix == last.prefix
                and first.order <= wanted.order <= last.order)


@dataclass(frozen=True)
class FoundReference:
    """A reference found in a text, with the citation as written and where it is."""

    reference: LegalReference
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class LegalText:
    """A law, ordonnance or décret of the usual-names file."""

    key: str
    nature: str
    number: str | None
    signed_on: date | None
    title: str
    names: tuple[str, ...]
    cid: str | None

    @property
    def display_name(self) -> str | None:
        """The first usual name when it is a proper name ("ELAN"), not a phrase ("de 1948")."""
        first = self.names[0] if self.names else ""
        return first if first[:1].isupper() or first[:1].isdigit() else None


def _text_label(reference: LegalReference) -> str:
    parts = [reference.nature or "texte"]
    if reference.number:
        parts.append(f"n° {reference.number}")
    if reference.signed_on:
        parts.append(f"du {french_date(reference.signed_on)}")
    label = " ".join(parts)
    if reference.name:
        label += f" ({reference.name})"
    if reference.nor:
        label += f" (NOR {reference.nor})"
    return label


def french_date(day: date) -> str:
    """Write a date the French way: "1er janvier 2020", "23 novembre 2018"."""
    number = "1er" if day.day == 1 else str(day.day)
    return f"{number} {FRENCH_MONTHS[day.month - 1]} {day.year}"


# --- codes --------------------------------------------------------------------------------

def _phrase(words: str) -> str:
    """A pattern for a phrase whatever its accents, case, spaces, hyphens and apostrophes."""
    return r"[\s'’\-,]+".join(re.escape(token) for token in fold(words).split())


def _abbreviation(letters: str) -> str:
    """A pattern for "CCH" or "C.C.H." (dots everywhere or nowhere)."""
    dotted = r"\s?".join(f"{letter}\\." for letter in letters)
    return rf"(?<![\w.])(?:{dotted}|{letters}(?!\w))"


def _code(key: str, name: str, cid: str, *spellings: str, plain: bool = False) -> Code:
    full = (rf"(?<!\w){_phrase(name)}(?!\w)",)
    return Code(key, name, cid, full + spellings, plain_numbers=plain)


CODES: Mapping[str, Code] = MappingProxyType({code.key: code for code in (
    _code("CCH", "code de la construction et de l'habitation", "LEGITEXT000006074096",
          rf"(?<!\w){_phrase('code de la construction')}(?!\w)", _abbreviation("CCH")),
    _code("CGI", "code général des impôts", "LEGITEXT000006069577", _abbreviation("CGI"),
          plain=True),
    _code("C. civ.", "code civil", "LEGITEXT000006070721", r"(?<![\w.])C\.?\s?civ(?:\.|\b)",
          plain=True),
    _code("CASF", "code de l'action sociale et des familles", "LEGITEXT000006074069",
          rf"(?<!\w){_phrase('code de l action sociale')}(?!\w)", _abbreviation("CASF")),
    _code("C. urb.", "code de l'urbanisme", "LEGITEXT000006074075",
          r"(?<![\w.])C\.?\s?urb(?:\.|\b)", rf"(?<!\w){_phrase('code urbanisme')}(?!\w)"),
    _code("CGCT", "code général des collectivités territoriales", "LEGITEXT000006070633",
          _abbreviation("CGCT")),
    _code("C. trav.", "code du travail", "LEGITEXT000006072050",
          r"(?<![\w.])C\.?\s?trav(?:\.|\b)"),
    _code("CSS", "code de la sécurité sociale", "LEGITEXT000006073189",
          r"(?<![\w.])C\.?\s?s[eé]c\.?\s?soc(?:\.|\b)", _abbreviation("CSS")),
    _code("CPCE", "code des procédures civiles d'exécution", "LEGITEXT000025024948",
          r"(?<![\w.])C\.?\s?pr\.?\s?(?:civ\.?\s?)?exec(?:\.|\b)", _abbreviation("CPCE")),
    _code("C. env.", "code de l'environnement", "LEGITEXT000006074220",
          r"(?<![\w.])C\.?\s?env(?:\.|\b)"),
    _code("C. énergie", "code de l'énergie", "LEGITEXT000023983208",
          r"(?<![\w.])C\.?\s?(?:energie\b|ener(?:\.|\b))"),
    _code("CCP", "code de la commande publique", "LEGITEXT000037701019",
          _abbreviation("CCP")),
)})
_CODE_LIST = tuple(CODES.values())


def _code_alternatives() -> str:
    return "|".join(f"(?P<c{index}>{'|'.join(code.spellings)})"
                    for index, code in enumerate(_CODE_LIST))


def _matched_code(match: re.Match[str]) -> Code:
    index = next(name for name, value in match.groupdict().items()
                 if value is not None and name.startswith("c") and name[1:].isdigit())
    return _CODE_LIST[int(index[1:])]


# --- article numbers ----------------------------------------------------------------------

_DASH = r"[-\u2010\u2011\u2012\u2013]"
_SUFFIX = "|".join(sorted((*SUFFIXES, *_SUFFIX_ALIASES), key=len, reverse=True))
# "A." is an arrêté article only in capitals: a lower-case "a" is the range word "à".
_ARTICLE_NUMBER = rf"""
    (?<![\w*\-\u2010\u2011\u2012\u2013])
    (?:(?P<prefix>L\.?\s?O|[LRD]|(?-i:A))\s?\.?\s?(?P<star>\*)?\s?\.?\s?(?:{_DASH}\s?)?(?=\d))?
    (?P<digits>1\s?er(?!\w)|\d+(?:\s?{_DASH}\s?\d+|\.\d+)*(?!\d))
    (?:(?:\s|{_DASH})?(?P<suffix>{_SUFFIX})(?!\w))?
    (?:\s(?P<letter>(?-i:[A-Z]))(?!\w))?
    (?!\w)
    (?:\s?(?:,\s?|-)(?-i:[IVX]{{1,4}})(?!\w)(?:\s?,)?)?
    (?:\s?,?\s(?:al\.?|alinea)\s?\d+(?:er|e)?(?!\w))?
"""
_ARTICLE_ITEM = re.compile(_ARTICLE_NUMBER, re.IGNORECASE | re.VERBOSE)
_ANY_ARTICLE = re.sub(r"\?P<\w+>", "", _ARTICLE_NUMBER)
# "L441-1 et l'article L441-2 du CCH" is one list: the article word may come again.
_LIST_SEPARATOR = (r"(?:(?:\s?,\s?(?:et\s+|ou\s+)?|\s+(?:et|ou|au?)\s+)"
                   r"(?:(?:l['’]\s?)?(?:articles?|art\.)\s*)?)")
_RANGE_SEPARATOR = re.compile(r"\s+au?\s+", re.IGNORECASE)
# Bounded: an unbounded list makes a long run of numbers without a code cost O(n²) or worse.
MAX_LIST = 25
_ARTICLE_LIST = rf"(?:{_ANY_ARTICLE})(?:{_LIST_SEPARATOR}(?:{_ANY_ARTICLE})){{0,{MAX_LIST}}}"
_ARTICLE_WORD = r"(?<!\w)(?P<word>articles?|arts?(?:\.|\b)|art°)\s*"
_FOLLOWING = r"(?:\s+et\s+(?:suivants|s\.|ss\.?|sq\.?))?"


class ArticleNumber(NamedTuple):
    """An article number split into its parts, for labels and range order."""

    prefix: str  # "L", "R", "LO", "" (letters, without the star)
    star: bool
    parts: tuple[int, ...]
    suffix: str
    letter: str
    dotted: bool  # written "441.1": only accepted after a letter prefix

    @property
    def text(self) -> str:
        """The normalised number: "L441-1", "R*441-2", "1388 bis", "1er"."""
        digits = "1er" if not self.prefix and self.parts == (1,) else "-".join(map(str, self.parts))
        text = f"{self.prefix}{'*' if self.star else ''}{digits}"
        return " ".join(part for part in (text, self.suffix, self.letter) if part)

    @property
    def order(self) -> tuple[tuple[int, ...], int, str]:
        """The natural order of articles of the same prefix."""
        rank = SUFFIXES.index(self.suffix) + 1 if self.suffix else 0
        return self.parts, rank, self.letter


def _article_from(match: re.Match[str]) -> ArticleNumber:
    prefix = re.sub(r"[\s.]", "", match["prefix"] or "").upper()
    digits = match["digits"]
    parts = (1,) if "er" in digits.lower() else tuple(
        int(part) for part in re.split(rf"\s?{_DASH}\s?|\.", digits))
    suffix = (match["suffix"] or "").lower()
    return ArticleNumber(prefix, bool(match["star"]), parts, _SUFFIX_ALIASES.get(suffix, suffix),
                         match["letter"] or "", "." in digits)


@functools.lru_cache(maxsize=65_536)
def _article_number(text: str) -> ArticleNumber | None:
    # Cached: ranges compare every kept article number of a code, again at each refresh.
    match = _ARTICLE_ITEM.fullmatch(_folded(text.strip())[0])
    return _article_from(match) if match else None


def article_number(text: str) -> ArticleNumber | None:
    """An article number as written in a LEGI file or a label, split for order; None if not one."""
    return _article_number(text)


class _Item(NamedTuple):
    number: ArticleNumber
    end: int  # offset of the item's end inside the list
    starts_range: bool  # the next item closes a range opened by this one


def _items(listing: str) -> list[_Item]:
    """Split an article list into numbers, giving a missing prefix the previous item's one."""
    matches = list(_ARTICLE_ITEM.finditer(listing))
    items: list[_Item] = []
    for index, match in enumerate(matches):
        number = _article_from(match)
        previous = items[-1].number if items else None
        if previous and previous.prefix and not number.prefix and len(number.parts) > 1:
            number = number._replace(prefix=previous.prefix)
        after = matches[index + 1].start() if index + 1 < len(matches) else len(listing)
        ranged = bool(_RANGE_SEPARATOR.fullmatch(listing[match.end():after]))
        items.append(_Item(number, match.end(), ranged and index + 1 < len(matches)))
    return items


def _fits(number: ArticleNumber, *, plain: bool) -> bool:
    """Say whether a number can be an article of a code numbered plainly or by letter."""
    if plain:
        return not number.prefix and not number.dotted
    return bool(number.prefix) and not number.letter


_Articles = Iterator[tuple[ArticleNumber, ArticleNumber | None, int]]


def _articles(listing: str, *, plain: bool) -> _Articles:
    """Yield (first, last of range or None, end offset) for the fitting items of a list."""
    items = _items(listing)
    index = 0
    while index < len(items):
        item = items[index]
        if item.starts_range:
            last = items[index + 1]
            if _fits(item.number, plain=plain) and _fits(last.number, plain=plain):
                yield item.number, last.number, last.end
            index += 2
            continue
        if _fits(item.number, plain=plain):
            yield item.number, None, item.end
        index += 1


# --- texts --------------------------------------------------------------------------------

_FOLDED_MONTHS = tuple(fold(month) for month in FRENCH_MONTHS)
_MONTH = "|".join(_FOLDED_MONTHS)
_DATE = rf"(?P<day>1\s?er|\d{{1,2}})\s+(?P<month>{_MONTH})\s+(?P<year>\d{{4}})(?!\d)"
_NUMERIC_DATE = r"(?P<nday>\d{1,2})/(?P<nmonth>\d{1,2})/(?P<nyear>\d{4})(?!\d)"
_DATE_SEARCH = re.compile(f"{_DATE}|{_NUMERIC_DATE}", re.IGNORECASE)
_NUMBER = r"(?<![\d-])(?P<number>(?:\d{4}|\d{2})-\d{1,5})(?![\d-])"
_NUMBER_SEARCH = re.compile(_NUMBER)
_NUMBER_MARK = r"(?:n\s?[°o]\.?|numero)\s*"
_NATURE = (r"(?<!\w)(?P<nature>lois?(?:\s+organiques?)?|ordonnances?|decrets?|arretes?"
           r"|circulaires?)(?!\w)"
           r"(?:\s+(?:ministeriel|interministeriel|prefectoral|en\s+conseil\s+d['’]\s?etat))?")
_NOR = r"(?:\s?[,(]?\s?NOR\s?:?\s?(?P<nor>[A-Z]{4}\d{7}[A-Z])(?!\w)\)?)?"
_NOR_SEARCH = re.compile(r"NOR\s?:?\s?(?P<nor>[A-Z]{4}\d{7}[A-Z])", re.IGNORECASE)
# "de la" may be left out in a reference field or a note: "Art. 22 loi 89-462".
_OF_TEXT = r"\s*,?\s*(?:(?:de\s+la|du|de\s+l['’]\s?|de)\s*)?"


def _unnamed(pattern: str) -> str:
    return re.sub(r"\?P<\w+>", "", pattern)


def _text_pattern(names: str) -> str:
    """The pattern of a text citation: nature, then name, number and/or date, then NOR."""
    number, when = _unnamed(_NUMBER), f"(?:{_unnamed(_DATE)}|{_unnamed(_NUMERIC_DATE)})"
    numbered = rf"(?:{_NUMBER_MARK})?{number}"
    trailing = (rf"(?:\s*\(\s*(?:loi\s+)?(?:dite\s+)?(?:{names})(?!\w)\s*\)"
                rf"|\s*,?\s+dite\s+(?:loi\s+)?(?:{names})(?!\w))?")
    quoted = rf"(?:dite\s+)?(?:[\"«]\s?)?(?:{names})(?!\w)(?:\s?[\"»])?"
    return (rf"{_unnamed(_NATURE)}(?:"
            rf"\s+{quoted}(?:\s*,?\s*{numbered})?(?:\s*,?\s+du\s+{when})?"
            rf"|\s*{numbered}(?:\s*,?\s+du\s+{when})?{trailing}"
            rf"|\s+du\s+{when}(?:\s*,?\s*{numbered})?{trailing}"
            rf")(?:\s+modifiee?s?(?!\w))?{_unnamed(_NOR)}")


class TextNames:
    """The texts known by usual name, number or date, and the patterns that find them."""

    def __init__(self, texts: Iterable[LegalText]) -> None:
        self.texts = tuple(texts)
        # Later lines win: the admin's file is read after the bundled one.
        self._by_name = {(text.nature, fold(name)): text
                         for text in self.texts for name in text.names}
        self._by_number = {text.number: text for text in self.texts if text.number}
        dated: dict[tuple[str, date], list[LegalText]] = {}
        for text in self.texts:
            if text.signed_on:
                dated.setdefault((text.nature, text.signed_on), []).append(text)
        self._by_date = {key: found[0] for key, found in dated.items() if len(found) == 1}
        spellings = sorted({_phrase(name) for text in self.texts for name in text.names},
                           key=len, reverse=True)
        self.names_pattern = "|".join(spellings) or "(?!)"
        self.patterns = _TextPatterns(self.names_pattern)

    def __len__(self) -> int:
        return len(self.texts)

    def by_name(self, name: str, *, nature: str | None = None) -> LegalText | None:
        """The text known by that usual name (of that nature if given), accents and case aside."""
        if nature is not None:
            return self._by_name.get((nature, fold(name)))
        return next((text for (_, spelling), text in self._by_name.items()
                     if spelling == fold(name)), None)

    def by_number(self, number: str) -> LegalText | None:
        """The text of that number ("2018-1021")."""
        return self._by_number.get(number)

    def by_date(self, nature: str, signed_on: date) -> LegalText | None:
        """The only text of that nature signed that day, or None (none known, or several)."""
        return self._by_date.get((nature, signed_on))


class _TextPatterns:
    """The compiled patterns that depend on the usual names."""

    def __init__(self, names: str) -> None:
        text = _text_pattern(names)
        flags = re.IGNORECASE | re.VERBOSE
        self.text = re.compile(f"(?P<text>{text})", re.IGNORECASE)
        self.name = re.compile(f"(?<!\\w)(?:{names})(?!\\w)", re.IGNORECASE)
        self.article_before = re.compile(
            rf"{_ARTICLE_WORD}(?P<items>{_ARTICLE_LIST}){_OF_TEXT}(?P<text>{text})", flags)
        self.article_after = re.compile(
            rf"(?P<text>{text})\s?[,(]?\s?{_ARTICLE_WORD}(?P<items>{_ARTICLE_LIST})\)?", flags)
        self.bare = re.compile(rf"\s*(?:dite\s+)?(?:(?P<name>{names})|(?:{_NUMBER_MARK})?{_NUMBER})"
                               r"\s*[.;]?\s*", re.IGNORECASE)


def _nature(word: str) -> str:
    base = fold(word).split()[0].rstrip("s")
    return {"decret": "décret", "arrete": "arrêté"}.get(base, base)


def _date_in(text: str) -> date | None:
    match = _DATE_SEARCH.search(text)
    if match is None:
        return None
    try:
        if match["day"]:
            day = 1 if "er" in match["day"].lower() else int(match["day"])
            month = _FOLDED_MONTHS.index(match["month"].lower()) + 1
            return date(int(match["year"]), month, day)
        return date(int(match["nyear"]), int(match["nmonth"]), int(match["nday"]))
    except ValueError:
        return None


def _text_reference(citation: str, names: TextNames, *, article: tuple[str, str | None] | None
                    = None) -> LegalReference:
    """Build the reference of a text citation, completing it from the usual-names file."""
    nature = _nature(citation)
    number_match = _NUMBER_SEARCH.search(citation)
    number = number_match["number"] if number_match else None
    signed_on = _date_in(citation)
    name_match = names.patterns.name.search(citation)
    known = names.by_number(number) if number else (
        names.by_name(name_match.group(), nature=nature) if name_match else None)
    if known is None and number is None and signed_on is not None:
        known = names.by_date(nature, signed_on)
    if known is not None and known.nature != nature:
        known = None
    nor_match = _NOR_SEARCH.search(citation)
    first, last = article or (None, None)
    return LegalReference(
        kind="article" if article else "text", code=None, article=first, article_end=last,
        nature=nature, number=number or (known.number if known else None),
        signed_on=signed_on or (known.signed_on if known else None),
        name=known.display_name if known else None, cid=known.cid if known else None,
        nor=nor_match["nor"].upper() if nor_match else None)


# --- finding ------------------------------------------------------------------------------

_FLAGS = re.IGNORECASE | re.VERBOSE
_CODE_ARTICLES_BEFORE = re.compile(
    rf"(?:{_ARTICLE_WORD})?(?P<items>{_ARTICLE_LIST}){_FOLLOWING}"
    rf"\s*,?\s*\(?\s*(?:(?:du|de\s+la|de\s+l['’]|des|de)\s*)?(?:{_code_alternatives()})", _FLAGS)
_CODE_ARTICLES_AFTER = re.compile(
    rf"(?:{_code_alternatives()})\s*[,:]?\s*(?:{_ARTICLE_WORD})?(?P<items>{_ARTICLE_LIST})",
    _FLAGS)
_BARE_ARTICLES = re.compile(rf"\s*(?:{_ARTICLE_WORD})?(?P<items>{_ARTICLE_LIST})\s*[.;]?\s*",
                            _FLAGS)


class _Candidate(NamedTuple):
    start: int
    end: int
    references: list[LegalReference]


def _folded(text: str) -> tuple[str, list[int]]:
    """Strip accents (case kept) and map each folded character back to its original offset."""
    characters: list[str] = []
    origin: list[int] = []
    for index, character in enumerate(text):
        bare = "".join(part for part in unicodedata.normalize("NFKD", character)
                       if not unicodedata.combining(part))
        characters.append(bare)
        origin.extend([index] * len(bare))
    return "".join(characters), origin


def _code_references(code: Code, listing: str, *, worded: bool) -> list[tuple[LegalReference, int]]:
    """The references of an article list of a code, each with its end inside the list."""
    found = []
    for first, last, end in _articles(listing, plain=code.plain_numbers):
        if not worded and not first.prefix:
            break  # "3 du code civil" is a book or a count, "article 3 du code civil" is not
        found.append((LegalReference("article", code.key, first.text, last.text if last else None,
                                     None, None, None, None, code.cid), end))
    return found


def _code_candidates(folded: str, *, field: bool) -> Iterator[_Candidate]:
    # In a reference field every number next to a code is an article: "CGI 1388 bis".
    for match in _CODE_ARTICLES_BEFORE.finditer(folded):
        found = _code_references(_matched_code(match), match["items"],
                                 worded=field or bool(match["word"]))
        if found:
            yield _Candidate(match.start(), match.end(), [ref for ref, _ in found])
    for match in _CODE_ARTICLES_AFTER.finditer(folded):
        found = _code_references(_matched_code(match), match["items"],
                                 worded=field or bool(match["word"]))
        if found:
            yield _Candidate(match.start(), match.start("items") + found[-1][1],
                             [ref for ref, _ in found])


def _text_candidates(folded: str, names: TextNames) -> Iterator[_Candidate]:
    patterns = names.patterns
    for pattern in (patterns.article_before, patterns.article_after):
        for match in pattern.finditer(folded):
            articles = list(_articles(match["items"], plain=True))
            references = [_text_reference(match["text"], names, article=(
                first.text, last.text if last else None)) for first, last, _ in articles]
            if references:
                yield _Candidate(match.start(), match.end(), references)
    for match in patterns.text.finditer(folded):
        yield _Candidate(match.start(), match.end(), [_text_reference(match["text"], names)])


def _without_overlaps(candidates: Iterable[_Candidate]) -> list[_Candidate]:
    """Keep the earliest citations, the longest first when two start together."""
    kept: list[_Candidate] = []
    for candidate in sorted(candidates, key=lambda c: (c.start, -c.end)):
        if not kept or candidate.start >= kept[-1].end:
            kept.append(candidate)
    return kept


def find_references(text: str, *, names: TextNames) -> list[FoundReference]:
    """Find the legal references cited in free text, in order of appearance."""
    return _find(text, names, field=False)


def _find(text: str, names: TextNames, *, field: bool) -> list[FoundReference]:
    folded, origin = _folded(text)
    found: list[FoundReference] = []
    candidates = [*_code_candidates(folded, field=field), *_text_candidates(folded, names)]
    for candidate in _without_overlaps(candidates):
        start, end = origin[candidate.start], origin[candidate.end - 1] + 1
        end -= len(text[start:end]) - len(text[start:end].rstrip())
        seen: set[str] = set()
        for reference in candidate.references:
            if reference.label not in seen:
                seen.add(reference.label)
                found.append(FoundReference(reference, start, end, text[start:end]))
    return found


def parse_reference_field(item: str, *, names: TextNames,
                          default_code: str | None = None) -> list[LegalReference]:
    """Read one item of an entry's reference field; [] when nothing is recognised."""
    if default_code is not None and default_code not in CODES:
        raise InvalidInput(f"Code inconnu : {default_code} (codes connus : {', '.join(CODES)}).")
    found = unique(hit.reference for hit in _find(item, names, field=True))
    if found:
        return found
    folded = _folded(item)[0]
    bare = names.patterns.bare.fullmatch(folded)
    if bare is not None:
        known = (names.by_name(bare["name"]) if bare["name"]
                 else names.by_number(bare["number"]))
        if known is not None:
            return [_known_text(known)]
    articles = _BARE_ARTICLES.fullmatch(folded)
    if default_code is None or articles is None:
        return []
    return [ref for ref, _ in _code_references(CODES[default_code], articles["items"], worded=True)]


def _known_text(text: LegalText) -> LegalReference:
    return LegalReference("text", None, None, None, text.nature, text.number, text.signed_on,
                          text.display_name, text.cid)


def unique(references: Iterable[LegalReference]) -> list[LegalReference]:
    """Keep the first reference of each label, in order."""
    seen: dict[str, LegalReference] = {}
    for reference in references:
        seen.setdefault(reference.label, reference)
    return list(seen.values())


# --- usual names file ---------------------------------------------------------------------

def load_text_names(extra: Path | None = None) -> TextNames:
    """Load the bundled usual names, then the admin's extra file (same key replaces)."""
    texts = {text.key: text for text in _read_texts(BUNDLED_TEXTS)}
    if extra is not None:
        texts.update((text.key, text) for text in _read_texts(extra))
    return TextNames(texts.values())


def _read_texts(path: Path) -> list[LegalText]:
    texts = []
    for number, line in enumerate(read_utf8_file(path).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            texts.append(_legal_text(json.loads(line)))
        except json.JSONDecodeError:
            raise _bad_line(path, number, "ce n'est pas un objet JSON lisible") from None
        except ValueError as error:
            raise _bad_line(path, number, str(error)) from None
    return texts


def _bad_line(path: Path, number: int, reason: str) -> InvalidInput:
    return InvalidInput(f"Textes juridiques : {path}, ligne {number} : {reason}. "
                        "Corrigez ou retirez cette ligne.")


_TEXT_ID = re.compile(r"(JORF|LEGI)TEXT\d{12}")


def _legal_text(raw: Any) -> LegalText:
    """Check one line of the usual-names file; ValueError says, in French, what is wrong."""
    if not isinstance(raw, dict):
        raise ValueError("un objet JSON {…} est attendu")
    key, nature, title = raw.get("key"), raw.get("nature"), raw.get("title")
    number, signed, cid = raw.get("number"), raw.get("date"), raw.get("cid")
    names = raw.get("names")
    if not isinstance(key, str) or not key.strip():
        raise ValueError("« key » manque")
    if nature not in NATURES:
        raise ValueError(f"« nature » doit valoir {', '.join(NATURES)}")
    if number is not None and not (isinstance(number, str) and _NUMBER_SEARCH.fullmatch(number)):
        raise ValueError("« number » doit ressembler à 2018-1021 ou 89-462")
    if not isinstance(names, list) or not all(isinstance(n, str) and n.strip() for n in names):
        raise ValueError("« names » doit être une liste de noms")
    if cid is not None and not (isinstance(cid, str) and _TEXT_ID.fullmatch(cid)):
        raise ValueError("« cid » doit être null ou un identifiant JORFTEXT… de 12 chiffres")
    try:
        signed_on = date.fromisoformat(signed) if signed is not None else None
    except (TypeError, ValueError):
        raise ValueError("« date » doit être une date AAAA-MM-JJ") from None
    if number is None and signed_on is None:
        raise ValueError("il faut « number » ou « date »")
    return LegalText(key, nature, number, signed_on, str(title or ""), tuple(names), cid)
