"""The managed list of themes: seed, add, rename, merge; lookups ignore case and accents."""

from __future__ import annotations

import logging
from difflib import SequenceMatcher

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from knowledge import audit
from knowledge.errors import Conflict, InvalidInput, NotFound
from knowledge.store.catalog_models import Theme
from knowledge.store.models import EntryStatus, KnowledgeEntry, Ticket
from knowledge.text import clean, fold
from knowledge.timeutil import utcnow

logger = logging.getLogger(__name__)

MAX_THEME_CHARS = 200
# The association's areas of work (issue 10): the list every new base starts with.
DEFAULT_THEMES = (
    "Développement de l'offre",
    "Renouvellement urbain et patrimoine",
    "Accès et maintien dans le logement",
    "Gestion locative et charges",
    "Relations avec les locataires",
    "Vente Hlm",
    "Fiscalité (TFPB)",
    "Management et RH",
    "Copropriété",
)


# Words that do not tell two themes apart: « TFPB et fiscalité » is « Fiscalité (TFPB) ».
_FILLERS = frozenset({"et", "de", "du", "des", "la", "le", "les", "l", "d", "a", "au", "aux",
                      "en"})
SIMILAR_RATIO = 0.85


class UnknownTheme(InvalidInput):
    """A theme that is not in the managed list: only an administrator adds one."""


class SimilarThemes(Conflict):
    """A new theme that reads like one of the list; adding it needs a confirmation."""

    def __init__(self, name: str, similar: list[Theme]) -> None:
        self.similar = similar
        names = ", ".join(f"« {theme.name} »" for theme in similar)
        super().__init__(f"Le thème « {name} » ressemble à {names} : vérifiez qu'il ne fait pas "
                         "double emploi avant de le créer.")


def _words(name: str) -> list[str]:
    return [word for word in fold(name.replace("&", " et ")).split() if word not in _FILLERS]


def _alike(one: str, other: str) -> bool:
    first, second = _words(one), _words(other)
    if not first or not second:
        return False
    if sorted(first) == sorted(second):
        return True
    ratio = SequenceMatcher(None, " ".join(sorted(first)), " ".join(sorted(second))).ratio()
    return ratio >= SIMILAR_RATIO


def similar(*, session: Session, name: str) -> list[Theme]:
    """Themes of the list that read like this name (accents, case, punctuation, « & » ignored)."""
    folded = fold(name)
    return [theme for theme in list_themes(session=session)
            if theme.folded != folded and _alike(theme.name, name)]


def known(*, session: Session, name: str | None, current: str | None = None) -> str | None:
    """Return the managed spelling of a theme chosen by a person; refuse one not in the list.

    `current` is the theme the entry or question already carries: keeping it is always
    allowed, even when it predates the list.
    """
    if name is None or not fold(name):
        return None
    found = find(session=session, name=name)
    if found is not None:
        return found.name
    if current is not None and fold(current) == fold(name):
        return current
    names = [theme.name for theme in list_themes(session=session)]
    close = [theme.name for theme in similar(session=session, name=name)]
    hint = f" Vouliez-vous dire « {close[0]} » ?" if close else ""
    choices = (f" Thèmes possibles : {', '.join(names)}." if names
               else " La liste des thèmes est vide.")
    raise UnknownTheme(f"Thème inconnu : « {clean(name)[:MAX_THEME_CHARS]} ».{hint}{choices} "
                       "Un administrateur peut créer un thème (Base de connaissances → Thèmes, "
                       "ou « svp kb themes add »).")


def _name(value: str) -> tuple[str, str]:
    name = " ".join(clean(value).split())
    folded = fold(name)
    if not folded:
        raise InvalidInput("Le nom du thème est vide.")
    if len(name) > MAX_THEME_CHARS:
        raise InvalidInput(f"Le nom du thème dépasse {MAX_THEME_CHARS} caractères.")
    return name, folded


def list_themes(*, session: Session) -> list[Theme]:
    """Return the managed themes in alphabetical order (accents ignored)."""
    return sorted(session.scalars(select(Theme)), key=lambda theme: theme.folded)


def get(*, session: Session, theme_id: int) -> Theme:
    """Return a theme or raise NotFound."""
    theme = session.get(Theme, theme_id)
    if theme is None:
        raise NotFound("theme", theme_id)
    return theme


def find(*, session: Session, name: str) -> Theme | None:
    """Return the managed theme with this name, whatever its case and accents."""
    folded = fold(name)
    if not folded:
        return None
    return session.scalar(select(Theme).where(Theme.folded == folded))


def spellings(*, session: Session, name: str) -> list[str]:
    """Every spelling entries use for this theme (case and accents ignored)."""
    folded = fold(name)
    used = session.scalars(select(KnowledgeEntry.theme).where(KnowledgeEntry.theme.is_not(None))
                           .distinct())
    return [value for value in used if value and fold(value) == folded]


def canonical(*, session: Session, name: str | None) -> str | None:
    """Return the managed spelling of a theme, adding the theme to the list when it is new."""
    if name is None or not fold(name):
        return None
    found = find(session=session, name=name)
    if found is not None:
        return found.name
    clean_name, folded = _name(name)
    session.add(Theme(name=clean_name, folded=folded, created_at=utcnow()))
    session.flush()
    return clean_name


def seed(*, session: Session) -> int:
    """Add the association's default themes that are missing; return how many were added."""
    added = 0
    for name in DEFAULT_THEMES:
        if find(session=session, name=name) is None:
            session.add(Theme(name=name, folded=fold(name), created_at=utcnow()))
            added += 1
    session.flush()
    return added


def add(*, session: Session, name: str, actor: str, confirm_similar: bool = False) -> Theme:
    """Add a theme to the list; refuse a name the list already has, and a near duplicate
    of one unless confirmed."""
    clean_name, folded = _name(name)
    existing = find(session=session, name=clean_name)
    if existing is not None:
        raise Conflict(f"Le thème « {existing.name} » existe déjà.")
    close = similar(session=session, name=clean_name)
    if close and not confirm_similar:
        raise SimilarThemes(clean_name, close)
    theme = Theme(name=clean_name, folded=folded, created_at=utcnow())
    session.add(theme)
    session.flush()
    audit.record(session=session, actor=actor, action="theme.add", object_type="theme",
                 object_id=theme.id, details={"name": clean_name})
    return theme


def rename(*, session: Session, theme_id: int, name: str, actor: str) -> Theme:
    """Rename a theme and every entry and question filed under it."""
    theme = get(session=session, theme_id=theme_id)
    clean_name, folded = _name(name)
    other = find(session=session, name=clean_name)
    if other is not None and other.id != theme.id:
        raise Conflict(f"Le thème « {other.name} » existe déjà : fusionnez plutôt les deux.")
    old = theme.name
    _move(session=session, from_name=old, to_name=clean_name)
    theme.name, theme.folded = clean_name, folded
    session.flush()
    audit.record(session=session, actor=actor, action="theme.rename", object_type="theme",
                 object_id=theme.id, details={"from": old, "to": clean_name})
    logger.info("theme %s renamed from %r to %r by %s", theme.id, old, clean_name, actor)
    return theme


def merge(*, session: Session, source_id: int, target_id: int, actor: str) -> int:
    """File the entries and questions of one theme under another, then drop the first."""
    if source_id == target_id:
        raise InvalidInput("Choisissez deux thèmes différents.")
    source = get(session=session, theme_id=source_id)
    target = get(session=session, theme_id=target_id)
    moved = _move(session=session, from_name=source.name, to_name=target.name)
    session.delete(source)
    session.flush()
    audit.record(session=session, actor=actor, action="theme.merge", object_type="theme",
                 object_id=target.id, details={"from": source.name, "entries": moved})
    logger.info("theme %r merged into %r by %s (%s entries)", source.name, target.name, actor,
                moved)
    return moved


def _move(*, session: Session, from_name: str, to_name: str) -> int:
    # A theme rename is a relabelling, not a change of content: no new revision.
    names = spellings(session=session, name=from_name) or [from_name]
    moved = session.scalar(select(func.count()).select_from(KnowledgeEntry)
                           .where(KnowledgeEntry.theme.in_(names))) or 0
    session.execute(update(KnowledgeEntry).where(KnowledgeEntry.theme.in_(names))
                    .values(theme=to_name))
    session.execute(update(Ticket).where(Ticket.theme.in_(names)).values(theme=to_name))
    session.expire_all()
    return int(moved)


def entry_counts(*, session: Session, active_only: bool = False) -> dict[str, int]:
    """Number of entries (active ones only, if asked) per theme of the list (spellings folded
    together)."""
    query = select(KnowledgeEntry.theme, func.count()).where(KnowledgeEntry.theme.is_not(None))
    if active_only:
        query = query.where(KnowledgeEntry.status == EntryStatus.ACTIVE.value)
    rows = session.execute(query.group_by(KnowledgeEntry.theme))
    counts: dict[str, int] = {}
    for theme, count in rows:
        key = fold(theme or "")
        counts[key] = counts.get(key, 0) + int(count)
    return {theme.name: counts.get(theme.folded, 0) for theme in list_themes(session=session)}
