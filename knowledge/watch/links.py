"""An entry's references as shown to people: recognised ones linked to Légifrance."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from knowledge.store.watch_models import LegalArticleVersion
from knowledge.watch.cited import field_references
from knowledge.watch.flags import chronological, in_force
from knowledge.watch.legifrance import url_for
from knowledge.watch.references import LegalReference, TextNames, find_references, unique


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
    versions = chronological(session.scalars(
        select(LegalArticleVersion).where(LegalArticleVersion.text_cid == reference.cid,
                                          LegalArticleVersion.num == reference.article)))
    chosen = in_force(versions, today) or (versions[-1] if versions else None)
    return chosen.id if chosen else None


def reference_links(*, session: Session, items: Sequence[str], names: TextNames,
                    today: date) -> list[ReferenceLink]:
    """Each item of a reference field, linked when recognised (one per reference found)."""
    links: list[ReferenceLink] = []
    for item in items:
        text = item.strip()
        if not text:
            continue
        found = field_references(text, names=names)
        if not found:
            links.append(ReferenceLink(text=text))
            continue
        for reference in found:
            article_id = current_article_id(session=session, reference=reference, today=today)
            links.append(ReferenceLink(text=text, label=reference.label,
                                       url=url_for(reference, article_id=article_id)))
    return links


def suggested_references(*, answer: str, items: Sequence[str], names: TextNames) -> list[str]:
    """References the answer text cites that the reference field does not hold yet."""
    held = {reference.label for item in items
            for reference in field_references(item, names=names)}
    found = unique(found.reference for found in find_references(answer, names=names))
    return [reference.label for reference in found if reference.label not in held]
