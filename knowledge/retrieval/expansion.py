"""Glossary matching: which terms of the sector a query uses, and what they are equivalent to."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from knowledge.text import fold

# A form as stems; a concept is the query's own words followed by their equivalent forms.
Form = tuple[str, ...]
Concept = tuple[Form, ...]


class Analyzer(Protocol):
    """Turns text into stems (see `search.FrenchAnalyzer`)."""

    def tokens(self, text: str) -> list[str]: ...


class GlossaryEntry(Protocol):
    """What the matcher reads of a glossary term."""

    @property
    def term(self) -> str: ...

    @property
    def synonyms(self) -> tuple[str, ...]: ...


@dataclass(frozen=True)
class Match:
    """A glossary form found in a query, and the forms that mean the same thing."""

    text: str
    equivalents: tuple[str, ...]
    headword: bool


@dataclass(frozen=True)
class Expansion:
    """What the glossary makes of a query: its lexical concepts and the glossary matches."""

    query: str
    concepts: list[Concept]
    matches: list[Match] = field(default_factory=list)

    @property
    def expanded_text(self) -> str:
        """The query followed by the equivalents of its terms, as shown to advisers."""
        extra = [form for match in self.matches for form in match.equivalents]
        return f"{self.query} ({' ; '.join(extra)})" if extra else self.query


class GlossaryMatcher:
    """Finds glossary forms in queries (accents and case folded, longest match first)."""

    def __init__(self, terms: Sequence[GlossaryEntry], analyzer: Analyzer) -> None:
        self._analyzer = analyzer
        # Each folded form -> every form (as written) of the terms it belongs to.
        self._equivalents: dict[tuple[str, ...], dict[str, None]] = {}
        self._headwords: set[tuple[str, ...]] = set()
        self._longest: dict[str, int] = {}
        for term in terms:
            forms = [term.term, *term.synonyms]
            self._headwords.add(tuple(fold(term.term).split()))
            for form in forms:
                key = tuple(fold(form).split())
                if not key:
                    continue
                bucket = self._equivalents.setdefault(key, {})
                for other in forms:
                    bucket[other] = None
                self._longest[key[0]] = max(self._longest.get(key[0], 0), len(key))
        self._stems: dict[str, Form] = {}

    def __len__(self) -> int:
        return len(self._equivalents)

    def _form_stems(self, text: str) -> Form:
        stems = self._stems.get(text)
        if stems is None:
            stems = tuple(self._analyzer.tokens(text))
            self._stems[text] = stems
        return stems

    def expand(self, query: str) -> Expansion:
        """Return the concepts of a query: plain stems, or a glossary form with its equivalents."""
        words = fold(query).split()
        concepts: list[Concept] = []
        matches: list[Match] = []
        position = 0
        while position < len(words):
            found = None
            for length in range(min(self._longest.get(words[position], 0),
                                    len(words) - position), 0, -1):
                key = tuple(words[position:position + length])
                if key in self._equivalents:
                    found = key
                    break
            if found is None:
                concepts.extend(((stem,),) for stem in self._analyzer.tokens(words[position]))
                position += 1
                continue
            own = self._form_stems(" ".join(found))
            equivalents = tuple(form for form in self._equivalents[found]
                                if tuple(fold(form).split()) != found)
            alternatives = [stems for stems in (self._form_stems(form) for form in equivalents)
                            if stems and stems != own]
            if own:
                concepts.append((own, *dict.fromkeys(alternatives)))
            matches.append(Match(text=" ".join(found), equivalents=equivalents,
                                 headword=found in self._headwords))
            position += len(found)
        return Expansion(query=query, concepts=concepts, matches=matches)


def plain_concepts(stems: Sequence[str]) -> list[Concept]:
    """Concepts of a query without glossary: each stem stands alone."""
    return [((stem,),) for stem in stems]
