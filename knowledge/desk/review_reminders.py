"""The weekly reminder of the entries to check, sent to advisers with a linked Telegram."""

from __future__ import annotations

import logging
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from knowledge import audit
from knowledge.catalog import reviews
from knowledge.desk import adviser_alerts, outbox
from knowledge.store.models import AuditEvent, OutboxKind, User
from knowledge.watch import flags as legal_flags

logger = logging.getLogger(__name__)

SHOWN_ENTRIES = 10


def _short(question: str) -> str:
    question = " ".join(question.split())
    return question if len(question) <= 90 else question[:89].rstrip() + "…"


def reminder_text(*, session: Session, today: date, admin_base_url: str | None) -> str | None:
    """The reminder's text, or None when no entry is due and no cited text changed."""
    due = reviews.due(session=session, today=today, include_undated=False)
    flagged = legal_flags.flagged_entries(session=session)
    if not due and not flagged:
        return None
    lines: list[str] = []
    if flagged:
        # First: an answer citing a changed text may already be wrong.
        lines += [f"Un texte cité a changé : {len(flagged)} fiche(s) à relire.", ""]
        for entry, entry_flags in flagged[:SHOWN_ENTRIES]:
            more = f" (et {len(entry_flags) - 1} autre(s))" if len(entry_flags) > 1 else ""
            lines.append(f"• n° {entry.id} : {_short(entry.question)} — "
                         f"{entry_flags[0].reason}{more}")
        if len(flagged) > SHOWN_ENTRIES:
            lines.append(f"… et {len(flagged) - SHOWN_ENTRIES} autre(s).")
        if due:
            lines.append("")
    late = sum(1 for entry in due if reviews.is_overdue(entry, today))
    if due:
        lines += [f"Fiches à revoir : {late} en retard, {len(due) - late} dans les "
                  f"{reviews.DUE_HORIZON_DAYS} jours.", ""]
    for entry in due[:SHOWN_ENTRIES]:
        assert entry.review_by is not None
        lines.append(f"• n° {entry.id} (le {entry.review_by.strftime('%d/%m/%Y')}) : "
                     f"{_short(entry.question)}")
    if len(due) > SHOWN_ENTRIES:
        lines.append(f"… et {len(due) - SHOWN_ENTRIES} autre(s).")
    if admin_base_url:
        lines += ["", f"{admin_base_url.rstrip('/')}/kb/due"]
    return "\n".join(lines)


def send_weekly(*, session: Session, today: date, admin_base_url: str | None = None,
                actor: str = "cli") -> int:
    """Queue the reminder for each adviser linked to Telegram or who chose it by email, at most
    once per adviser and ISO week."""
    text = reminder_text(session=session, today=today, admin_base_url=admin_base_url)
    if text is None:
        return 0
    year, week, _ = today.isocalendar()
    sent = 0
    advisers = session.scalars(select(User).where(User.active.is_(True)).order_by(User.id))
    for adviser in advisers:
        by_email = adviser_alerts.wants(adviser, adviser_alerts.AdviserAlert.REMINDER)
        if adviser.telegram_chat_id is None and not by_email:
            continue
        key = f"{year}-W{week:02d}:{adviser.id}"
        already = session.scalar(select(AuditEvent.id).where(
            AuditEvent.object_type == "review_reminder", AuditEvent.object_id == key).limit(1))
        if already is not None:
            continue
        if adviser.telegram_chat_id is not None:
            outbox.enqueue(session=session, kind=OutboxKind.REMINDER,
                           chat_id=adviser.telegram_chat_id, text=text, created_by=actor,
                           user_id=adviser.id)
        if by_email:
            adviser_alerts.email_advisers(
                session=session, alert=adviser_alerts.AdviserAlert.REMINDER, only=adviser,
                subject="SVP : les fiches à revoir cette semaine", text=text)
        audit.record(session=session, actor=actor, action="kb.review_reminder",
                     object_type="review_reminder", object_id=key)
        sent += 1
    logger.info("review reminder queued for %s advisers", sent)
    return sent
