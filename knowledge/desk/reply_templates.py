"""Reply templates: short pieces of answer (greeting, partial answer, closing) advisers reuse."""

from __future__ import annotations

import logging

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from knowledge import audit
from knowledge.errors import Conflict, InvalidInput, NotFound
from knowledge.store.desk_tables import ReplyTemplate
from knowledge.text import clean
from knowledge.timeutil import utcnow

logger = logging.getLogger(__name__)

MAX_TITLE_CHARS = 100
MAX_BODY_CHARS = 4_000


def list_templates(*, session: Session) -> list[ReplyTemplate]:
    """Every template, in the advisers' order."""
    return list(session.scalars(select(ReplyTemplate)
                                .order_by(ReplyTemplate.position, ReplyTemplate.id)))


def get(*, session: Session, template_id: int) -> ReplyTemplate:
    """Return a template or raise NotFound."""
    template = session.get(ReplyTemplate, template_id)
    if template is None:
        raise NotFound("reply_template", template_id)
    return template


def _fields(title: str, body: str) -> tuple[str, str]:
    title, body = " ".join(clean(title).split()), clean(body)
    if not title or not body:
        raise InvalidInput("Un modèle a besoin d'un titre et d'un texte.")
    if len(title) > MAX_TITLE_CHARS:
        raise InvalidInput(f"Le titre dépasse {MAX_TITLE_CHARS} caractères.")
    if len(body) > MAX_BODY_CHARS:
        raise InvalidInput(f"Le texte du modèle dépasse {MAX_BODY_CHARS} caractères.")
    return title, body


def _check_title_free(session: Session, title: str, template_id: int | None) -> None:
    clash = session.scalar(select(ReplyTemplate.id).where(
        func.lower(ReplyTemplate.title) == title.lower()))
    if clash is not None and clash != template_id:
        raise Conflict(f"Un modèle s'appelle déjà « {title} ».")


def create(*, session: Session, title: str, body: str, actor: str) -> ReplyTemplate:
    """Add a template at the end of the list."""
    title, body = _fields(title, body)
    _check_title_free(session, title, None)
    last = session.scalar(select(func.max(ReplyTemplate.position))) or 0
    template = ReplyTemplate(title=title, body=body, position=last + 1, updated_by=actor,
                             updated_at=utcnow())
    session.add(template)
    session.flush()
    audit.record(session=session, actor=actor, action="template.create",
                 object_type="reply_template", object_id=template.id)
    return template


def update(*, session: Session, template_id: int, title: str, body: str,
           actor: str) -> ReplyTemplate:
    """Change a template's title and text."""
    template = get(session=session, template_id=template_id)
    title, body = _fields(title, body)
    _check_title_free(session, title, template.id)
    template.title, template.body = title, body
    template.updated_by, template.updated_at = actor, utcnow()
    audit.record(session=session, actor=actor, action="template.update",
                 object_type="reply_template", object_id=template.id)
    return template


def delete(*, session: Session, template_id: int, actor: str) -> None:
    """Remove a template."""
    template = get(session=session, template_id=template_id)
    session.delete(template)
    audit.record(session=session, actor=actor, action="template.delete",
                 object_type="reply_template", object_id=template_id,
                 details={"title": template.title})
