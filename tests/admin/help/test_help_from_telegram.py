"""Help centre sign-in from the bot (issue 23, `/web`): an approved asker without any address
signs in with the bot's one-time link, reads « Mes questions », asks and gives feedback as
that asker; refusing the asker ends the session."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from admin_helpers import SEALER, client_for, make_asker, make_entry, make_ticket

from admin.config import AdminConfig, HelpConfig
from admin.help.routes import FEEDBACK_SALT
from knowledge.catalog import reading
from knowledge.people import askers, members
from knowledge.runtime import Knowledge
from knowledge.store.member_models import EntryFeedback, MemberSession
from knowledge.store.models import AuditEvent, Ticket

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
QUESTION = ("Un locataire demande l'étalement de sa régularisation de charges sur douze mois : "
            "sommes-nous obligés d'accepter ?")


def _config() -> AdminConfig:
    return AdminConfig(secret_sealer=SEALER, help=HelpConfig())


def _bot_link(knowledge: Knowledge, asker_id: int) -> str:
    """The token `/web` puts in its link (the bot's own tests follow it from Telegram)."""
    with knowledge.session() as session:
        return members.link_for_asker(session=session, asker_id=asker_id).token


def _open(client: TestClient, token: str) -> int:
    """Open the link page, then press « Me connecter »; return the status of the press."""
    page = client.get(f"/aide/lien/{token}")
    if page.status_code != 200:
        return page.status_code
    assert "Me connecter" in page.text
    csrf = CSRF.search(page.text)
    assert csrf
    return client.post("/aide/lien", data={"token": token,
                                           "csrf_token": csrf.group(1)}).status_code


def _csrf(client: TestClient, path: str) -> str:
    found = CSRF.search(client.get(path).text)
    assert found, path
    return found.group(1)


def test_an_asker_without_address_signs_in_from_the_bot_and_asks_as_themselves(
        admin_knowledge: Knowledge) -> None:
    asker_id = make_asker(admin_knowledge)  # Telegram only: no address at all
    earlier = make_ticket(admin_knowledge, "Question posée sur Telegram ?", asker_id=asker_id)
    entry_id = make_entry(admin_knowledge, "Peut-on étaler une régularisation de charges ?",
                          "Le locataire peut demander l'étalement sur douze mois.")
    token = _bot_link(admin_knowledge, asker_id)
    with client_for(admin_knowledge, _config()) as client:
        assert _open(client, token) == 303
        home = client.get("/aide")
        assert home.status_code == 200
        assert "Habitat Test · Connecté(e) depuis Telegram" in home.text
        mine = client.get("/aide/questions")
        assert mine.status_code == 200 and "<h1>Mes questions</h1>" in mine.text
        assert f"Question n° {earlier}" in mine.text  # their Telegram questions are there

        sent = client.post("/aide/questions", data={
            "text": QUESTION, "csrf_token": _csrf(client, "/aide/questions/nouvelle")})
        assert sent.status_code == 303, sent.text
        ticket_id = int(sent.headers["location"].split("/")[-1].split("?")[0])
        assert f"Question n° {ticket_id}" in client.get("/aide/questions").text

        voted = client.post(f"/aide/fiches/{entry_id}/avis", data={
            "value": "1", "csrf_token": _csrf(client, f"/aide/fiches/{entry_id}")})
        assert voted.status_code == 303
    with admin_knowledge.session() as session:
        ticket = session.get(Ticket, ticket_id)
        assert ticket is not None and ticket.asker_id == asker_id and ticket.channel == "web"
        assert session.scalars(select(MemberSession.email)).one() == ""
        feedback = session.scalars(select(EntryFeedback)).one()
        assert feedback.member_key == reading.member_key(f"asker-{asker_id}",
                                                         salt=FEEDBACK_SALT)
        actors = set(session.scalars(select(AuditEvent.actor).where(AuditEvent.action.in_(
            ("member.sign_in", "entry.feedback")))))
        assert actors == {f"member:asker-{asker_id}"}
    with client_for(admin_knowledge, _config()) as other:  # the same link once more
        assert _open(other, token) == 410
        assert other.get("/aide/questions").status_code == 303


def test_refusing_the_asker_signs_them_out_of_the_help_centre(
        admin_knowledge: Knowledge) -> None:
    asker_id = make_asker(admin_knowledge)
    with client_for(admin_knowledge, _config()) as client:
        assert _open(client, _bot_link(admin_knowledge, asker_id)) == 303
        assert client.get("/aide/questions").status_code == 200
        with admin_knowledge.session() as session:
            askers.block(session=session, asker_id=asker_id, actor="test")
        gone = client.get("/aide/questions")
        assert gone.status_code == 303 and gone.headers["location"].startswith(
            "/aide/connexion")
