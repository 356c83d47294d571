"""What the handlers ask of the knowledge base: blocking calls, each one unit of work.

Handlers run these with `asyncio.to_thread`; they return small frozen views, never ORM objects.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.config import BotConfig
from knowledge.desk import outbox, tickets
from knowledge.people import adviser_links, askers, organisations, subscriptions
from knowledge.runtime import Knowledge
from knowledge.store.models import Asker, EntryStatus, KnowledgeEntry, OutboxKind
from knowledge.timeutil import utcnow

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class AskerView:
    """What the bot needs to know about an asker."""

    id: int
    status: str
    full_name: str | None
    email: str | None
    organisation: str | None

    @property
    def approved(self) -> bool:
        """Whether this asker may ask questions."""
        return self.status == "approved"

    @classmethod
    def of(cls, asker: Asker) -> AskerView:
        """Copy what matters out of a model."""
        return cls(id=asker.id, status=asker.status, full_name=asker.full_name,
                   email=asker.email,
                   organisation=asker.organisation.name if asker.organisation else None)


@dataclass(frozen=True)
class Suggestion:
    """A validated past answer shown under a new question."""

    entry_id: int
    question: str
    answer: str
    score: float


@dataclass(frozen=True)
class TicketLine:
    """One line of /mesquestions."""

    id: int
    status: str
    created_at: datetime
    text: str


class BotServices:
    """The knowledge base seen from the bot; every method is blocking and commits itself."""

    def __init__(self, knowledge: Knowledge, config: BotConfig) -> None:
        self.knowledge = knowledge
        self.config = config

    def warm_up(self) -> None:
        """Load the embedder and the vector index now rather than on the first question."""
        try:
            self.knowledge.sync_index()
        except Exception:  # searching will try again, and questions are stored regardless
            logger.warning("could not prepare the search index", exc_info=True)

    # --- askers -------------------------------------------------------------------------------

    def asker(self, telegram_user_id: int) -> AskerView | None:
        """Return the registered asker of a Telegram user, if any."""
        with self.knowledge.session() as session:
            found = askers.get_by_telegram_user_id(session=session,
                                                   telegram_user_id=telegram_user_id)
            return AskerView.of(found) if found is not None else None

    def organisation_choices(self) -> list[tuple[int, str]]:
        """Active organisations as (id, name), by name."""
        with self.knowledge.session() as session:
            return [(org.id, org.name) for org in
                    organisations.list_organisations(session=session, active_only=True)]

    def register_pending(self, *, telegram_user_id: int, chat_id: int, username: str | None,
                         full_name: str, email: str, organisation_id: int) -> AskerView:
        """Register an asker who must wait for approval."""
        with self.knowledge.session() as session:
            asker = askers.register_pending(
                session=session, telegram_user_id=telegram_user_id, chat_id=chat_id,
                telegram_username=username, full_name=full_name, email=email,
                organisation_id=organisation_id)
            return AskerView.of(asker)

    def register_with_invite(self, *, code: str, telegram_user_id: int, chat_id: int,
                             username: str | None, full_name: str) -> AskerView:
        """Register and approve an asker holding an invite code."""
        with self.knowledge.session() as session:
            asker = askers.register_with_invite(
                session=session, code=code, telegram_user_id=telegram_user_id, chat_id=chat_id,
                telegram_username=username, full_name=full_name)
            return AskerView.of(asker)

    def set_email(self, asker_id: int, email: str) -> AskerView:
        """Record an asker's e-mail."""
        with self.knowledge.session() as session:
            return AskerView.of(askers.set_email(session=session, asker_id=asker_id,
                                                 email=email))

    def toggle_digest(self, asker_id: int) -> bool:
        """Subscribe or unsubscribe the asker to the monthly digest; return the new state."""
        with self.knowledge.session() as session:
            return subscriptions.toggle(session=session, asker_id=asker_id).digest_subscribed

    def erase(self, asker_id: int) -> None:
        """Erase an asker's personal data at their request."""
        with self.knowledge.session() as session:
            askers.erase(session=session, asker_id=asker_id, actor=f"asker:{asker_id}")

    def link_adviser(self, code: str, chat_id: int) -> str:
        """Link an adviser's account to this chat; return their display name."""
        with self.knowledge.session() as session:
            return adviser_links.link(session=session, code=code, chat_id=chat_id).display_name

    # --- questions ----------------------------------------------------------------------------

    def rate_limit_hit(self, asker_id: int, now: datetime | None = None) -> str | None:
        """Return "minute" or "day" when the asker reached a limit, else None."""
        now = now or utcnow()
        with self.knowledge.session() as session:
            last_minute = tickets.count_since(session=session, asker_id=asker_id,
                                              since=now - timedelta(minutes=1))
            if last_minute >= self.config.rate_limit_per_minute:
                return "minute"
            last_day = tickets.count_since(session=session, asker_id=asker_id,
                                           since=now - timedelta(days=1))
            if last_day >= self.config.rate_limit_per_day:
                return "day"
        return None

    def submit_question(self, asker_id: int, text: str, message_id: int | None) -> int:
        """Store a question (committed on return) and return its ticket number."""
        with self.knowledge.session() as session:
            ticket = tickets.submit(session=session, asker_id=asker_id, text=text,
                                    telegram_message_id=message_id,
                                    admin_base_url=self.config.admin_base_url)
            return ticket.id

    def suggest(self, ticket_id: int, text: str) -> list[Suggestion]:
        """Find the validated answers close to a question and record them on its ticket."""
        shown = self.config.shown
        if shown == 0:
            return []
        try:
            # Ask for the best hits whatever their score, so the ticket keeps the top score
            # even when nothing is shown (advisers tune the threshold with it).
            result = self.knowledge.similar(text, k=shown, min_score=-1.0)
            threshold = self.knowledge.abstain_threshold
        except Exception:  # the question is stored; advisers answer even if search is down
            logger.exception("search failed for ticket %s", ticket_id)
            return []
        found = [Suggestion(entry_id=hit.entry_id, question=hit.question, answer=hit.answer,
                            score=hit.score)
                 for hit in result.hits[:shown] if hit.score >= threshold]
        with self.knowledge.session() as session:
            tickets.record_suggestions(session=session, ticket_id=ticket_id,
                                       entry_ids=[item.entry_id for item in found],
                                       top_score=max((hit.score for hit in result.hits),
                                                     default=None))
        return found

    def clarification_ticket(self, chat_id: int, message_id: int) -> int | None:
        """Return the ticket whose clarification request is this bot message, if any."""
        with self.knowledge.session() as session:
            row = outbox.find_by_sent_message(session=session, chat_id=chat_id,
                                              telegram_message_id=message_id,
                                              kind=OutboxKind.CLARIFICATION)
            return row.ticket_id if row is not None else None

    def add_clarification(self, ticket_id: int, asker_id: int, text: str,
                          message_id: int | None) -> None:
        """Add the asker's reply to a ticket's thread."""
        with self.knowledge.session() as session:
            tickets.add_asker_message(session=session, ticket_id=ticket_id, asker_id=asker_id,
                                      text=text, telegram_message_id=message_id)

    def self_served(self, ticket_id: int, asker_id: int) -> None:
        """Close a ticket resolved by a suggestion."""
        with self.knowledge.session() as session:
            tickets.mark_self_served(session=session, ticket_id=ticket_id, asker_id=asker_id)

    def keep_waiting(self, ticket_id: int, asker_id: int) -> None:
        """Note that the asker waits for an adviser."""
        with self.knowledge.session() as session:
            tickets.keep_waiting(session=session, ticket_id=ticket_id, asker_id=asker_id)

    def feedback(self, ticket_id: int, asker_id: int, value: int) -> None:
        """Store 👍 / 👎 on a ticket."""
        with self.knowledge.session() as session:
            tickets.record_feedback(session=session, ticket_id=ticket_id, asker_id=asker_id,
                                    value=value)

    def feedback_comment(self, ticket_id: int, asker_id: int, comment: str) -> None:
        """Store the comment that follows a 👎."""
        with self.knowledge.session() as session:
            tickets.record_feedback_comment(session=session, ticket_id=ticket_id,
                                            asker_id=asker_id, comment=comment)

    def entry(self, entry_id: int) -> tuple[str, str, str | None] | None:
        """Return (question, answer, source) of an active entry, if it exists."""
        with self.knowledge.session() as session:
            entry = session.get(KnowledgeEntry, entry_id)
            if entry is None or entry.status != EntryStatus.ACTIVE.value:
                return None
            return entry.question, entry.answer, entry.source

    def my_tickets(self, asker_id: int, limit: int = 10) -> list[TicketLine]:
        """Return an asker's most recent tickets."""
        with self.knowledge.session() as session:
            return [TicketLine(id=t.id, status=t.status, created_at=t.created_at, text=t.text)
                    for t in tickets.list_for_asker(session=session, asker_id=asker_id,
                                                    limit=limit)]
