"""JSON API under concurrency: parallel answers to one ticket send one message, no more."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from admin_helpers import make_ticket, make_user
from api_helpers import api_client, bearer, make_token
from sqlalchemy import func, select

from admin.api.limits import RateLimiter
from knowledge.runtime import Knowledge
from knowledge.store.models import Outbox, TicketMessage


def test_parallel_answers_to_one_ticket_send_exactly_one_message(
        admin_knowledge: Knowledge) -> None:
    make_user(admin_knowledge, "camille")
    auth = bearer(make_token(admin_knowledge, "camille"))
    ticket_id = make_ticket(admin_knowledge, "Qui paie la TEOM ?")
    with api_client(admin_knowledge) as client:
        def answer(number: int) -> int:
            return client.post(f"/api/v1/tickets/{ticket_id}/answer", headers=auth,
                               json={"answer": f"Réponse n° {number}."}).status_code

        with ThreadPoolExecutor(max_workers=4) as pool:
            statuses = sorted(pool.map(answer, range(4)))
    assert statuses == [200, 409, 409, 409]
    with admin_knowledge.session() as session:
        assert session.scalar(select(func.count()).select_from(Outbox)) == 1
        assert session.scalar(select(func.count()).select_from(TicketMessage).where(
            TicketMessage.kind == "answer")) == 1


def test_the_window_slides_the_limit_comes_back_after_a_minute(
        admin_knowledge: Knowledge) -> None:
    now = [1000.0]
    limiter = RateLimiter(admin_knowledge, 2, clock=lambda: now[0])
    assert [limiter.admit("a"), limiter.admit("a")] == [0.0, 0.0]
    assert limiter.admit("a") == 60.0
    now[0] += 30
    assert limiter.admit("a") == 30.0 and limiter.admit("b") == 0.0
    now[0] += 30
    assert limiter.admit("a") == 0.0  # the first two calls left the window
