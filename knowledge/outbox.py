"""Outbox of Telegram messages: written by whoever decides to send, drained by the bot."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.orm import Session

from knowledge.models import Outbox, OutboxKind, OutboxStatus
from knowledge.timeutil import utcnow

logger = logging.getLogger(__name__)


def enqueue(
    *,
    session: Session,
    kind: OutboxKind,
    chat_id: int,
    text: str,
    created_by: str,
    asker_id: int | None = None,
    user_id: int | None = None,
    ticket_id: int | None = None,
    buttons: list[Any] | None = None,
) -> Outbox:
    """Add a message to send; it is delivered after the unit of work commits.

    `text` is plain text: the bot escapes it for Telegram HTML when sending.
    """
    now = utcnow()
    message = Outbox(
        kind=kind.value,
        chat_id=chat_id,
        asker_id=asker_id,
        user_id=user_id,
        ticket_id=ticket_id,
        text=text,
        buttons=buttons or [],
        status=OutboxStatus.PENDING.value,
        attempts=0,
        next_attempt_at=now,
        created_by=created_by,
        created_at=now,
    )
    session.add(message)
    session.flush()
    logger.info("outbox %s (%s) queued for chat %s by %s", message.id, kind.value, chat_id,
                created_by)
    return message
