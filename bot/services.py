"""What the handlers ask of the knowledge base: blocking calls, each one unit of work.

Handlers run these with `asyncio.to_thread`; they return small frozen views, never ORM objects.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from bot import keyboards, texts
from bot.config import BotConfig
from knowledge.desk import attachments, inbox, outbox, tickets
from knowledge.desk.attachments import Accepted
from knowledge.people import (
    adviser_links,
    askers,
    data_requests,
    members,
    organisations,
    retention,
    subscriptions,
)
from knowledge.retrieval.search import Passage
from knowledge.runtime import Knowledge
from knowledge.store.db import is_row_id
from knowledge.store.models import (
    Asker,
    EntryStatus,
    KnowledgeEntry,
    OutboxKind,
    Ticket,
    TicketStatus,
)
from knowledge.timeutil import utcnow
from knowledge.watch.links import ReferenceLink, reference_links

logger = logging.getLogger(__name__)

# A receipt is sent by the handler right after its commit; the delivery job takes over only if
# the handler died or failed, once this lease has expired (so never twice while it is sending).
RECEIPT_LEASE = timedelta(seconds=15)
# A document sent without a caption joins the asker's open question asked this recently (the
# usual "here is my question, and here is the letter"); older ones need a reply or a caption.
FILE_JOINS_WITHIN = timedelta(hours=1)


@dataclass(frozen=True)
class ReceivedFile:
    """A file of a Telegram message that passed the checks, with Telegram's stable id."""

    file: Accepted
    telegram_file_unique_id: str | None


@dataclass
class InboxMark:
    """The inbox update being processed; `done` once a unit of work marked it processed."""

    update_id: int
    done: bool = False


current_update: ContextVar[InboxMark | None] = ContextVar("svp_current_update", default=None)
"""Set by the intake while an update is processed (copied into `asyncio.to_thread` calls)."""


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
class OfferedEntry:
    """A suggestion opened in full from its button, and whether its question is still open."""

    question: str
    answer: str
    source: str | None
    ticket_open: bool
    # The passage closest to the ticket's question, marked when the answer is shown in full.
    passage: Passage | None = None
    # Its legal references, each linked to Légifrance when recognised.
    references: tuple[ReferenceLink, ...] = ()


@dataclass(frozen=True)
class Suggestion:
    """A validated past answer shown under a new question."""

    entry_id: int
    question: str
    answer: str
    score: float
    passage: Passage | None = None


@dataclass(frozen=True)
class Asked:
    """What became of a question: refused by a rate limit, or its receipt to send (if new)."""

    limit: str | None = None
    receipt: outbox.OutboxItem | None = None


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

    @contextmanager
    def _unit(self) -> Iterator[Session]:
        """A unit of work that also marks the update being processed as done, atomically."""
        mark = current_update.get()
        with self.knowledge.session() as session:
            yield session
            if mark is not None and not mark.done:
                inbox.mark_done(session=session, update_id=mark.update_id)
        if mark is not None:
            mark.done = True

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
        with self._unit() as session:
            asker = askers.register_pending(
                session=session, telegram_user_id=telegram_user_id, chat_id=chat_id,
                telegram_username=username, full_name=full_name, email=email,
                organisation_id=organisation_id)
            return AskerView.of(asker)

    def register_with_invite(self, *, code: str, telegram_user_id: int, chat_id: int,
                             username: str | None, full_name: str) -> AskerView:
        """Register and approve an asker holding an invite code."""
        with self._unit() as session:
            asker = askers.register_with_invite(
                session=session, code=code, telegram_user_id=telegram_user_id, chat_id=chat_id,
                telegram_username=username, full_name=full_name)
            return AskerView.of(asker)

    def set_email(self, asker_id: int, email: str) -> AskerView:
        """Record an asker's e-mail."""
        with self._unit() as session:
            return AskerView.of(askers.set_email(session=session, asker_id=asker_id,
                                                 email=email))

    def toggle_digest(self, asker_id: int) -> bool:
        """Subscribe or unsubscribe the asker to the monthly digest; return the new state."""
        # In the update's own unit of work: a replayed /abonnement must not toggle twice.
        with self._unit() as session:
            return subscriptions.toggle(session=session, asker_id=asker_id).digest_subscribed

    def web_link(self, asker_id: int) -> members.IssuedLink:
        """Issue a one-time sign-in link to the help centre for an approved asker."""
        # In the update's own unit of work: a replayed /web issues no second link.
        with self._unit() as session:
            return members.link_for_asker(session=session, asker_id=asker_id)

    def erase(self, asker_id: int) -> None:
        """Erase an asker's personal data at their request."""
        with self._unit() as session:
            data_requests.erase_asker(session=session, asker_id=asker_id,
                                      actor=f"asker:{asker_id}",
                                      embedder=self.knowledge.embedder)

    def my_data(self, asker_id: int) -> tuple[bytes, bytes]:
        """A copy of the asker's data as JSON and CSV files (the export is audited)."""
        # Not the update's unit of work: the update is done only once the files are sent, so
        # a crash before that replays it and the asker still gets their copy.
        with self.knowledge.session() as session:
            data = data_requests.asker_data(session=session, asker_id=asker_id)
            data_requests.record_export(session=session, object_type="asker",
                                        object_id=asker_id, actor=f"asker:{asker_id}",
                                        fmt="json+csv")
        return data_requests.to_json(data), data_requests.to_csv(data)

    def link_adviser(self, code: str, chat_id: int) -> str:
        """Link an adviser's account to this chat; return their display name."""
        with self._unit() as session:
            return adviser_links.link(session=session, code=code, chat_id=chat_id).display_name

    def purge_if_due(self) -> retention.PurgeReport | None:
        """Apply the retention limits if no process did in the last day."""
        with self.knowledge.session() as session:
            return retention.purge_if_due(session=session, policy=self.config.retention,
                                          actor="bot")

    # --- questions ----------------------------------------------------------------------------

    def rate_limit_hit(self, asker_id: int, now: datetime | None = None) -> str | None:
        """Return "minute" or "day" when the asker reached a limit, else None."""
        with self.knowledge.session() as session:
            return tickets.limit_reached(session=session, asker_id=asker_id,
                                         per_minute=self.config.rate_limit_per_minute,
                                         per_day=self.config.rate_limit_per_day, now=now)

    def ask(self, asker_id: int, text: str, chat_id: int, message_id: int, *,
            files: tuple[ReceivedFile, ...] = (), refused: tuple[str, ...] = ()) -> Asked:
        """Store a question, its files, suggestions and receipt in one unit of work.

        Refuses (nothing stored) past a rate limit. The receipt's outbox row comes back claimed
        for the caller to send at once; none when this Telegram message was stored before (a
        replayed update: nothing is written twice). `refused` names the files not kept.
        """
        limit = self.rate_limit_hit(asker_id)
        if limit is not None:
            return Asked(limit=limit)
        found, top_score = self._search(text)  # reads only: before taking the write lock
        with self._unit() as session:
            if tickets.find_by_telegram_message(session=session, chat_id=chat_id,
                                                telegram_message_id=message_id) is not None:
                logger.info("message %s of chat %s already stored: not stored again",
                            message_id, chat_id)
                return Asked()
            ticket = tickets.submit(session=session, asker_id=asker_id, text=text,
                                    telegram_chat_id=chat_id, telegram_message_id=message_id,
                                    admin_base_url=self.config.admin_base_url)
            tickets.record_suggestions(session=session, ticket_id=ticket.id,
                                       entry_ids=[item.entry_id for item in found],
                                       top_score=top_score)
            if files:
                question = tickets.asker_message(session=session, ticket_id=ticket.id,
                                                 kind="question")
                assert question is not None
                self._store_files(session, ticket.id, question.id, asker_id, files)
            markup = keyboards.suggestions(ticket.id, [item.entry_id for item in found]) \
                if found else None
            receipt = outbox.enqueue(
                session=session, kind=OutboxKind.RECEIPT, chat_id=chat_id, created_by="bot",
                text=texts.receipt(ticket.id, [
                    (item.question, texts.suggestion_excerpt(item.answer, item.passage))
                    for item in found], files=len(files), refused=refused),
                buttons=_rows(markup), asker_id=asker_id, ticket_id=ticket.id,
                in_hand=RECEIPT_LEASE)
            return Asked(receipt=outbox.OutboxItem.of(receipt))

    def _search(self, text: str) -> tuple[list[Suggestion], float | None]:
        """The validated answers to show under a question, and the best score found."""
        shown = self.config.shown
        if shown == 0:
            return [], None
        try:
            # Ask for the best hits whatever their score, so the ticket keeps the top score
            # even when nothing is shown (advisers tune the threshold with it).
            result = self.knowledge.similar(text, k=shown, min_score=-1.0)
            threshold = self.knowledge.abstain_threshold
        except Exception:  # the question is stored; advisers answer even if search is down
            logger.exception("search failed for a new question")
            return [], None
        found = [Suggestion(entry_id=hit.entry_id, question=hit.question, answer=hit.answer,
                            score=hit.score, passage=hit.passage)
                 for hit in result.hits[:shown] if hit.score >= threshold]
        return found, max((hit.score for hit in result.hits), default=None)

    def clarification_ticket(self, chat_id: int, message_id: int) -> int | None:
        """Return the ticket whose clarification request is this bot message, if any."""
        return self._prompted_ticket(chat_id, message_id, OutboxKind.CLARIFICATION)

    def feedback_prompt_ticket(self, chat_id: int, message_id: int) -> int | None:
        """Return the ticket whose 👎 comment prompt is this bot message, if any."""
        return self._prompted_ticket(chat_id, message_id, OutboxKind.FEEDBACK_PROMPT)

    def _prompted_ticket(self, chat_id: int, message_id: int, kind: OutboxKind) -> int | None:
        with self.knowledge.session() as session:
            row = outbox.find_by_sent_message(session=session, chat_id=chat_id,
                                              telegram_message_id=message_id, kind=kind)
            return row.ticket_id if row is not None else None

    def add_clarification(self, ticket_id: int, asker_id: int, text: str,
                          message_id: int | None, *,
                          files: tuple[ReceivedFile, ...] = ()) -> None:
        """Add the asker's reply (and its files) to a ticket's thread, once per message."""
        with self._unit() as session:
            tickets.add_asker_message(session=session, ticket_id=ticket_id, asker_id=asker_id,
                                      text=text, telegram_message_id=message_id)
            if files:
                added = tickets.asker_message(session=session, ticket_id=ticket_id,
                                              kind="clarification",
                                              telegram_message_id=message_id)
                assert added is not None
                self._store_files(session, ticket_id, added.id, asker_id, files)

    def _store_files(self, session: Session, ticket_id: int, message_id: int, asker_id: int,
                     files: tuple[ReceivedFile, ...]) -> None:
        for received in files:
            attachments.store(session=session, ticket_id=ticket_id,
                              ticket_message_id=message_id, upload=received.file,
                              source="telegram", created_by=f"asker:{asker_id}",
                              telegram_file_unique_id=received.telegram_file_unique_id)

    def file_target(self, asker_id: int, chat_id: int,
                    replied_message_id: int | None) -> int | None:
        """The open question a document without caption completes, if there is one.

        The ticket of the bot message it replies to, else the asker's open question asked
        within the last hour; None when neither exists (the asker is asked for a caption).
        """
        with self.knowledge.session() as session:
            if replied_message_id is not None:
                row = outbox.find_by_sent_message(session=session, chat_id=chat_id,
                                                  telegram_message_id=replied_message_id)
                ticket = (self._own_ticket(session, row.ticket_id, asker_id)
                          if row is not None and row.ticket_id is not None else None)
                if ticket is not None and tickets.is_open(ticket):
                    return ticket.id
            recent = tickets.latest_open(session=session, asker_id=asker_id,
                                         since=utcnow() - FILE_JOINS_WITHIN)
            return recent.id if recent is not None else None

    def already_stored(self, chat_id: int, message_id: int) -> bool:
        """Whether a Telegram message was stored before (its files are not fetched again)."""
        with self.knowledge.session() as session:
            return tickets.telegram_message_stored(session=session, chat_id=chat_id,
                                                   telegram_message_id=message_id)

    def self_served(self, ticket_id: int, asker_id: int, entry_id: int | None = None) -> bool:
        """Close a ticket resolved by a suggestion (named or not); False if it already was."""
        with self._unit() as session:
            already = tickets.get(session=session, ticket_id=ticket_id).status == \
                TicketStatus.SELF_SERVED.value
            tickets.mark_self_served(session=session, ticket_id=ticket_id, asker_id=asker_id,
                                     entry_id=entry_id)
            return not already

    def keep_waiting(self, ticket_id: int, asker_id: int) -> bool:
        """Note that the asker waits for an adviser; False if they already said so."""
        with self._unit() as session:
            already = tickets.is_waiting(tickets.get(session=session, ticket_id=ticket_id))
            tickets.keep_waiting(session=session, ticket_id=ticket_id, asker_id=asker_id)
            return not already

    def feedback(self, ticket_id: int, asker_id: int, value: int,
                 chat_id: int | None = None) -> outbox.OutboxItem | None:
        """Store 👍 / 👎 on a ticket; a new 👎 queues a comment prompt (its row returned)."""
        with self._unit() as session:
            previous = tickets.get(session=session, ticket_id=ticket_id).feedback
            tickets.record_feedback(session=session, ticket_id=ticket_id, asker_id=asker_id,
                                    value=value)
            if value != -1 or previous == -1 or chat_id is None:
                return None
            return outbox.OutboxItem.of(outbox.enqueue(
                session=session, kind=OutboxKind.FEEDBACK_PROMPT, chat_id=chat_id,
                text=texts.FEEDBACK_ASK_COMMENT, created_by="bot", asker_id=asker_id,
                ticket_id=ticket_id, in_hand=RECEIPT_LEASE))

    def feedback_comment(self, ticket_id: int, asker_id: int, comment: str) -> None:
        """Store the comment that follows a 👎."""
        with self._unit() as session:
            tickets.record_feedback_comment(session=session, ticket_id=ticket_id,
                                            asker_id=asker_id, comment=comment)

    def tell_group_once(self, chat_id: int) -> bool:
        """Remember that a group is told "private chats only"; False if it was told before."""
        with self._unit() as session:
            return inbox.tell_group_once(session=session, chat_id=chat_id)

    # --- what a button may do (a callback can be forged by hand: check it against the ticket) --

    def _own_ticket(self, session: Session, ticket_id: int, asker_id: int) -> Ticket | None:
        ticket = session.get(Ticket, ticket_id) if is_row_id(ticket_id) else None
        return ticket if ticket is not None and ticket.asker_id == asker_id else None

    def offered_entry(self, ticket_id: int, asker_id: int,
                      entry_id: int) -> OfferedEntry | None:
        """Return an active entry only if it was suggested on this asker's own ticket."""
        with self.knowledge.session() as session:
            ticket = self._own_ticket(session, ticket_id, asker_id)
            if ticket is None or entry_id not in (ticket.suggested_entry_ids or []):
                return None
            entry = session.get(KnowledgeEntry, entry_id)
            if entry is None or entry.status != EntryStatus.ACTIVE.value:
                return None
            offered = OfferedEntry(
                question=entry.question, answer=entry.answer, source=entry.source,
                ticket_open=tickets.is_open(ticket),
                references=tuple(reference_links(
                    session=session, items=entry.legal_references or [],
                    names=self.knowledge.legal_names, today=utcnow().date())))
            question = ticket.text
        # Outside the unit of work: the search reads never wait on our own write lock.
        try:
            passage = self.knowledge.passage_for(question, entry_id)
        except Exception:  # the answer is worth showing even unmarked
            logger.exception("no passage for entry %s", entry_id)
            return offered
        if passage is None or passage.end > len(offered.answer):
            return offered
        return replace(offered, passage=passage)

    def suggestions_offered(self, ticket_id: int, asker_id: int, *,
                            entry_id: int | None = None) -> bool:
        """Tell whether suggestions (this one, if named) were shown on this asker's own ticket."""
        with self.knowledge.session() as session:
            ticket = self._own_ticket(session, ticket_id, asker_id)
            if ticket is None or not ticket.suggested_entry_ids:
                return False
            return entry_id is None or entry_id in ticket.suggested_entry_ids

    def answer_delivered(self, ticket_id: int, asker_id: int) -> bool:
        """Tell whether this asker's own ticket has an answer to rate (👍 / 👎)."""
        with self.knowledge.session() as session:
            ticket = self._own_ticket(session, ticket_id, asker_id)
            return ticket is not None and ticket.status == TicketStatus.ANSWERED.value

    def my_tickets(self, asker_id: int, limit: int = 10) -> list[TicketLine]:
        """Return an asker's most recent tickets."""
        with self.knowledge.session() as session:
            return [TicketLine(id=t.id, status=t.status, created_at=t.created_at, text=t.text)
                    for t in tickets.list_for_asker(session=session, asker_id=asker_id,
                                                    limit=limit)]


def _rows(markup: Any) -> list[Any]:
    """An inline keyboard as stored with an outbox row (rows of button dicts)."""
    if markup is None:
        return []
    return [[button.to_dict() for button in row] for row in markup.inline_keyboard]
