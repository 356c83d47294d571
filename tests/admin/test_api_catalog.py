"""JSON API: entries (cursor pages, filters, revisions, create, revise, retire), search, stats."""

from __future__ import annotations

from datetime import timedelta

from admin_helpers import make_entry, make_ticket, make_user
from api_helpers import api_client, bearer, make_token
from sqlalchemy import func, select

from admin.api.entries import encode_cursor
from knowledge.desk import statistics
from knowledge.desk.workdays import PARIS
from knowledge.retrieval import phrasings
from knowledge.runtime import Knowledge
from knowledge.store.models import AuditEvent, EntryRevision, KnowledgeEntry
from knowledge.timeutil import utcnow

TEOM_Q = "Qui doit payer la taxe d'enlèvement des ordures ménagères dans un logement loué ?"
TEOM_A = ("La taxe d'enlèvement des ordures ménagères (TEOM) est payée par le propriétaire, "
          "qui peut la récupérer auprès du locataire dans les charges locatives.")
SLS_Q = "Quand le supplément de loyer de solidarité s'applique-t-il à un locataire HLM ?"
SLS_A = ("Le supplément de loyer de solidarité (SLS) est dû lorsque les ressources du ménage "
         "dépassent d'au moins 20 % les plafonds de ressources du logement social.")


def _setup(knowledge: Knowledge, scope: str = "write") -> dict[str, str]:
    make_user(knowledge, "camille")
    return bearer(make_token(knowledge, "camille", scope=scope))


def test_entries_are_listed_a_page_at_a_time_with_a_cursor(admin_knowledge: Knowledge) -> None:
    auth = _setup(admin_knowledge, "read")
    ids = []
    with admin_knowledge.session() as session:
        for number in range(7):
            entry = KnowledgeEntry(question=f"Question {number} ?", answer=f"Réponse {number}.",
                                   theme="Charges" if number % 2 else "SLS",
                                   question_hash=f"h{number}", search_text=f"question {number}")
            session.add(entry)
            session.flush()
            ids.append(entry.id)
    seen: list[int] = []
    with api_client(admin_knowledge) as client:
        cursor = None
        pages = 0
        while True:
            params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
            body = client.get("/api/v1/entries", params=params, headers=auth).json()
            seen += [item["id"] for item in body["items"]]
            pages += 1
            cursor = body["next_cursor"]
            if cursor is None:
                break
        themed = client.get("/api/v1/entries", params={"theme": "charges"}, headers=auth)
        bad = client.get("/api/v1/entries", params={"cursor": "pas-un-curseur"}, headers=auth)
        forged = client.get("/api/v1/entries", params={"cursor": encode_cursor(-5)},
                            headers=auth)
    assert seen == ids and pages == 3  # nothing lost, nothing twice
    assert [item["id"] for item in themed.json()["items"]] == ids[1::2]
    for response in (bad, forged):
        assert response.status_code == 422
        assert "Curseur invalide" in response.json()["error"]["message"]


def test_entries_filter_by_text_status_and_update_time(admin_knowledge: Knowledge) -> None:
    auth = _setup(admin_knowledge)
    teom = make_entry(admin_knowledge, TEOM_Q, TEOM_A, theme="Charges")
    sls = make_entry(admin_knowledge, SLS_Q, SLS_A, theme="SLS")
    with admin_knowledge.session() as session:
        entry = session.get(KnowledgeEntry, sls)
        assert entry is not None
        entry.updated_at = utcnow() - timedelta(days=30)
    since = (utcnow() - timedelta(days=1)).isoformat()
    with api_client(admin_knowledge) as client:
        def ids(**params: str) -> list[int]:
            response = client.get("/api/v1/entries", params=params, headers=auth)
            assert response.status_code == 200, response.text
            return [item["id"] for item in response.json()["items"]]

        assert ids(text="ORDURES menageres") == [teom]
        assert ids(updated_since=since) == [teom]
        assert client.post(f"/api/v1/entries/{sls}/retire", json={"reason": "abrogé"},
                           headers=auth).status_code == 200
        assert ids() == [teom]
        assert ids(status="retired") == [sls]
        assert ids(status="all") == [teom, sls]
        # The retirement changed the entry: it is "updated since" again.
        assert ids(updated_since=since, status="all") == [teom, sls]
        bad = client.get("/api/v1/entries", params={"updated_since": "hier"}, headers=auth)
    assert bad.status_code == 422 and bad.json()["error"]["fields"][0]["field"] == \
        "updated_since"


def test_an_entry_is_read_with_its_revisions_and_phrasings(admin_knowledge: Knowledge) -> None:
    auth = _setup(admin_knowledge)
    teom = make_entry(admin_knowledge, TEOM_Q, TEOM_A)
    with admin_knowledge.session() as session:
        phrasings.add_phrasing(session=session, entry_id=teom, text="Qui paie la TEOM ?",
                               actor="test", embedder=admin_knowledge.embedder)
    with api_client(admin_knowledge) as client:
        changed = client.patch(f"/api/v1/entries/{teom}", headers=auth, json={
            "answer": TEOM_A + " Les frais de gestion ne sont pas récupérables.",
            "reason": "précision", "legal_references": ["CGI art. 1520"]})
        read = client.get(f"/api/v1/entries/{teom}", headers=auth)
        missing = client.get("/api/v1/entries/999999", headers=auth)
        not_a_number = client.get("/api/v1/entries/douze", headers=auth)
        too_big = client.get(f"/api/v1/entries/{2**63}", headers=auth)
    assert changed.status_code == 200, changed.text
    body = read.json()
    assert body["revision"] == 2 and body["question"] == TEOM_Q
    assert body["legal_references"] == ["CGI art. 1520"]
    assert [r["revision"] for r in body["revisions"]] == [1, 2]
    assert body["revisions"][1]["reason"] == "précision"
    assert body["revisions"][1]["actor"] == "user:camille"
    assert [p["text"] for p in body["phrasings"]] == ["Qui paie la TEOM ?"]
    assert missing.status_code == 404 and missing.json()["error"] == {
        "code": "not_found", "message": "Fiche introuvable : 999999"}
    assert not_a_number.status_code == 422 and too_big.status_code == 422


def test_a_created_entry_is_found_by_the_next_search(admin_knowledge: Knowledge) -> None:
    auth = _setup(admin_knowledge)
    make_entry(admin_knowledge, TEOM_Q, TEOM_A)
    with api_client(admin_knowledge) as client:
        created = client.post("/api/v1/entries", headers=auth, json={
            "question": SLS_Q, "answer": SLS_A, "theme": "Gestion locative et charges",
            "legal_references": ["CCH art. L441-3"], "tags": ["SLS", "SLS"]})
        again = client.post("/api/v1/entries", headers=auth,
                            json={"question": SLS_Q, "answer": SLS_A})
        found = client.get("/api/v1/search", params={"q": "surloyer ressources dépassent "
                                                      "les plafonds", "k": 2}, headers=auth)
        empty = client.post("/api/v1/entries", headers=auth,
                            json={"question": "  ", "answer": "x"})
    assert created.status_code == 201, created.text
    entry = created.json()
    assert entry["tags"] == ["SLS"] and entry["revisions"][0]["actor"] == "user:camille"
    assert again.status_code == 409 and again.json()["error"]["code"] == "duplicate"
    assert [c["entry_id"] for c in again.json()["error"]["candidates"]] == [entry["id"]]
    result = found.json()
    assert result["abstained"] is False and result["hits"][0]["entry_id"] == entry["id"]
    assert result["hits"][0]["score"] >= result["threshold"]
    assert len(result["hits"]) == 2 and result["hits"][1]["score"] <= result["hits"][0]["score"]
    assert empty.status_code == 422 and empty.json()["error"]["message"] == "La question est vide."
    with admin_knowledge.session() as session:
        assert session.scalar(select(func.count()).select_from(KnowledgeEntry)) == 2
        assert session.scalars(select(AuditEvent.actor).where(
            AuditEvent.action == "entry.create", AuditEvent.object_id == str(entry["id"]))
        ).one() == "user:camille"


def test_search_abstains_on_an_unrelated_question(admin_knowledge: Knowledge) -> None:
    auth = _setup(admin_knowledge, "read")
    make_entry(admin_knowledge, TEOM_Q, TEOM_A)
    with api_client(admin_knowledge) as client:
        far = client.get("/api/v1/search", params={"q": "recette de la tarte aux pommes"},
                         headers=auth).json()
        missing = client.get("/api/v1/search", headers=auth)
        too_many = client.get("/api/v1/search", params={"q": "TEOM", "k": 500}, headers=auth)
    assert far["abstained"] is True
    assert all(hit["score"] < far["threshold"] for hit in far["hits"])
    assert missing.status_code == 422 and "q" in missing.json()["error"]["message"]
    assert too_many.status_code == 422


def test_retiring_twice_is_a_conflict_and_nothing_changes(admin_knowledge: Knowledge) -> None:
    auth = _setup(admin_knowledge)
    teom = make_entry(admin_knowledge, TEOM_Q, TEOM_A)
    with api_client(admin_knowledge) as client:
        first = client.post(f"/api/v1/entries/{teom}/retire", headers=auth)
        second = client.post(f"/api/v1/entries/{teom}/retire", headers=auth)
        gone = client.get("/api/v1/search", params={"q": TEOM_Q}, headers=auth).json()
    assert first.status_code == 200 and first.json()["status"] == "retired"
    assert second.status_code == 409 and second.json()["error"]["code"] == "conflict"
    assert teom not in [hit["entry_id"] for hit in gone["hits"]]
    with admin_knowledge.session() as session:
        assert session.scalar(select(func.count()).select_from(EntryRevision)) == 1


def test_stats_are_the_figures_of_svp_stats_json(admin_knowledge: Knowledge) -> None:
    auth = _setup(admin_knowledge, "read")
    make_ticket(admin_knowledge, "Une question", theme="SLS")
    today = utcnow().astimezone(PARIS).date()
    with api_client(admin_knowledge) as client:
        default = client.get("/api/v1/stats", headers=auth)
        chosen = client.get("/api/v1/stats", params={"from": "2026-01-01", "to": "2026-06-30"},
                            headers=auth)
        inverted = client.get("/api/v1/stats", params={"from": "1990-01-01"}, headers=auth)
        not_a_date = client.get("/api/v1/stats", params={"to": "demain"}, headers=auth)
    with admin_knowledge.session() as session:
        expected = statistics.report(
            session=session, period=statistics.parse_period(None, None, today=today),
            target_days=5).to_dict()
    assert default.status_code == 200 and default.json() == expected
    assert chosen.json()["period"] == {"from": "2026-01-01", "to": "2026-06-30"}
    assert inverted.status_code == 422 and "période" in inverted.json()["error"]["message"]
    assert not_a_date.status_code == 422


def test_entries_take_a_theme_of_the_list_only(admin_knowledge: Knowledge) -> None:
    auth = _setup(admin_knowledge)
    entry_id = make_entry(admin_knowledge, TEOM_Q, TEOM_A, theme="Gestion locative et charges")
    with api_client(admin_knowledge) as client:
        listed = client.get("/api/v1/themes", headers=auth)
        unknown = client.post("/api/v1/entries", headers=auth, json={
            "question": SLS_Q, "answer": SLS_A, "theme": "TFPB & fiscalité"})
        spelled = client.post("/api/v1/entries", headers=auth, json={
            "question": SLS_Q, "answer": SLS_A, "theme": "vente hlm"})
        revised = client.patch(f"/api/v1/entries/{entry_id}", headers=auth,
                               json={"theme": "Charges et TEOM"})
        kept = client.patch(f"/api/v1/entries/{entry_id}", headers=auth,
                            json={"answer": TEOM_A + " Voir le décret."})
    assert listed.status_code == 200 and "Fiscalité (TFPB)" in listed.json()
    assert unknown.status_code == 422 and unknown.json()["error"]["code"] == "invalid_input"
    message = unknown.json()["error"]["message"]
    assert message.startswith("Thème inconnu : « TFPB & fiscalité ».")
    assert "Vouliez-vous dire « Fiscalité (TFPB) » ?" in message
    assert "Thèmes possibles : " in message and "Vente Hlm" in message
    assert spelled.status_code == 201 and spelled.json()["theme"] == "Vente Hlm"
    assert revised.status_code == 422 and "Charges et TEOM" in revised.json()["error"]["message"]
    assert kept.status_code == 200 and kept.json()["theme"] == "Gestion locative et charges"
    with admin_knowledge.session() as session:
        assert session.scalar(select(func.count()).select_from(KnowledgeEntry)) == 2
