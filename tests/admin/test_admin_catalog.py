"""Keeping the knowledge base right on the web: history and diffs, corrections to askers,
review dates, usage, themes, import with a dry run, exports."""

from __future__ import annotations

import io
import json
from datetime import date, timedelta

from admin_helpers import client_for, log_in, make_asker, make_entry, make_ticket, make_user
from openpyxl import load_workbook
from sqlalchemy import func, select

from knowledge.catalog import entries, themes
from knowledge.runtime import Knowledge
from knowledge.store.catalog_models import EntryCorrection, ImportUpload, Theme
from knowledge.store.db import Base
from knowledge.store.models import (
    AuditEvent,
    KnowledgeEntry,
    Outbox,
    Ticket,
)
from knowledge.timeutil import utcnow


def _counts(knowledge: Knowledge) -> dict[str, int]:
    """Rows of every table but the web sessions and login attempts (which logging in writes)."""
    skipped = {"web_sessions", "login_attempts", "users"}
    with knowledge.session() as session:
        return {table.name: session.scalar(select(func.count()).select_from(table)) or 0
                for table in Base.metadata.sorted_tables if table.name not in skipped}


def _answered_from(knowledge: Knowledge, entry_id: int, days_ago: int = 2) -> tuple[int, int]:
    asker_id = make_asker(knowledge)
    ticket_id = make_ticket(knowledge, "Quel est le plafond ?", asker_id=asker_id)
    with knowledge.session() as session:
        ticket = session.get(Ticket, ticket_id)
        assert ticket is not None
        ticket.status, ticket.entry_id = "answered", entry_id
        ticket.answered_at = utcnow() - timedelta(days=days_ago)
    return asker_id, ticket_id


def test_web_import_dry_run_writes_nothing_then_imports(admin_knowledge: Knowledge) -> None:
    make_user(admin_knowledge, "camille")
    make_entry(admin_knowledge, "Qui paie la TEOM ?", "Le locataire.")
    rows = [{"id": "W1", "question": "Qui paie la TEOM ?", "answer": "Le locataire, via les "
             "charges."},
            {"id": "W2", "question": "Un nouveau thème ?", "answer": "Oui.",
             "theme": "Thème inédit"},
            {"id": "W3", "question": "", "answer": "Sans question."}]
    data = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows).encode()
    with client_for(admin_knowledge) as client:
        csrf = log_in(client, "camille")
        before = _counts(admin_knowledge)
        page = client.post("/kb/import", data={"csrf_token": csrf},
                           files={"file": ("fiches.jsonl", data, "application/x-ndjson")})
        assert page.status_code == 200
        after = _counts(admin_knowledge)
        assert {k: v for k, v in after.items() if k != "import_uploads"} == \
            {k: v for k, v in before.items() if k != "import_uploads"}
        assert after["import_uploads"] == before["import_uploads"] + 1
        assert ("Essai sans enregistrement de « fiches.jsonl » (JSONL) : créées : 1, "
                "mises à jour : 1, inchangées : 0, ignorées : 1.") in page.text
        assert "ligne 3, question : vide" in page.text
        assert "1 nouveau thème serait créé : « Thème inédit »." in page.text
        with admin_knowledge.session() as session:
            assert themes.find(session=session, name="Thème inédit") is None
            token = session.scalar(select(ImportUpload.id))
        assert f'action="/kb/import/{token}"' in page.text
        done = client.post(f"/kb/import/{token}", data={"csrf_token": csrf})
        assert "Import de « fiches.jsonl » (JSONL) : créées : 1, mises à jour : 1" in done.text
        assert "1 nouveau thème créé : « Thème inédit »." in done.text
        again = client.post(f"/kb/import/{token}", data={"csrf_token": csrf})
        assert again.status_code == 404
    with admin_knowledge.session() as session:
        assert entries.count_entries(session=session) == 2
        assert themes.find(session=session, name="theme inedit") is not None


def test_exports_download_in_three_formats(admin_knowledge: Knowledge) -> None:
    make_user(admin_knowledge, "camille")
    make_entry(admin_knowledge, "Qui paie la TEOM ?", "Le locataire.", theme="Charges")
    with client_for(admin_knowledge) as client:
        log_in(client, "camille")
        jsonl = client.get("/kb/export", params={"format": "jsonl"})
        csv = client.get("/kb/export", params={"format": "csv"})
        xlsx = client.get("/kb/export", params={"format": "xlsx"})
        bad = client.get("/kb/export", params={"format": "pdf"})
    assert "attachment" in jsonl.headers["content-disposition"]
    assert json.loads(jsonl.text.splitlines()[0])["question"] == "Qui paie la TEOM ?"
    assert csv.text.splitlines()[1].split(";")[1] == "Qui paie la TEOM ?"
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet is not None and sheet.cell(row=2, column=2).value == "Qui paie la TEOM ?"
    assert bad.status_code == 422


def test_edit_shows_a_diff_and_pushes_the_correction_once(admin_knowledge: Knowledge) -> None:
    make_user(admin_knowledge, "camille")
    entry_id = make_entry(admin_knowledge, "Quel est le plafond PLUS ?",
                          "Le plafond est de 30 000 euros.")
    asker_id, ticket_id = _answered_from(admin_knowledge, entry_id)
    with client_for(admin_knowledge) as client:
        csrf = log_in(client, "camille")
        assert "Aucune modification de fond" in client.get(f"/kb/{entry_id}").text
        client.post(f"/kb/{entry_id}/edit", data={
            "csrf_token": csrf, "question": "Quel est le plafond PLUS ?",
            "answer": "Le plafond est de 31 500 euros.", "reason": "barème 2027"})
        diff = client.get(f"/kb/{entry_id}/diff", params={"a": 1, "b": 2}).text
        assert "<del>30</del><ins>31</ins> <del>000</del><ins>500</ins> euros" in diff
        page = client.get(f"/kb/{entry_id}").text
        assert "Révision 2</strong>" in page and "motif : barème 2027" in page
        assert "Camille" in page and "à prévenir" in page
        sent = client.post(f"/kb/{entry_id}/corrections", data={
            "csrf_token": csrf, "message": "Le plafond est désormais de 31 500 euros."})
        assert sent.status_code == 303
        twice = client.post(f"/kb/{entry_id}/corrections", data={
            "csrf_token": csrf, "message": "Encore."})
        assert twice.status_code == 409
        page = client.get(f"/kb/{entry_id}").text
        assert "déjà prévenu" in page and "en attente d'envoi" in page
        ticket_page = client.get(f"/tickets/{ticket_id}").text
    assert "Correction" in ticket_page
    with admin_knowledge.session() as session:
        [row] = session.scalars(select(Outbox).where(Outbox.kind == "correction")).all()
        assert (row.asker_id, row.ticket_id) == (asker_id, ticket_id)
        assert "31 500 euros" in row.text
        assert session.scalar(select(func.count()).select_from(EntryCorrection)) == 1


def test_restore_and_verify_from_the_entry_page(admin_knowledge: Knowledge) -> None:
    make_user(admin_knowledge, "camille")
    entry_id = make_entry(admin_knowledge, "Plafond ?", "Ancien texte.")
    with client_for(admin_knowledge) as client:
        csrf = log_in(client, "camille")
        client.post(f"/kb/{entry_id}/edit", data={"csrf_token": csrf, "question": "Plafond ?",
                                                  "answer": "Texte erroné."})
        client.post(f"/kb/{entry_id}/restore", data={"csrf_token": csrf, "revision": "1"})
        client.post(f"/kb/{entry_id}/verify", data={"csrf_token": csrf, "choice": "january"})
        page = client.get(f"/kb/{entry_id}").text
    with admin_knowledge.session() as session:
        entry = session.get(KnowledgeEntry, entry_id)
        assert entry is not None
        assert (entry.revision, entry.answer) == (3, "Ancien texte.")
        assert entry.review_by == date(utcnow().year + 1, 1, 1)
        assert entry.reviewed_by == "user:camille"
    assert "restauration de la révision 1" in page and "vérifiée le" in page


def test_list_filters_themes_case_insensitively_and_sorts_by_usage(
        admin_knowledge: Knowledge) -> None:
    make_user(admin_knowledge, "camille")
    quiet = make_entry(admin_knowledge, "Question calme ?", "R.", theme="Logement")
    busy = make_entry(admin_knowledge, "Question fréquente ?", "R.", theme="Logement")
    other = make_entry(admin_knowledge, "Autre thème ?", "R.", theme="Copropriété")
    for _ in range(2):
        ticket_id = make_ticket(admin_knowledge, "Q ?")
        with admin_knowledge.session() as session:
            ticket = session.get(Ticket, ticket_id)
            assert ticket is not None
            ticket.suggested_entry_ids = [busy]
    with client_for(admin_knowledge) as client:
        log_in(client, "camille")
        lower = client.get("/kb", params={"theme": "logement"}).text
        by_usage = client.get("/kb", params={"sort": "suggested"}).text
        accents = client.get("/kb", params={"text": "FREQUENTE"}).text
    assert "2 fiche(s)" in lower and f'href="/kb/{other}"' not in lower
    table = by_usage.split('id="entries"', 1)[1]
    assert table.index(f'href="/kb/{busy}"') < table.index(f'href="/kb/{quiet}"')
    assert "1 fiche(s)" in accents and f'href="/kb/{busy}"' in accents


def test_themes_page_renames_and_merges_without_losing_entries(
        admin_knowledge: Knowledge) -> None:
    make_user(admin_knowledge, "camille")
    with admin_knowledge.session() as session:
        themes.seed(session=session)
    ids = [make_entry(admin_knowledge, f"Charges {n} ?", "R.", theme="charges")
           for n in range(2)]
    with admin_knowledge.session() as session:
        source = themes.find(session=session, name="Charges")
        target = themes.find(session=session, name="Gestion locative et charges")
        assert source is not None and target is not None
        source_id, target_id = source.id, target.id
    with client_for(admin_knowledge) as client:
        csrf = log_in(client, "camille")
        client.post(f"/kb/themes/{source_id}/rename",
                    data={"csrf_token": csrf, "name": "Charges locatives"})
        client.post("/kb/themes/merge", data={"csrf_token": csrf, "source": str(source_id),
                                              "target": str(target_id)})
        page = client.get("/kb/themes").text
    assert "Charges locatives" not in page
    with admin_knowledge.session() as session:
        assert [e.theme for e in entries.list_entries(session=session)] == [
            "Gestion locative et charges"] * 2
        assert entries.count_entries(session=session) == len(ids)
        assert session.scalar(select(func.count()).select_from(Theme).where(
            Theme.id == source_id)) == 0
        assert session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "theme.merge")) == 1


def test_due_page_lists_overdue_entries_first(admin_knowledge: Knowledge) -> None:
    make_user(admin_knowledge, "camille")
    today = utcnow().date()
    ids = {}
    for name, offset in (("bientôt", 10), ("très en retard", -30), ("en retard", -1),
                         ("loin", 200)):
        ids[name] = make_entry(admin_knowledge, f"Fiche {name} ?", "R.")
        with admin_knowledge.session() as session:
            entry = session.get(KnowledgeEntry, ids[name])
            assert entry is not None
            entry.review_by = today + timedelta(days=offset)
    with client_for(admin_knowledge) as client:
        log_in(client, "camille")
        page = client.get("/kb/due").text
        listing = client.get("/kb").text
    table = page.split('id="due"', 1)[1]
    positions = [table.find(f'href="/kb/{ids[name]}"') for name in
                 ("très en retard", "en retard", "bientôt")]
    assert -1 not in positions and positions == sorted(positions)
    assert f'href="/kb/{ids["loin"]}"' not in table
    assert "À revoir (3)" in listing
