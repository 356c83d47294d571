"""Desk services: drafts, long answers, notes, follow-ups, hand-over, templates, heartbeat,
the paged queue and the theme set at intake."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from knowledge.desk import drafts, heartbeat, notes, reply_templates, review, tickets
from knowledge.errors import Conflict, InvalidInput
from knowledge.people import advisers
from knowledge.retrieval.search import Passage, SearchHit
from knowledge.store.models import (
    Asker,
    KnowledgeEntry,
    Outbox,
    Ticket,
    TicketMessage,
    User,
    UserRole,
)
from knowledge.timeutil import utcnow


def Hit(entry_id: int, answer: str, score: float, theme: str | None = None, *,
        passage_score: float = 0.9, from_question: bool = False) -> SearchHit:
    """A suggestion whose whole answer is its best passage, scored as given."""
    passage = Passage(position=1, start=0, end=len(answer), text=answer, score=passage_score,
                      from_question=from_question)
    return SearchHit(entry_id=entry_id, external_id=None, question="Question ?", answer=answer,
                     score=score, theme=theme, source=None, passage=passage)


def _adviser(session: Session, login: str = "camille") -> User:
    return advisers.create(session=session, login=login, password="un mot de passe solide",
                           role=UserRole.ADVISER, display_name=login.title(), actor="test")


def _ticket(session: Session, text: str = "Le SLS s'applique-t-il ?", *, status: str = "new",
            age_days: int = 0, assigned_to_id: int | None = None) -> Ticket:
    asker = Asker(chat_id=42, full_name="Demandeur", status="approved", created_at=utcnow())
    session.add(asker)
    session.flush()
    created = utcnow() - timedelta(days=age_days)
    ticket = Ticket(text=text, status=status, asker_id=asker.id, assigned_to_id=assigned_to_id,
                    suggested_entry_ids=[], created_at=created, updated_at=created)
    session.add(ticket)
    session.flush()
    return ticket


def _entry(session: Session, answer: str = "Réponse de la fiche.", theme: str | None = None
           ) -> KnowledgeEntry:
    entry = KnowledgeEntry(question="Question ?", answer=answer, theme=theme, tags=[],
                           legal_references=[], question_hash=f"h{answer}")
    session.add(entry)
    session.flush()
    return entry


# --- 1. drafts you can trust -----------------------------------------------------------------

def test_draft_is_empty_when_nothing_reaches_the_threshold(session: Session) -> None:
    ticket = _ticket(session)
    draft = drafts.initial_draft(ticket=ticket, hits=[Hit(7, "x" * 13_852, 0.70)],
                                 threshold=0.81, evidence_threshold=0.84, cited="cité")
    assert draft.answer == "" and draft.source_entry_id == ""
    assert draft.publication == "new"


def test_draft_takes_the_best_suggestion_as_is_when_its_passage_answers(
        session: Session) -> None:
    ticket = _ticket(session)
    draft = drafts.initial_draft(ticket=ticket, hits=[Hit(7, "La réponse.", 0.9, "Loyers")],
                                 threshold=0.81, evidence_threshold=0.84, cited="cité")
    assert draft.answer == "La réponse." and draft.source_entry_id == "7"
    assert draft.publication == "none" and draft.theme == "Loyers"


@pytest.mark.parametrize("hit", [Hit(7, "La réponse.", 0.9, passage_score=0.83),
                                 Hit(7, "La réponse.", 0.9, from_question=True)],
                         ids=["passage-below-evidence", "only-the-question-matched"])
def test_draft_is_the_cited_one_with_no_publication_chosen_when_no_passage_answers(
        session: Session, hit: SearchHit) -> None:
    ticket = _ticket(session)
    draft = drafts.initial_draft(ticket=ticket, hits=[hit], threshold=0.81,
                                 evidence_threshold=0.84, cited="« passage »\n(fiche n° 7)")
    assert draft.answer == "« passage »\n(fiche n° 7)"
    assert draft.publication == "" and draft.source_entry_id == ""


def test_saved_draft_wins_over_suggestions(session: Session) -> None:
    adviser = _adviser(session)
    ticket = _ticket(session)
    drafts.save(session=session, ticket_id=ticket.id, adviser=adviser,
                draft=drafts.Draft(answer="Mon brouillon", publication="new"))
    draft = drafts.initial_draft(ticket=ticket, hits=[Hit(7, "La réponse.", 0.99)],
                                 threshold=0.81, evidence_threshold=0.84)
    assert draft.answer == "Mon brouillon"
    assert ticket.assigned_to_id == adviser.id and ticket.status == "in_review"
    assert session.scalar(select(Outbox.id)) is None  # nothing sent


# --- 3. what publication fits, similarity in words ---------------------------------------

def test_publication_fits_the_draft() -> None:
    assert drafts.publication_for("Texte.", "Texte.\n") is review.Publication.NONE
    assert drafts.publication_for("Texte modifié.", "Texte.") is review.Publication.UPDATE
    assert drafts.publication_for("Mon texte.", None) is review.Publication.NEW


def test_similarity_in_words() -> None:
    label = lambda s: drafts.similarity_label(s, close=0.81, very_close=0.93)  # noqa: E731
    assert [label(0.996), label(0.882), label(0.5)] == ["très proche", "proche", "éloignée"]


# --- 2 and 6. long answers, signature and references -------------------------------------

def test_long_answer_is_accepted_and_sent_with_references_and_signature(
        session: Session) -> None:
    adviser = _adviser(session)
    ticket = _ticket(session)
    answer = ("Un paragraphe **important**. " * 220).strip()
    assert len(answer) > 6_000
    review.approve(session=session, ticket_id=ticket.id, adviser=adviser,
                   approval=review.Approval(answer=answer, legal_references=("Art. 1",),
                                            signature="— Camille"))
    sent = session.scalars(select(Outbox)).one()
    assert sent.formatted and sent.text == f"{answer}\n\nRéférences :\nArt. 1\n\n— Camille"


def test_answer_over_twenty_thousand_characters_is_refused(session: Session) -> None:
    adviser = _adviser(session)
    ticket = _ticket(session)
    with pytest.raises(InvalidInput, match="20000"):
        review.approve(session=session, ticket_id=ticket.id, adviser=adviser,
                       approval=review.Approval(answer="x" * 20_001))


def test_unchanged_suggestion_sent_without_publishing_is_linked_to_its_entry(
        session: Session) -> None:
    adviser = _adviser(session)
    ticket = _ticket(session)
    entry = _entry(session)
    outcome = review.approve(session=session, ticket_id=ticket.id, adviser=adviser,
                             approval=review.Approval(answer=entry.answer,
                                                      source_entry_id=entry.id))
    assert outcome.ticket.entry_id == entry.id
    assert session.scalar(select(KnowledgeEntry.revision)) == 1  # the entry is untouched
    rewritten = _ticket(session)
    outcome = review.approve(session=session, ticket_id=rewritten.id, adviser=adviser,
                             approval=review.Approval(answer="Ma propre réponse.",
                                                      source_entry_id=entry.id))
    assert outcome.ticket.entry_id is None  # the adviser's own words: no link


# --- 4. notes, follow-ups, release, hand-over, templates ---------------------------------

def test_internal_note_is_never_sent(session: Session) -> None:
    adviser = _adviser(session)
    ticket = _ticket(session)
    notes.add_note(session=session, ticket_id=ticket.id, adviser=adviser,
                   text="Voir avec le juriste.")
    kinds = [m.kind for m in session.scalars(select(TicketMessage))]
    assert kinds == ["internal_note"]
    assert session.scalar(select(Outbox.id)) is None


def test_follow_up_goes_through_the_outbox_after_the_answer(session: Session) -> None:
    adviser = _adviser(session)
    ticket = _ticket(session)
    with pytest.raises(Conflict):
        notes.send_follow_up(session=session, ticket_id=ticket.id, adviser=adviser,
                             text="Trop tôt.")
    review.approve(session=session, ticket_id=ticket.id, adviser=adviser,
                   approval=review.Approval(answer="Réponse."))
    notes.send_follow_up(session=session, ticket_id=ticket.id, adviser=adviser,
                         text="Précision : le décret est paru.", signature="— Camille")
    notes.send_follow_up(session=session, ticket_id=ticket.id, adviser=adviser,
                         text="Erratum.", correction=True)
    rows = list(session.scalars(select(Outbox).order_by(Outbox.id)))
    assert [r.kind for r in rows] == ["answer", "follow_up", "correction"]
    assert rows[1].text == "Précision : le décret est paru.\n\n— Camille"
    assert all(r.chat_id == 42 for r in rows)


def test_release_and_hand_over(session: Session) -> None:
    camille, dominique = _adviser(session), _adviser(session, "dominique")
    ticket = _ticket(session)
    review.assign_to_me(session=session, ticket_id=ticket.id, adviser=camille)
    notes.release(session=session, ticket_id=ticket.id, adviser=camille)
    assert ticket.assigned_to_id is None and ticket.status == "new"
    notes.hand_over(session=session, ticket_id=ticket.id, adviser=camille,
                    colleague_id=dominique.id)
    assert ticket.assigned_to_id == dominique.id and ticket.status == "in_review"
    with pytest.raises(Exception, match="autre conseiller"):
        notes.release(session=session, ticket_id=ticket.id, adviser=camille)


def test_reply_templates_are_managed_by_advisers(session: Session) -> None:
    for installed in reply_templates.list_templates(session=session):  # the migration's set
        reply_templates.delete(session=session, template_id=installed.id, actor="t")
    first = reply_templates.create(session=session, title="Salut", body="Bonjour,",
                                   actor="user:camille")
    reply_templates.create(session=session, title="Fin", body="Cordialement,", actor="t")
    with pytest.raises(Conflict):
        reply_templates.create(session=session, title="salut", body="Bonjour !", actor="t")
    reply_templates.update(session=session, template_id=first.id, title="Salutation",
                           body="Bonjour Madame, Monsieur,", actor="t")
    assert [t.title for t in reply_templates.list_templates(session=session)] == \
        ["Salutation", "Fin"]
    reply_templates.delete(session=session, template_id=first.id, actor="t")
    assert [t.title for t in reply_templates.list_templates(session=session)] == ["Fin"]


# --- 7. the queue -----------------------------------------------------------------------

def test_queue_pages_search_and_feedback_filter(session: Session) -> None:
    adviser = _adviser(session)
    for number in range(7):
        _ticket(session, f"Question {number} sur les charges", age_days=10 - number)
    target = _ticket(session, "Le surloyer 100% s'applique-t-il ?", assigned_to_id=adviser.id)
    target.feedback, target.feedback_comment = -1, "Trop vague"
    first = review.queue_page(session=session, page=1, page_size=3)
    last = review.queue_page(session=session, page=3, page_size=3)
    assert first.total == 8 and first.pages == 3
    assert first.items[0].ticket.text == "Question 0 sur les charges"
    assert len(last.items) == 2 and last.items[-1].ticket.id == target.id
    found = review.queue_page(session=session, criteria=review.QueueFilter(text="surloyer 100%"))
    assert [i.ticket.id for i in found.items] == [target.id]
    by_number = review.queue_page(session=session, criteria=review.QueueFilter(
        text=f"n° {target.id}"))
    assert target.id in [i.ticket.id for i in by_number.items]
    assert review.queue_page(session=session, criteria=review.QueueFilter(
        text="9" * 30)).total == 0  # not a ticket number: no integer overflow
    unhappy = review.queue_page(session=session, criteria=review.QueueFilter(feedback="down"))
    assert [i.ticket.id for i in unhappy.items] == [target.id]
    old = review.queue_page(session=session, criteria=review.QueueFilter(min_age_days=5))
    assert target.id not in [i.ticket.id for i in old.items] and old.total >= 3
    assert review.count_mine(session=session, adviser_id=adviser.id) == 1


def test_next_and_previous_ticket_follow_the_queue(session: Session) -> None:
    adviser, other = _adviser(session), _adviser(session, "dominique")
    a = _ticket(session, age_days=3)
    _ticket(session, age_days=2, assigned_to_id=other.id)  # not mine: skipped
    c = _ticket(session, age_days=1)
    assert review.next_ticket(session=session, after=a, adviser=adviser) == c
    assert review.next_ticket(session=session, after=c, adviser=adviser) == a  # wraps
    assert review.previous_ticket(session=session, before=c, adviser=adviser) == a


def test_theme_is_set_at_intake_from_the_best_suggestion(session: Session) -> None:
    entry = _entry(session, theme="Loyers et charges")
    ticket = _ticket(session)
    tickets.record_suggestions(session=session, ticket_id=ticket.id, entry_ids=[entry.id],
                               top_score=0.9)
    assert ticket.theme == "Loyers et charges"
    assert review.queue_page(session=session, criteria=review.QueueFilter(
        theme="Loyers et charges")).total == 1


# --- 9. is the bot running? ---------------------------------------------------------------

def test_heartbeat_tells_whether_the_bot_runs(session: Session) -> None:
    assert heartbeat.state(session=session).running is False
    now = utcnow()
    heartbeat.beat(session=session, now=now - timedelta(minutes=10))
    stale = heartbeat.state(session=session, now=now)
    assert stale.running is False and stale.last_seen_at is not None
    heartbeat.beat(session=session, now=now)
    assert heartbeat.state(session=session, now=now).running is True
