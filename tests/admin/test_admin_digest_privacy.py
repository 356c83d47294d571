"""The monthly digest shows personal data found in its entries and needs a confirmation."""

from __future__ import annotations

from admin_helpers import client_for, log_in, make_user
from sqlalchemy import func, select
from stats_fixture import build, paris

from knowledge.runtime import Knowledge
from knowledge.store.models import Asker, AuditEvent, KnowledgeEntry, Outbox, OutboxKind


def _month_with_a_name(knowledge: Knowledge) -> int:
    with knowledge.session() as session:
        build(session)
        entry = KnowledgeEntry(
            question="Mme Haddad peut-elle garder son T4 après le départ de ses enfants ?",
            answer="Oui, sauf si le bailleur propose un logement adapté (sous-occupation).",
            theme="Attributions", question_hash="haddad", created_at=paris("2026-11-12"),
            updated_at=paris("2026-11-12"), tags=[], legal_references=[])
        session.add(entry)
        session.query(Asker).update({Asker.digest_subscribed: True})
        session.flush()
        return entry.id


def _digests(knowledge: Knowledge) -> int:
    with knowledge.session() as session:
        return int(session.scalar(select(func.count()).select_from(Outbox).where(
            Outbox.kind == OutboxKind.DIGEST.value)) or 0)


def test_digest_page_highlights_findings_and_asks_for_confirmation(
        admin_knowledge: Knowledge) -> None:
    make_user(admin_knowledge, "camille")
    entry_id = _month_with_a_name(admin_knowledge)
    with client_for(admin_knowledge) as client:
        log_in(client, "camille")
        page = client.get("/digest", params={"month": "2026-11"}).text
    assert f'id="findings-{entry_id}"' in page and "<mark>Mme Haddad</mark>" in page
    assert f'href="/kb/{entry_id}/edit"' in page
    assert 'id="confirm_personal_data"' in page


def test_sending_or_exporting_needs_the_confirmation(admin_knowledge: Knowledge) -> None:
    make_user(admin_knowledge, "camille")
    entry_id = _month_with_a_name(admin_knowledge)
    with client_for(admin_knowledge) as client:
        csrf = log_in(client, "camille")
        form = {"csrf_token": csrf, "month": "2026-11", "entry": [str(entry_id), "2"],
                "introduction": "Bonne lecture."}
        refused = client.post("/digest/send", data=form)
        export = client.post("/digest/download/lettre.docx", data=form)
        assert refused.status_code == 409 and export.status_code == 409
        assert "données personnelles probables" in refused.text
        assert "Bonne lecture." in refused.text  # the introduction typed comes back
        assert _digests(admin_knowledge) == 0
        without = client.post("/digest/send", data={**form, "entry": ["2"]})
        assert without.status_code == 303  # the entry unticked: nothing to confirm
        confirmed = client.post("/digest/download/lettre.html",
                                data={**form, "confirm_personal_data": "1"})
    assert confirmed.status_code == 200 and "Mme Haddad" in confirmed.text
    with admin_knowledge.session() as session:
        event = session.scalars(select(AuditEvent).where(
            AuditEvent.action == "privacy.confirm")).one()
        assert event.object_type == "digest" and event.object_id == "2026-11"
        assert event.details == {"personal_data": {"person": 1}}
