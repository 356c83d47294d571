"""The webhook route: secret header checked, updates committed to the inbox before the 200."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from bot.application import build_application
from bot.config import BotConfig
from bot.webhook import SECRET_HEADER, webhook_route
from knowledge.runtime import Knowledge
from knowledge.store.models import InboxUpdate

SECRET = "s3cret_token-value"
UPDATE = {"update_id": 1, "message": {"message_id": 1, "date": 0, "text": "Bonjour",
                                      "chat": {"id": 42, "type": "private"},
                                      "from": {"id": 42, "is_bot": False, "first_name": "A"}}}


@pytest.fixture
def setup(bot_knowledge: Knowledge, bot_config: BotConfig) -> Iterator[tuple[TestClient, object]]:
    application = build_application(knowledge=bot_knowledge, config=bot_config)
    web = Starlette(routes=[webhook_route(application, secret=SECRET)])
    with TestClient(web) as client:
        yield client, bot_knowledge


def stored(knowledge: object) -> list[InboxUpdate]:
    """The inbox rows, oldest first."""
    assert isinstance(knowledge, Knowledge)
    with knowledge.session() as session:
        return list(session.query(InboxUpdate).order_by(InboxUpdate.id))


@pytest.mark.parametrize("headers", [{}, {SECRET_HEADER: "mauvais"}, {SECRET_HEADER: ""}])
def test_webhook_without_the_right_secret_is_forbidden(setup: tuple[TestClient, object],
                                                       headers: dict[str, str]) -> None:
    client, knowledge = setup
    response = client.post("/telegram/webhook", json=UPDATE, headers=headers)
    assert response.status_code == 403
    assert stored(knowledge) == []


def test_webhook_answers_200_once_the_update_is_in_the_inbox(setup: tuple[TestClient, object]
                                                             ) -> None:
    client, knowledge = setup
    response = client.post("/telegram/webhook", json=UPDATE, headers={SECRET_HEADER: SECRET})
    assert response.status_code == 200
    [row] = stored(knowledge)
    assert (row.update_id, row.chat_id, row.kind) == (1, 42, "message")
    assert row.payload["message"]["text"] == "Bonjour"


def test_webhook_acknowledges_a_second_delivery_and_stores_it_once(
        setup: tuple[TestClient, object]) -> None:
    client, knowledge = setup
    for _ in range(2):
        response = client.post("/telegram/webhook", json=UPDATE,
                               headers={SECRET_HEADER: SECRET})
        assert response.status_code == 200
    assert [row.update_id for row in stored(knowledge)] == [1]


def test_webhook_with_garbage_body_is_a_bad_request(setup: tuple[TestClient, object]) -> None:
    client, _application = setup
    response = client.post("/telegram/webhook", content=b"{not json",
                           headers={SECRET_HEADER: SECRET})
    assert response.status_code == 400


def test_webhook_accepts_only_post(setup: tuple[TestClient, object]) -> None:
    client, _ = setup
    assert client.get("/telegram/webhook", headers={SECRET_HEADER: SECRET}).status_code == 405


@pytest.mark.parametrize("body", [b"[1, 2]", b"{}", b'{"update_id": "x", "message": 5}'])
def test_webhook_with_a_malformed_update_is_refused_without_crashing(
        setup: tuple[TestClient, object], body: bytes) -> None:
    client, knowledge = setup
    response = client.post("/telegram/webhook", content=body, headers={SECRET_HEADER: SECRET})
    assert response.status_code == 400
    assert stored(knowledge) == []
