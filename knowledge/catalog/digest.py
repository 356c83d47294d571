"""The monthly digest "Les réponses du SVP": entries published or revised in a month.

Its figures and its entries are those `knowledge.catalog.activity` counts, as the statistics.

Anonymised by default: no asker ever, and the organisations whose questions led to an entry
only when the adviser asks for them. Advisers choose the entries (all are proposed) and may add
an introduction; the same `Digest` gives the Word file, the standalone HTML page and the
Telegram message.
"""

from __future__ import annotations

import io
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy import select
from sqlalchemy.orm import Session

from knowledge import privacy
from knowledge.catalog import activity, personal_data
from knowledge.errors import InvalidInput
from knowledge.store.models import (
    EntryStatus,
    KnowledgeEntry,
    Organisation,
    Ticket,
)
from knowledge.text import clean, count_of
from knowledge.timeutil import FRENCH_MONTHS, utcnow
from knowledge.watch.links import ReferenceLink, reference_links
from knowledge.watch.references import TextNames, load_text_names
from knowledge.watch.status import MonthChanges, month_changes

PARIS = ZoneInfo("Europe/Paris")
TITLE = "Les réponses du SVP"
NO_THEME = "Autres questions"
SHORT_ANSWER_CHARS = 700
REGULATORY_TITLE = "Évolutions réglementaires du mois"
TELEGRAM_BUDGET = 3_500  # one Telegram message (4,096) with room for the header
_TEMPLATES = Path(__file__).resolve().parent.parent / "data"
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


@dataclass(frozen=True)
class Month:
    """A calendar month (Paris time)."""

    year: int
    month: int

    @classmethod
    def parse(cls, value: str) -> Month:
        """Read `YYYY-MM`; raise InvalidInput otherwise."""
        match = _MONTH.match(clean(value))
        if not match or not 1 <= int(match.group(2)) <= 12:
            raise InvalidInput(f"Mois invalide : « {value} » (format attendu : AAAA-MM).")
        if not 2000 <= int(match.group(1)) <= 9998:
            # Its bounds in UTC would leave the range of datetime near the years 1 and 9999.
            raise InvalidInput(f"Mois hors des limites : « {value} » (de 2000-01 à 9998-12).")
        return cls(int(match.group(1)), int(match.group(2)))

    @classmethod
    def of(cls, day: date) -> Month:
        """The month of a day."""
        return cls(day.year, day.month)

    def __str__(self) -> str:
        return f"{self.year}-{self.month:02d}"

    @property
    def label(self) -> str:
        """French name, e.g. `novembre 2026`."""
        return f"{FRENCH_MONTHS[self.month - 1]} {self.year}"

    def utc_bounds(self) -> tuple[datetime, datetime]:
        """[first instant, first instant of the next month) in UTC."""
        following = (self.year + 1, 1) if self.month == 12 else (self.year, self.month + 1)
        first = datetime.combine(date(self.year, self.month, 1), time(), tzinfo=PARIS)
        after = datetime.combine(date(*following, 1), time(), tzinfo=PARIS)
        return first.astimezone(UTC), after.astimezone(UTC)


@dataclass(frozen=True)
class DigestItem:
    """One entry of the digest."""

    entry_id: int
    question: str
    answer: str  # shortened
    theme: str
    references: tuple[str, ...]
    source: str | None
    revised: bool  # revised this month rather than published
    organisations: tuple[str, ...]  # empty unless the adviser chose to show them
    links: tuple[ReferenceLink, ...] = ()  # the references, linked to Légifrance


@dataclass(frozen=True)
class Digest:
    """A month's digest, grouped by theme."""

    month: Month
    introduction: str
    figures: activity.Activity
    sections: tuple[tuple[str, tuple[DigestItem, ...]], ...]
    # « Évolutions réglementaires du mois »: changed texts that entries cite, entries revised.
    regulatory: MonthChanges = field(default_factory=lambda: MonthChanges(changes=(),
                                                                        revised=()))

    @property
    def title(self) -> str:
        """Title with the month."""
        return f"{TITLE} — {self.month.label}"

    @property
    def items(self) -> list[DigestItem]:
        """Every item, section after section."""
        return [item for _, items in self.sections for item in items]


def shorten(text: str, size: int = SHORT_ANSWER_CHARS) -> str:
    """The answer cut at a sentence (or word) boundary within `size` characters."""
    flat = clean(text)
    if len(flat) <= size:
        return flat
    window = flat[:size]
    cut = max(window.rfind(". "), window.rfind(".\n"))
    if cut > size // 2:
        return window[:cut + 1]
    return window[:window.rfind(" ")].rstrip(" ,;:") + " …"


def figures(*, session: Session, month: Month) -> activity.Activity:
    """The month's figures, counted as the statistics count them."""
    first, after = month.utc_bounds()
    return activity.activity(session=session, first=first, after=after)


def changed_entry_ids(*, session: Session, month: Month) -> tuple[set[int], set[int]]:
    """(published, updated) entry ids of the month, as the figures count them."""
    first, after = month.utc_bounds()
    return (activity.published_entry_ids(session=session, first=first, after=after),
            activity.updated_entry_ids(session=session, first=first, after=after))


def candidates(*, session: Session, month: Month) -> list[KnowledgeEntry]:
    """Active entries published or updated during the month, by theme then question."""
    published, updated = changed_entry_ids(session=session, month=month)
    if not published | updated:
        return []
    return list(session.scalars(
        select(KnowledgeEntry)
        .where(KnowledgeEntry.status == EntryStatus.ACTIVE.value,
               KnowledgeEntry.id.in_(sorted(published | updated)))
        .order_by(KnowledgeEntry.theme, KnowledgeEntry.question, KnowledgeEntry.id)))


def _organisations(session: Session, entry_ids: list[int]) -> dict[int, list[str]]:
    names: dict[int, list[str]] = defaultdict(list)
    for entry_id, name in session.execute(
            select(Ticket.entry_id, Organisation.name).distinct()
            .join(Organisation, Organisation.id == Ticket.organisation_id)
            .where(Ticket.entry_id.in_(entry_ids)).order_by(Organisation.name)).all():
        if entry_id is not None:
            names[entry_id].append(name)
    return names


def build(*, session: Session, month: Month, entry_ids: list[int] | None = None,
          show_organisations: bool = False, introduction: str = "",
          names: TextNames | None = None) -> Digest:
    """Assemble the digest of a month from the chosen entries (all candidates when None)."""
    names = names if names is not None else load_text_names()
    today = min(utcnow().date(), month.utc_bounds()[1].date())
    published, _ = changed_entry_ids(session=session, month=month)
    chosen = [entry for entry in candidates(session=session, month=month)
              if entry_ids is None or entry.id in set(entry_ids)]
    organisations = (_organisations(session, [e.id for e in chosen])
                     if show_organisations and chosen else {})
    sections: dict[str, list[DigestItem]] = defaultdict(list)
    for entry in chosen:
        theme = clean(entry.theme or "") or NO_THEME
        sections[theme].append(DigestItem(
            entry_id=entry.id, question=clean(entry.question), answer=shorten(entry.answer),
            theme=theme, references=tuple(entry.legal_references or ()), source=entry.source,
            revised=entry.id not in published,
            organisations=tuple(organisations.get(entry.id, ())),
            links=tuple(reference_links(session=session, items=entry.legal_references or [],
                                        names=names, today=today))))
    ordered = sorted(sections.items(), key=lambda pair: (pair[0] == NO_THEME, pair[0].casefold()))
    first, after = month.utc_bounds()
    return Digest(month=month, introduction=clean(introduction)[:2000],
                  figures=figures(session=session, month=month),
                  sections=tuple((theme, tuple(items)) for theme, items in ordered),
                  regulatory=month_changes(session=session, start=first, end=after))


# --- personal data --------------------------------------------------------------------------

def entry_findings(entry: KnowledgeEntry) -> list[privacy.Finding]:
    """Personal data in what the digest would print of an entry (question, shortened answer)."""
    return privacy.scan(clean(entry.question)) + privacy.scan(shorten(entry.answer))


def check_personal_data(*, session: Session, digest: Digest, confirmed: bool,
                        actor: str) -> None:
    """Refuse to send or export a digest holding personal data unless confirmed (audited)."""
    texts = [digest.introduction] + [text for item in digest.items
                                     for text in (item.question, item.answer)]
    personal_data.check(session=session, texts=texts, confirmed=confirmed, actor=actor,
                        object_type="digest", object_id=str(digest.month),
                        where="La lettre mensuelle")


# --- files -----------------------------------------------------------------------------------

def render_html(digest: Digest) -> str:
    """The digest as one standalone HTML page (styles inline in the head, no script)."""
    environment = Environment(loader=FileSystemLoader(str(_TEMPLATES)),
                              autoescape=select_autoescape(["html"]))
    return environment.get_template("digest.html").render(
        digest=digest, figure_lines=_figure_lines(digest.figures))


def _figure_lines(figures: activity.Activity) -> list[str]:
    return list(figures.sentences())


def render_docx(digest: Digest) -> bytes:
    """The digest as a Word document, for the association's newsletter."""
    from docx import Document

    document = Document()
    document.core_properties.title = digest.title
    document.add_heading(digest.title, level=0)
    if digest.introduction:
        document.add_paragraph(digest.introduction)
    document.add_heading("Le mois en chiffres", level=1)
    for line in _figure_lines(digest.figures):
        document.add_paragraph(line, style="List Bullet")
    if digest.regulatory:
        document.add_heading(REGULATORY_TITLE, level=1)
        for line in digest.regulatory.changes:
            document.add_paragraph(line, style="List Bullet")
        for revised in digest.regulatory.revised:
            document.add_paragraph(f"Fiche révisée : {revised.question}", style="List Bullet")
    if not digest.sections:
        document.add_paragraph("Aucune fiche publiée ou mise à jour ce mois-ci.")
    for theme, items in digest.sections:
        document.add_heading(theme, level=1)
        for item in items:
            document.add_heading(item.question, level=2)
            if item.revised:
                document.add_paragraph().add_run("Fiche mise à jour").italic = True
            document.add_paragraph(item.answer)
            if item.links:
                document.add_paragraph("Références : " + " ; ".join(
                    f"{link.label} ({link.url})" if link.recognised else link.text
                    for link in item.links))
            elif item.references:
                document.add_paragraph("Références : " + " ; ".join(item.references))
            if item.source:
                document.add_paragraph(f"Source : {item.source}")
            if item.organisations:
                document.add_paragraph("Question posée par : " + ", ".join(item.organisations))
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def render_telegram(digest: Digest) -> str:
    """Plain text for subscribers: the figures and the month's questions by theme."""
    lines = [digest.title, ""]
    if digest.introduction:
        lines += [digest.introduction, ""]
    lines += _figure_lines(digest.figures)
    if digest.regulatory:
        lines += ["", REGULATORY_TITLE]
        lines += [f"• {line}" for line in digest.regulatory.changes[:8]]
        lines += [f"• Fiche révisée : {revised.question}"
                  for revised in digest.regulatory.revised[:8]]
    size = sum(len(line) + 1 for line in lines)
    left_out = 0
    for theme, items in digest.sections:
        block = ["", theme] + [f"• {item.question}" for item in items]
        block_size = sum(len(line) + 1 for line in block)
        if size + block_size > TELEGRAM_BUDGET:
            left_out += len(items)
            continue
        lines += block
        size += block_size
    if left_out:
        others = count_of(left_out, "autre réponse", "autres réponses")
        lines += ["", f"… et {others} dans la lettre complète."]
    lines += ["", "Posez une question : écrivez-la simplement ici. "
                  "Se désabonner : /abonnement"]
    return "\n".join(lines)
