"""Askers: staff of member organisations who ask through Telegram (erasure: data_requests)."""

from __future__ import annotations

import logging
import re

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from knowledge import audit
from knowledge.desk.outbox import enqueue
from knowledge.errors import Conflict, Forbidden, InvalidInput, NotFound
from knowledge.people import organisations
from knowledge.store.mail_models import MailInboxMessage
from knowledge.store.models import Asker, AskerStatus, OutboxKind
from knowledge.text import clean
from knowledge.timeutil import utcnow

logger = logging.getLogger(__name__)

MAX_NAME_CHARS = 200
MAX_EMAIL_CHARS = 254
# Deliberately simple: one @, a dot in the domain, no spaces. Deliverability is not checked.
_EMAIL = re.compile(r"^[^@\s<>\"]+@[^@\s<>\"]+\.[A-Za-z]{2,}$")

HELD_MAIL = "held"  # knowledge.people.mail_senders.HELD (that module imports this one)
APPROVED_TEXT = (
    "Votre inscription est validée. Vous pouvez maintenant poser vos questions réglementaires "
    "au SVP : écrivez-les simplement dans cette conversation."
)


def validate_name(value: str) -> str:
    """Return a cleaned full name or raise InvalidInput."""
    name = " ".join(clean(value).split())
    if len(name) < 2:
        raise InvalidInput("Le nom est trop court.")
    if len(name) > MAX_NAME_CHARS:
        raise InvalidInput(f"Le nom dépasse {MAX_NAME_CHARS} caractères.")
    return name


def validate_email(value: str) -> str:
    """Return a cleaned, lower-cased e-mail address or raise InvalidInput."""
    email = clean(value).lower()
    if len(email) > MAX_EMAIL_CHARS or not _EMAIL.match(email):
        raise InvalidInput("Adresse e-mail invalide (exemple : prenom.nom@organisme.fr).")
    return email


def get(*, session: Session, asker_id: int) -> Asker:
    """Return an asker or raise NotFound."""
    asker = session.get(Asker, asker_id)
    if asker is None:
        raise NotFound("asker", asker_id)
    return asker


def get_by_telegram_user_id(*, session: Session, telegram_user_id: int) -> Asker | None:
    """Return the asker registered with this Telegram user id, if any."""
    return session.scalar(select(Asker).where(Asker.telegram_user_id == telegram_user_id))


def list_askers(*, session: Session, status: str | None = None) -> list[Asker]:
    """List askers, newest first, optionally only those with one status."""
    query = select(Asker).order_by(Asker.id.desc())
    if status is not None:
        query = query.where(Asker.status == AskerStatus(status).value)
    return list(session.scalars(query))


def register_pending(*, session: Session, telegram_user_id: int, chat_id: int,
                     telegram_username: str | None, full_name: str, email: str,
                     organisation_id: int) -> Asker:
    """Register a staff member who gave consent; an adviser must approve them."""
    if get_by_telegram_user_id(session=session, telegram_user_id=telegram_user_id) is not None:
        raise Conflict("Vous êtes déjà inscrit.")
    organisation = organisations.get(session=session, organisation_id=organisation_id)
    if not organisation.active:
        raise InvalidInput(f"L'organisme « {organisation.name} » n'est plus actif.")
    now = utcnow()
    asker = Asker(telegram_user_id=telegram_user_id, chat_id=chat_id,
                  telegram_username=telegram_username, full_name=validate_name(full_name),
                  email=validate_email(email), organisation_id=organisation.id,
                  status=AskerStatus.PENDING.value, consent_at=now, created_at=now)
    session.add(asker)
    session.flush()
    audit.record(session=session, actor=f"telegram:{telegram_user_id}", action="asker.register",
                 object_type="asker", object_id=asker.id,
                 details={"organisation_id": organisation.id})
    logger.info("asker %s registered (pending) for organisation %s", asker.id, organisation.id)
    return asker


def register_with_invite(*, session: Session, code: str, telegram_user_id: int, chat_id: int,
                         telegram_username: str | None, full_name: str) -> Asker:
    """Register and approve in one go a staff member holding their organisation's invite code."""
    organisation = organisations.find_by_invite_code(session=session, code=code.strip())
    if organisation is None:
        raise InvalidInput("Ce code d'invitation n'est pas valide ou a été remplacé.")
    actor = f"invite:{organisation.id}"
    now = utcnow()
    asker = get_by_telegram_user_id(session=session, telegram_user_id=telegram_user_id)
    if asker is not None and asker.status == AskerStatus.BLOCKED.value:
        raise Forbidden("Votre accès au SVP a été suspendu.")
    if asker is None:
        asker = Asker(telegram_user_id=telegram_user_id, created_at=now)
        session.add(asker)
    name = " ".join(clean(full_name).split())[:MAX_NAME_CHARS]
    asker.full_name = asker.full_name or name or None
    asker.chat_id = chat_id
    asker.telegram_username = telegram_username
    asker.organisation_id = organisation.id
    asker.status = AskerStatus.APPROVED.value
    asker.consent_at = now
    asker.decided_at = now
    asker.decided_by = actor
    session.flush()
    audit.record(session=session, actor=actor, action="asker.register_invite",
                 object_type="asker", object_id=asker.id,
                 details={"organisation_id": organisation.id})
    logger.info("asker %s registered by invite of organisation %s", asker.id, organisation.id)
    return asker


def approve(*, session: Session, asker_id: int, actor: str) -> Asker:
    """Let a pending (or blocked) asker ask questions and tell them through Telegram."""
    asker = get(session=session, asker_id=asker_id)
    if asker.status == AskerStatus.ERASED.value:
        raise Conflict("Les données de ce demandeur ont été effacées.")
    if asker.status == AskerStatus.APPROVED.value:
        return asker
    asker.status = AskerStatus.APPROVED.value
    asker.decided_at = utcnow()
    asker.decided_by = actor
    audit.record(session=session, actor=actor, action="asker.approve", object_type="asker",
                 object_id=asker.id)
    if asker.chat_id is not None:
        enqueue(session=session, kind=OutboxKind.REGISTRATION, chat_id=asker.chat_id,
                text=APPROVED_TEXT, created_by=actor, asker_id=asker.id)
    if asker.email:
        # The questions sent by email while the access waited go to the desk now.
        session.execute(update(MailInboxMessage).where(
            func.lower(MailInboxMessage.sender) == asker.email.lower(),
            MailInboxMessage.outcome == HELD_MAIL).values(processed_at=None, outcome=None))
    logger.info("asker %s approved by %s", asker.id, actor)
    return asker


def block(*, session: Session, asker_id: int, actor: str, reason: str | None = None) -> Asker:
    """Stop an asker from asking (their tickets stay)."""
    asker = get(session=session, asker_id=asker_id)
    if asker.status == AskerStatus.ERASED.value:
        raise Conflict("Les données de ce demandeur ont été effacées.")
    asker.status = AskerStatus.BLOCKED.value
    asker.decided_at = utcnow()
    asker.decided_by = actor
    audit.record(session=session, actor=actor, action="asker.block", object_type="asker",
                 object_id=asker.id, details={"reason": reason} if reason else None)
    logger.info("asker %s blocked by %s", asker.id, actor)
    return asker


def set_email(*, session: Session, asker_id: int, email: str) -> Asker:
    """Record or change an asker's work e-mail address."""
    asker = get(session=session, asker_id=asker_id)
    if asker.status == AskerStatus.ERASED.value:
        raise Conflict("Les données de ce demandeur ont été effacées.")
    asker.email = validate_email(email)
    audit.record(session=session, actor=f"asker:{asker.id}", action="asker.email",
                 object_type="asker", object_id=asker.id)
    return asker


def can_ask(asker: Asker | None) -> bool:
    """Tell whether this asker may submit questions."""
    return asker is not None and asker.status == AskerStatus.APPROVED.value

