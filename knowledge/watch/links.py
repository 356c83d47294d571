"""An entry's references as shown to people: recognised ones linked to Légifrance."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from knowledge.store.watch_models import LegalArticleVersion
from knowledge.watch.legal_text import is_open
from knowledge.watch.legifrance import url_for
from knowledge.watch.references import (
    LegalReference,
    TextNames,
    find_references,
    parse_reference_field,
    unique,
)


@dataclass(frozen=True)
class ReferenceLink:
    """One reference: its label and Légifrance link when recognised, its text when not."""

    text: str
    label: str | None = None
    url: str | None = None

    @property
    def recognised(self) -> bool:
        """Tell whether the parser understood it."""
        return self.label is not None


def current_article_id(*, session: Session, reference: LegalReference,
                       today: date) -> str | None:
    """The LEGIARTI id of the version in force today of a cited article, when kept."""
    if reference.kind != "article" or reference.cid is None or reference.article is None:
        return None
    versions = session.scalars(
        select(LegalArticleVersion).where(LegalArticleVersion.text_cid == reference.cid,
                                          LegalArticleVersion.num == reference.article)
        .order_by(LegalArticleVersion.date_debut)).all()
    in_force = [v for v in versions if (v.date_debut is None or v.date_debut <= today)
                and (is_open(v.date_fin) or (v.date_fin is not None and v.date_fin > today))]
    chosen = in_force[-1] if in_force else (versions[-1] if versions else None)
    return chosen.id if chosen else None


def reference_links(*, session: Session | None, items: Sequence[str], names: TextNames,
                    today: date) -> list[ReferenceLink]:
    """Each item of a reference field, linked when recognised (one per reference found)."""
    links: list[ReferenceLink] = []
    for item in items:
        text = item.strip()
        if not text:
            continue
        found = parse_reference_field(text, names=names)
        if not found:
            links.append(ReferenceLink(text=text))
            continue
        for reference in found:
            article_id = current_article_id(session=session, reference=reference,
                                            today=today) if session is not None else None
            links.append(ReferenceLink(text=text, label=reference.label,
                                       url=url_for(reference, article_id=article_id)))
    return links


def suggested_references(*, answer: str, items: Sequence[str], names: TextNames) -> list[str]:
    """References the answer text cites that the reference field does not hold yet."""
    held = {reference.label for item in items
            for reference in parse_reference_field(item, names=names)}
    found = unique(found.reference for found in find_references(answer, names=names))
    return [reference.label for reference in found if reference.label not in held]
