"""Builders shared by the web admin tests: accounts, askers, tickets, entries, logged-in clients."""

from __future__ import annotations

import re
import secrets
from itertools import count

from fastapi.testclient import TestClient

from admin.app import create_app
from admin.config import AdminConfig
from knowledge.catalog import entries
from knowledge.people import advisers, organisations
from knowledge.people.sealed_secrets import SecretSealer
from knowledge.runtime import Knowledge
from knowledge.store.models import (
    Asker,
    AskerStatus,
    OrganisationKind,
    Ticket,
    TicketMessage,
    UserRole,
)
from knowledge.timeutil import utcnow

PASSWORD = "correct horse battery"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_numbers = count(1)
# The key of the TOTP secrets in these tests, as `svp serve` passes its own in the config.
SEALER = SecretSealer([secrets.token_urlsafe(32)])


def make_user(knowledge: Knowledge, login: str, role: str = "adviser",
              password: str = PASSWORD) -> int:
    """Create an account and return its id."""
    with knowledge.session() as session:
        user = advisers.create(session=session, login=login, password=password,
                               role=UserRole(role), display_name=login.title(), actor="test")
        return user.id


def make_asker(knowledge: Knowledge, *, status: str = AskerStatus.APPROVED.value,
               organisation: str = "Habitat Test", departement: str = "13") -> int:
    """Create an asker (with a Telegram chat) in an organisation; return its id."""
    number = next(_numbers)
    with knowledge.session() as session:
        org = organisations.find_by_name(session=session, name=organisation)
        if org is None:
            org = organisations.create(session=session, name=organisation,
                                       kind=OrganisationKind.OPH, departement=departement,
                                       actor="test")
        asker = Asker(telegram_user_id=500_000 + number, chat_id=500_000 + number,
                      full_name=f"Demandeur {number}", organisation_id=org.id, status=status,
                      created_at=utcnow())
        session.add(asker)
        session.flush()
        return asker.id


def make_ticket(knowledge: Knowledge, text: str, *, asker_id: int | None = None,
                status: str = "new", assigned_to_id: int | None = None,
                theme: str | None = None) -> int:
    """Create a ticket with its first message; return its id."""
    asker_id = asker_id or make_asker(knowledge)
    with knowledge.session() as session:
        asker = session.get(Asker, asker_id)
        assert asker is not None
        now = utcnow()
        ticket = Ticket(text=text, status=status, asker_id=asker_id,
                        organisation_id=asker.organisation_id, assigned_to_id=assigned_to_id,
                        theme=theme, suggested_entry_ids=[], created_at=now, updated_at=now)
        session.add(ticket)
        session.flush()
        session.add(TicketMessage(ticket_id=ticket.id, author="asker", kind="question",
                                  text=text, created_at=now))
        return ticket.id


def make_entry(knowledge: Knowledge, question: str, answer: str,
               theme: str | None = None) -> int:
    """Create an active entry with its stored embedding; return its id."""
    with knowledge.session() as session:
        entry = entries.create(session=session, actor="test", embedder=knowledge.embedder,
                               content=entries.EntryFields(question=question, answer=answer,
                                                           theme=theme))
        return entry.id


def client_for(knowledge: Knowledge, config: AdminConfig | None = None,
               base_url: str = "http://testserver", address: str = "testclient") -> TestClient:
    """A test client of the admin app (enter it with `with` to run the lifespan)."""
    return TestClient(create_app(knowledge=knowledge,
                                 config=config or AdminConfig(secret_sealer=SEALER)),
                      follow_redirects=False, base_url=base_url, client=(address, 50000))


def csrf_from(html: str) -> str:
    """Extract the CSRF token of the first form of a page."""
    match = _CSRF.search(html)
    assert match, "no CSRF token in the page"
    return match.group(1)


def log_in(client: TestClient, login: str, password: str = PASSWORD) -> str:
    """Log in through the form; return the session's CSRF token."""
    page = client.get("/login")
    response = client.post("/login", data={"login": login, "password": password,
                                           "csrf_token": csrf_from(page.text)})
    assert response.status_code == 303, response.text
    return csrf_from(client.get("/account").text)
