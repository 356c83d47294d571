"""Access and erasure requests answered by an admin: downloads, erasure, refusals, the audit."""

from __future__ import annotations

import csv
import io
import json
import logging
from datetime import date, datetime
from typing import Any

import pytest
from admin_helpers import client_for, csrf_from, log_in, make_asker, make_ticket, make_user
from sqlalchemy import select

from knowledge.desk import review
from knowledge.people import adviser_links, advisers
from knowledge.runtime import Knowledge
from knowledge.store.db import Base
from knowledge.store.models import Asker, AuditEvent, Outbox, Ticket, TicketMessage, User


def _asker_with_name(knowledge: Knowledge) -> tuple[int, int]:
    asker_id = make_asker(knowledge)
    with knowledge.session() as session:
        asker = session.get(Asker, asker_id)
        assert asker is not None
        asker.full_name, asker.email = "Solène Abgrall", "solene.abgrall@h29.fr"
    ticket_id = make_ticket(knowledge, "Ici Solène Abgrall : la CUS est-elle obligatoire ?",
                            asker_id=asker_id)
    return asker_id, ticket_id


def test_an_admin_downloads_an_askers_data_and_the_download_is_audited(
        admin_knowledge: Knowledge) -> None:
    make_user(admin_knowledge, "root", role="admin")
    asker_id, _ = _asker_with_name(admin_knowledge)
    with client_for(admin_knowledge) as client:
        csrf = log_in(client, "root")
        page = client.get(f"/askers/{asker_id}/donnees")
        as_json = client.post(f"/askers/{asker_id}/donnees/export",
                              data={"csrf_token": csrf, "format": "json"})
        as_csv = client.post(f"/askers/{asker_id}/donnees/export",
                             data={"csrf_token": csrf, "format": "csv"})
        odd = client.post(f"/askers/{asker_id}/donnees/export",
                          data={"csrf_token": csrf, "format": "exe"})
        forged = client.post(f"/askers/{asker_id}/donnees/export", data={"format": "json"})
    assert page.status_code == 200 and "Solène Abgrall" in page.text
    assert as_json.status_code == 200
    assert 'filename="demandeur-' in as_json.headers["content-disposition"]
    assert json.loads(as_json.content)["demandeur"]["courriel"] == "solene.abgrall@h29.fr"
    rows = dict(csv.reader(io.StringIO(as_csv.content.decode("utf-8-sig")), delimiter=";"))
    assert rows["questions[1].texte"].startswith("Ici Solène Abgrall")
    assert odd.status_code == 422 and forged.status_code == 403
    with admin_knowledge.session() as session:
        exports = session.scalars(select(AuditEvent).where(AuditEvent.action == "asker.export"))
        assert [(e.actor, e.details) for e in exports] == [
            ("user:root", {"format": "json"}), ("user:root", {"format": "csv"})]


def test_an_adviser_may_not_see_or_erase_an_askers_data(admin_knowledge: Knowledge) -> None:
    make_user(admin_knowledge, "camille")
    asker_id, _ = _asker_with_name(admin_knowledge)
    with client_for(admin_knowledge) as client:
        csrf = log_in(client, "camille")
        assert client.get(f"/askers/{asker_id}/donnees").status_code == 403
        erase = client.post(f"/askers/{asker_id}/donnees/effacer",
                            data={"csrf_token": csrf, "confirm": "oui"})
        assert erase.status_code == 403
        assert "Données personnelles" not in client.get("/askers?status=all").text


def test_an_admin_erases_an_asker_after_confirming(admin_knowledge: Knowledge) -> None:
    make_user(admin_knowledge, "root", role="admin")
    asker_id, ticket_id = _asker_with_name(admin_knowledge)
    with client_for(admin_knowledge) as client:
        csrf = log_in(client, "root")
        unconfirmed = client.post(f"/askers/{asker_id}/donnees/effacer",
                                  data={"csrf_token": csrf})
        assert unconfirmed.status_code == 422 and "Cochez" in unconfirmed.text
        done = client.post(f"/askers/{asker_id}/donnees/effacer",
                           data={"csrf_token": csrf, "confirm": "oui"})
        assert done.status_code == 303
        page = client.get(done.headers["location"]).text
        unknown = client.get("/askers/999999/donnees")
    assert "ont été effacées" in page and "Effacer les données" not in page
    assert unknown.status_code == 404
    with admin_knowledge.session() as session:
        asker = session.get(Asker, asker_id)
        ticket = session.get(Ticket, ticket_id)
        assert asker is not None and asker.full_name is None and asker.status == "erased"
        assert ticket is not None and "Abgrall" not in ticket.text and "CUS" in ticket.text
        [event] = session.scalars(select(AuditEvent).where(AuditEvent.action == "asker.erase"))
        assert event.actor == "user:root" and "Abgrall" not in json.dumps(event.details)


def _plain(value: Any) -> str:
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def test_erasing_an_adviser_keeps_their_answers_but_no_trace_of_them(
        admin_knowledge: Knowledge) -> None:
    make_user(admin_knowledge, "root", role="admin")
    adviser_id = make_user(admin_knowledge, "tanguy.le-gall")
    with admin_knowledge.session() as session:
        user = session.get(User, adviser_id)
        assert user is not None
        user.display_name = "Tanguy Le Gall"
        adviser_links.issue_code(session=session, user_id=adviser_id)
        adviser_links.link(session=session, code=user.telegram_link_code or "",
                           chat_id=313131313)
    ticket_id = make_ticket(admin_knowledge, "Le SLS s'applique-t-il en QPV ?")
    with client_for(admin_knowledge) as client:
        log_in(client, "tanguy.le-gall")
        with admin_knowledge.session() as session:
            user = session.get(User, adviser_id)
            assert user is not None
            review.approve(session=session, ticket_id=ticket_id, adviser=user,
                           approval=review.Approval(answer="Non, pas en QPV.",
                                                    signature="— Tanguy, SVP"))
    with client_for(admin_knowledge) as client:
        csrf = log_in(client, "root")
        export = client.post(f"/users/{adviser_id}/donnees/export",
                             data={"csrf_token": csrf, "format": "json"})
        wrong = client.post(f"/users/{adviser_id}/donnees/effacer",
                            data={"csrf_token": csrf, "confirm": "oui",
                                  "admin_password": "pas le bon"})
        own = client.post(f"/users/{_id(admin_knowledge, 'root')}/donnees/effacer",
                          data={"csrf_token": csrf, "confirm": "oui",
                                "admin_password": "correct horse battery"})
        done = client.post(f"/users/{adviser_id}/donnees/effacer",
                           data={"csrf_token": csrf, "confirm": "oui",
                                 "admin_password": "correct horse battery"})
    data = json.loads(export.content)
    assert data["compte"]["nom"] == "Tanguy Le Gall" and "password" not in export.text
    # The thread keeps the answer as sent, signature included.
    assert data["sessions"]
    assert data["messages_rediges"][0]["texte"] == "Non, pas en QPV.\n\n— Tanguy, SVP"
    assert wrong.status_code == 422 and own.status_code == 403
    assert done.status_code == 303
    needles = ("tanguy", "le gall", "313131313")
    traces = []
    with admin_knowledge.session() as session:
        for table in Base.metadata.sorted_tables:
            for row in session.execute(select(table)).mappings():
                for column, value in row.items():
                    if value is not None and any(n in _plain(value).lower() for n in needles):
                        traces.append(f"{table.name}.{column}: {_plain(value)[:80]}")
        answer = session.scalars(select(TicketMessage).where(
            TicketMessage.kind == "answer")).one()
        assert answer.text.startswith("Non, pas en QPV.") and answer.user_id == adviser_id
        assert session.scalars(select(Outbox.text)).one().startswith("Non, pas en QPV.")
        erased = session.get(User, adviser_id)
        assert erased is not None and not erased.active
        assert advisers.authenticate(session=session, login=erased.login, password="x",
                                     ip="1.2.3.4") is None
    assert traces == []


def _id(knowledge: Knowledge, login: str) -> int:
    with knowledge.session() as session:
        return advisers.get_by_login(session=session, login=login).id


def test_invalid_form_values_are_not_logged(admin_knowledge: Knowledge,
                                            caplog: pytest.LogCaptureFixture) -> None:
    make_user(admin_knowledge, "root", role="admin")
    with client_for(admin_knowledge) as client:
        csrf = log_in(client, "root")
        caplog.set_level(logging.INFO)
        response = client.post("/users", data={"csrf_token": csrf, "login": "x" * 300,
                                               "password": "mot de passe secret Kerbrat"})
    assert response.status_code == 422
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "invalid request on /users" in logged
    assert "Kerbrat" not in logged and "x" * 300 not in logged


def test_the_askers_page_links_an_admin_to_the_data_page(admin_knowledge: Knowledge) -> None:
    make_user(admin_knowledge, "root", role="admin")
    asker_id, _ = _asker_with_name(admin_knowledge)
    with client_for(admin_knowledge) as client:
        log_in(client, "root")
        page = client.get("/askers?status=all").text
    assert f'href="/askers/{asker_id}/donnees"' in page
    assert csrf_from(page)


def test_the_web_admin_applies_the_retention_limits_when_it_starts(
        admin_knowledge: Knowledge) -> None:
    from datetime import timedelta

    from knowledge.people.retention import DAILY
    from knowledge.store.desk_tables import ProcessHeartbeat
    from knowledge.store.models import LoginAttempt
    from knowledge.timeutil import utcnow

    with admin_knowledge.session() as session:
        session.add(LoginAttempt(at=utcnow() - timedelta(days=45), ip="10.1.1.1", login="x"))
        session.add(LoginAttempt(at=utcnow() - timedelta(days=2), ip="10.1.1.1", login="y"))
    with client_for(admin_knowledge) as client:
        assert client.get("/healthz").status_code == 200
    with admin_knowledge.session() as session:
        assert list(session.scalars(select(LoginAttempt.login))) == ["y"]
        assert session.get(ProcessHeartbeat, DAILY) is not None
        [event] = session.scalars(select(AuditEvent).where(AuditEvent.action == "privacy.purge"))
        assert event.actor == "web" and event.details["counts"]["login_attempts"] == 1


def test_the_copy_leaves_out_the_advisers_internal_notes(admin_knowledge: Knowledge) -> None:
    from knowledge.desk import notes
    from knowledge.people import data_requests

    make_user(admin_knowledge, "camille")
    asker_id, ticket_id = _asker_with_name(admin_knowledge)
    with admin_knowledge.session() as session:
        adviser = advisers.get_by_login(session=session, login="camille")
        notes.add_note(session=session, ticket_id=ticket_id, adviser=adviser,
                       text="Demandeuse insistante, voir avec la direction.")
    with admin_knowledge.session() as session:
        data = data_requests.asker_data(session=session, asker_id=asker_id)
    [question] = data["questions"]
    assert [m["type"] for m in question["messages"]] == ["question"]
    assert "insistante" not in json.dumps(data, ensure_ascii=False)
