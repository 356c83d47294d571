"""`/healthz` for anyone, `/metrics` for Prometheus (bearer token) or a logged-in user."""

from __future__ import annotations

from datetime import timedelta

from admin_helpers import client_for, log_in, make_entry, make_ticket, make_user

from admin.config import AdminConfig
from knowledge.desk import inbox, outbox
from knowledge.runtime import Knowledge
from knowledge.store.models import Outbox, OutboxKind, Ticket
from knowledge.timeutil import utcnow


def test_healthz_tells_anyone_only_the_status(admin_knowledge: Knowledge) -> None:
    with client_for(admin_knowledge) as client:
        response = client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_healthz_details_need_a_login_or_the_metrics_token(admin_knowledge: Knowledge) -> None:
    make_user(admin_knowledge, "camille")
    make_entry(admin_knowledge, "Qui paie la TEOM ?", "Le locataire, dans ses charges.")
    with client_for(admin_knowledge, AdminConfig(metrics_token="s3cret")) as client:
        scraper = client.get("/healthz", headers={"Authorization": "Bearer s3cret"}).json()
        wrong = client.get("/healthz", headers={"Authorization": "Bearer faux"}).json()
        log_in(client, "camille")
        response = client.get("/healthz")
    assert "index" in scraper and "database" in scraper and wrong == {"status": "ok"}
    body = response.json()
    assert response.status_code == 200 and body["status"] == "ok"
    assert body["database"]["up_to_date"] is True
    assert body["database"]["active_entries"] == 1
    assert body["index"]["ready"] is True


def test_metrics_refuse_anonymous_scrapers(admin_knowledge: Knowledge) -> None:
    with client_for(admin_knowledge, AdminConfig(metrics_token="s3cret")) as client:
        anonymous = client.get("/metrics")
        wrong = client.get("/metrics", headers={"Authorization": "Bearer faux"})
    assert anonymous.status_code == 401 and wrong.status_code == 401


def test_metrics_count_questions_suggestions_answers_and_outbox(
        admin_knowledge: Knowledge) -> None:
    make_user(admin_knowledge, "camille")
    entry_id = make_entry(admin_knowledge, "Qui paie la TEOM ?", "Le locataire, dans ses charges.")
    suggested = make_ticket(admin_knowledge, "La TEOM est-elle récupérable ?")
    make_ticket(admin_knowledge, "Question résolue seule", status="self_served")
    with admin_knowledge.session() as session:
        ticket = session.get(Ticket, suggested)
        assert ticket is not None
        ticket.suggested_entry_ids = [entry_id]
        sent = outbox.enqueue(session=session, kind=OutboxKind.ANSWER, chat_id=1, text="r",
                              created_by="test")
        sent.status = "sent"
        outbox.enqueue(session=session, kind=OutboxKind.ANSWER, chat_id=1, text="r",
                       created_by="test")
        failed = outbox.enqueue(session=session, kind=OutboxKind.CLARIFICATION, chat_id=1,
                                text="r", created_by="test")
        failed.status = "failed"
    with client_for(admin_knowledge, AdminConfig(metrics_token="s3cret")) as client:
        client.get(f"/tickets/{suggested}")  # anonymous: refused, no search
        log_in(client, "camille")
        client.get("/kb?q=ordures")  # one search, so the latency histogram has a sample
        client.cookies.clear()
        text = client.get("/metrics", headers={"Authorization": "Bearer s3cret"}).text
    assert "svp_questions_received_total 2.0" in text
    assert "svp_suggestions_shown_total 1.0" in text
    assert "svp_self_served_total 1.0" in text
    assert "svp_answers_sent_total 1.0" in text
    assert "svp_outbox_backlog 1.0" in text
    assert "svp_outbox_failures 1.0" in text
    assert "svp_search_latency_seconds_count" in text
    assert 'svp_tickets{status="new"} 1.0' in text


def test_metrics_tell_when_the_bot_process_last_gave_a_sign_of_life(
        admin_knowledge: Knowledge) -> None:
    from datetime import UTC, datetime

    from knowledge.desk import heartbeat

    with client_for(admin_knowledge, AdminConfig(metrics_token="s3cret")) as client:
        never = client.get("/metrics", headers={"Authorization": "Bearer s3cret"}).text
        seen = datetime(2026, 12, 3, 9, 30, tzinfo=UTC)
        with admin_knowledge.session() as session:
            heartbeat.beat(session=session, now=seen)
        text = client.get("/metrics", headers={"Authorization": "Bearer s3cret"}).text
    assert "svp_bot_last_seen_timestamp_seconds 0.0" in never
    line = next(line for line in text.splitlines()
                if line.startswith("svp_bot_last_seen_timestamp_seconds "))
    assert float(line.split()[1]) == seen.timestamp()


def test_an_email_waiting_is_the_mail_worker_s_backlog_not_the_bot_s(
        admin_knowledge: Knowledge) -> None:
    from datetime import UTC, datetime

    from knowledge.desk import heartbeat

    with admin_knowledge.session() as session:
        row = outbox.enqueue_email(session=session, kind=OutboxKind.ANSWER,
                                   to="claire@habitat-test.fr", subject="s", text="t",
                                   created_by="test")
        row.created_at = utcnow() - timedelta(minutes=20)
        heartbeat.beat(session=session, name=heartbeat.MAIL_DELIVERY,
                       now=datetime(2026, 12, 4, 8, 0, tzinfo=UTC))
    with client_for(admin_knowledge, AdminConfig(metrics_token="s3cret")) as client:
        text = client.get("/metrics", headers={"Authorization": "Bearer s3cret"}).text
    values = {line.split()[0]: float(line.split()[1]) for line in text.splitlines()
              if line.startswith("svp_") and " " in line}
    assert values["svp_mail_backlog"] == 1.0 and values["svp_mail_oldest_age_seconds"] >= 1_200
    assert values["svp_outbox_oldest_age_seconds"] == 0.0  # SvpBotSilent stays quiet
    assert values["svp_mail_inbox_backlog"] == 0.0
    assert values["svp_mail_last_seen_timestamp_seconds"] == datetime(
        2026, 12, 4, 8, 0, tzinfo=UTC).timestamp()


def test_metrics_open_to_a_logged_in_user_without_token(admin_knowledge: Knowledge) -> None:
    make_user(admin_knowledge, "camille")
    with client_for(admin_knowledge) as client:
        log_in(client, "camille")
        response = client.get("/metrics")
    assert response.status_code == 200 and "svp_outbox_backlog" in response.text
    assert Outbox.__tablename__ == "outbox"


def test_healthz_and_metrics_show_the_inbox_and_outbox_backlog(
        admin_knowledge: Knowledge) -> None:
    long_ago = utcnow() - timedelta(minutes=10)
    with admin_knowledge.session() as session:
        inbox.record(session=session, now=long_ago, arrivals=[
            inbox.Arrival(update_id=number, chat_id=42, kind="message",
                          payload={"update_id": number}) for number in (1, 2, 3)])
        inbox.mark_done(session=session, update_id=1)
        queued = outbox.enqueue(session=session, kind=OutboxKind.ANSWER, chat_id=1, text="r",
                                created_by="test")
        queued.created_at = long_ago
    with client_for(admin_knowledge, AdminConfig(metrics_token="s3cret")) as client:
        backlog = client.get("/healthz", headers={"Authorization": "Bearer s3cret"}).json()[
            "backlog"]
        text = client.get("/metrics", headers={"Authorization": "Bearer s3cret"}).text
    assert backlog["inbox_pending"] == 2 and backlog["outbox_pending"] == 1
    assert 590 < backlog["inbox_oldest_seconds"] < 700
    assert 590 < backlog["outbox_oldest_seconds"] < 700
    assert "svp_inbox_backlog 2.0" in text
    assert "svp_outbox_backlog 1.0" in text
    oldest = next(line for line in text.splitlines()
                  if line.startswith("svp_inbox_oldest_age_seconds "))
    assert 590 < float(oldest.split()[1]) < 700
