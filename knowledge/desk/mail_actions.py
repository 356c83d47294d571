"""One-click answers of an email receipt: « Cette réponse me suffit », « J'attends un
conseiller ». Each link is single use and expires; only the sha256 of its token is kept."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from knowledge.desk import tickets
from knowledge.errors import InvalidInput
from knowledge.store.mail_models import MailAction
from knowledge.store.models import Ticket
from knowledge.timeutil import utcnow

SELF_SERVED = "self_served"
WAIT = "wait"
ACTIONS = (SELF_SERVED, WAIT)
VALID_DAYS = 30
DEAD = ("Ce lien n'est plus valable : il a déjà servi, ou il a expiré (il vaut 30 jours). "
        "Répondez simplement au courriel du SVP.")


@dataclass(frozen=True)
class PendingAction:
    """What a live link would do, read without using it (its page shows a button)."""

    action: str
    ticket_id: int
    entry_id: int | None


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue(*, session: Session, ticket_id: int, action: str, entry_id: int | None = None,
          now: datetime | None = None) -> str:
    """A new link's token for one action on a ticket (shown once, in the email)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown mail action {action!r}")
    now = now or utcnow()
    token = secrets.token_urlsafe(24)
    session.add(MailAction(token_hash=_digest(token), ticket_id=ticket_id, action=action,
                           entry_id=entry_id, created_at=now,
                           expires_at=now + timedelta(days=VALID_DAYS)))
    session.flush()
    return token


def peek(*, session: Session, token: str, now: datetime | None = None) -> PendingAction | None:
    """What a live link does, or None when it is used, expired or unknown (nothing changes)."""
    if not token or len(token) > 200:
        return None
    row = session.scalars(select(MailAction).where(
        MailAction.token_hash == _digest(token))).first()
    if row is None or row.used_at is not None or row.expires_at <= (now or utcnow()):
        return None
    return PendingAction(action=row.action, ticket_id=row.ticket_id, entry_id=row.entry_id)


def use(*, session: Session, token: str, now: datetime | None = None) -> Ticket:
    """Do what a link says, once: close the ticket as self-served, or note the asker waits."""
    now = now or utcnow()
    if not token or len(token) > 200:
        raise InvalidInput(DEAD)
    digest = _digest(token)
    # One statement uses the link: of two clicks at once, only one acts.
    used = session.execute(update(MailAction).where(
        MailAction.token_hash == digest, MailAction.used_at.is_(None),
        MailAction.expires_at > now).values(used_at=now))
    if int(getattr(used, "rowcount", 0) or 0) != 1:
        raise InvalidInput(DEAD)
    row = session.scalars(select(MailAction).where(MailAction.token_hash == digest)).one()
    ticket = tickets.get(session=session, ticket_id=row.ticket_id)
    if ticket.asker_id is None:
        raise InvalidInput(DEAD)
    if not tickets.is_open(ticket):
        return ticket  # already answered or closed: nothing to do, nothing to refuse
    if row.action == SELF_SERVED:
        return tickets.mark_self_served(session=session, ticket_id=ticket.id,
                                        asker_id=ticket.asker_id, entry_id=row.entry_id)
    return tickets.keep_waiting(session=session, ticket_id=ticket.id, asker_id=ticket.asker_id)
