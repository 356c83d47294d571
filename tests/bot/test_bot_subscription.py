"""`/abonnement` toggles the monthly digest; the broadcast reaches each subscriber once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from conftest import BotHarness, Person

from bot.delivery import drain
from knowledge.catalog import digest
from knowledge.desk.workdays import PARIS
from knowledge.people import subscriptions
from knowledge.store.models import Asker, Outbox, OutboxKind
from knowledge.timeutil import utcnow

pytestmark = [pytest.mark.anyio,
              pytest.mark.filterwarnings("ignore:Ignoring `conversation_timeout`")]


def _subscribed(harness: BotHarness, asker_id: int) -> bool:
    with harness.knowledge.session() as session:
        asker = session.get(Asker, asker_id)
        assert asker is not None
        return asker.digest_subscribed


async def test_abonnement_toggles_the_subscription(harness: BotHarness) -> None:
    marie = Person(3101)
    asker_id = harness.approved_asker(marie)
    assert not _subscribed(harness, asker_id)  # off by default
    first = await harness.say(marie, "/abonnement")
    assert _subscribed(harness, asker_id) and "abonné" in first[-1]
    second = await harness.say(marie, "/abonnement")
    assert not _subscribed(harness, asker_id) and "désabonné" in second[-1]


async def test_unregistered_person_cannot_subscribe(harness: BotHarness) -> None:
    stranger = Person(3109)
    replies = await harness.say(stranger, "/abonnement")
    assert "/start" in replies[-1]
    with harness.knowledge.session() as session:
        assert session.query(Asker).count() == 0


async def test_digest_goes_once_to_each_subscriber_through_the_outbox(
        harness: BotHarness) -> None:
    subscribers = [Person(3201), Person(3202)]
    quitter, silent = Person(3203), Person(3204)
    for person in (*subscribers, quitter, silent):
        harness.approved_asker(person)
    for person in (*subscribers, quitter):
        await harness.say(person, "/abonnement")
    await harness.say(quitter, "/abonnement")  # changed their mind
    harness.entry("Qui paie la taxe d'enlèvement des ordures ménagères ?",
                  "Le propriétaire, qui la récupère sur le locataire avec les charges.")
    month = digest.Month.of(utcnow().astimezone(PARIS).date())
    for _ in range(2):  # a second click on "send" must not send twice
        with harness.knowledge.session() as session:
            letter = digest.build(session=session, month=month)
            subscriptions.broadcast(session=session, digest=letter, actor="user:camille")
    later = utcnow() + timedelta(minutes=5)
    for _ in range(3):
        await drain(harness.application.bot, harness.knowledge, now=later)
    for person in subscribers:
        texts = harness.transport.texts(person.id)
        letters = [text for text in texts if text.startswith("Les réponses du SVP —")]
        assert len(letters) == 1, texts
        assert "ordures ménagères" in letters[0]
    for person in (quitter, silent):
        assert not any(text.startswith("Les réponses du SVP —")
                       for text in harness.transport.texts(person.id))
    with harness.knowledge.session() as session:
        rows = session.query(Outbox).filter(Outbox.kind == OutboxKind.DIGEST.value).all()
        assert sorted(row.status for row in rows) == ["sent", "sent"]


async def test_broadcast_is_spread_below_telegrams_rate(harness: BotHarness) -> None:
    people = [Person(3300 + n) for n in range(45)]
    with harness.knowledge.session() as session:
        for person in people:
            harness.approved_asker(person)
    with harness.knowledge.session() as session:
        session.query(Asker).update({Asker.digest_subscribed: True})
    now = utcnow()
    with harness.knowledge.session() as session:
        letter = digest.build(session=session, month=digest.Month.of(now.date()))
        report = subscriptions.broadcast(session=session, digest=letter, actor="test", now=now)
    with harness.knowledge.session() as session:
        due = sorted(row.next_attempt_at for row in session.query(Outbox).filter(
            Outbox.kind == OutboxKind.DIGEST.value))
    assert report.queued == 45 and len(due) == 45
    # No one-second window holds more than the broadcast rate.
    for index in range(len(due) - subscriptions.BROADCAST_PER_SECOND):
        assert due[index + subscriptions.BROADCAST_PER_SECOND] - due[index] >= \
            timedelta(seconds=1)
