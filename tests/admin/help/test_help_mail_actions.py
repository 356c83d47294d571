"""The one-click links of an email receipt (issue 24, point 3), through the real app: opening
a link changes nothing (mail scanners open links), its button acts once, a used or unknown
link says so with a 410, and no advisers' page opens from there."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from admin_helpers import SEALER, client_for, make_ticket

from admin.config import AdminConfig
from knowledge.desk import mail_actions
from knowledge.runtime import Knowledge
from knowledge.store.models import Ticket, TicketMessage

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _token(knowledge: Knowledge, action: str) -> tuple[int, str]:
    ticket_id = make_ticket(knowledge, "Le SLS est-il dû en QPV ?")
    with knowledge.session() as session:
        return ticket_id, mail_actions.issue(session=session, ticket_id=ticket_id,
                                             action=action)


def _status(knowledge: Knowledge, ticket_id: int) -> str:
    with knowledge.session() as session:
        ticket = session.get(Ticket, ticket_id)
        assert ticket is not None
        return ticket.status


def test_the_link_s_page_acts_only_with_its_button_and_only_once(
        admin_knowledge: Knowledge) -> None:
    ticket_id, token = _token(admin_knowledge, mail_actions.SELF_SERVED)
    with client_for(admin_knowledge, AdminConfig(secret_sealer=SEALER)) as client:
        for _ in range(3):  # a scanner, a preview, the person: reading uses nothing
            shown = client.get(f"/aide/courriel/{token}")
            assert shown.status_code == 200 and "Cette réponse me suffit" in shown.text
        assert _status(admin_knowledge, ticket_id) == "new"
        csrf = CSRF.search(shown.text)
        assert csrf
        # Without the page's anti-forgery token, nothing happens.
        assert client.post("/aide/courriel", data={"token": token}).status_code in (403, 422)
        assert _status(admin_knowledge, ticket_id) == "new"
        done = client.post("/aide/courriel", data={"token": token,
                                                   "csrf_token": csrf.group(1)})
        assert done.status_code == 200 and "résolue par une réponse existante" in done.text
        assert _status(admin_knowledge, ticket_id) == "self_served"
        again = client.post("/aide/courriel", data={"token": token,
                                                    "csrf_token": csrf.group(1)})
        assert again.status_code == 410 and "plus valable" in again.text
        assert client.get(f"/aide/courriel/{token}").status_code == 410
        assert client.get("/aide/courriel/inconnu").status_code == 410
        assert client.get("/queue").status_code in (302, 303)  # still no advisers' page


def test_waiting_for_an_adviser_is_noted_once_and_the_ticket_stays_in_the_queue(
        admin_knowledge: Knowledge) -> None:
    ticket_id, token = _token(admin_knowledge, mail_actions.WAIT)
    with client_for(admin_knowledge, AdminConfig(secret_sealer=SEALER)) as client:
        page = client.get(f"/aide/courriel/{token}")
        csrf = CSRF.search(page.text)
        assert csrf and "attends un conseiller" in page.text
        assert client.post("/aide/courriel", data={
            "token": token, "csrf_token": csrf.group(1)}).status_code == 200
    assert _status(admin_knowledge, ticket_id) == "new"
    with admin_knowledge.session() as session:
        kinds = list(session.scalars(select(TicketMessage.kind).where(
            TicketMessage.ticket_id == ticket_id)))
    assert kinds.count("waiting") == 1
