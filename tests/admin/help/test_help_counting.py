"""Help-centre counting (issue 23, point 6) through the real app: pages read, searches with and
without a result, a 👍 « utile » and a question sent, per organisation; anonymous readers
under key 0; a counter that fails never costs the page; the advisers' statistics show them."""

from __future__ import annotations

import csv
import io
import logging
import re
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from admin_helpers import SEALER, client_for, log_in, make_entry, make_user
from help_helpers import ORGANISATION, sign_in_member

from admin.config import AdminConfig, HelpConfig
from knowledge.desk import help_counts
from knowledge.desk.help_counts import HelpEvent
from knowledge.people import organisations
from knowledge.runtime import Knowledge
from knowledge.store.member_models import EntryFeedback, HelpCount

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
SLS = ("Le supplément de loyer de solidarité est une somme que le bailleur social ajoute au "
       "loyer quand les ressources du foyer dépassent les plafonds. Il n'est pas dû dans les "
       "quartiers prioritaires de la politique de la ville (QPV).")


def _config(*, anonymous_reading: bool = False) -> AdminConfig:
    return AdminConfig(secret_sealer=SEALER, help=HelpConfig(anonymous_reading=anonymous_reading))


def _counts(knowledge: Knowledge) -> dict[tuple[int, str], int]:
    """Every counter, summed over the days: (organisation key, kind) → count."""
    with knowledge.session() as session:
        found: dict[tuple[int, str], int] = {}
        for key, kind, count in session.execute(
                select(HelpCount.organisation_key, HelpCount.kind, HelpCount.count)):
            found[(key, kind)] = found.get((key, kind), 0) + count
        return found


def _organisation_id(knowledge: Knowledge) -> int:
    with knowledge.session() as session:
        return organisations.get_by_name(session=session, name=ORGANISATION).id


def test_a_members_reading_searching_and_thumbs_up_count_for_their_organisation(
        admin_knowledge: Knowledge) -> None:
    entry_id = make_entry(admin_knowledge, "Le SLS est-il dû dans un quartier prioritaire ?",
                          SLS, theme="Loyers et charges")
    with client_for(admin_knowledge, _config()) as client:
        sign_in_member(admin_knowledge, client)
        org = _organisation_id(admin_knowledge)
        assert client.get("/aide").status_code == 200
        found = client.get("/aide/recherche", params={"q": "le SLS est-il dû en QPV ?"})
        assert f'href="/aide/fiches/{entry_id}"' in found.text
        nothing = client.get("/aide/recherche", params={"q": "recette de la bouillabaisse"})
        assert 'id="no-answer"' in nothing.text
        # Neither the as-you-type suggestions nor an unknown theme are pages read.
        assert client.get("/aide/suggestions", params={"q": "supplément de loyer"}
                          ).status_code == 200
        assert client.get("/aide/themes/Inconnu").status_code == 404
        assert client.get("/aide/themes/Loyers et charges").status_code == 200
        entry = client.get(f"/aide/fiches/{entry_id}")
        token = CSRF.search(entry.text)
        assert token
        for value in ("1", "1"):  # the same 👍 twice is one answer that sufficed
            assert client.post(f"/aide/fiches/{entry_id}/avis",
                               data={"value": value, "csrf_token": token.group(1)}
                               ).status_code == 303
    assert _counts(admin_knowledge) == {
        (org, HelpEvent.VISIT.value): 5,  # home, two searches, the theme, the entry
        (org, HelpEvent.SEARCH_HIT.value): 1,
        (org, HelpEvent.SEARCH_MISS.value): 1,
        (org, HelpEvent.SELF_SERVED.value): 1,
    }


def test_the_questions_pages_and_a_question_sent_are_counted(admin_knowledge: Knowledge) -> None:
    with client_for(admin_knowledge, _config()) as client:
        sign_in_member(admin_knowledge, client)
        org = _organisation_id(admin_knowledge)
        form = client.get("/aide/questions/nouvelle")
        token = CSRF.search(form.text)
        assert token
        sent = client.post("/aide/questions", data={
            "text": "Un locataire peut-il exiger l'étalement de sa régularisation de charges ?",
            "csrf_token": token.group(1)})
        assert sent.status_code == 303
        assert client.get(sent.headers["location"]).status_code == 200
        assert client.get("/aide/questions").status_code == 200
        refused = client.post("/aide/questions", data={"text": "", "csrf_token": token.group(1)})
        assert refused.status_code == 422  # an empty question is neither sent nor counted
    assert _counts(admin_knowledge) == {(org, HelpEvent.VISIT.value): 3,
                                        (org, HelpEvent.QUESTION.value): 1}


def test_anonymous_reading_is_counted_under_key_zero(admin_knowledge: Knowledge) -> None:
    entry_id = make_entry(admin_knowledge, "Le SLS est-il dû dans un quartier prioritaire ?",
                          SLS)
    with client_for(admin_knowledge, _config(anonymous_reading=True)) as public:
        assert public.get("/aide").status_code == 200
        assert public.get(f"/aide/fiches/{entry_id}").status_code == 200
        assert public.get("/aide/recherche", params={"q": "recette de la bouillabaisse"}
                          ).status_code == 200
    assert _counts(admin_knowledge) == {(0, HelpEvent.VISIT.value): 3,
                                        (0, HelpEvent.SEARCH_MISS.value): 1}


def test_a_failing_counter_is_logged_and_costs_neither_the_page_nor_the_feedback(
        admin_knowledge: Knowledge, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    entry_id = make_entry(admin_knowledge, "Le SLS est-il dû dans un quartier prioritaire ?",
                          SLS)

    def broken(*, session: Session, **_: Any) -> None:
        # A statement the database refuses: on PostgreSQL it aborts the transaction unless
        # the counter's savepoint is rolled back, so the 👍 would be lost with it.
        session.execute(text("SELECT * FROM no_such_table"))

    with client_for(admin_knowledge, _config()) as client:
        sign_in_member(admin_knowledge, client)
        monkeypatch.setattr(help_counts, "record", broken)
        with caplog.at_level(logging.ERROR, logger="admin.help.routes"):
            entry = client.get(f"/aide/fiches/{entry_id}")
            token = CSRF.search(entry.text)
            assert entry.status_code == 200 and token
            given = client.post(f"/aide/fiches/{entry_id}/avis",
                                data={"value": "1", "csrf_token": token.group(1)})
        assert given.status_code == 303
    assert [record.getMessage() for record in caplog.records] == [
        "help centre: visit not counted", "help centre: self_served not counted"]
    with admin_knowledge.session() as session:
        assert session.scalars(select(EntryFeedback.value)).all() == [1]


def test_the_statistics_page_shows_the_help_centre_per_organisation(
        admin_knowledge: Knowledge) -> None:
    make_user(admin_knowledge, "camille")
    with client_for(admin_knowledge, _config(anonymous_reading=True)) as client:
        log_in(client, "camille")
        quiet = client.get("/stats")
        assert "aucune activité pendant cette période" in quiet.text
        assert 'id="table-aide"' not in quiet.text
        client.get("/aide/recherche", params={"q": "recette de la bouillabaisse"})
        sign_in_member(admin_knowledge, client)
        client.get("/aide")
        page = client.get("/stats")
        export = client.get("/stats/export/aide.csv")
    assert page.status_code == 200 and 'id="table-aide"' in page.text
    assert "aucune activité pendant cette période" not in page.text
    rows = list(csv.reader(io.StringIO(export.content.decode("utf-8-sig")), delimiter=";"))
    assert rows == [
        ["Organisme", "Pages vues", "Recherches", "Recherches sans résultat",
         "Recherches avec résultat", "Réponses suffisantes (👍 utile)", "Questions envoyées"],
        [ORGANISATION, "1", "0", "0", "—", "0", "0"],
        ["Lecteurs anonymes", "1", "1", "1", "0 %", "0", "0"],
        ["Total", "2", "1", "1", "0 %", "0", "0"]]
