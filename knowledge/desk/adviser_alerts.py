"""Advisers told by email, when they chose it: a new question, a follow-up on their ticket, the
weekly list of entries to review. Telegram alerts stay as they are, beside these."""

from __future__ import annotations

import enum
import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from knowledge import audit
from knowledge.desk import outbox
from knowledge.errors import InvalidInput, NotFound
from knowledge.store.models import OutboxKind, User

_ADDRESS = re.compile(r"[^@\s<>]{1,64}@[^@\s<>]{1,190}\.[^@\s<>]{2,63}")


class AdviserAlert(enum.StrEnum):
    """What an adviser may choose to receive by email."""

    NEW_QUESTION = "new_question"
    FOLLOW_UP = "follow_up"
    REMINDER = "reminder"


ALERT_LABELS = {
    AdviserAlert.NEW_QUESTION: "chaque nouvelle question",
    AdviserAlert.FOLLOW_UP: "une précision ou une question de suivi sur mes questions",
    AdviserAlert.REMINDER: "le rappel hebdomadaire des fiches à revoir",
}


def wants(user: User, alert: AdviserAlert) -> bool:
    """Whether an active adviser with an address chose this alert by email."""
    return bool(user.active and user.email and alert.value in (user.email_notifications or []))


def set_preferences(*, session: Session, user_id: int, email: str,
                    alerts: list[str]) -> User:
    """Record an adviser's address and the alerts they want by email (none without address)."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("user", user_id)
    address = email.strip().lower()
    if address and not _ADDRESS.fullmatch(address):
        raise InvalidInput(f"« {email.strip()[:100]} » n'est pas une adresse de courriel.")
    try:
        chosen = sorted({AdviserAlert(alert).value for alert in alerts})
    except ValueError:
        raise InvalidInput("Choix d'alerte inconnu.") from None
    if chosen and not address:
        raise InvalidInput("Indiquez votre adresse de courriel pour y recevoir des alertes.")
    user.email = address or None
    user.email_notifications = chosen
    audit.record(session=session, actor=f"user:{user.login}", action="user.email_alerts",
                 object_type="user", object_id=user.id, details={"alerts": chosen})
    return user


def email_advisers(*, session: Session, alert: AdviserAlert, subject: str, text: str,
                   ticket_id: int | None = None, only: User | None = None) -> int:
    """Queue one email per adviser who chose this alert (only `only`, when given)."""
    users = [only] if only is not None else list(session.scalars(
        select(User).where(User.active.is_(True), User.email.is_not(None)).order_by(User.id)))
    sent = 0
    for user in users:
        if user is None or not wants(user, alert):
            continue
        assert user.email is not None
        outbox.enqueue_email(session=session, kind=(OutboxKind.REMINDER
                                                     if alert is AdviserAlert.REMINDER
                                                     else OutboxKind.NOTIFICATION),
                             to=user.email, subject=subject, text=text, created_by="svp",
                             user_id=user.id, ticket_id=ticket_id)
        sent += 1
    return sent
