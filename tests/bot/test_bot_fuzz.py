"""Random update payloads never make a handler fail."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import BotHarness, Person
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from telegram import Update

pytestmark = [pytest.mark.anyio,
              pytest.mark.filterwarnings("ignore:Ignoring `conversation_timeout`")]

texts = st.one_of(
    st.text(max_size=60),
    st.sampled_from(["/start", "/start abc", "/aide", "/moi", "/moi x@y.fr", "/supprimer",
                     "/mesquestions", "/conseiller", "/conseiller ZZZ", "/annuler", "/inconnue",
                     "<b>&amp;</b>", "\x00", "a" * 4100]),
)
callback_data = st.one_of(
    st.text(max_size=20),
    st.sampled_from(["reg:ok", "reg:cancel", "reg:org:1", "reg:org:x", "reg:page:9", "see:1:1",
                     "see:x", "solved:1", "wait:999", "fb:1:1", "fb:1:7", "fb:a:b",
                     "erase:yes", "erase:no"]),
)
chats = st.sampled_from([{"id": 4001, "type": "private"}, {"id": -5, "type": "group",
                                                            "title": "G"},
                         {"id": -1007, "type": "channel", "title": "C"}])


@st.composite
def payloads(draw: st.DrawFn) -> dict[str, Any]:
    user = {"id": draw(st.sampled_from([4001, 4002])), "is_bot": False,
            "first_name": draw(st.text(min_size=1, max_size=10))}
    chat = draw(chats)
    kind = draw(st.sampled_from(["message", "edited_message", "callback_query", "other",
                                 "photo"]))
    message: dict[str, Any] = {"message_id": draw(st.integers(1, 10**6)), "date": 0,
                               "chat": chat, "from": user}
    if kind == "callback_query":
        return {"update_id": 1, "callback_query": {
            "id": "q", "from": user, "chat_instance": "c", "data": draw(callback_data),
            "message": message | {"text": "…"}}}
    if kind == "other":
        return {"update_id": 1, "inline_query": {"id": "i", "from": user, "query": "x",
                                                 "offset": ""}}
    if kind == "photo":
        message["photo"] = [{"file_id": "f", "file_unique_id": "u", "width": 1, "height": 1}]
        return {"update_id": 1, "message": message}
    text = draw(texts)
    message["text"] = text
    if text.startswith("/"):
        message["entities"] = [{"type": "bot_command", "offset": 0,
                                "length": len(text.split()[0])}]
    if draw(st.booleans()):
        message["reply_to_message"] = {"message_id": draw(st.integers(1, 10**4)), "date": 0,
                                       "chat": chat, "text": "…",
                                       "from": {"id": 777000, "is_bot": True,
                                                "first_name": "SVP"}}
    return {"update_id": 1, kind: message}


async def test_random_updates_never_raise(harness: BotHarness) -> None:
    harness.approved_asker(Person(4001))
    received: list[dict[str, Any]] = []

    @settings(max_examples=150, deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(payloads())
    def collect(payload: dict[str, Any]) -> None:
        received.append(payload)

    collect()
    for payload in received:
        await harness.application.process_update(
            Update.de_json(payload, harness.application.bot))
    assert harness.errors == []
