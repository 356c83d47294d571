"""Outbox delivery: escaping, splitting, retries, permanent failures, crash safety."""

from __future__ import annotations

from datetime import timedelta

import pytest
from conftest import BotHarness, Person
from telegram.error import NetworkError, TimedOut

from bot.delivery import drain, render_parts, split_text
from knowledge.desk import outbox
from knowledge.store.models import Outbox, OutboxKind, OutboxStatus
from knowledge.timeutil import utcnow

pytestmark = [pytest.mark.anyio,
              pytest.mark.filterwarnings("ignore:Ignoring `conversation_timeout`")]

MARIE = Person(3001)


def _queue(harness: BotHarness, text: str, *, kind: OutboxKind = OutboxKind.ANSWER,
           ticket_id: int | None = None) -> int:
    with harness.knowledge.session() as session:
        return outbox.enqueue(session=session, kind=kind, chat_id=MARIE.id, text=text,
                              created_by="conseiller", ticket_id=ticket_id).id


def _row(harness: BotHarness, outbox_id: int) -> Outbox:
    with harness.knowledge.session() as session:
        row = session.get(Outbox, outbox_id)
        assert row is not None
        return row


async def _drain_until_settled(harness: BotHarness, rounds: int = 10) -> None:
    """Run the delivery job repeatedly, jumping the clock past every backoff."""
    now = utcnow()
    for _ in range(rounds):
        await drain(harness.application.bot, harness.knowledge, now=now)
        now += timedelta(hours=2)


async def test_answer_is_escaped_with_header_and_feedback_buttons(harness: BotHarness) -> None:
    outbox_id = _queue(harness, "Oui : l'article <L. 441-3> & suivants s'appliquent.",
                       ticket_id=None)
    await drain(harness.application.bot, harness.knowledge)
    [call] = harness.transport.sent(MARIE.id)
    assert call.params["parse_mode"] == "HTML"
    assert "&lt;L. 441-3&gt; &amp; suivants" in str(call.params["text"])
    assert _row(harness, outbox_id).status == OutboxStatus.SENT.value


async def test_answer_to_a_ticket_carries_thumbs(harness: BotHarness) -> None:
    harness.approved_asker(MARIE)
    await harness.say(MARIE, "Question ?")
    from knowledge.store.models import Ticket

    with harness.knowledge.session() as session:
        ticket_id = session.query(Ticket).one().id
    _queue(harness, "Voici la réponse.", ticket_id=ticket_id)
    await drain(harness.application.bot, harness.knowledge)
    text = harness.transport.texts(MARIE.id)[-1]
    assert text.startswith(f"<b>Réponse du SVP à votre question n° {ticket_id} :</b>")
    buttons = harness.transport.last_markup(MARIE.id)["inline_keyboard"][0]
    assert [b["text"] for b in buttons] == ["👍", "👎"]


@pytest.mark.parametrize("failure", [
    TimedOut("délai dépassé"),
    NetworkError("connexion refusée"),
    (429, {"ok": False, "error_code": 429, "description": "Too Many Requests: retry after 7",
           "parameters": {"retry_after": 7}}),
])
async def test_transient_failures_are_retried_and_delivered_exactly_once(
        harness: BotHarness, failure: object) -> None:
    outbox_id = _queue(harness, "Réponse importante.")
    harness.transport.plan("sendMessage", failure, failure, failure)
    await drain(harness.application.bot, harness.knowledge)
    row = _row(harness, outbox_id)
    assert row.status == OutboxStatus.PENDING.value and row.last_error
    assert row.next_attempt_at > utcnow()
    await _drain_until_settled(harness)
    row = _row(harness, outbox_id)
    assert row.status == OutboxStatus.SENT.value and row.attempts == 4
    assert len(harness.transport.sent(MARIE.id)) == 1


async def test_retry_after_waits_as_long_as_telegram_asks(harness: BotHarness) -> None:
    outbox_id = _queue(harness, "Réponse.")
    harness.transport.plan("sendMessage", (429, {
        "ok": False, "error_code": 429, "description": "Too Many Requests: retry after 90",
        "parameters": {"retry_after": 90}}))
    before = utcnow()
    await drain(harness.application.bot, harness.knowledge, now=before)
    assert _row(harness, outbox_id).next_attempt_at >= before + timedelta(seconds=90)


async def test_retry_after_postpones_the_rest_of_the_batch_untried(harness: BotHarness) -> None:
    first, second = _queue(harness, "Un."), _queue(harness, "Deux.")
    harness.transport.plan("sendMessage", (429, {
        "ok": False, "error_code": 429, "description": "Too Many Requests: retry after 30",
        "parameters": {"retry_after": 30}}))
    now = utcnow()
    await drain(harness.application.bot, harness.knowledge, now=now)
    assert len([c for c in harness.transport.calls if c.method == "sendMessage"]) == 1
    rest = _row(harness, second)
    assert rest.attempts == 0 and rest.next_attempt_at >= now + timedelta(seconds=30)
    await _drain_until_settled(harness)
    assert [_row(harness, i).status for i in (first, second)] == [OutboxStatus.SENT.value] * 2
    assert len(harness.transport.sent(MARIE.id)) == 2


async def test_bad_request_is_not_retried(harness: BotHarness) -> None:
    outbox_id = _queue(harness, "Réponse.")
    harness.transport.plan("sendMessage", (400, {"ok": False, "error_code": 400,
                                                 "description": "Bad Request: chat not found"}))
    await _drain_until_settled(harness)
    row = _row(harness, outbox_id)
    assert row.status == OutboxStatus.FAILED.value
    assert "chat not found" in (row.last_error or "").lower()
    assert len([c for c in harness.transport.calls if c.method == "sendMessage"]) == 1


async def test_user_who_blocked_the_bot_is_marked_failed_with_the_reason(
        harness: BotHarness) -> None:
    outbox_id = _queue(harness, "Réponse.")
    harness.transport.plan("sendMessage", (403, {
        "ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"}))
    await _drain_until_settled(harness)
    row = _row(harness, outbox_id)
    assert row.status == OutboxStatus.FAILED.value
    assert "bloqué le bot" in (row.last_error or "")
    assert harness.transport.sent(MARIE.id) == []


async def test_9000_character_answer_is_split_on_paragraphs(harness: BotHarness) -> None:
    paragraphs = [f"Paragraphe {n} : " + "loyer & charges <récupérables> " * 9
                  for n in range(40)]
    body = "\n\n".join(paragraphs)
    assert 9_000 <= len(body) <= 12_000
    outbox_id = _queue(harness, body)
    await drain(harness.application.bot, harness.knowledge)
    sent = harness.transport.texts(MARIE.id)
    assert len(sent) >= 3
    assert all(len(part) <= 4096 for part in sent)
    assert all(part.rstrip().endswith("&gt;") for part in sent)  # cut between paragraphs
    plain = "\n\n".join(sent).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    assert all(paragraph.strip() in plain for paragraph in paragraphs)
    row = _row(harness, outbox_id)
    assert len(row.telegram_message_ids) == len(sent) and row.status == OutboxStatus.SENT.value
    buttons = [c.params.get("reply_markup") for c in harness.transport.sent(MARIE.id)]
    assert buttons[:-1] == [None] * (len(sent) - 1)


async def test_a_crash_after_sending_resends_at_most_once_and_never_loses(
        harness: BotHarness) -> None:
    outbox_id = _queue(harness, "Réponse à ne pas perdre.")
    now = utcnow()
    with harness.knowledge.session() as session:  # process A claims the row...
        [claimed] = outbox.claim_due(session=session, now=now)
    await harness.application.bot.send_message(MARIE.id, "…")  # ...sends, and dies unrecorded
    await drain(harness.application.bot, harness.knowledge, now=now)  # lease still held
    assert len(harness.transport.sent(MARIE.id)) == 1
    assert _row(harness, outbox_id).status == OutboxStatus.PENDING.value
    await drain(harness.application.bot, harness.knowledge,
                now=now + outbox.CLAIM_LEASE + timedelta(seconds=1))
    assert len(harness.transport.sent(MARIE.id)) == 2  # one duplicate, no loss
    assert _row(harness, outbox_id).status == OutboxStatus.SENT.value
    await _drain_until_settled(harness)
    assert len(harness.transport.sent(MARIE.id)) == 2
    assert claimed.id == outbox_id


async def test_split_message_resumes_after_the_last_recorded_part(harness: BotHarness) -> None:
    body = "\n\n".join("x" * 3000 for _ in range(3))
    outbox_id = _queue(harness, body)
    # The second part fails once: the first is not sent again.
    harness.transport.plan("sendMessage", None, TimedOut("coupure"))
    await _drain_until_settled(harness)
    sent = harness.transport.texts(MARIE.id)
    assert len(sent) == 3
    assert _row(harness, outbox_id).status == OutboxStatus.SENT.value


def test_split_text_prefers_paragraphs_then_lines_then_words() -> None:
    text = "a" * 50 + "\n\n" + "b" * 50
    assert split_text(text, 60) == ["a" * 50, "b" * 50]
    assert split_text("mot " * 30, 20)[0] == "mot mot mot mot mot"
    assert split_text("z" * 45, 20) == ["z" * 20, "z" * 20, "z" * 5]


def test_render_parts_never_exceeds_the_limit_after_escaping() -> None:
    parts = render_parts(body="<&>" * 5000, header="Titre")
    assert all(len(part) <= 4096 for part in parts)
    assert parts[0].startswith("<b>Titre</b>")
