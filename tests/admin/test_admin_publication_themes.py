"""Issue 26: clean published entries, themes chosen from the list, départements, refusals
that redirect to the ticket (post-redirect-get)."""

from __future__ import annotations

from admin_helpers import client_for, log_in, make_entry, make_ticket, make_user
from sqlalchemy import select

from knowledge.catalog import themes
from knowledge.runtime import Knowledge
from knowledge.store.catalog_models import Theme
from knowledge.store.models import KnowledgeEntry, Organisation, Outbox, Ticket, TicketMessage
from knowledge.timeutil import utcnow

BODY = "Le SLS n'est pas dû par un locataire **bénéficiaire de l'APL**."
LETTER = (f"Bonjour Madame Martin,\n\n{BODY}\n\nN'hésitez pas à revenir vers nous.\n\n"
          "Bien cordialement,")
THEME = "Gestion locative et charges"


def _entry_of(knowledge: Knowledge, ticket_id: int) -> KnowledgeEntry:
    with knowledge.session() as session:
        ticket = session.get(Ticket, ticket_id)
        assert ticket is not None and ticket.entry_id is not None
        entry = session.get(KnowledgeEntry, ticket.entry_id)
        assert entry is not None
        session.expunge(entry)
        return entry


def _outbox(knowledge: Knowledge, ticket_id: int) -> list[str]:
    with knowledge.session() as session:
        return list(session.scalars(select(Outbox.text).where(Outbox.ticket_id == ticket_id)))


def test_publishing_drops_greeting_closing_and_signature_but_the_asker_gets_them(
        admin_knowledge: Knowledge) -> None:
    make_user(admin_knowledge, "camille")
    ticket_id = make_ticket(admin_knowledge, "Le SLS est-il dû par un allocataire APL ?")
    with client_for(admin_knowledge) as client:
        csrf = log_in(client, "camille")
        preview = client.post(f"/tickets/{ticket_id}/preview",
                              data={"csrf_token": csrf, "answer": LETTER}).json()
        approved = client.post(f"/tickets/{ticket_id}/approve", data={
            "csrf_token": csrf, "answer": LETTER + "\n— Camille, SVP de l'AR Hlm",
            "publication": "new", "theme": THEME, "references": "CCH art. L441-3",
            "confirm_duplicate": "1"})
        page = client.get(f"/tickets/{ticket_id}").text
        entry_page = client.get(f"/kb/{_entry_of(admin_knowledge, ticket_id).id}").text
    assert preview["entry_changed"] is True
    assert "Bonjour" not in preview["entry_html"] and "<strong>" in preview["entry_html"]
    assert approved.status_code == 303, approved.text
    entry = _entry_of(admin_knowledge, ticket_id)
    assert entry.answer == BODY and entry.theme == THEME
    [sent] = _outbox(admin_knowledge, ticket_id)
    assert sent.startswith("Bonjour Madame Martin,") and "Bien cordialement," in sent
    assert sent.endswith("— Camille, SVP de l'AR Hlm")
    # The thread shows the answer as sent: references and signature, markup rendered.
    with admin_knowledge.session() as session:
        answer = session.scalars(select(TicketMessage.text).where(
            TicketMessage.ticket_id == ticket_id, TicketMessage.kind == "answer")).one()
    assert answer == sent and "Références :\nCCH art. L441-3" in answer
    assert "<strong>bénéficiaire de l&#x27;APL</strong>" in page
    assert "— Camille, SVP de l&#x27;AR Hlm" in page
    assert '<div class="text" id="entry-answer">Le SLS' in entry_page
    assert "<strong>bénéficiaire de l&#x27;APL</strong>" in entry_page


def test_the_adviser_may_keep_the_original_text_in_the_entry(admin_knowledge: Knowledge) -> None:
    make_user(admin_knowledge, "camille")
    ticket_id = make_ticket(admin_knowledge, "Le SLS est-il dû par un allocataire APL ?")
    with client_for(admin_knowledge) as client:
        csrf = log_in(client, "camille")
        page = client.get(f"/tickets/{ticket_id}").text
        client.post(f"/tickets/{ticket_id}/approve", data={
            "csrf_token": csrf, "answer": LETTER, "publication": "new", "theme": THEME,
            "keep_courtesy": "1", "confirm_duplicate": "1", "confirm_personal_data": "1"})
    assert 'id="keep_courtesy"' in page and "Texte de la fiche" in page
    assert _entry_of(admin_knowledge, ticket_id).answer == LETTER


def test_the_ticket_page_shows_what_the_entry_will_contain(admin_knowledge: Knowledge) -> None:
    make_user(admin_knowledge, "camille")
    ticket_id = make_ticket(admin_knowledge, "Question")
    with client_for(admin_knowledge) as client:
        csrf = log_in(client, "camille")
        client.post(f"/tickets/{ticket_id}/draft", data={
            "csrf_token": csrf, "answer": LETTER, "publication": "new", "theme": THEME})
        page = client.get(f"/tickets/{ticket_id}").text
    box = page.split('id="entry-text-box"', 1)[1].split("</fieldset>", 1)[0]
    assert not box.startswith(" hidden")
    shown = box.split('id="entry-preview"', 1)[1].split("</div>", 1)[0]
    assert "Le SLS" in shown and "Bonjour" not in shown and "cordialement" not in shown


def test_light_markup_is_rendered_safely_on_the_entry_page(admin_knowledge: Knowledge) -> None:
    make_user(admin_knowledge, "camille")
    entry_id = make_entry(admin_knowledge, "Lien ?", "Voir **ceci** et [la loi](https://www."
                          "legifrance.gouv.fr/x?a=1&b=2), pas [ça](javascript:alert(1)) "
                          "<script>alert(2)</script> [\"x](https://e.org/\"onmouseover=1)")
    with client_for(admin_knowledge) as client:
        log_in(client, "camille")
        page = client.get(f"/kb/{entry_id}").text
    answer = page.split('id="entry-answer">', 1)[1].split("</div>", 1)[0]
    assert "<strong>ceci</strong>" in answer
    assert ('<a href="https://www.legifrance.gouv.fr/x?a=1&amp;b=2" '
            'rel="noopener noreferrer">la loi</a>') in answer
    assert "javascript:" not in answer.replace("[ça](javascript:alert(1))", "")
    assert "<script>" not in answer and "&lt;script&gt;" in answer
    assert 'href="https://e.org/&quot;onmouseover=1"' in answer


def test_an_unknown_theme_is_refused_and_the_draft_comes_back_after_a_redirect(
        admin_knowledge: Knowledge) -> None:
    make_user(admin_knowledge, "camille")
    ticket_id = make_ticket(admin_knowledge, "La TFPB est-elle due ?")
    with client_for(admin_knowledge) as client:
        csrf = log_in(client, "camille")
        refused = client.post(f"/tickets/{ticket_id}/approve", data={
            "csrf_token": csrf, "answer": "Oui, sauf exonération.", "publication": "new",
            "theme": "TFPB & fiscalité", "confirm_duplicate": "1"})
        location = refused.headers["location"]
        page = client.get(location).text
        again = client.get(location).text  # a reload: shown again, nothing sent
        plain = client.get(f"/tickets/{ticket_id}").text
    assert refused.status_code == 303 and location.split("?")[0] == f"/tickets/{ticket_id}"
    for shown in (page, again):
        assert 'id="error-answer"' in shown and "Thème inconnu : « TFPB &amp; fiscalité »" in shown
        assert "Vouliez-vous dire « Fiscalité (TFPB) » ?" in shown
        assert "Oui, sauf exonération.</textarea>" in shown
        assert 'value="TFPB &amp; fiscalité"' in shown
    assert 'id="error-answer"' not in plain and "Oui, sauf exonération.</textarea>" in plain
    assert _outbox(admin_knowledge, ticket_id) == []
    with admin_knowledge.session() as session:
        assert themes.find(session=session, name="TFPB & fiscalité") is None
        assert session.scalars(select(KnowledgeEntry)).all() == []
        ticket = session.get(Ticket, ticket_id)
        assert ticket is not None and ticket.status == "new"


def test_the_answer_form_offers_the_managed_themes(admin_knowledge: Knowledge) -> None:
    make_user(admin_knowledge, "camille")
    ticket_id = make_ticket(admin_knowledge, "Question")
    with client_for(admin_knowledge) as client:
        log_in(client, "camille")
        page = client.get(f"/tickets/{ticket_id}").text
    assert 'list="theme-list"' in page and f'<option value="{THEME}">' in page


def test_the_entry_form_refuses_an_unknown_theme_but_keeps_an_old_one(
        admin_knowledge: Knowledge) -> None:
    make_user(admin_knowledge, "camille")
    entry_id = make_entry(admin_knowledge, "Qui paie la TEOM ?", "Le locataire.",
                          theme="Ancien thème")
    with admin_knowledge.session() as session:  # a theme from before the list was managed
        session.query(Theme).filter(Theme.name == "Ancien thème").delete()
    form = {"question": "Qui paie la TEOM ?", "answer": "Le locataire, par les charges."}
    with client_for(admin_knowledge) as client:
        csrf = log_in(client, "camille")
        typed = client.post(f"/kb/{entry_id}/edit", data={
            "csrf_token": csrf, **form, "theme": "Charges et TEOM"})
        kept = client.post(f"/kb/{entry_id}/edit", data={
            "csrf_token": csrf, **form, "theme": "ancien theme"})
        listed = client.post(f"/kb/{entry_id}/edit", data={
            "csrf_token": csrf, **form, "theme": "gestion locative ET charges"})
    assert typed.status_code == 422 and "Thème inconnu : « Charges et TEOM »" in typed.text
    assert "Le locataire, par les charges.</textarea>" in typed.text
    assert kept.status_code == 303 and listed.status_code == 303
    with admin_knowledge.session() as session:
        entry = session.get(KnowledgeEntry, entry_id)
        assert entry is not None and entry.theme == THEME
        assert themes.find(session=session, name="Charges et TEOM") is None


def test_only_an_admin_creates_a_theme_after_a_near_duplicate_warning(
        admin_knowledge: Knowledge) -> None:
    make_user(admin_knowledge, "camille")
    make_user(admin_knowledge, "root", role="admin")
    with client_for(admin_knowledge) as client:
        csrf = log_in(client, "camille")
        adviser_page = client.get("/kb/themes").text
        adviser = client.post("/kb/themes", data={"csrf_token": csrf, "name": "Nouveau"})
    with client_for(admin_knowledge) as client:
        csrf = log_in(client, "root")
        warned = client.post("/kb/themes", data={"csrf_token": csrf,
                                                 "name": "TFPB et fiscalité"})
        confirmed = client.post("/kb/themes", data={"csrf_token": csrf,
                                                    "name": "TFPB et fiscalité",
                                                    "confirm_similar": "1"})
        fresh = client.post("/kb/themes", data={"csrf_token": csrf, "name": "Accessibilité"})
    assert 'id="themes-admin-only"' in adviser_page and adviser.status_code == 403
    assert warned.status_code == 409 and 'id="similar-theme-warning"' in warned.text
    assert "« Fiscalité (TFPB) »" in warned.text
    assert 'name="confirm_similar" value="1"' in warned.text
    assert confirmed.status_code == 303 and fresh.status_code == 303
    with admin_knowledge.session() as session:
        assert themes.find(session=session, name="Nouveau") is None
        assert themes.find(session=session, name="tfpb et fiscalite") is not None
        assert themes.find(session=session, name="Accessibilité") is not None


def test_theme_similarity_ignores_accents_case_punctuation_and_ampersands(
        admin_knowledge: Knowledge) -> None:
    with admin_knowledge.session() as session:
        themes.add(session=session, name="TFPB & fiscalité", actor="test", confirm_similar=True)
        names = {name: [t.name for t in themes.similar(session=session, name=name)]
                 for name in ("TFPB et fiscalité", "FISCALITE & tfpb", "Copropriétés",
                              "Vente HLM", "Accessibilité")}
    assert "TFPB & fiscalité" in names["TFPB et fiscalité"]
    assert "TFPB & fiscalité" in names["FISCALITE & tfpb"]
    assert names["Copropriétés"] == ["Copropriété"]
    assert names["Vente HLM"] == [] and names["Accessibilité"] == []


def test_an_organisation_needs_a_departement(admin_knowledge: Knowledge) -> None:
    make_user(admin_knowledge, "camille")
    with admin_knowledge.session() as session:  # recorded before the rule
        session.add(Organisation(name="Ancien Habitat", kind="oph", departement=None,
                                 active=True, created_at=utcnow()))
    with client_for(admin_knowledge) as client:
        csrf = log_in(client, "camille")
        missing = client.post("/organisations", data={
            "csrf_token": csrf, "name": "Sans département", "kind": "oph", "departement": " "})
        page = client.get("/organisations").text
    assert missing.status_code == 422
    assert "Indiquez le département de l&#39;organisme" in missing.text
    assert 'id="missing-departement"' in page and "Ancien Habitat" in page
    assert "à renseigner" in page and 'name="departement" size="3" maxlength="3" required' in page
    with admin_knowledge.session() as session:
        names = set(session.scalars(select(Organisation.name)))
    assert names == {"Ancien Habitat"}
