"""Knowledge-base, askers, organisations, account and users pages."""

from __future__ import annotations

from admin_helpers import PASSWORD, client_for, csrf_from, log_in, make_asker, make_entry, make_user
from sqlalchemy import select

from knowledge.runtime import Knowledge
from knowledge.store.models import Asker, KnowledgeEntry, Organisation, User


def test_semantic_search_box_finds_entries(admin_knowledge: Knowledge) -> None:
    make_user(admin_knowledge, "camille")
    teom = make_entry(admin_knowledge, "Qui paie la taxe d'enlèvement des ordures ménagères ?",
                      "Le propriétaire la paie et la récupère auprès du locataire.")
    make_entry(admin_knowledge, "Comment changer de syndic de copropriété ?",
               "L'assemblée générale vote la désignation d'un nouveau syndic.")
    with client_for(admin_knowledge) as client:
        log_in(client, "camille")
        page = client.get("/kb", params={"q": "ordures ménagères locataire"}).text
    results = page.split('id="search-results"', 1)[1].split("</ol>", 1)[0]
    assert f"/kb/{teom}" in results
    # Advisers read the similarity in words; the raw score only in the tooltip.
    assert "score" not in results
    first = results.split("<li>", 2)[1]
    assert any(f">{word}</span>" in first for word in ("très proche", "proche", "éloignée"))
    assert 'title="similarité 0.' in first


def test_edit_retire_and_reinstate_an_entry_keep_its_history(
        admin_knowledge: Knowledge) -> None:
    make_user(admin_knowledge, "camille")
    entry_id = make_entry(admin_knowledge, "Qui paie la TEOM ?", "Le locataire.")
    with client_for(admin_knowledge) as client:
        csrf = log_in(client, "camille")
        client.post(f"/kb/{entry_id}/edit", data={
            "csrf_token": csrf, "question": "Qui paie la TEOM ?",
            "answer": "Le propriétaire, qui la récupère sur le locataire.",
            "theme": "Gestion locative et charges", "references": "CGI art. 1520",
            "reason": "précision"})
        client.post(f"/kb/{entry_id}/retire", data={"csrf_token": csrf, "reason": "loi"})
        retired = admin_knowledge.similar("Qui paie la TEOM ?", min_score=-1.0)
        client.post(f"/kb/{entry_id}/reinstate", data={"csrf_token": csrf})
        page = client.get(f"/kb/{entry_id}").text
    assert entry_id not in [hit.entry_id for hit in retired.hits]
    assert "Révision 1" in page and "Révision 2" in page and "précision" in page
    with admin_knowledge.session() as session:
        entry = session.get(KnowledgeEntry, entry_id)
        assert entry is not None and entry.status == "active" and entry.revision == 2
        assert entry.legal_references == ["CGI art. 1520"]


def test_pending_askers_can_be_approved_or_blocked(admin_knowledge: Knowledge) -> None:
    make_user(admin_knowledge, "camille")
    welcome = make_asker(admin_knowledge, status="pending")
    refuse = make_asker(admin_knowledge, status="pending")
    with client_for(admin_knowledge) as client:
        csrf = log_in(client, "camille")
        listing = client.get("/askers").text
        client.post(f"/askers/{welcome}/approve", data={"csrf_token": csrf})
        client.post(f"/askers/{refuse}/block", data={"csrf_token": csrf, "reason": "inconnu"})
    assert f"/askers/{welcome}/approve" in listing
    with admin_knowledge.session() as session:
        statuses = {a.id: a.status for a in session.scalars(select(Asker))}
    assert statuses == {welcome: "approved", refuse: "blocked"}


def test_organisations_are_created_edited_and_get_invite_codes(
        admin_knowledge: Knowledge) -> None:
    make_user(admin_knowledge, "camille")
    with client_for(admin_knowledge) as client:
        csrf = log_in(client, "camille")
        created = client.post("/organisations", data={
            "csrf_token": csrf, "name": "Var Habitat", "kind": "oph", "departement": "83"})
        location = created.headers["location"].split("?")[0]
        client.post(location, data={"csrf_token": csrf, "name": "Var Habitat OPH",
                                    "kind": "esh", "departement": "83", "active": "1"})
        first = client.post(f"{location}/invite", data={"csrf_token": csrf})
        first_notice = client.get(first.headers["location"]).text
        second = client.post(f"{location}/invite", data={"csrf_token": csrf})
        page = client.get(second.headers["location"]).text
        invalid = client.post("/organisations", data={
            "csrf_token": csrf, "name": "Mauvais", "kind": "oph", "departement": "99"})
    with admin_knowledge.session() as session:
        organisation = session.scalars(select(Organisation)).one()
    assert organisation.name == "Var Habitat OPH" and organisation.kind == "esh"
    assert organisation.invite_code and organisation.invite_code in page
    assert "Le code d&#39;invitation a été créé." in first_notice
    assert "Le code a été remplacé" in page and "L&#39;organisme a été enregistré" not in page
    assert invalid.status_code == 422 and "département invalide" in invalid.text


def test_account_page_issues_a_telegram_link_code(admin_knowledge: Knowledge) -> None:
    user_id = make_user(admin_knowledge, "camille")
    with client_for(admin_knowledge) as client:
        csrf = log_in(client, "camille")
        page = client.post("/account/telegram-code", data={"csrf_token": csrf}).text
    with admin_knowledge.session() as session:
        user = session.get(User, user_id)
        assert user is not None and user.telegram_link_code
    assert "/conseiller " in page


def test_admin_creates_resets_and_reenables_accounts(admin_knowledge: Knowledge) -> None:
    make_user(admin_knowledge, "root", role="admin")
    with client_for(admin_knowledge) as admin, client_for(admin_knowledge) as newcomer:
        csrf = log_in(admin, "root")
        admin.post("/users", data={"csrf_token": csrf, "login": "dominique",
                                   "password": PASSWORD, "role": "adviser",
                                   "display_name": "Dominique"})
        log_in(newcomer, "dominique")
        with admin_knowledge.session() as session:
            user_id = session.scalars(select(User.id).where(User.login == "dominique")).one()
        admin.post(f"/users/{user_id}/password", data={"csrf_token": csrf,
                                                        "password": "un nouveau secret bien gardé",
                                                        "admin_password": PASSWORD})
        assert newcomer.get("/queue").status_code == 303
        short = admin.post("/users", data={"csrf_token": csrf, "login": "court",
                                           "password": "court"})
        self_disable = admin.post("/users/1/disable", data={"csrf_token": csrf})
        page = newcomer.get("/login")
        relogin = newcomer.post("/login", data={"login": "dominique",
                                                "password": "un nouveau secret bien gardé",
                                                "csrf_token": csrf_from(page.text)})
    assert short.status_code == 422 and "au moins 10 caractères" in short.text
    assert self_disable.status_code == 409
    assert relogin.status_code == 303


def test_every_page_has_an_icon_and_the_default_request_finds_it(
        admin_knowledge: Knowledge) -> None:
    with client_for(admin_knowledge) as client:
        login = client.get("/login").text
        default = client.get("/favicon.ico")
        linked = client.get("/static/favicon.svg")
    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in login
    assert default.status_code == 200 and default.headers["content-type"] == "image/svg+xml"
    assert linked.status_code == 200 and default.content == linked.content
    assert default.content.startswith(b"<svg")
