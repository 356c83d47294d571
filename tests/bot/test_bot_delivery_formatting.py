"""Delivery of the advisers' formatted answers: Telegram HTML, parts in order, sign of life."""

from __future__ import annotations

import re

import pytest
from conftest import BotHarness, Person

from bot.delivery import drain
from knowledge.desk import heartbeat, outbox
from knowledge.desk.formatting import compose
from knowledge.store.models import Outbox, OutboxKind, OutboxStatus

pytestmark = [pytest.mark.anyio,
              pytest.mark.filterwarnings("ignore:Ignoring `conversation_timeout`")]

LUCIE = Person(3101)


async def test_long_formatted_answer_arrives_in_order_with_markup_and_signature(
        harness: BotHarness) -> None:
    body = "\n\n".join(f"**Point {n}** : le bailleur <informe> le locataire & " * 1 +
                       "la commission d'attribution statue. " * 12 for n in range(1, 16))
    text = compose(answer=body, references=["CCH L. 441-2"], signature="— Camille, SVP")
    assert len(text) > 6_000
    with harness.knowledge.session() as session:
        row_id = outbox.enqueue(session=session, kind=OutboxKind.ANSWER, chat_id=LUCIE.id,
                                text=text, created_by="user:camille", formatted=True).id
    await drain(harness.application.bot, harness.knowledge)
    texts = harness.transport.texts(LUCIE.id)
    assert len(texts) >= 2 and all(len(t) <= 4_096 for t in texts)
    joined = "".join(texts)
    assert [int(n) for n in re.findall(r"<b>Point (\d+)</b>", joined)] == list(range(1, 16))
    assert "&lt;informe&gt; le locataire &amp;" in joined
    assert texts[-1].endswith("CCH L. 441-2\n\n— Camille, SVP")
    with harness.knowledge.session() as session:
        row = session.get(Outbox, row_id)
        assert row is not None and row.status == OutboxStatus.SENT.value
        assert len(row.telegram_message_ids) == len(texts)
        assert heartbeat.state(session=session).running  # the job said it is alive


async def test_plain_rows_keep_their_stars(harness: BotHarness) -> None:
    with harness.knowledge.session() as session:
        outbox.enqueue(session=session, kind=OutboxKind.NOTIFICATION, chat_id=LUCIE.id,
                       text="Nouvelle question : **urgent** ?", created_by="bot")
    await drain(harness.application.bot, harness.knowledge)
    [text] = harness.transport.texts(LUCIE.id)
    assert "**urgent**" in text and "<b>urgent</b>" not in text
